"""Line ranges: 1-based inclusive ``(start, end)`` pairs, and arithmetic on them.

Notes claim AI lines as ranges, and a note can come from anyone who can push
``refs/notes/gitroi``: ``[[1, 1000000000]]`` is two integers on the wire and a
billion line numbers once expanded.  Everything here works on the ranges
themselves (sort, merge, intersect, test membership by bisection), so the cost
of a claim is the cost of the commit's real lines, never of the number claimed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence

Range = tuple[int, int]


def normalise(ranges: Iterable[Sequence[int]]) -> tuple[Range, ...]:
    """Sort, and merge overlapping or adjacent ranges; empty or non-positive ones are dropped."""
    out: list[list[int]] = []
    for start, end in sorted((int(x[0]), int(x[1])) for x in ranges):
        if end < start or start < 1:
            continue
        if out and start <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


def from_lines(lines: Iterable[int]) -> tuple[Range, ...]:
    """Line numbers to the shortest tuple of ranges."""
    return normalise((n, n) for n in lines)


def count(ranges: Iterable[Range]) -> int:
    """How many lines the (normalised) ranges hold."""
    return sum(b - a + 1 for a, b in ranges)


def intersect(a: Sequence[Range], b: Sequence[Range]) -> tuple[Range, ...]:
    """The lines in both; ``a`` and ``b`` normalised.  O(len(a) + len(b)), never per line."""
    out: list[Range] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def intersect_paths(claimed: Mapping[str, Sequence[Range]], real: Mapping[str, Sequence[Range]]
                    ) -> dict[str, tuple[Range, ...]]:
    """Per path, the claimed ranges that are real; paths left empty are dropped."""
    out: dict[str, tuple[Range, ...]] = {}
    for path, rs in claimed.items():
        kept = intersect(normalise(rs), normalise(real.get(path, ())))
        if kept:
            out[path] = kept
    return out


class RangeSet:
    """A set of line numbers held as ranges: ``n in s``, ``len(s)``, ``bool(s)``, iteration.

    Built from untrusted ranges at the cost of the ranges; only iteration
    costs per line, and callers iterate only over ranges already clipped to
    real lines.
    """

    __slots__ = ("_ends", "_ranges", "_starts")

    def __init__(self, ranges: Iterable[Sequence[int]] = ()) -> None:
        self._ranges = normalise(ranges)
        self._starts = [a for a, _ in self._ranges]
        self._ends = [b for _, b in self._ranges]

    @property
    def ranges(self) -> tuple[Range, ...]:
        return self._ranges

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, int):
            return False
        i = bisect_right(self._starts, n) - 1
        return i >= 0 and n <= self._ends[i]

    def __len__(self) -> int:
        return count(self._ranges)

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __iter__(self) -> Iterator[int]:
        for a, b in self._ranges:
            yield from range(a, b + 1)

    def __repr__(self) -> str:
        return f"RangeSet({list(self._ranges)!r})"
