"""``rows.row_delta``: the rows of the state before plus the delta are the rows of the state after.

Random replay states and random changes of the kinds an incremental run makes
(new deaths, changed or new tip files, new tip syntax, newly classified
versions, new carried lines, lines held twice at the tip), checked against
:func:`all_rows` of both states.  The end-to-end check on a real history is in
``test_survival_parallel.py``.
"""

from __future__ import annotations

import copy
import random
from collections import Counter

import pytest

from gitroi.survival.replay import ReplayState, make_code
from gitroi.survival.rows import Snapshot, all_rows, row_delta


def _state(rng: random.Random) -> ReplayState:
    st = ReplayState(window_s=14 * 86400.0, fingerprint="")
    for i in range(1, 9):
        st.shas.append(f"{i:040x}")
        st.times.append(1_700_000_000 + i * 86400)
        st.sha_index[st.shas[-1]] = i
    for p in ("a.py", "b.ts", "c.go", "d.md"):
        st.pid(p)
    for p in ("a.py", "b.ts", "c.go"):
        st.tip_files[p] = [_code(rng) for _ in range(rng.randint(3, 12))]
    for _ in range(20):
        code = _code(rng)
        st.ai_dead[code | 2] = (rng.randint(1, 3), rng.randint(0, 2), rng.randint(2800, 2805))
    for _ in range(10):
        k = (rng.randint(1, 8), rng.randint(0, 3), rng.randint(0, 1), rng.randint(1, 3), rng.randint(0, 2), 2801)
        st.agg[k] = rng.randint(1, 5)
    st.carried[(1, 0, 1, 1)] = 2
    return st


def _code(rng: random.Random) -> int:
    return make_code(rng.randint(0, 8), rng.randint(0, 3), rng.randint(1, 12), rng.randint(0, 1), rng.randint(0, 1))


def _syntax(rng: random.Random, n: int) -> tuple[bytes, list[str]]:
    return bytes(rng.randint(0, 1) for _ in range(n)), [rng.choice(["", "f", "C.m"]) for _ in range(n)]


def _change(st: ReplayState, rng: random.Random) -> None:
    """What an incremental replay may do to a state (lists are replaced, never mutated)."""
    paths = sorted(st.tip_files)
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        if r < 0.25:
            p = rng.choice(paths)
            st.tip_files[p] = st.tip_files[p][:2] + [_code(rng) for _ in range(rng.randint(0, 5))]
        elif r < 0.35:
            st.tip_files["e.py"] = [_code(rng) for _ in range(4)]
        elif r < 0.45:
            p = rng.choice(paths)
            st.tip_syntax[p] = (f"{rng.random()}", *_syntax(rng, len(st.tip_files[p])))
        elif r < 0.6:
            code = rng.choice([c for lst in st.tip_files.values() for c in lst] or [_code(rng)])
            st.ai_dead[code | 2] = (rng.randint(1, 3), rng.randint(0, 2), 2806)
        elif r < 0.7:
            key = (rng.randint(1, 8), rng.randint(0, 3))
            st.ai_syntax.setdefault(key, _syntax(rng, 12))
        elif r < 0.8:
            k = (rng.randint(1, 8), 1, 0, 1, 0, 2806)
            st.agg[k] = st.agg.get(k, 0) + 1
            st.carried[(2, 1, 0, 1)] = st.carried.get((2, 1, 0, 1), 0) + 1
        else:
            # A line held twice: the same code in two tip files (a merge took it from both sides).
            src = rng.choice(paths)
            if st.tip_files[src]:
                code = rng.choice(st.tip_files[src])
                dst = rng.choice(paths)
                st.tip_files[dst] = [*st.tip_files[dst], code]
                st.dups.add(code)


def _plus(a: dict[object, int], d: Counter[object]) -> dict[object, int]:
    out: Counter[object] = Counter(a)
    out.update(d)
    return {k: n for k, n in out.items() if n}


@pytest.mark.parametrize("seed", range(300))
def test_delta_rows_equal_full_rows(seed: int) -> None:
    rng = random.Random(seed)
    st = _state(rng)
    if seed % 3 == 0:  # some states start with lines held twice
        code = st.tip_files["a.py"][0]
        st.tip_files["b.ts"] = [*st.tip_files["b.ts"], code]
        st.dups.add(code)
    if seed % 2:
        st.ai_syntax[(1, 0)] = _syntax(rng, 12)
        st.tip_syntax["a.py"] = ("blob", *_syntax(rng, len(st.tip_files["a.py"])))
    before = copy.deepcopy(st)
    snap = Snapshot.of(st)
    _change(st, rng)
    delta, cdelta = row_delta(st, snap)
    old_rows, old_carried = all_rows(before)
    new_rows, new_carried = all_rows(st)
    assert _plus(old_rows, delta) == new_rows  # type: ignore[arg-type]
    assert _plus(old_carried, cdelta) == new_carried  # type: ignore[arg-type]
