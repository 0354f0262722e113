"""Which added lines of a commit are old lines moved or reformatted: pure helpers of the replay.

``git blame -w -M -C`` keeps a line's origin through whitespace changes and
through blocks moved or copied from elsewhere in the same commit; these
functions decide the same for the replay, on the stripped contents of a
hunk's deleted and added lines and the integer codes of their origins
(``-1`` marks a slot already taken).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from gitroi.survival.patch import Hunk

#: blame's default -M score: a moved run needs this many alphanumerics.
MOVE_SCORE = 20
_NON_ALNUM = re.compile(rb"[^0-9A-Za-z]")

Pool = dict[bytes, list[tuple[list[int], int]]]


def match_in_hunk(h: Hunk, dcodes: list[int], acodes: list[int]) -> None:
    """Lines of a hunk that differ only in whitespace keep their origin (blame -w)."""
    nd = h.sdels
    na = h.sadds
    if not set(nd).intersection(na):
        return
    if len(nd) == 1 and len(na) == 1:
        acodes[0] = dcodes[0]
        dcodes[0] = -1
        return
    sm = SequenceMatcher(None, nd, na, autojunk=False)
    for a, b, n in sm.get_matching_blocks():
        for k in range(n):
            acodes[b + k] = dcodes[a + k]
            dcodes[a + k] = -1

def match_moves(h: Hunk, acodes: list[int], pool: dict[bytes, list[tuple[list[int], int]]]) -> None:
    """Runs of added lines that were deleted elsewhere in the commit keep their origin (blame -M -C).

    A run needs MOVE_SCORE alphanumerics; blank lines inside it, and just
    before it, come along when the commit deleted blank lines too (as blame
    extends a moved block over them).
    """
    adds = h.sadds
    n = len(adds)

    def take(key: bytes) -> int:
        cands = pool.get(key)
        while cands:
            d, i = cands.pop(0)
            c = d[i]
            if c != -1:
                d[i] = -1
                return c
        return -1

    def avail(key: bytes) -> bool:
        cands = pool.get(key)
        return bool(cands) and any(d[i] != -1 for d, i in cands)  # type: ignore[union-attr]

    j = 0
    while j < n:
        key = adds[j]
        if acodes[j] != -1 or not key or key not in pool or not avail(key):
            j += 1
            continue
        k = j
        score = 0
        while k < n and acodes[k] == -1:
            key = adds[k]
            if key:
                if not avail(key):
                    break
                score += len(_NON_ALNUM.sub(b"", key))
            k += 1
        while k > j and not adds[k - 1]:
            k -= 1
        if score >= MOVE_SCORE:
            for m in range(j, k):
                c = take(adds[m])
                if c != -1:
                    acodes[m] = c
            m = j - 1
            while m >= 0 and acodes[m] == -1 and not adds[m]:
                c = take(b"")
                if c == -1:
                    break
                acodes[m] = c
                m -= 1
        j = max(k, j + 1)
