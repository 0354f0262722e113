"""Where a hook's milliseconds go: phase marks, written when ``GITROI_HOOK_TRACE`` names a file.

``benchmarks/bench_hook.py`` sets it to break the post-commit hook's time
down (start-up and imports, the session logs, the commit's diff, the note,
the ledger rows); nothing else does.  Off, a mark is one dictionary look-up.
Each process appends one JSON line (its pid, and for each mark its name,
wall-clock ``time.perf_counter`` and CPU ``time.process_time`` seconds) when
it calls :func:`flush`: the hook's own process, a forked worker, a warm hook server
for each commit it does.
"""

from __future__ import annotations

import os
import time

_PATH = os.environ.get("GITROI_HOOK_TRACE") or None
_marks: list[tuple[str, float, float]] = []


def mark(name: str) -> None:
    """Record that the phase ``name`` has just ended (no-op unless tracing)."""
    if _PATH is not None:
        _marks.append((name, time.perf_counter(), time.process_time()))


def reset() -> None:
    """In a warm hook server, before each commit: the trace file of that hook's environment,
    no marks yet."""
    global _PATH
    _PATH = os.environ.get("GITROI_HOOK_TRACE") or None
    _marks.clear()


def forked() -> None:
    """In a forked worker: forget the marks the parent made (the parent writes them)."""
    _marks.clear()


def flush() -> None:
    """Append this process's marks to the trace file (no-op unless tracing); never raises."""
    if _PATH is None or not _marks:
        return
    import json

    line = json.dumps({"pid": os.getpid(), "marks": _marks}) + "\n"
    _marks.clear()
    try:
        fd = os.open(_PATH, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError:
        pass
