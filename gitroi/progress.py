"""Progress of long work, with counts, on a terminal; nothing at all anywhere else.

Core functions take a plain callback, ``progress(done, total)`` (:data:`Counts`),
and know nothing of terminals.  A :class:`Progress` hands out such callbacks,
one per stage (``commits replayed``, ``files parsed``, ``log MB read``), and
draws one line per stage on its stream when that stream is a terminal:

    replaying history  [##########..........]  1,664/3,329 commits

A stage that ends within :attr:`Progress.delay` seconds (1 s;
``GITROI_PROGRESS_DELAY`` overrides it) draws nothing,
so quick commands stay quiet; a stage that runs longer shows its bar, redrawn
at most ten times a second, and leaves its final count on the line when it
ends.  When the stream is not a terminal (piped, CI logs, tests) every method
does nothing and nothing is written.  No click: the CLI creates a
``Progress(sys.stderr)`` and passes it (or its callbacks) down.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TextIO

#: What core functions call: ``progress(done, total)``; ``total`` 0 when unknown.
Counts = Callable[[int, int], None]

BAR_WIDTH = 20


class Progress:
    """Stages of long work drawn on ``stream`` (stderr) when it is a terminal."""

    def __init__(self, stream: TextIO | None, *, enabled: bool | None = None, delay: float | None = None,
                 interval: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        if enabled is None:
            enabled = stream is not None and _isatty(stream)
        self.enabled = enabled
        self.delay = _env_delay() if delay is None else delay
        self.interval = interval
        self.clock = clock
        self._label = ""
        self._unit = ""
        self._scale = 1
        self._started = 0.0
        self._drawn_at: float | None = None
        self._done = 0
        self._total = 0

    # ------------------------------------------------------------------ stages

    def stage(self, label: str, unit: str = "", *, scale: int = 1) -> Counts:
        """Start a stage (ending the previous one); returns its ``progress(done, total)``.

        ``scale`` divides the counts shown (bytes read, shown as MB with
        ``scale=1_000_000``).
        """
        self.finish()
        self._label, self._unit, self._scale = label, unit, max(1, scale)
        self._started = self.clock()
        self._drawn_at = None
        self._done = self._total = 0
        return self.update

    def __call__(self, label: str) -> None:
        """A stage known only by name (``Callable[[str], None]`` of older callers)."""
        self.stage(label)

    def update(self, done: int, total: int = 0) -> None:
        """The current stage's count; draws when it is due."""
        if not self.enabled:
            return
        self._done, self._total = done, total
        now = self.clock()
        if now - self._started < self.delay:
            return
        if self._drawn_at is not None and now - self._drawn_at < self.interval and done != total:
            return
        self._draw(now)

    def finish(self) -> None:
        """End the current stage: its last count stays on the line if it was drawn."""
        if not self.enabled or not self._label:
            return
        if self._drawn_at is None and self.clock() - self._started >= self.delay:
            self._draw(self.clock())       # a long stage that never counted: say it ran
        if self._drawn_at is not None:
            assert self.stream is not None
            self.stream.write("\n")
            self.stream.flush()
        self._label = ""
        self._drawn_at = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    # ------------------------------------------------------------------ drawing

    def line(self) -> str:
        """The current stage as one line of text (without the carriage return)."""
        done, total = self._done // self._scale, self._total // self._scale
        unit = f" {self._unit}" if self._unit else ""
        if self._total > 0:
            filled = min(BAR_WIDTH, BAR_WIDTH * self._done // self._total)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            return f"{self._label}  [{bar}]  {done:,}/{total:,}{unit}"
        if self._done:
            return f"{self._label}  {done:,}{unit}"
        return f"{self._label}…"

    def _draw(self, now: float) -> None:
        assert self.stream is not None
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
        self._drawn_at = now


def _env_delay() -> float:
    """Seconds before a stage draws: 1, or ``GITROI_PROGRESS_DELAY`` (0 draws every stage)."""
    try:
        return max(0.0, float(os.environ.get("GITROI_PROGRESS_DELAY", "1")))
    except ValueError:
        return 1.0


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):   # closed, or not a real file
        return False


