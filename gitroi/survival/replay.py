"""Replay a branch's history once, parents before children, keeping each live line's origin.

The engine of the survival analysis (DESIGN.md, "What we measured"): it reads
``git log -p -U0 -M --topo-order --reverse`` as a stream and, per file, keeps
one integer per live line, a *code* packing the line's origin commit, origin
path, line number in that commit's file version and two flags (AI line, code
line).  Lists are never mutated in place, so a commit with several children
shares its parent's lists and only its dict of paths is copied; a commit's
state is kept only while it has unprocessed children.

What keeps an origin (as ``git blame -w -M -C`` would see it):

* whitespace-only changes inside a hunk (lines equal once stripped),
* a reflow or reformat of a block (same characters once all whitespace is
  gone; for hunks that remove AI lines, the same code tokens, comments and
  magic trailing commas aside, from ``survival.parse.tokenize_lines``),
* moves and copies of deleted lines to another place or file in the same
  commit (runs of lines matched by stripped content, scored like blame's
  ``-M``: at least 20 alphanumeric characters per run),
* renames (``-M``) and merges: a file identical to one parent takes that
  parent's lines; a file that differs from every parent is diffed against
  each (one ``git diff-tree --stdin`` call for all merges) and each line
  takes the first parent that has it, else it is the merge's own.

A line that leaves the state dies at that commit and gets its outcome there
(``outcomes.py``).  The git plumbing lives in ``history.py``, the move and
whitespace matching in ``matching.py``, the patch parser in ``patch.py``.
Deaths on one side of a fork stay *pending* until no other branch state is
alive, because a merge may bring the line back; a later commit's deletion of a
pending line replaces its pending death, a merge's does not (the branch that
deleted it did).  The loops of a merge's deaths also run in C where the
optional extension is built (``gitroi.speedups``, docs/speedups.md); the
Python here is the reference.

Accounting: every line a commit adds is either new (it gets the commit's
code and ends alive at the tip or dead, exactly once) or carried; nothing a
parent held leaves a merge without a death.  Nothing is keyed by ``id()`` of
an object that can be freed, and no order depends on string hashing, so the
same history gives the same rows whatever ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import hashlib
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.git.patch import FileDiff, Hunk, parse_files
from gitroi.ranges import RangeSet
from gitroi.speedups import C as _SPEEDUPS
from gitroi.survival.classify import REWORK as _REWORK
from gitroi.survival.classify import Classifier
from gitroi.survival.codes import CSHIFT as _CSHIFT
from gitroi.survival.codes import LINE_BITS as LINE_BITS
from gitroi.survival.codes import LINE_MASK as LINE_MASK
from gitroi.survival.codes import PATH_BITS as PATH_BITS
from gitroi.survival.codes import PATH_MASK as PATH_MASK
from gitroi.survival.codes import PSHIFT as _PSHIFT
from gitroi.survival.history import (
    LogProcess,
    MergeInfo,
    blob_sizes,
    boundary_state,
    derived_state,
    git_cmd,
    shallow_commits,
    start_log,
)
from gitroi.survival.history import merge_info as read_merge_info
from gitroi.survival.lexer import cannot_be_same_tokens
from gitroi.survival.matching import Pool, match_in_hunk, match_moves
from gitroi.survival.outcomes import (
    ended_by,
    outcome_of_death,
    revert_targets,
)

#: The compiled kernels, when built and wanted and of this code layout (docs/speedups.md).
_C = _SPEEDUPS if _SPEEDUPS is not None and _SPEEDUPS.CSHIFT == _CSHIFT else None

STATE_VERSION = 6
#: Commit index 0: lines whose origin is unknown (a shallow clone's grafted
#: root, or the tree at ``--since``); never counted in any figure.
UNKNOWN = 0
#: Hunks larger than this are not checked for a token-level reformat.
REFORMAT_MAX_LINES = 200
DEFAULT_MAX_FILE_BYTES = 1_000_000
#: Epoch seconds from the Monday 1969-12-29 00:00 UTC to the epoch: ``(t + _WEEK0) // 604800``
#: is the index of the ISO week (Monday to Sunday, UTC) holding time ``t``.
_WEEK0 = 3 * 86400


def week_index(t: int) -> int:
    """The week (Monday 00:00 UTC to Sunday) holding epoch time ``t``, as an integer."""
    return (t + _WEEK0) // 604800


def week_monday(w: int) -> str:
    """The Monday of week index ``w`` as ``YYYY-MM-DD`` (what reports call a week)."""
    import datetime as _dt

    return (_dt.date(1969, 12, 29) + _dt.timedelta(days=7 * w)).isoformat()

_WS = b" \t\r\n\f\v"
_EMPTY: list[int] = []


def make_code(cidx: int, pid: int, lineno: int, ai: int, is_code: int) -> int:
    """Pack a line's origin into one int (see module docstring)."""
    return (((((cidx << PATH_BITS) | pid) << LINE_BITS) | min(lineno, LINE_MASK)) << 2) | (ai << 1) | is_code


@dataclass
class Attribution:
    """Which commits are AI commits and which of their lines the agents wrote.

    ``kinds`` maps an attributed commit's sha to ``line``/``commit``/``manual``;
    ``ranges`` holds line-level ranges (1-based, inclusive) per path in the
    commit's own file versions; a commit attributed without ranges counts all
    its added lines as AI lines.
    """

    kinds: dict[str, str] = field(default_factory=dict)
    agents: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)
    sessions: dict[str, frozenset[str]] = field(default_factory=dict)

    def fingerprint(self, among: Iterable[str] | None = None) -> str:
        """Changes whenever anything that decides AI-ness or ``ended_by`` changes.

        ``among`` limits it to the commits already replayed: new commits are
        read during the replay, only a change to an old one forces a full run.
        """
        keys = set(self.kinds)
        keys.update(self.ranges)
        keys.update(self.sessions)
        if among is not None:
            keys.intersection_update(among)
        # A run asks twice (before the replay, then with the new commits): each commit's
        # part is built once (the attribution does not change within a run).
        parts = self.__dict__.setdefault("_fp_parts", {})
        kinds, ranges, sessions = self.kinds, self.ranges, self.sessions
        out: list[bytes] = []
        for sha in sorted(keys):
            part = parts.get(sha)
            if part is None:
                rs, ss = ranges.get(sha), sessions.get(sha)
                # most commits have neither ranges nor sessions: "[]" is what repr() gives then
                part = parts[sha] = b"".join((
                    (sha + kinds.get(sha, "")).encode(),
                    repr(sorted((p, sorted(r)) for p, r in rs.items())).encode() if rs else b"[]",
                    repr(sorted(ss)).encode() if ss else b"[]"))
            out.append(part)
        return hashlib.sha1(b"".join(out)).hexdigest()


@dataclass
class ReplayState:
    """Everything a later run needs to continue from ``tip`` (pickled by analyze.py)."""

    window_s: float
    fingerprint: str
    since: str | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    version: int = STATE_VERSION
    tip: str | None = None
    shas: list[str] = field(default_factory=lambda: [""])
    sha_index: dict[str, int] = field(default_factory=dict)
    times: list[int] = field(default_factory=lambda: [0])
    paths: list[str] = field(default_factory=list)
    path_index: dict[str, int] = field(default_factory=dict)
    tip_files: dict[str, list[int]] = field(default_factory=dict)
    #: Dead non-AI lines: (commit, path, is_code, outcome, ended_by, ended week) -> lines.
    agg: dict[tuple[int, int, int, int, int, int], int] = field(default_factory=dict)
    #: Dead AI lines, one entry each: code -> (outcome, ended_by, ended week); the week is
    #: :func:`week_index` of the committer time of the commit that ended the line.
    ai_dead: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    #: Lines a commit's diff added that kept an older origin: (commit, path, ai, is_code) -> lines.
    carried: dict[tuple[int, int, int, int], int] = field(default_factory=dict)
    #: CRC32s of the lines a commit's replacement hunks removed, per (commit, path): restores.
    restore: dict[tuple[int, int], set[int]] = field(default_factory=dict)
    #: Blob of each (commit, path) version that holds AI lines, to classify it once.
    ai_blobs: dict[tuple[int, int], str] = field(default_factory=dict)
    #: Per (commit, path) with AI lines: code flag and enclosing symbol of each line, from parse.classify.
    ai_syntax: dict[tuple[int, int], tuple[bytes, list[str]]] = field(default_factory=dict)
    #: Per tip path with AI lines: (blob, code flags, symbols) of its tip version.
    tip_syntax: dict[str, tuple[str, bytes, list[str]]] = field(default_factory=dict)
    #: Paths skipped, by reason (binary, huge, submodule, symlink).
    skipped: dict[str, set[str]] = field(default_factory=dict)
    #: Paths left out of every diff: a partial clone lacks blobs of their history.
    excluded: tuple[str, ...] = ()
    commits: int = 0
    #: Lines a merge holds twice (one side moved a line the other kept, and the merge kept
    #: both places, as blame also would): their deaths wait until the end, where a line
    #: still alive somewhere is not dead; each counts once (see ``analyze._rows``).
    dups: set[int] = field(default_factory=set)

    def pid(self, path: str) -> int:
        p = self.path_index.get(path)
        if p is None:
            p = len(self.paths)
            if p > PATH_MASK:
                raise GitroiError(f"more than {PATH_MASK} distinct paths in history; cannot analyse")
            self.paths.append(path)
            self.path_index[path] = p
        return p


def new_codes_py(acodes: list[int], adds: list[bytes], ns: int, base: int, flag: int,
                 pre: tuple[bytes, ...]) -> None:
    """Fill the slots of ``acodes`` still ``-1`` with the codes of new lines (``Replayer._new_codes``).

    ``adds``: the hunk's added lines, stripped; ``ns``: the first one's line
    number; ``base``: ``(commit << PATH_BITS) | path``; ``flag``: 2 for AI
    lines, else 0; a line is code unless it is blank or starts with one of the
    comment prefixes ``pre``.  The reference of ``gitroi._speedups.new_codes``
    (docs/speedups.md), which says False for what it leaves to this function.
    """
    if acodes and acodes[0] == -1 and acodes[-1] == -1 and -1 == min(acodes) == max(acodes):
        # The common case, nothing matched: one comprehension.
        b = base << LINE_BITS
        acodes[:] = [(((b | (ns + j if ns + j < LINE_MASK else LINE_MASK)) << 2) | flag
                      | (1 if s and not s.startswith(pre) else 0)) for j, s in enumerate(adds)]
        return
    for j, c in enumerate(acodes):
        if c == -1:
            s = adds[j]
            acodes[j] = ((((base << LINE_BITS) | min(ns + j, LINE_MASK)) << 2) | flag
                         | (1 if s and not s.startswith(pre) else 0))


def merge_held_py(views: list[dict[str, list[int]]],
                  files: dict[str, list[int]]) -> tuple[list[list[int]], list[str]]:
    """The parents' versions a merge did not take as they were, and their paths.

    ``views``: each parent's files, first parent first; ``files``: the merge's.
    A version counts when it is not empty and the merge does not hold that very
    list (identity, not equality: see :meth:`Replayer._apply_merge`).  The
    reference of ``gitroi._speedups.merge_held`` (docs/speedups.md).
    """
    held: list[list[int]] = []
    paths: list[str] = []
    for view in views:
        for path, lst in view.items():
            if lst and files.get(path) is not lst:
                held.append(lst)
                paths.append(path)
    return held, paths


def merge_deaths_py(held: list[list[int]], now: list[list[int]],
                    known: set[int]) -> tuple[list[int], list[int]]:
    """What a merge ends and what it holds twice, from the versions it replaced and its own.

    ``held``: the parents' versions the merge did not take as they were;
    ``now``: the merge's versions of every file it changed.  Returns ``dead``,
    the codes of ``held`` that no list of ``now`` holds, each once, in the order
    met (the order their deaths are recorded), and ``dups``, the codes ``now``
    holds more than once (``ReplayState.dups``), not of an unknown origin and
    not in ``known``, in the order their second copy is met.

    The reference of ``gitroi._speedups.merge_deaths`` (docs/speedups.md),
    which returns the same from an int64 hash set.
    """
    kept: set[int] = set()
    total = 0
    for lst in now:
        kept.update(lst)
        total += len(lst)
    dups: list[int] = []
    if total > len(kept) and not _known_dups(now, kept, total - len(kept), known):
        seen: set[int] = set()
        new: set[int] = set()
        for lst in now:
            for code in lst:
                if code not in seen:
                    seen.add(code)
                elif code >> _CSHIFT != UNKNOWN and code not in known and code not in new:
                    new.add(code)
                    dups.append(code)
    dead: list[int] = []
    gone: set[int] = set()
    for lst in held:
        if kept.issuperset(lst):  # in C, and true of nearly every list
            continue
        for code in lst:
            if code in kept or code in gone:
                continue
            gone.add(code)
            dead.append(code)
    return dead, dups


def _known_dups(lists: list[list[int]], kept: set[int], excess: int, known_dups: set[int]) -> bool:
    """Whether the lines these lists hold twice (``excess`` more than ``kept`` has) are all
    in ``known_dups`` already: then there are no new ones to look for.

    A history with a copied line holds it in every later version, and a merge
    would look for it again in every file it changed; counting the few known
    ones (in C, list by list) is far cheaper than finding them again.
    """
    known = kept & known_dups
    if not known or len(known) > 64:
        return False
    found = 0
    for lst in lists:
        if known.isdisjoint(lst):
            continue
        for code in known:
            found += lst.count(code)
    return found - len(known) == excess


Progress = Callable[[int, int], None]


def _comment_prefixes(path: str) -> tuple[bytes, ...]:
    """Line-comment markers (plus block openers) of a path's language, for the cheap classifier."""
    try:
        from gitroi.survival import languages

        lang = languages.language_for_path(path)
        style = (languages.GRAMMARS[lang].style if lang is not None
                 else languages.comment_style_for_path(path))
        out = [p.encode() for p in style.line] + [o.encode() for o, _ in style.blocks]
        if any(o == "/*" for o, _ in style.blocks):
            out.append(b"*")  # the inside of a /* ... */ block, by convention
        return tuple(out)
    except Exception:  # languages.py is H6's; never let the cheap path fail
        return (b"#", b"//", b"/*")


class Replayer:
    """One analysis run: continues ``state`` (empty or from a snapshot) up to a tip."""

    def __init__(
        self,
        repo: Repo,
        state: ReplayState,
        attribution: Attribution,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        tokenize: Callable[[str, list[str]], list[tuple[str, ...]]] | None = None,
        progress: Progress | None = None,
        classifier: Classifier | None = None,
    ) -> None:
        self.repo = repo
        self.st = state
        self.attr = attribution
        self.max_file_bytes = max_file_bytes
        self.tokenize = tokenize
        self.progress = progress
        #: Told which file versions the classification will likely need, as the replay finds them.
        self.classifier = classifier
        self._rework = classifier.rework if classifier is not None else None
        self.pending: dict[int, tuple[int, int, int]] = {}
        self._prefix_cache: dict[str, tuple[bytes, ...]] = {}
        self._ai_ranges: dict[tuple[int, str], RangeSet | bool] = {}
        self._cidx_sessions: dict[int, frozenset[str]] = {}
        self._ai_kind: dict[int, bool] = {}
        self.missing: list[str] = []
        self.token_checks = 0
        self._p1_view: dict[str, list[int]] = {}
        self._oe_cache: dict[tuple[int, int, bool], tuple[int, int, int]] = {}
        self.mismatches = 0
        #: Blobs of the versions git called binary, per path: the huge ones are told apart at the end.
        self._binary_blobs: dict[str, set[str]] = {}
        self.debug = bool(__import__("os").environ.get("GITROI_SURVIVAL_DEBUG"))

    # ------------------------------------------------------------------ helpers

    def _git_cmd(self) -> list[str]:
        return git_cmd(self.max_file_bytes)

    def _prefixes(self, path: str) -> tuple[bytes, ...]:
        ext = path.rsplit("/", 1)[-1]
        ext = ext.rsplit(".", 1)[-1] if "." in ext else ext
        p = self._prefix_cache.get(ext)
        if p is None:
            p = self._prefix_cache[ext] = _comment_prefixes(path)
        return p

    def sessions_of(self, cidx: int) -> frozenset[str]:
        s = self._cidx_sessions.get(cidx)
        if s is None:
            s = self._cidx_sessions[cidx] = self.attr.sessions.get(self.st.shas[cidx], frozenset())
        return s

    def is_ai_commit(self, cidx: int) -> bool:
        a = self._ai_kind.get(cidx)
        if a is None:
            a = self._ai_kind[cidx] = self.st.shas[cidx] in self.attr.kinds
        return a

    def _ai_lines(self, cidx: int, path: str) -> RangeSet | bool:
        """True when every added line is an AI line, else the set of AI line numbers."""
        key = (cidx, path)
        v = self._ai_ranges.get(key)
        if v is None:
            sha = self.st.shas[cidx]
            ranges = self.attr.ranges.get(sha)
            if ranges is not None:
                # ranges, not line numbers: a note's claim is never expanded (gitroi/ranges.py)
                v = RangeSet(ranges.get(path, ()))
            else:
                v = self.attr.kinds.get(sha) in ("commit", "manual")
            self._ai_ranges[key] = v
        return v

    # ------------------------------------------------------------------ deaths

    def _die(self, code: int, died_cidx: int, reverted: bool, pending: bool) -> None:
        c = code >> _CSHIFT
        if c == UNKNOWN:
            return
        key = (c, died_cidx, reverted)
        oe = self._oe_cache.get(key)
        if oe is None:
            st = self.st
            o = outcome_of_death(st.times[c], st.times[died_cidx], st.window_s, reverted=reverted)
            e = ended_by(self.sessions_of(died_cidx), self.sessions_of(c), self.is_ai_commit(died_cidx))
            oe = self._oe_cache[key] = (int(o), int(e), week_index(st.times[died_cidx]))
        if pending or code in self.st.dups:
            self.pending[code] = oe
        else:
            self._final(code, oe)

    def _die_many(self, codes: list[int], died_cidx: int, reverted: bool, pending: bool) -> None:
        """``_die`` for the lines of one hunk, without a call per line.

        A commit's deletion of a line already pending (deleted on another
        branch, or at a merge) replaces that pending death: the line was alive
        in this commit's state, so this is the later of its deaths.
        """
        cache = self._oe_cache
        pend = self.pending
        if pending:
            for code in codes:
                c = code >> _CSHIFT
                if c == UNKNOWN:
                    continue
                oe = cache.get((c, died_cidx, reverted))
                if oe is None:
                    self._die(code, died_cidx, reverted, True)
                else:
                    pend[code] = oe
            return
        agg = self.st.agg
        ai_dead = self.st.ai_dead
        rework = self._rework
        dups = self.st.dups
        for code in codes:
            c = code >> _CSHIFT
            if c == UNKNOWN:
                continue
            oe = cache.get((c, died_cidx, reverted))
            if oe is None or (dups and code in dups):
                self._die(code, died_cidx, reverted, False)
                continue
            if pend:
                pend.pop(code, None)
            if code & 2:
                ai_dead[code] = oe
                if rework is not None and oe[0] in _REWORK:
                    rework.append(code)
            else:
                key = (c, (code >> _PSHIFT) & PATH_MASK, code & 1, oe[0], oe[1], oe[2])
                agg[key] = agg.get(key, 0) + 1

    def _final(self, code: int, oe: tuple[int, int, int]) -> None:
        """A death in the only live state: settled now (and no longer pending, if it was)."""
        if self.pending:
            self.pending.pop(code, None)
        if code & 2:
            self.st.ai_dead[code] = oe
            if self._rework is not None and oe[0] in _REWORK:
                self._rework.append(code)
        else:
            key = (code >> _CSHIFT, (code >> _PSHIFT) & PATH_MASK, code & 1, oe[0], oe[1], oe[2])
            agg = self.st.agg
            agg[key] = agg.get(key, 0) + 1

    def _flush(self, files: dict[str, list[int]]) -> None:
        """Settle pending deaths against the only live state: alive lines were not dead after all."""
        if not self.pending:
            return
        pend, self.pending = self.pending, {}
        # The pending lines no list holds, in order: merge_deaths' first result (its second,
        # the tip's duplicated lines, is the rows' business: analyze._rows).
        res = _C.merge_deaths([list(pend)], [lst for lst in files.values() if lst], set()) \
            if _C is not None else None
        if res is not None:
            for code in res[0]:
                self._final(code, pend[code])
            return
        live: set[int] = set()
        for lst in files.values():
            live.update(lst)
        for code, oe in pend.items():
            if code not in live:
                self._final(code, oe)

    # ------------------------------------------------------------------ the run

    def run(self, tip: str, *, exclude: str | None = None, boundary: str | None = None,
            log_proc: LogProcess | None = None) -> None:
        """Replay ``tip`` (minus ``exclude``'s history, whose state is ``st.tip_files``).

        ``boundary`` (``--since``): commits reachable from it are not replayed;
        their lines are of unknown origin.  ``log_proc``: the log stream for
        exactly these revisions, already started (``history.start_log``).
        """
        st = self.st
        stop = exclude or boundary
        revs = [tip] + ([f"^{stop}"] if stop else [])
        # git starts streaming the history while the commit graph is read below.
        excl = st.excluded
        proc = log_proc if log_proc is not None else start_log(self.repo, self.max_file_bytes, revs, excl)
        try:
            out = self.repo.git("rev-list", "--parents", "--topo-order", "--reverse", *revs)
            order: list[list[str]] = [ln.split() for ln in out.decode().splitlines()]
            total = len(order)
            remaining: dict[str, int] = {}
            merges: list[list[str]] = []
            in_range = {o[0] for o in order}
            for o in order:
                for p in o[1:]:
                    remaining[p] = remaining.get(p, 0) + 1
                if len(o) > 2:
                    merges.append(o)
            states: dict[str, dict[str, list[int]]] = {}
            if exclude:
                states[exclude] = st.tip_files
            boundaries = sorted({p for o in order for p in o[1:] if p not in in_range and p != exclude})
            if exclude and boundaries:
                # A merged branch forked before the stored tip: its base state is derived
                # from the tip's (below); replay from scratch only if that fails.
                for b in boundaries:
                    states[b] = derived_state(self.repo, self._git_cmd(), st.tip_files, exclude, b, excl)
                boundaries = []
            for b in boundaries:
                states[b] = boundary_state(self.repo, self._git_cmd(), b, excl)
        except BaseException:
            proc.stop()
            raise
        shallow = shallow_commits(self.repo)
        if not order:
            proc.stop()
            if exclude:
                st.tip = tip
            return
        assert proc.stdout is not None
        # What merges changed is listed by other git processes while this one
        # streams the log; the replay waits for it at the first merge only.
        import threading

        holder: dict[str, MergeInfo] = {}
        worker = threading.Thread(
            target=lambda: holder.setdefault("info", read_merge_info(self.repo, self._git_cmd(), merges, excl)),
            daemon=True)
        if merges:
            worker.start()

        def merge_info() -> MergeInfo:
            worker.join()
            return holder.get("info", {})

        import gc

        # The replay allocates millions of small objects and frees almost none of
        # them in cycles: the cyclic collector would walk them again and again.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._consume(proc.lines(), states, remaining, merge_info, shallow, tip, total)
        except BaseException:
            proc.stop()
            raise
        finally:
            if gc_was_enabled:
                gc.enable()
        proc.join_reader()
        proc.stdout.close()
        err = proc.stderr.read() if proc.stderr else b""
        rc = proc.wait()
        if proc.stderr:
            proc.stderr.close()
        if rc != 0:
            msg = err.decode("utf-8", "replace").strip()
            if "missing" in msg or "could not read" in msg or "promisor" in msg:
                raise GitroiError(f"history of {tip[:12]} has objects missing from this clone: {msg}",
                                  hint="a partial clone: fetch the blobs (`git fetch --refetch`) and retry")
            raise GitroiError(f"`git log -p` failed with exit code {rc}: {msg}")
        files = states.get(tip)
        if files is None:
            raise GitroiError(f"replay did not reach the tip {tip[:12]}")
        self._flush(files)
        st.tip_files = files
        st.tip = tip
        self._sort_huge()

    def _sort_huge(self) -> None:
        """Move the files git called binary only for their size (``core.bigFileThreshold``) to ``huge``."""
        binary = self.st.skipped.get("binary")
        if not self._binary_blobs or not binary:
            return
        blobs = sorted({b for bs in self._binary_blobs.values() for b in bs})
        sizes = blob_sizes(self.repo, blobs)
        for path, bs in self._binary_blobs.items():
            if path in binary and any(sizes.get(b, 0) > self.max_file_bytes for b in bs):
                binary.discard(path)
                self.st.skipped.setdefault("huge", set()).add(path)
        if not binary:
            del self.st.skipped["binary"]

    # ------------------------------------------------------------------ stream

    def _consume(self, stream: Iterable[bytes], states: dict[str, dict[str, list[int]]], remaining: dict[str, int],
                 merge_info: Callable[[], MergeInfo], shallow: set[str], tip: str, total: int) -> None:
        st = self.st
        lines: Iterator[bytes] = iter(stream)
        line = next(lines, None)
        done = 0
        info: MergeInfo | None = None
        progress = self.progress
        while line is not None:
            if not line.startswith(b"\x01C "):
                line = next(lines, None)
                continue
            fields = line[3:-1].decode().split(" ")
            sha, ctime, parents = fields[0], int(fields[1]), [p for p in fields[2:] if p]
            msg: list[bytes] = []
            for line in lines:
                if line == b"\x02\n":
                    break
                msg.append(line)
            line = next(lines, None)
            while line is not None and not line.startswith((b"diff ", b"\x01C ")):
                line = next(lines, None)
            diffs: list[FileDiff] = []
            if line is not None and line.startswith(b"diff "):
                diffs, line = parse_files(lines, line, strip=True)
            cidx = st.sha_index.get(sha)
            if cidx is None:
                cidx = len(st.shas)
                st.shas.append(sha)
                st.times.append(ctime)
                st.sha_index[sha] = cidx
            st.commits += 1
            # Parent states: the first parent's is taken (or copied when shared).
            files: dict[str, list[int]]
            parent_states: list[dict[str, list[int]]] = []
            for i, p in enumerate(parents):
                ps = states.get(p)
                if ps is None:
                    ps = {}
                left = remaining.get(p, 1) - 1
                remaining[p] = left
                if left <= 0:
                    states.pop(p, None)
                    parent_states.append(ps)
                else:
                    parent_states.append(dict(ps) if i == 0 else ps)
            files = parent_states[0] if parent_states else {}
            if len(parents) > 1:
                if info is None:
                    info = merge_info()
                self._apply_merge(cidx, sha, files, parent_states, info.get(sha, []),
                                  {fd.new_path: fd for fd in diffs if fd.new_path is not None})
            else:
                unknown = sha in shallow
                reverts = revert_targets(b"".join(msg))
                self._apply(cidx, files, diffs, bool(states), unknown, reverts)
            if remaining.get(sha, 0) > 0 or sha == tip:
                states[sha] = files
            if len(self.pending) > 200_000 and (not states or (len(states) == 1 and sha in states)):
                self._flush(files)
            done += 1
            if (done & 63) == 0:
                if progress is not None:
                    progress(done, total)
                if self.classifier is not None:
                    self.classifier.feed()
        if progress is not None:
            progress(done, total)

    # ------------------------------------------------------------------ one commit

    def _new_codes(self, cidx: int, pid: int, path: str, h: Hunk, acodes: list[int]) -> None:
        """Fill the unassigned slots of ``acodes`` with new lines of commit ``cidx``."""
        ai = self._ai_lines(cidx, path)
        pre = self._prefixes(path)
        adds = h.sadds
        ns = h.ns
        base = (cidx << PATH_BITS) | pid
        if ai is False or ai is True:
            flag = 2 if ai is True else 0
            if _C is None or not _C.new_codes(acodes, adds, ns, base, flag, pre):
                new_codes_py(acodes, adds, ns, base, flag, pre)
            return
        for j, c in enumerate(acodes):
            if c == -1:
                s = adds[j]
                a = 2 if (ns + j) in ai else 0
                acodes[j] = ((((base << LINE_BITS) | min(ns + j, LINE_MASK)) << 2) | a
                             | (1 if s and not s.startswith(pre) else 0))

    def _apply(self, cidx: int, files: dict[str, list[int]], diffs: Sequence[FileDiff], concurrent: bool,
               unknown: bool, reverts: list[bytes]) -> None:
        st = self.st
        # Pass 1: take the old versions out and find what each hunk deletes.
        work: list[tuple[FileDiff, list[int], list[list[int]], list[list[int]]]] = []
        pool: Pool = {}
        any_del = False
        for fd in diffs:
            old = files.pop(fd.old_path, None) if fd.old_path is not None else None
            if fd.skip:
                where = fd.new_path or fd.old_path or ""
                st.skipped.setdefault(fd.skip, set()).add(where)
                if fd.skip == "binary" and fd.blob and fd.blob.strip("0"):
                    self._binary_blobs.setdefault(where, set()).add(fd.blob)
                if old:
                    for code in old:
                        self._die(code, cidx, False, concurrent)
                continue
            if old is None:
                old = _EMPTY
            dcodes_all: list[list[int]] = []
            acodes_all: list[list[int]] = []
            for h in fd.hunks:
                start = h.os - 1 if h.oc else h.os
                dcodes = old[start:start + h.oc]
                if len(dcodes) != len(h.dels):
                    self._mismatch(fd, h, len(old))
                    dcodes = (dcodes + [make_code(UNKNOWN, 0, 0, 0, 1)] * len(h.dels))[:len(h.dels)]
                acodes = [-1] * len(h.adds)
                if dcodes:
                    any_del = True
                    if h.adds:
                        match_in_hunk(h, dcodes, acodes)
                dcodes_all.append(dcodes)
                acodes_all.append(acodes)
            work.append((fd, old, dcodes_all, acodes_all))
        if any_del:
            # Only deleted lines that some added line of the commit could match go in the pool.
            added: set[bytes] = set()
            for fd, *_ in work:
                for h in fd.hunks:
                    if h.adds:
                        added.update(h.sadds)
            for fno, (fd, _old, dcodes_all, _) in enumerate(work):
                for h, dcodes in zip(fd.hunks, dcodes_all, strict=False):
                    if not dcodes or added.isdisjoint(h.sdels):
                        continue
                    sd = h.sdels
                    for i, code in enumerate(dcodes):
                        if code != -1 and sd[i] in added:
                            pool.setdefault(sd[i], []).append((dcodes, i, sd, fno))
            if pool:
                keys = pool.keys()
                for fno, (fd, _old, _dcodes, acodes_all) in enumerate(work):
                    for h, acodes in zip(fd.hunks, acodes_all, strict=False):
                        if h.adds and not keys.isdisjoint(h.sadds):
                            match_moves(h, acodes, pool, fno)
        # Pass 2: new lists, new lines, deaths.
        tokenize = self.tokenize
        for fd, old, dcodes_all, acodes_all in work:
            path = fd.new_path
            pid = st.pid(path) if path is not None else -1
            new: list[int] = []
            pos = 0
            ai_file = False
            for h, dcodes, acodes in zip(fd.hunks, dcodes_all, acodes_all, strict=False):
                start = h.os - 1 if h.oc else h.os
                if start > pos:
                    new.extend(old[pos:start])
                pos = start + h.oc
                if dcodes and acodes:
                    left_del = [i for i, c in enumerate(dcodes) if c != -1]
                    left_add = [j for j, c in enumerate(acodes) if c == -1]
                else:
                    left_del = left_add = _EMPTY
                if left_del and left_add and path is not None and len(left_del) <= REFORMAT_MAX_LINES \
                        and len(left_add) <= REFORMAT_MAX_LINES:
                    self._reformat(h, dcodes, acodes, left_del, left_add, path,
                                   tokenize if any(dcodes[i] & 2 for i in left_del) else None)
                if path is not None and h.adds:
                    carried = len(acodes) - acodes.count(-1)
                    if carried and not unknown:
                        self._count_carried(cidx, pid, path, h, acodes)
                    if unknown:
                        for j, c in enumerate(acodes):
                            if c == -1:
                                acodes[j] = make_code(UNKNOWN, pid, h.ns + j, 0, 1)
                    else:
                        self._new_codes(cidx, pid, path, h, acodes)
                        if not ai_file:
                            ai_here = self._ai_lines(cidx, path)
                            ai_file = ai_here is True or (ai_here is not False and bool(ai_here))
                    new.extend(acodes)
                # Deaths of what this hunk removed and nothing kept.
                dead = [c for c in dcodes if c != -1]
                if dead:
                    rev = self._reverted(dead, h, acodes, cidx, reverts)
                    self._die_many(dead, cidx, rev, concurrent)
                    if left_add and not unknown and path is not None:
                        crcs = st.restore.setdefault((cidx, pid), set())
                        for i, c in enumerate(dcodes):
                            if c != -1:
                                crcs.add(zlib.crc32(h.sdels[i]))
            if pos < len(old):
                new.extend(old[pos:])
            if path is not None:
                files[path] = new
                if ai_file and fd.blob:
                    st.ai_blobs[(cidx, pid)] = fd.blob
                    if self.classifier is not None:
                        self.classifier.ai_version(pid)

    def _mismatch(self, fd: FileDiff, h: Hunk, have: int) -> None:
        """The replayed file is shorter than the diff says: should not happen; counted, not fatal."""
        self.mismatches += 1
        if self.debug:
            print(f"mismatch {self.st.shas[-1][:10]} {fd.old_path}->{fd.new_path} "
                  f"-{h.os},{h.oc} have {have}")

    def _count_carried(self, cidx: int, pid: int, path: str, h: Hunk, acodes: list[int]) -> None:
        ai = self._ai_lines(cidx, path)
        pre = self._prefixes(path)
        carried = self.st.carried
        for j, c in enumerate(acodes):
            if c != -1:
                s = h.sadds[j]
                is_code = 1 if s and not s.startswith(pre) else 0
                a = 1 if (ai is True or (ai is not False and (h.ns + j) in ai)) else 0  # type: ignore[operator]
                key = (cidx, pid, a, is_code)
                carried[key] = carried.get(key, 0) + 1

    def _reformat(self, h: Hunk, dcodes: list[int], acodes: list[int], left_del: list[int],
                  left_add: list[int], path: str,
                  tokenize: Callable[[str, list[str]], list[tuple[str, ...]]] | None) -> None:
        """A reflow or reformat keeps origins: map each added line to the deleted line its text starts in."""
        dels, adds = h.dels, h.adds
        dw: list[int]
        aw: list[int]
        dall = b"".join([dels[i] for i in left_del]).translate(None, _WS)
        if dall and dall == b"".join([adds[j] for j in left_add]).translate(None, _WS):
            dw = [len(dels[i].translate(None, _WS)) for i in left_del]
            aw = [len(adds[j].translate(None, _WS)) for j in left_add]
        elif tokenize is not None:
            self.token_checks += 1
            if cannot_be_same_tokens(path, b"\n".join([dels[i] for i in left_del]),
                                     b"\n".join([adds[j] for j in left_add])):
                return  # most modified hunks: rejected without lexing them
            dtok = tokenize(path, [h.dels[i].decode("utf-8", "surrogateescape") for i in left_del])
            atok = tokenize(path, [h.adds[j].decode("utf-8", "surrogateescape") for j in left_add])
            flat_d = [t for ts in dtok for t in ts]
            if not flat_d or flat_d != [t for ts in atok for t in ts]:
                return
            dw = [len(t) for t in dtok]
            aw = [len(t) for t in atok]
        else:
            return
        starts: list[int] = []
        acc = 0
        for w in dw:
            starts.append(acc)
            acc += w
        used = [False] * len(left_del)
        pos = 0
        for jj, w in enumerate(aw):
            if w:
                ii = bisect_right(starts, pos) - 1
                while ii > 0 and dw[ii] == 0:
                    ii -= 1
                if 0 <= ii < len(used) and not used[ii]:
                    used[ii] = True
                    i = left_del[ii]
                    acodes[left_add[jj]] = dcodes[i]
                    dcodes[i] = -1
            pos += w

    def _reverted(self, dead: list[int], h: Hunk, acodes: list[int], cidx: int, reverts: list[bytes]) -> bool:
        """A revert of the lines' commit, or a hunk that puts back what their commit replaced."""
        if reverts:
            origins = {c >> _CSHIFT for c in dead}
            st = self.st
            for r in reverts:
                rs = r.decode()
                t = st.sha_index.get(rs)
                if t is None and len(rs) < 40:
                    t = next((i for s, i in st.sha_index.items() if s.startswith(rs)), None)
                if t is not None and t in origins:
                    return True
        if not h.adds:
            return False
        origin = dead[0] >> _CSHIFT
        for c in dead:
            if c >> _CSHIFT != origin:
                return False
        new_lines = [h.sadds[j] for j, c in enumerate(acodes) if (c >> _CSHIFT) == cidx]
        if not new_lines:
            return False
        pids = {(c >> _PSHIFT) & PATH_MASK for c in dead}
        for pid in pids:
            crcs = self.st.restore.get((origin, pid))
            if crcs and all(zlib.crc32(x) in crcs for x in new_lines):
                return True
        return False

    def _apply_merge(self, cidx: int, sha: str, files: dict[str, list[int]],
                     parent_states: list[dict[str, list[int]]],
                     secs: list[dict[str, tuple[str, str, FileDiff | None]]],
                     combined: dict[str, FileDiff]) -> None:
        """A merge as blame sees it: each line from the first parent that has it, else the merge's own.

        Then every line some parent held that the merge holds nowhere dies here
        (pending: it may live on in another state, and a death recorded on the
        branch that deleted it stands).  Parents' versions are compared by list
        identity, not by the diffs: two versions of equal content can hold
        different lines (a rebased duplicate of a commit merged beside it), and
        the lines of the version not taken end at the merge rather than vanish.
        """
        st = self.st
        if not secs:
            return
        first = secs[0]
        # The first parent's files as they were: a file renamed on the other side
        # is looked up under its old name by its combined diff.
        p1 = self._p1_view = dict(files)
        for path, (status, mode, _fd) in first.items():
            old1 = files.get(path, _EMPTY)
            result: list[int] | None = None
            if status == "D" or mode in ("160000", "120000"):
                files.pop(path, None)
                if mode in ("160000", "120000"):
                    st.skipped.setdefault("submodule" if mode == "160000" else "symlink", set()).add(path)
                continue
            for k in range(1, min(len(secs), len(parent_states))):
                if path not in secs[k]:
                    result = parent_states[k].get(path)
                    if result is None:
                        result = _EMPTY
                    break
            if result is None:
                result = self._merge_file(cidx, path, old1, parent_states, combined.get(path))
            if result is _EMPTY:
                files.pop(path, None)
            else:
                files[path] = result
        # Lines of the parents' versions the merge did not take as they were.
        views = [p1, *parent_states[1:]]
        held, paths = (_C.merge_held if _C is not None else merge_held_py)(views, files)
        if not held:
            return
        changed = set(paths)
        for sec in secs:
            changed.update(sec)
        now = [lst for lst in (files.get(p) for p in sorted(changed)) if lst]
        res = _C.merge_deaths(held, now, st.dups) if _C is not None else None
        dead, dups = res if res is not None else merge_deaths_py(held, now, st.dups)
        st.dups.update(dups)
        pending = self.pending
        for code in dead:
            if code not in pending:
                self._die(code, cidx, False, True)

    def _merge_file(self, cidx: int, path: str, old1: list[int], parent_states: list[dict[str, list[int]]],
                    fd: FileDiff | None) -> list[int]:
        """A file that differs from every parent, from its combined diff: each line from the
        first parent that has it (as blame passes lines to parents in order), else the merge's."""
        st = self.st
        if fd is None or fd.skip or not fd.combined:
            if fd is not None and fd.skip in ("binary", "submodule", "symlink"):
                st.skipped.setdefault(fd.skip, set()).add(path)
                return _EMPTY
            self.mismatches += 1
            return old1
        n = fd.parents
        if n > len(parent_states):
            return old1
        names = fd.parent_paths if len(fd.parent_paths) == n else [path] * n
        olds = [self._p1_view.get(names[0] or "", _EMPTY)] + [
            parent_states[k].get(names[k] or "", _EMPTY) for k in range(1, n)]
        pid = st.pid(path)
        ai = self._ai_lines(cidx, path)
        pre = self._prefixes(path)
        pos = [0] * n
        out: list[int] = []
        ai_file = False
        for h in fd.combined:
            gap = (h.rstart - 1 if h.rcount else h.rstart) - len(out)
            if gap > 0:
                out.extend(olds[0][pos[0]:pos[0] + gap])
                for k in range(n):
                    pos[k] += gap
            for raw in h.lines:
                cols = raw[:n]
                if 45 in cols:  # '-': a line of those parents that the merge does not keep
                    for k in range(n):
                        if cols[k] == 45:
                            pos[k] += 1
                    continue
                code = -1
                for k in range(n):
                    if cols[k] == 32:
                        if code == -1 and pos[k] < len(olds[k]):
                            code = olds[k][pos[k]]
                        pos[k] += 1
                if code == -1:
                    s = raw[n:].strip()
                    lineno = len(out) + 1
                    a = 1 if (ai is True or (ai is not False and lineno in ai)) else 0  # type: ignore[operator]
                    ai_file = ai_file or bool(a)
                    code = make_code(cidx, pid, lineno, a, 1 if s and not s.startswith(pre) else 0)
                out.append(code)
        out.extend(olds[0][pos[0]:])
        if ai_file and fd.blob:
            st.ai_blobs[(cidx, pid)] = fd.blob
            if self.classifier is not None:
                self.classifier.ai_version(pid)
        return out
