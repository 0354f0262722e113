"""Types of the optional C kernels (gitroi/_speedups.c); the Python twins are the reference."""

from collections.abc import Callable, Iterator

from gitroi.git.patch import Hunk

#: ``code >> CSHIFT`` is a line's origin commit, as in gitroi/survival/codes.py.
CSHIFT: int
#: The version of the kernels' signatures: gitroi.speedups uses the module only when it matches.
ABI: int

def merge_held(
    views: list[dict[str, list[int]]], files: dict[str, list[int]]
) -> tuple[list[list[int]], list[str]]: ...
def merge_deaths(
    held: list[list[int]], now: list[list[int]], known: set[int] | frozenset[int]
) -> tuple[list[int], list[int]] | None: ...

def new_codes(
    acodes: list[int], adds: list[bytes], ns: int, base: int, flag: int, pre: tuple[bytes, ...]
) -> bool: ...
def parse_hunks(
    lines: Iterator[bytes], line: bytes, hunk_type: Callable[..., Hunk], strip: bool
) -> tuple[list[Hunk], bytes | None]: ...
