"""The optional compiled kernels (``gitroi._speedups``), or None: which code the replay runs.

The C extension is built by ``pip install`` where a compiler exists
(``setup.py``, ``optional=True``) and is never required: every kernel has a
pure-Python twin that is the reference, gives the same results and runs
wherever the extension is missing, fails to load, or is turned off with
``GITROI_PURE=1`` (docs/speedups.md).
"""

from __future__ import annotations

import os
from types import ModuleType

#: The kernels' signatures this code expects; the extension's ``ABI`` must match (a build
#: left from an older checkout is not used).  Bump it with ``ABI`` in _speedups.c whenever a
#: kernel is added or changes (tests/test_speedups.py checks that the two agree).
ABI = 3  # 2: parse_hunks; 3: merge_held, new_codes
#: Every kernel the Python code calls: a build lacking one is not used either.
KERNELS = ("merge_held", "merge_deaths", "new_codes", "parse_hunks")


def load() -> tuple[ModuleType | None, str]:
    """The extension module when it is built, current and wanted, else None; and a line saying which."""
    if os.environ.get("GITROI_PURE", "") not in ("", "0"):
        return None, "pure Python (GITROI_PURE is set)"
    try:
        from gitroi import _speedups
    except ImportError:
        return None, "pure Python (gitroi._speedups is not built)"
    if getattr(_speedups, "ABI", None) != ABI or not all(hasattr(_speedups, k) for k in KERNELS):
        return None, "pure Python (gitroi._speedups is a stale build: reinstall gitroi)"
    return _speedups, "compiled (gitroi._speedups)"


#: Read once, at import: a process runs one code path throughout.
C, _WHY = load()


def describe() -> str:
    """Which replay kernels this process runs, and why (one line)."""
    return _WHY
