"""Tree-sitter classification of AI lines, done in a worker process while the replay runs.

Which AI lines are code and which function encloses them comes from one parse
per file version (``parse.classify``): the tip version of each file holding AI
lines, and the version an AI commit wrote for lines that were churned or
reverted (rework, which reports place by symbol).  Done after the replay, on
one core, that was as long as the replay itself on AI-heavy histories.

So a full analysis forks a worker before the replay starts (``gc.freeze()``
first, so the child's collector never touches the parent's pages).  The worker
lists the tip's tree itself, reads blobs through its own ``git cat-file
--batch`` and parses them, fed only *blob ids and paths* by the replay as soon
as they are known: a path gets AI lines (its tip version will likely be
needed), an AI line dies as churn or revert (its origin version will likely be
needed).  Contents never cross the pipe (they would fight the replay for the
GIL).  At the end the exact set of versions is computed as before
(:meth:`Classifier.finish`), anything the guesses missed is parsed then, and
only the results for that exact set are kept: the outcome is identical to
classifying inline after the replay (``inline=True``, the reference the tests
compare against).  Speculative parses that turn out unneeded are dropped.

pygit2 was measured for the blob reads here and lost: 1,360 tip blobs of the
generated 18k-commit history read in 0.72 s through ``Repository[oid].data``
against 0.14 s through one ``cat-file --batch`` (git keeps a delta base cache),
plus 0.17 s or more to import it.  The tip tree comes from ``git ls-tree``
inside the worker, off the replay's path.
"""

from __future__ import annotations

import gc
import os
import subprocess
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gitroi.errors import GitroiError
from gitroi.survival.codes import version_of
from gitroi.survival.history import survival_env

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from gitroi.git import Repo

#: The replay's ``ReplayState`` (not imported: the replay imports this module).
ReplayState = Any

#: Outcome values of rework (``outcomes.Outcome.CHURNED``, ``REVERTED``): their origin version is parsed.
REWORK = (1, 2)
#: Send what the replay found once this many versions are waiting: each send wakes the
#: worker, and on a busy machine a wake-up can cost the replay its time slice.
FEED_BATCH = 100

#: (path, blob) -> (code flag per line, symbol per line), None when the blob is missing.
Syntax = tuple[bytes, list[str]]


def _grammar(path: str) -> bool:
    from gitroi.survival.languages import language_for_path

    return language_for_path(path) is not None


class Classifier:
    """One analysis's classification: started before the replay, finished after it."""

    def __init__(self, repo: Repo, tip: str, known: dict[str, str], *, inline: bool = False) -> None:
        """``known``: path -> blob of the tip versions already classified (kept by an incremental state)."""
        self.repo = repo
        self.tip = tip
        self.known = known
        self.st: ReplayState | None = None
        self._conn: Connection | None = None
        self._proc: Any = None
        self._sent_paths: set[str] = set()
        self._sent_keys: set[tuple[int, int]] = set()
        self._paths: list[str] = []
        self._old: list[tuple[str, str]] = []
        self._grammar: dict[int, bool] = {}
        #: Codes of AI lines that died as rework since the last feed (the replay appends).
        self.rework: list[int] = []
        if not inline and _can_fork():
            self._start()

    @property
    def parallel(self) -> bool:
        return self._conn is not None

    @property
    def pid(self) -> int | None:
        """The worker process's id (None when the classification runs inline)."""
        return getattr(self._proc, "pid", None) if self._proc is not None else None

    # ------------------------------------------------------------------ worker

    def _start(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        gc.freeze()
        try:
            # Known tip versions need no parse: the worker skips them.
            proc = ctx.Process(target=_work, args=(child, _cwd(self.repo), self.tip, self.known), daemon=True)
            proc.start()
        except OSError:
            return
        finally:
            gc.unfreeze()
        child.close()
        self._conn, self._proc = parent, proc

    def bind(self, st: ReplayState) -> None:
        """The state the replay fills (created after the worker, once the mode is known)."""
        self.st = st
        self._grammar.clear()

    def has_grammar(self, pid: int) -> bool:
        g = self._grammar.get(pid)
        if g is None:
            assert self.st is not None
            g = self._grammar[pid] = _grammar(self.st.paths[pid])
        return g

    def ai_version(self, pid: int) -> None:
        """The replay wrote a version of path ``pid`` holding AI lines: its tip version may be needed."""
        if self._conn is None or self.st is None:
            return
        path = self.st.paths[pid]
        if path not in self._sent_paths:
            self._sent_paths.add(path)
            if self.has_grammar(pid):
                self._paths.append(path)

    def feed(self) -> None:
        """Send the tip paths and rework versions found so far, in batches (one small message).

        Whatever is still waiting at the end is part of the exact request of :meth:`finish`.
        """
        if self._conn is None or self.st is None:
            self.rework.clear()
            return
        if self.rework:
            st = self.st
            for code in self.rework:
                key = version_of(code)
                if key in self._sent_keys:
                    continue
                self._sent_keys.add(key)
                blob = st.ai_blobs.get(key)
                if blob and key not in st.ai_syntax and self.has_grammar(key[1]):
                    self._old.append((st.paths[key[1]], blob))
            self.rework.clear()
        if len(self._paths) + len(self._old) >= FEED_BATCH:
            try:
                self._conn.send(("work", self._paths, self._old))
            except OSError:
                self._lost()
            self._paths, self._old = [], []

    def _lost(self) -> None:
        """The worker is gone: everything is classified inline at the end."""
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        if self._proc is not None:
            self._proc.join(1)
        self._proc = None

    def close(self) -> None:
        """Stop the worker without waiting for results (an aborted run)."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
        self._lost()

    # ------------------------------------------------------------------ the end

    def finish(self) -> None:
        """Fill ``st.ai_syntax`` and ``st.tip_syntax`` for exactly the versions needed.

        Lines alive at the tip are classified where they live now (one parse
        per tip file holding AI lines); churned and reverted lines at the file
        version their commit wrote.  Lines deleted after the window, and files
        without a grammar, keep the one-line comment check made during the
        replay: parsing every old version of every AI file would cost more than
        the whole replay.
        """
        st = self.st
        assert st is not None
        if self._conn is None and not _have_parser():
            return
        need: set[tuple[int, int]] = set()
        for code, (o, _e, _w) in st.ai_dead.items():
            if o not in REWORK:
                continue
            key = version_of(code)
            if key not in st.ai_syntax and key in st.ai_blobs and self.has_grammar(key[1]):
                need.add(key)
        tip_paths = sorted(p for p, lst in st.tip_files.items() if _grammar(p) and any(c & 2 for c in lst))
        old = sorted({(st.paths[k[1]], st.ai_blobs[k]) for k in need})
        got: Any = None
        if self._conn is not None:
            try:
                self._conn.send(("finish", tip_paths, old))
                got = self._conn.recv()
            except (OSError, EOFError):
                got = None
            self._lost()
            if got == "no-parser":
                return
            if isinstance(got, tuple) and len(got) == 3 and got[0] == "error":
                raise GitroiError(got[1], hint=got[2])  # a grammar the worker could not load
        if got is None:
            if not _have_parser():
                return
            got = _classify_inline(self.repo, st.tip if tip_paths else None, tip_paths,
                                   {p: v[0] for p, v in st.tip_syntax.items()}, old)
        tip_blobs, results = got
        stale = {p: b for p, b in tip_blobs.items() if st.tip_syntax.get(p, ("",))[0] != b}
        st.tip_syntax = {p: v for p, v in st.tip_syntax.items() if p in tip_blobs}
        for key in need:
            syn = results.get((st.paths[key[1]], st.ai_blobs[key]))
            if syn is not None:
                st.ai_syntax[key] = syn
        for p, blob in stale.items():
            syn = results.get((p, blob))
            if syn is not None:
                st.tip_syntax[p] = (blob, syn[0], syn[1])


def _have_parser() -> bool:
    try:
        import gitroi.survival.parse  # noqa: F401  (tree-sitter present?)
    except ImportError:
        return False
    return True


def _can_fork() -> bool:
    import multiprocessing

    if os.environ.get("GITROI_CLASSIFY") == "inline":
        return False
    return "fork" in multiprocessing.get_all_start_methods()


def _cwd(repo: Repo) -> str:
    return str(repo.paths.workdir or repo.paths.git_dir)


def _syntax(path: str, blob: str, data: bytes) -> Syntax:
    from gitroi.survival.parse import classify

    syn = classify(path, data, cache_key=blob)
    return bytes(1 if c else 0 for c in syn.is_code), list(syn.symbol)


def _tip_tree(cwd: str, tip: str, paths: Iterable[str] | None = None) -> dict[str, str]:
    """path -> blob id of the tip's tree (all of it, or ``paths``)."""
    args = ["git", "ls-tree", "-r", "-z", "--full-tree", tip]
    wanted = set(paths) if paths is not None else None
    if wanted is not None and len(wanted) < 2000:
        args += ["--", *sorted(wanted)]
    out = subprocess.run(args, cwd=cwd, capture_output=True, env=survival_env()).stdout
    tree: dict[str, str] = {}
    for entry in out.split(b"\0"):
        meta, _, raw = entry.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) < 3 or parts[1] != b"blob":
            continue
        p = raw.decode("utf-8", "surrogateescape")
        if wanted is None or p in wanted:
            tree[p] = parts[2].decode()
    return tree


def _classify_inline(repo: Repo, tip: str | None, tip_paths: list[str], known: dict[str, str],
                     old: list[tuple[str, str]]) -> tuple[dict[str, str], dict[tuple[str, str], Syntax | None]]:
    """The reference: after the replay, in this process (tip blobs, then the blobs read at once)."""
    cwd = _cwd(repo)
    tip_blobs = _tip_tree(cwd, tip, tip_paths) if tip and tip_paths else {}
    todo = sorted(set(old) | {(p, b) for p, b in tip_blobs.items() if known.get(p) != b})
    blobs = read_blobs(cwd, sorted({b for _, b in todo}))
    results: dict[tuple[str, str], Syntax | None] = {}
    for p, b in todo:
        data = blobs.get(b)
        results[(p, b)] = _syntax(p, b, data) if data is not None else None
    return tip_blobs, results


def read_blobs(cwd: str, blobs: list[str]) -> dict[str, bytes]:
    """Blob contents through one ``git cat-file --batch``; missing blobs are left out."""
    if not blobs:
        return {}
    proc = subprocess.run(["git", "cat-file", "--batch"], input="".join(b + "\n" for b in blobs).encode(),
                          capture_output=True, cwd=cwd, env=survival_env())
    out: dict[str, bytes] = {}
    data = proc.stdout
    pos = 0
    for b in blobs:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        header = data[pos:nl].split(b" ")
        pos = nl + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        out[b] = data[pos:pos + size]
        pos += size + 1
    return out


class _Blobs:
    """One ``git cat-file --batch`` kept open by the worker: a blob per round trip."""

    def __init__(self, cwd: str) -> None:
        self.proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=survival_env())

    def read(self, blob: str) -> bytes | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(blob.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split(b" ")
        if len(header) < 3 or header[1] == b"missing":
            return None
        size = int(header[2])
        data = self.proc.stdout.read(size + 1)
        return data[:size]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def _work(conn: Connection, cwd: str, tip: str, known: dict[str, str]) -> None:
    """The worker: parse what the replay points at, answer the exact request at the end."""
    import queue

    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def pump() -> None:
        # Drain the pipe at once, so the replay's sends never wait for a parse to end.
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                inbox.put(None)
                return
            inbox.put(msg)
            if msg[0] == "finish":
                return

    threading.Thread(target=pump, daemon=True).start()
    ok = _have_parser()
    tree = _tip_tree(cwd, tip) if ok else {}
    blobs = _Blobs(cwd) if ok else None
    done: dict[tuple[str, str], Syntax | None] = {}
    failed: dict[tuple[str, str], GitroiError] = {}

    def parse(path: str, blob: str) -> None:
        if (path, blob) in done or (path, blob) in failed or blobs is None:
            return
        data = blobs.read(blob)
        try:
            done[(path, blob)] = _syntax(path, blob, data) if data is not None else None
        except GitroiError as exc:  # a missing or too-old grammar: the parent raises it
            failed[(path, blob)] = exc

    while True:
        msg = inbox.get()
        if msg is None:
            return
        if msg[0] == "work":
            for path in msg[1]:
                b = tree.get(path)
                if b is not None and known.get(path) != b:
                    parse(path, b)
            for path, b in msg[2]:
                parse(path, b)
            continue
        _, tip_paths, old = msg
        if not ok:
            conn.send("no-parser")
            return
        tip_blobs = {p: tree[p] for p in tip_paths if p in tree}
        todo = set(old) | {(p, b) for p, b in tip_blobs.items() if known.get(p) != b}
        for path, b in sorted(todo):
            parse(path, b)
        error = next((failed[k] for k in sorted(todo) if k in failed), None)
        if error is not None:
            conn.send(("error", error.message, error.hint))
        else:
            conn.send((tip_blobs, {k: done[k] for k in todo}))
        if blobs is not None:
            blobs.close()
        return
