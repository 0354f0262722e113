"""A merge's check for lines held twice (``Replayer._known_dups`` / ``_note_dups``).

The check that counts the already known copies must agree with the full search:
when it says "nothing new", the full search would add nothing; when a new copy
appears beside known ones, the full search runs and records it.
"""

from __future__ import annotations

import random
from pathlib import Path

from gitroi.git import Repo
from gitroi.survival.replay import Attribution, Replayer, ReplayState, make_code


def _replayer(tmp_path: Path) -> Replayer:
    st = ReplayState(window_s=14 * 86400.0, fingerprint="")
    return Replayer(Repo.__new__(Repo), st, Attribution())


def _code(c: int, line: int) -> int:
    return make_code(c, 1, line, 0, 1)


def _check(r: Replayer, lists: list[list[int]]) -> set[int]:
    """What a merge does: the shortcut first, the full search when it cannot say."""
    kept: set[int] = set()
    total = 0
    for lst in lists:
        kept.update(lst)
        total += len(lst)
    if total > len(kept) and not r._known_dups(lists, kept, total - len(kept)):
        r._note_dups(lists)
    return set(r.st.dups)


def test_known_copies_need_no_search_and_a_new_one_is_found(tmp_path: Path) -> None:
    r = _replayer(tmp_path)
    a, b, c = _code(1, 1), _code(1, 2), _code(2, 1)
    assert _check(r, [[a, b], [a, c]]) == {a}           # found by the full search
    assert r._known_dups([[a, b], [a, c]], {a, b, c}, 1)  # then known: no search
    assert _check(r, [[a, b, b], [a, c]]) == {a, b}     # b twice in one file: new, found
    assert not r._known_dups([[a, c], [a, c, c]], {a, c}, 5 - 2)  # c twice: not known yet


def test_the_shortcut_agrees_with_the_full_search_on_random_files(tmp_path: Path) -> None:
    rng = random.Random(7)
    for _ in range(300):
        pool = [_code(rng.randrange(1, 6), rng.randrange(1, 8)) for _ in range(12)]
        lists = [[rng.choice(pool) for _ in range(rng.randrange(0, 9))] for _ in range(rng.randrange(1, 5))]
        r = _replayer(tmp_path)
        r.st.dups.update(rng.sample(pool, rng.randrange(0, 4)))
        before = set(r.st.dups)
        full = _replayer(tmp_path)
        full.st.dups.update(before)
        full._note_dups(lists)
        assert _check(r, lists) == full.st.dups
