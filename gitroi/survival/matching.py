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

from gitroi.git.patch import Hunk

#: blame's default -M score: a moved run needs this many alphanumerics.
MOVE_SCORE = 20
#: blame's default -C score, for lines that come from another file.
COPY_SCORE = 40
_NON_ALNUM = re.compile(rb"[^0-9A-Za-z]")

#: stripped content -> (the deleted lines' codes, index, their stripped contents, number of
#: their file in the commit) per deleted line.  The file is a number, never an ``id()``.
Pool = dict[bytes, list[tuple[list[int], int, list[bytes], int]]]


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

def match_moves(h: Hunk, acodes: list[int], pool: Pool, file_no: int | None = None) -> None:
    """Blocks of added lines that were deleted elsewhere in the commit keep their origin (blame -M -C).

    As in blame, a block is contiguous on both sides (consecutive added lines
    matching consecutive deleted lines, blank ones included) and needs
    MOVE_SCORE alphanumerics when it comes from the same file (``-M``),
    COPY_SCORE from another file (``-C``); ``file_no`` is the number the
    pool gives this hunk's file (``None``: every source counts as the same
    file).  Among several sources the longest block wins.
    """
    adds = h.sadds
    n = len(adds)
    j = 0
    while j < n:
        key = adds[j]
        cands = pool.get(key) if key and acodes[j] == -1 else None
        if not cands:
            j += 1
            continue
        best: tuple[int, int, int, list[int], int] | None = None  # score, start, end, dcodes, src start
        for d, i, src, fno in cands[:16]:
            if d[i] == -1:
                continue
            # Extend backwards, then forwards, while both sides stay contiguous and free.
            a, b = j, i
            while a > 0 and b > 0 and acodes[a - 1] == -1 and d[b - 1] != -1 and src[b - 1] == adds[a - 1]:
                a -= 1
                b -= 1
            k, e = j, i
            while k < n and e < len(d) and acodes[k] == -1 and d[e] != -1 and src[e] == adds[k]:
                k += 1
                e += 1
            score = sum(len(_NON_ALNUM.sub(b"", adds[m])) for m in range(a, k))
            need = MOVE_SCORE if file_no is None or fno == file_no else COPY_SCORE
            if score >= need and (best is None or score > best[0]):
                best = (score, a, k, d, b)
        if best is None:
            j += 1
            continue
        _, a, k, d, b = best
        for m in range(a, k):
            acodes[m] = d[b + m - a]
            d[b + m - a] = -1
        j = k

