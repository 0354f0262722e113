"""A whole history in one stream: every commit's metadata and lines added.

:func:`iter_history` reads ONE ``git log --numstat`` stream whatever the number
of commits; merges get their own lines (new against every parent) from one
more call, :func:`merge_added`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitroi.attribution.commits import (
    DIFF_CONTEXT,
    LOG_FIELDS,
    LOG_FORMAT,
    AddedLines,
    CommitMeta,
    commit_meta,
    parse_patch,
)
from gitroi.git import Repo


@dataclass(frozen=True)
class HistoryCommit:
    """A commit of a history stream, with the number of lines it added."""

    meta: CommitMeta
    lines_added: int


def iter_history(repo: Repo, revs: Sequence[str], *, only: Sequence[str] | None = None,
                 merge_lines: bool = True, excludes: Sequence[str] | None = None,
                 counts: bool = True) -> Iterator[HistoryCommit]:
    """Commits reachable from ``revs`` (or exactly the commits ``only``) with lines added.

    ONE ``git log --numstat`` stream, whatever the number of commits: a
    commit's count is exactly what plain ``git log --numstat`` shows for it
    (the same hunks as :func:`read_commit`'s ``-U1`` diff; never ``-U0``, whose
    hunks git makes differently).  git log shows no diff for a merge, so a
    merge's count comes from one more call for all merges together
    (:func:`merge_added`), the figure its note carries: lines new against every
    parent.  ``merge_lines=False`` skips that call for callers that only want
    the metadata.  ``counts=False``: metadata only, no diff at all (every
    ``lines_added`` is 0), for callers that need the markers, not the figures.

    In a partial clone, paths whose history has a missing blob
    (``excludes``; ``None``: found here with :func:`gitroi.git.partial.missing_blobs`)
    are left out of every diff and git never fetches (``GIT_NO_LAZY_FETCH``):
    commits are still all listed, with the lines that can be counted.
    """
    from gitroi.git import run_git, stream_git
    from gitroi.git.partial import NO_LAZY_FETCH, log_pathspec, missing_blobs

    if only is not None and not only:
        return
    if not counts:
        merge_lines = False
        excludes = []
    if excludes is None:
        gap = missing_blobs(repo, list(only) if only is not None else list(revs))
        excludes = sorted(gap[1]) if gap else []
    tail = log_pathspec(excludes) or ["--"]
    env = NO_LAZY_FETCH if excludes else None
    cwd = repo.cwd
    args = ["-c", "core.quotepath=off", "log", *(("--numstat", "-M") if counts else ()), "--no-color",
            f"--format={LOG_FORMAT}"]
    early: _MergePass | None = None
    stdin: bytes | None = None
    if only is not None:
        stdin = ("\n".join(only) + "\n").encode("ascii")
        if merge_lines:
            # The merges' pass runs beside the numstat stream rather than after
            # it (a third of the load of a long history, on another core).
            merges = run_git(["rev-list", "--no-walk=unsorted", "--min-parents=2", "--stdin"],
                             cwd=cwd, env=env, input=stdin).stdout.decode("ascii").split()
            early = _MergePass(repo, merges, excludes)
        cmd = [*args, "--no-walk=unsorted", "--stdin", *tail]
        if counts and len(only) >= SPLIT_COMMITS:
            # Two git processes, one per half, each on a core: the caller waits on git's
            # diffs here (gitroi report's first run), not on its own parsing.
            mid = len(only) // 2
            later = _Later(cmd, cwd, env, ("\n".join(only[mid:]) + "\n").encode("ascii"))
            first = stream_git(cmd, cwd=cwd, env=env, input=("\n".join(only[:mid]) + "\n").encode("ascii"))
            stream = later.after(first)
        else:
            stream = stream_git(cmd, cwd=cwd, env=env, input=stdin)
    else:
        if merge_lines and counts:
            early = _MergePass(repo, None, excludes, revs)  # beside the stream, as above
        stream = stream_git([*args, *revs, *tail], cwd=cwd, env=env)
    # Commits are parsed (and handed on) as git writes them; merges wait for their own pass.
    held: list[HistoryCommit] = []
    try:
        for hc in _parse_log(stream):
            if merge_lines and len(hc.meta.parents) > 1:
                held.append(hc)
            else:
                yield hc
    finally:
        own = early.result() if early is not None else {}
    if not held:
        return
    if early is None:
        own = merge_added(repo, [hc.meta.sha for hc in held], excludes)
    for hc in held:
        yield HistoryCommit(meta=hc.meta, lines_added=own[hc.meta.sha]) if hc.meta.sha in own else hc


def _parse_log(stream: Iterator[bytes]) -> Iterator[HistoryCommit]:
    """Commits of a ``LOG_FORMAT`` log (with ``--numstat`` lines or none), chunk by chunk."""
    rest = b""
    for data in stream:
        parts = (rest + data).split(b"\x01")
        rest = parts.pop()
        for chunk in parts:
            hc = _commit(chunk)
            if hc is not None:
                yield hc
    if rest:
        hc = _commit(rest)
        if hc is not None:
            yield hc


def _commit(chunk: bytes) -> HistoryCommit | None:
    parts = chunk.split(b"\x00", LOG_FIELDS)
    if len(parts) < LOG_FIELDS:
        return None
    meta = commit_meta([p.decode("utf-8", "replace") for p in parts[:LOG_FIELDS]])
    added = sum(map(int, _ADDED.findall(parts[LOG_FIELDS]))) if len(parts) > LOG_FIELDS else 0
    return HistoryCommit(meta=meta, lines_added=added)


#: The added count of a ``--numstat`` line (``-`` for a binary file is not counted).
_ADDED = re.compile(rb"^(\d+)\t", re.MULTILINE)


#: From this many commits on, :func:`iter_history`'s diff runs as two git processes.
SPLIT_COMMITS = 1000


class _Later:
    """``git ARGS`` for the second half of a history, run now in a thread, read after the first."""

    def __init__(self, args: list[str], cwd: str | Path, env: Mapping[str, str] | None, stdin: bytes) -> None:
        import threading

        from gitroi.git.spawn import GitResult

        self._out: GitResult | None = None
        self._exc: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(args, cwd, env, stdin), daemon=True)
        self._thread.start()

    def _run(self, args: list[str], cwd: str | Path, env: Mapping[str, str] | None, stdin: bytes) -> None:
        from gitroi.git import run_git

        try:
            self._out = run_git(args, cwd=cwd, env=env, input=stdin)  # raises on a failure
        except BaseException as exc:  # re-raised in the caller's thread by after()
            self._exc = exc

    def after(self, first: Iterator[bytes]) -> Iterator[bytes]:
        """The first half's chunks as they come, then this half's output."""
        try:
            yield from first
        finally:
            self._thread.join()
        if self._exc is not None:
            raise self._exc
        assert self._out is not None
        # A chunk boundary between the halves: each half's log begins with a commit separator.
        yield self._out.stdout


class _MergePass:
    """:func:`merge_added` in a thread, started now: git works on it while the caller reads
    the numstat stream (both calls spend their time in git, with the GIL released)."""

    def __init__(self, repo: Repo, shas: Sequence[str] | None, excludes: Sequence[str],
                 revs: Sequence[str] = ()) -> None:
        """``shas``: the merges; None: the merges reachable from ``revs``, listed in the thread."""
        import threading

        self._out: dict[str, int] = {}
        self._exc: BaseException | None = None
        self._thread: threading.Thread | None = None
        if shas is None or shas:
            self._thread = threading.Thread(
                target=self._run, args=(repo, None if shas is None else list(shas), list(excludes), list(revs)),
                daemon=True)
            self._thread.start()

    def _run(self, repo: Repo, shas: list[str] | None, excludes: list[str], revs: list[str]) -> None:
        try:
            if shas is None:
                shas = repo.git_text("rev-list", "--min-parents=2", *revs, "--").split()
            self._out = merge_added(repo, shas, excludes)
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._exc = exc

    def result(self) -> dict[str, int]:
        if self._thread is not None:
            self._thread.join()
        if self._exc is not None:
            raise self._exc
        return self._out


def merge_added(repo: Repo, shas: Sequence[str], excludes: Sequence[str] = ()) -> dict[str, int]:
    """{merge sha: lines new against every parent}, from ONE ``git log --cc -p`` call.

    The rule of :func:`parse_patch` (all ``+`` columns): what blame gives the
    merge itself, its conflict resolutions; a clean merge adds nothing.
    ``excludes``: paths left out (a partial clone's missing blobs, see :func:`iter_history`).
    """
    return {sha: added.count for sha, added in _added_stream(repo, shas, excludes)}


def added_ranges(repo: Repo, shas: Sequence[str], excludes: Sequence[str] = ()
                 ) -> dict[str, dict[str, tuple[tuple[int, int], ...]]]:
    """{sha: {path: ranges of the lines the commit added}} from ONE ``git log --cc -p`` call:
    what a note's claimed ranges are cut to (:func:`gitroi.attribution.notes.clip`)."""
    return {sha: added.all_ranges() for sha, added in _added_stream(repo, shas, excludes)}


def _added_stream(repo: Repo, shas: Sequence[str], excludes: Sequence[str]
                  ) -> Iterator[tuple[str, AddedLines]]:
    from gitroi.git import run_git
    from gitroi.git.partial import NO_LAZY_FETCH, log_pathspec

    if not shas:
        return
    out = run_git(["-c", "core.quotepath=off", "log", "--cc", "-p", DIFF_CONTEXT, "-M",
                   "--no-color", "--no-ext-diff", "--no-textconv", "--format=%x01%H",
                   "--no-walk=unsorted", "--stdin", *(log_pathspec(excludes) or ["--"])],
                  cwd=repo.cwd,
                  env=NO_LAZY_FETCH if excludes else None,
                  input=("\n".join(shas) + "\n").encode("ascii")).stdout
    for chunk in out.split(b"\x01")[1:]:
        head, _, patch = chunk.partition(b"\n")
        yield head.decode("ascii").strip(), parse_patch(patch.splitlines(keepends=True))
