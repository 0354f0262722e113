"""The git side of the replay: the commands, what merges changed, states from outside the replay.

Kept apart from the engine (``replay.py``) so that one reads as line
bookkeeping and this one as git plumbing: every subprocess of the analysis
except the log stream itself starts here.
"""

from __future__ import annotations

import collections
import io
import itertools
import os
import subprocess
import threading
from collections.abc import Iterator, Sequence

from gitroi.git import Repo

# Partial-clone helpers live in gitroi.git.partial (the attribution uses them too); re-exported here.
from gitroi.git.partial import log_pathspec as log_pathspec
from gitroi.git.partial import missing_blobs as missing_blobs
from gitroi.git.partial import no_fetch_env
from gitroi.git.partial import pathspec as pathspec
from gitroi.git.patch import FileDiff, parse_files, unquote_path

#: Per merge, per parent: path -> (status, new mode, unused) of what differs from that parent.
MergeInfo = dict[str, list[dict[str, tuple[str, str, FileDiff | None]]]]
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
UNKNOWN = 0


class NeedsFullReplay(Exception):
    """An incremental run cannot continue from the stored state; replay from scratch."""


def survival_env() -> dict[str, str]:
    """git's environment for the analysis: never fetch a missing object from a promisor remote.

    A partial clone's missing blobs are found first (:func:`missing_blobs`) and
    their paths left out of every diff; anything else that needs one should
    fail at once, not try the network object by object.
    """
    return no_fetch_env()


def git_cmd(max_file_bytes: int) -> list[str]:
    """``git`` with the settings every call of the analysis needs (stable paths, big files as binary)."""
    return ["git", "-c", "core.quotepath=false", "-c", f"core.bigFileThreshold={max_file_bytes}",
            "-c", "log.showSignature=false", "-c", "diff.noprefix=false"]


#: How much of the log stream is read ahead while the replay is busy elsewhere (bytes).
PREFETCH_BYTES = 64 << 20


class LogProcess(subprocess.Popen[bytes]):
    """``git log -p`` whose output a thread reads ahead, so git never waits for the replay.

    The analysis starts the stream, then loads the attribution (seconds on a
    long history) before it reads a line: through a pipe alone git would stop
    after 64 KB and do its work later, in series.  The reading thread (system
    calls only, the GIL released) keeps up to :data:`PREFETCH_BYTES` in memory,
    and :meth:`lines` splits chunks on ``\n`` only (patch lines may hold a CR)
    through ``io.BytesIO`` iterators chained in C.
    """

    def prefetch(self, cap: int = PREFETCH_BYTES) -> None:
        self._cap = cap
        self._chunks: collections.deque[bytes] = collections.deque()
        self._held = 0
        self._eof = False
        self._stopped = False
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._pump, name="gitroi-log-prefetch", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.stdout is not None
        fd = self.stdout.fileno()
        while True:
            with self._cv:
                while self._held >= self._cap and not self._stopped:
                    self._cv.wait()
                if self._stopped:
                    data = b""
            if not self._stopped:
                try:
                    data = os.read(fd, 1 << 20)
                except OSError:
                    data = b""
            with self._cv:
                if data:
                    self._chunks.append(data)
                    self._held += len(data)
                else:
                    self._eof = True
                self._cv.notify_all()
            if not data:
                return

    def _blocks(self) -> Iterator[io.BytesIO]:
        tail = b""
        while True:
            with self._cv:
                while not self._chunks and not self._eof:
                    self._cv.wait()
                data = self._chunks.popleft() if self._chunks else None
                if data is not None:
                    self._held -= len(data)
                    self._cv.notify_all()
            if data is None:
                if tail:
                    yield io.BytesIO(tail)
                return
            if tail:
                data = tail + data
            k = data.rfind(b"\n")
            if k < 0:
                tail = data
                continue
            tail = data[k + 1:]
            yield io.BytesIO(data[:k + 1])

    def lines(self) -> Iterator[bytes]:
        """The stream's lines, newline kept, as iterating ``stdout`` would give them."""
        return itertools.chain.from_iterable(self._blocks())

    def join_reader(self) -> None:
        """Wait for the reading thread, which ends at the end of the stream."""
        self._thread.join()

    def stop(self) -> None:
        """End a stream that will not be read (or not to its end)."""
        with self._cv:
            self._stopped = True
            self._cv.notify_all()
        self.kill()
        self._thread.join()
        self.communicate()


def start_log(repo: Repo, max_file_bytes: int, revs: list[str],
              excludes: Sequence[str] = ()) -> LogProcess:
    """Start the one stream the replay reads: every commit's diff, oldest first, merges combined.

    ``-U1``: one context line makes git's hunks those of ``git log --numstat``
    (with ``-U0`` a few differ), and the parser splits them at context lines.
    """
    proc = LogProcess(
        [*git_cmd(max_file_bytes), "log", "-p", "-U1", "-M", "--full-index", "--no-color", "--no-ext-diff",
         "--no-textconv", "--diff-merges=combined", "--combined-all-paths", "--src-prefix=a/",
         "--dst-prefix=b/", "--topo-order", "--reverse", "--format=%x01C %H %ct %P%n%B%n%x02", *revs,
         *log_pathspec(excludes)],
        cwd=_cwd(repo), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=survival_env(), bufsize=1 << 20)
    proc.prefetch()
    return proc


def _cwd(repo: Repo) -> str:
    return str(repo.paths.workdir or repo.paths.git_dir)


def shallow_commits(repo: Repo) -> set[str]:
    """The grafted roots of a shallow clone (their parents are not in the repository)."""
    path = repo.paths.common_dir / "shallow"
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


def derived_state(repo: Repo, cmd: list[str], tip_files: dict[str, list[int]], tip: str,
                  sha: str, excludes: Sequence[str] = ()) -> dict[str, list[int]]:
    """The state of an ancestor ``sha`` of the stored ``tip``, from the tip's state and their diff.

    Lines unchanged between the two keep their origin; lines of ``sha`` that
    the tip no longer has are of unknown origin (their end is already counted).
    """
    proc = subprocess.run(
        [*cmd, "diff-tree", "-r", "-p", "-U1", "-M", "--full-index", "--no-ext-diff",
         "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", tip, sha, *pathspec(excludes)],
        cwd=_cwd(repo), capture_output=True, env=survival_env())
    if proc.returncode != 0:
        raise NeedsFullReplay(f"cannot diff {tip[:12]} against {sha[:12]}")
    files = dict(tip_files)
    lines = iter(io.BytesIO(proc.stdout))
    first = next(lines, None)
    if first is None:
        return files
    diffs, _ = parse_files(lines, first)
    made: dict[str, list[int]] = {}
    empty: list[int] = []
    for fd in diffs:
        old = files.pop(fd.old_path, empty) if fd.old_path is not None else empty
        if fd.skip or fd.new_path is None:
            continue
        new: list[int] = []
        pos = 0
        for h in fd.hunks:
            start = h.os - 1 if h.oc else h.os
            new.extend(old[pos:start])
            new.extend([UNKNOWN] * h.nc)
            pos = start + h.oc
        new.extend(old[pos:])
        made[fd.new_path] = new
    files.update(made)
    return files


def boundary_state(repo: Repo, cmd: list[str], sha: str, excludes: Sequence[str] = ()) -> dict[str, list[int]]:
    """The state of a commit outside the replay (``--since``): its files, every line of unknown origin."""
    out = subprocess.run(
        [*cmd, "diff-tree", "-p", "-U0", "-r", "--full-index", "--no-renames",
         "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", "--root",
         "--no-commit-id", EMPTY_TREE, sha, *pathspec(excludes)],
        cwd=_cwd(repo), capture_output=True, env=survival_env())
    files: dict[str, list[int]] = {}
    lines = iter(io.BytesIO(out.stdout))
    first = next(lines, None)
    while first is not None and not first.startswith(b"diff --git "):
        first = next(lines, None)
    if first is None:
        return files
    diffs, _ = parse_files(lines, first)
    for fd in diffs:
        if fd.skip or fd.new_path is None:
            continue
        files[fd.new_path] = [UNKNOWN] * sum(h.nc for h in fd.hunks)
    return files


def merge_info(repo: Repo, cmd: list[str], merges: list[list[str]], excludes: Sequence[str] = ()) -> MergeInfo:
    """Per merge, per parent: path -> (status, new mode, None) of what differs.

    One raw ``diff-tree --stdin`` for all (merge, parent) pairs.  The files
    that differ from every parent come with their combined diff in the log
    stream itself (``--diff-merges=combined``).
    """
    # One "<merge> <parent>" line per pair: with --always each prints exactly one header.
    pairs = [(m[0], p) for m in merges for p in m[1:]]
    stdin = "".join(f"{m} {p}\n" for m, p in pairs).encode()
    raw = subprocess.run(
        [*cmd, "diff-tree", "--stdin", "-r", "--no-renames", "--always", "--raw", "--full-index"],
        cwd=_cwd(repo), input=stdin, capture_output=True, env=survival_env())
    left_out = set(excludes)
    info: MergeInfo = {}
    cur: dict[str, tuple[str, str, FileDiff | None]] | None = None
    for line in raw.stdout.split(b"\n"):
        if not line:
            continue
        if line[0] != 58:  # ':' starts a raw line; anything else is the next pair's header
            cur = {}
            info.setdefault(line.decode().strip(), []).append(cur)
            continue
        meta, _, rawpath = line.partition(b"\t")
        parts = meta.split(b" ")
        path = unquote_path(rawpath)
        if cur is not None and path not in left_out:
            cur[path] = (parts[4][:1].decode(), parts[1].decode(), None)
    return info


def blob_sizes(repo: Repo, blobs: Sequence[str]) -> dict[str, int]:
    """Sizes of blobs (one ``git cat-file --batch-check``); missing ones are left out."""
    if not blobs:
        return {}
    out = subprocess.run(["git", "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"],
                         input="".join(b + "\n" for b in blobs).encode(), cwd=_cwd(repo), capture_output=True,
                         env=survival_env())
    sizes: dict[str, int] = {}
    for line in out.stdout.decode().splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] == "blob":
            sizes[parts[0]] = int(parts[2])
    return sizes
