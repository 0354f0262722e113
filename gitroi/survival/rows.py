"""The ledger rows of a replay state: all of them, or only what changed since a snapshot.

A row of ``line_outcomes`` counts lines per (commit, path, symbol, ai,
is_code, outcome, ended_by, ended week); ``line_carried`` per (commit, path,
ai, is_code).  They come from four parts of the state: dead non-AI lines
(``agg``, already aggregated), dead AI lines (``ai_dead``, one entry each,
placed by ``ai_syntax``), the lines alive at the tip (``tip_files``, AI ones
placed by ``tip_syntax``) and ``carried``.

A full analysis turns all of it into rows (:func:`all_rows`).  After an
incremental run, only the parts that changed matter (:class:`Snapshot` taken
before the replay, :func:`row_delta` after it): new or changed entries of
``agg``, ``ai_dead`` and ``carried``, the tip files whose list or tip syntax
changed, and the dead or alive AI lines of versions newly classified.  Their
old contribution is subtracted and the new one added, so a re-analysis after
one commit writes a handful of rows instead of reading and rewriting the
whole table.  Both go through the same key functions, and a test compares an
incremental run's rows with a full run's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitroi.survival.codes import CSHIFT, LINE_MASK, PATH_MASK, PSHIFT
from gitroi.survival.outcomes import ENDED_BY_LABELS, OUTCOME_LABELS
from gitroi.survival.replay import UNKNOWN, ReplayState, week_monday

OutcomeKey = tuple[str, str, str, int, int, str, str, str]
CarriedKey = tuple[str, str, int, int]
AiSyntax = Mapping[tuple[int, int], tuple[bytes, list[str]]]
TipSyntax = Mapping[str, tuple[str, bytes, list[str]]]


class _Keys:
    """Row keys of one state, under one view of the syntax maps (old or new)."""

    def __init__(self, st: ReplayState, ai_syntax: AiSyntax, tip_syntax: TipSyntax) -> None:
        self.shas, self.paths = st.shas, st.paths
        self.ai_syntax, self.tip_syntax = ai_syntax, tip_syntax
        self._mondays: dict[int, str] = {}

    def monday(self, w: int) -> str:
        m = self._mondays.get(w)
        if m is None:
            m = self._mondays[w] = week_monday(w)
        return m

    def agg(self, k: tuple[int, int, int, int, int, int]) -> OutcomeKey:
        c, p, is_code, o, e, w = k
        return (self.shas[c], self.paths[p], "", 0, is_code, OUTCOME_LABELS[o], ENDED_BY_LABELS[e], self.monday(w))

    def ai(self, code: int, o: int, e: int, week: str) -> OutcomeKey:
        c, p, ln = code >> CSHIFT, (code >> PSHIFT) & PATH_MASK, (code >> 2) & LINE_MASK
        syn = self.ai_syntax.get((c, p))
        is_code, symbol = code & 1, ""
        if syn is not None and 0 < ln <= len(syn[0]):
            is_code, symbol = syn[0][ln - 1], syn[1][ln - 1]
        return (self.shas[c], self.paths[p], symbol, 1, is_code, OUTCOME_LABELS[o], ENDED_BY_LABELS[e], week)

    def dead(self, code: int, oe: tuple[int, int, int]) -> OutcomeKey:
        return self.ai(code, oe[0], oe[1], self.monday(oe[2]))

    def tip(self, path: str, lst: list[int], out: Counter[OutcomeKey], sign: int,
            twice: set[int] | None = None, live: set[int] | None = None, skip: set[int] | None = None) -> None:
        """Add (``sign`` 1) or take away (-1) the rows of the lines alive in one tip file.

        ``twice``: codes held more than once at the tip (``ReplayState.dups``), counted at
        their first place only; ``live`` holds those not met yet (emptied as they are).
        ``skip``: codes left out (counted apart by :func:`row_delta`).
        """
        shas, paths = self.shas, self.paths
        tip = self.tip_syntax.get(path)
        alive: Counter[tuple[int, int]] = Counter()
        for i, code in enumerate(lst):
            if code >> CSHIFT == UNKNOWN:
                continue
            if skip and code in skip:
                continue
            if twice and code in twice:
                assert live is not None
                if code not in live:
                    continue
                live.discard(code)
            if code & 2:
                if tip is not None and i < len(tip[1]):
                    key = (shas[code >> CSHIFT], paths[(code >> PSHIFT) & PATH_MASK], tip[2][i], 1,
                           tip[1][i], OUTCOME_LABELS[0], ENDED_BY_LABELS[0], "")
                else:
                    key = self.ai(code, 0, 0, "")
                out[key] += sign
            else:
                alive[(code >> PSHIFT, code & 1)] += 1
        for (cp, is_code), n in alive.items():
            out[(shas[cp >> (CSHIFT - PSHIFT)], paths[cp & PATH_MASK], "", 0, is_code,
                 OUTCOME_LABELS[0], ENDED_BY_LABELS[0], "")] += sign * n

    def carried(self, k: tuple[int, int, int, int]) -> CarriedKey:
        c, p, ai, is_code = k
        return (self.shas[c], self.paths[p], ai, is_code)


def all_rows(st: ReplayState) -> tuple[dict[OutcomeKey, int], dict[CarriedKey, int]]:
    """Every row of the state (a full analysis)."""
    keys = _Keys(st, st.ai_syntax, st.tip_syntax)
    outcomes: Counter[OutcomeKey] = Counter()
    for k, n in st.agg.items():
        outcomes[keys.agg(k)] += n
    # A line held twice at the tip (``ReplayState.dups``) counts once, as alive.
    twice: set[int] = set()
    live: set[int] = set()
    if st.dups:
        live = _held(st.tip_files.values(), st.dups)
        twice = set(live)
    dead = keys.dead
    for code, oe in st.ai_dead.items():
        if code in twice:
            continue
        outcomes[dead(code, oe)] += 1
    for path, lst in sorted(st.tip_files.items()):
        keys.tip(path, lst, outcomes, 1, twice, live)
    carried = {keys.carried(k): n for k, n in st.carried.items()}
    return dict(outcomes), carried


def tip_stats(st: ReplayState) -> dict[str, int]:
    """Lines at the tip, and those of unknown origin (a shallow clone's, or before ``--since``)."""
    limit = 1 << CSHIFT  # codes below it have commit index UNKNOWN (0)
    # min() in C passes over every list without such a line (all of them, outside shallow clones)
    unknown = sum(sum(1 for c in lst if c < limit) for lst in st.tip_files.values() if lst and min(lst) < limit)
    return {"unknown_origin_lines": unknown, "tip_lines": sum(len(v) for v in st.tip_files.values())}


@dataclass
class Snapshot:
    """The parts of a state the rows come from, as they were before an incremental replay.

    Shallow copies (the lists of ``tip_files`` are never mutated in place by
    the replay, and ``ai_syntax`` entries are only ever added), a few
    milliseconds even on a long history.
    """

    agg: dict[tuple[int, int, int, int, int, int], int]
    ai_dead: dict[int, tuple[int, int, int]]
    carried: dict[tuple[int, int, int, int], int]
    tip_files: dict[str, list[int]]
    tip_syntax: dict[str, tuple[str, bytes, list[str]]]
    ai_syntax_keys: set[tuple[int, int]]
    dups: set[int]

    @classmethod
    def of(cls, st: ReplayState) -> Snapshot:
        return cls(dict(st.agg), dict(st.ai_dead), dict(st.carried), dict(st.tip_files), dict(st.tip_syntax),
                   set(st.ai_syntax), set(st.dups))




def _changed(old: Mapping[Any, Any], new: Mapping[Any, Any]) -> set[Any]:
    """Keys whose value differs (or that exist on one side only); the item views compare in C."""
    return {k for k, _ in old.items() ^ new.items()}


def row_delta(st: ReplayState, snap: Snapshot) -> tuple[Counter[OutcomeKey], Counter[CarriedKey]]:
    """Row changes (lines to add per key; negative to take away) since ``snap``."""
    new_keys = set(st.ai_syntax) - snap.ai_syntax_keys
    old_syntax: AiSyntax = ({k: v for k, v in st.ai_syntax.items() if k in snap.ai_syntax_keys}
                            if new_keys else st.ai_syntax)
    old = _Keys(st, old_syntax, snap.tip_syntax)
    new = _Keys(st, st.ai_syntax, st.tip_syntax)
    out: Counter[OutcomeKey] = Counter()
    for k in _changed(snap.agg, st.agg):
        if k in snap.agg:
            out[old.agg(k)] -= snap.agg[k]
        if k in st.agg:
            out[new.agg(k)] += st.agg[k]
    # Lines held twice at the tip, before or after (``ReplayState.dups``), count once, at
    # their first place over all tip files: not a per-file fact, so they are redone apart.
    dups = snap.dups | st.dups
    if dups:
        _dup_rows(old, snap.tip_files, snap.ai_dead, snap.dups, dups, out, -1)
        _dup_rows(new, st.tip_files, st.ai_dead, st.dups, dups, out, 1)
    codes = _changed(snap.ai_dead, st.ai_dead)
    if new_keys:
        codes.update(c for c in st.ai_dead if (c >> CSHIFT, (c >> PSHIFT) & PATH_MASK) in new_keys)
    codes -= dups
    for code in codes:
        if code in snap.ai_dead:
            out[old.dead(code, snap.ai_dead[code])] -= 1
        if code in st.ai_dead:
            out[new.dead(code, st.ai_dead[code])] += 1
    for path in _tip_changes(st, snap, new_keys):
        before = snap.tip_files.get(path)
        if before is not None:
            old.tip(path, before, out, -1, skip=dups)
        after = st.tip_files.get(path)
        if after is not None:
            new.tip(path, after, out, 1, skip=dups)
    carried: Counter[CarriedKey] = Counter()
    for k in _changed(snap.carried, st.carried):
        carried[new.carried(k)] += st.carried.get(k, 0) - snap.carried.get(k, 0)
    return out, carried


def _dup_rows(keys: _Keys, tip_files: Mapping[str, list[int]], ai_dead: Mapping[int, tuple[int, int, int]],
              state_dups: set[int], codes: set[int], out: Counter[OutcomeKey], sign: int) -> None:
    """The rows of ``codes`` in one state, as :func:`all_rows` counts them (``state_dups`` its dups)."""
    # ``state_dups`` is part of ``codes``: only the lists holding some of ``codes`` (a few of
    # thousands, found in C) can hold one of it.
    hit = [(path, lst) for path, lst in sorted(tip_files.items()) if not codes.isdisjoint(lst)]
    twice = _held((lst for _, lst in hit), state_dups)
    live = set(twice)
    for code in codes:
        oe = ai_dead.get(code)
        if oe is not None and code not in twice:
            out[keys.dead(code, oe)] += sign
    for path, lst in hit:
        keys.tip(path, [c if c in codes else UNKNOWN for c in lst], out, sign, twice, live)


def _held(lists: Iterable[list[int]], dups: set[int]) -> set[int]:
    """The codes of ``dups`` some of these tip lists hold: lists that hold none are passed over in C."""
    out: set[int] = set()
    if dups:
        for lst in lists:
            if not dups.isdisjoint(lst):
                out.update(c for c in lst if c in dups)
    return out


def _tip_changes(st: ReplayState, snap: Snapshot, new_keys: set[tuple[int, int]]) -> Iterable[str]:
    """Tip files whose rows may differ: another list, another tip syntax, or AI lines placed by a
    version classified in this run (where no tip syntax covers them)."""
    out: list[str] = []
    for path in snap.tip_files.keys() | st.tip_files.keys():
        lst = st.tip_files.get(path)
        if snap.tip_files.get(path) is not lst or snap.tip_syntax.get(path) != st.tip_syntax.get(path):
            out.append(path)
        elif new_keys and lst:
            tip = st.tip_syntax.get(path)
            covered = len(tip[1]) if tip is not None else 0
            if any(c & 2 and (c >> CSHIFT, (c >> PSHIFT) & PATH_MASK) in new_keys for c in lst[covered:]):
                out.append(path)
    return sorted(out)
