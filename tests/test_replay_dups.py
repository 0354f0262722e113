"""A merge's check for lines held twice (``replay._known_dups`` in ``merge_deaths_py``).

The check that counts the already known copies must agree with the full search:
when it says "nothing new", the full search would add nothing; when a new copy
appears beside known ones, the full search runs and records it.
"""

from __future__ import annotations

import random

from gitroi.survival.replay import _known_dups, make_code, merge_deaths_py


def _code(c: int, line: int) -> int:
    return make_code(c, 1, line, 0, 1)


def _full_search(lists: list[list[int]], known: set[int]) -> set[int]:
    """Every code held more than once, of a known origin, with those known before."""
    seen: set[int] = set()
    out = set(known)
    for lst in lists:
        for code in lst:
            if code in seen and code >> 44:
                out.add(code)
            seen.add(code)
    return out


def _check(known: set[int], lists: list[list[int]]) -> set[int]:
    """What a merge does with its versions: the new copies it finds join the known ones."""
    _dead, dups = merge_deaths_py([], lists, known)
    assert len(dups) == len(set(dups)) and not known & set(dups)
    known.update(dups)
    return set(known)


def test_known_copies_need_no_search_and_a_new_one_is_found() -> None:
    known: set[int] = set()
    a, b, c = _code(1, 1), _code(1, 2), _code(2, 1)
    assert _check(known, [[a, b], [a, c]]) == {a}           # found by the full search
    assert _known_dups([[a, b], [a, c]], {a, b, c}, 1, known)  # then known: no search
    assert _check(known, [[a, b, b], [a, c]]) == {a, b}     # b twice in one file: new, found
    assert not _known_dups([[a, c], [a, c, c]], {a, c}, 5 - 2, known | {a})  # c twice: not known yet
    assert _check(known, [[make_code(0, 1, 1, 0, 1)] * 2]) == {a, b}  # unknown origin: never a dup


def test_the_shortcut_agrees_with_the_full_search_on_random_files() -> None:
    rng = random.Random(7)
    for _ in range(300):
        pool = [_code(rng.randrange(1, 6), rng.randrange(1, 8)) for _ in range(12)]
        lists = [[rng.choice(pool) for _ in range(rng.randrange(0, 9))] for _ in range(rng.randrange(1, 5))]
        known = set(rng.sample(pool, rng.randrange(0, 4)))
        assert _check(set(known), lists) == _full_search(lists, known)
