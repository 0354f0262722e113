"""The bit layout of a live line's *code*: one int packing its origin (``replay.py``'s state).

``code = ((commit << PATH_BITS | path) << LINE_BITS | line) << 2 | ai << 1 | is_code``.
Kept apart so that the replay and the classification (``classify.py``, which
only reads codes) share it without importing each other.
"""

from __future__ import annotations

LINE_BITS = 20
PATH_BITS = 22
LINE_MASK = (1 << LINE_BITS) - 1
PATH_MASK = (1 << PATH_BITS) - 1
#: ``code >> PSHIFT & PATH_MASK`` is the origin path's index.
PSHIFT = 2 + LINE_BITS
#: ``code >> CSHIFT`` is the origin commit's index.
CSHIFT = 2 + LINE_BITS + PATH_BITS


def version_of(code: int) -> tuple[int, int]:
    """(commit index, path index): the file version a line was born in."""
    return code >> CSHIFT, (code >> PSHIFT) & PATH_MASK
