"""Sessions: what coding agents ran, on which models, what they spent and edited.

A *reader* per agent turns that agent's own log files into the neutral
records below; :mod:`gitroi.sessions.importer` drives the readers
incrementally and writes the ledger.  Readers never keep prompt, response,
tool output or file content: an edit is kept as the SHA-1 of each line it
wrote (whitespace-trimmed, see :func:`line_hash`), usage as counts.

Token counts follow DESIGN.md: ``input`` is *uncached* input, and
``input + cache_write + cache_read + output`` is each token counted once;
``reasoning`` is the known part of ``output`` (Codex counts it inside output;
Gemini reports thoughts apart, and its reader adds them into ``output``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object  # Reader is a description for type checkers; nothing checks it at run time


def _sha1_function() -> Callable[[bytes], Any]:
    """CPython's own SHA-1 (``_sha1``: ~0.5 ms to load) rather than hashlib's OpenSSL
    binding (~3.5 ms, which the post-commit hook would count); the digests are the same.
    hashlib's where there is no ``_sha1``."""
    try:
        fn: Callable[[bytes], Any] = importlib.import_module("_sha1").sha1
    except ImportError:  # pragma: no cover - other interpreters
        import hashlib

        fn = hashlib.sha1
    return fn


sha1 = _sha1_function()
"""``hashlib.sha1``'s equal: ``sha1(data).hexdigest()``."""


def line_hash(line: str) -> str:
    """SHA-1 hex of a line with surrounding whitespace removed.

    The one hash both sides use: readers hash what an agent wrote, attribution
    hashes what a commit added, and a match marks the line as the agent's.
    """
    return str(sha1(line.strip().encode("utf-8", "surrogateescape")).hexdigest())


def hash_lines(text: str) -> tuple[str, ...]:
    """Hashes of every line of ``text`` (as an edit tool wrote it), in order."""
    return tuple(line_hash(x) for x in text.splitlines())


def session_key(agent: str, session_id: str) -> str:
    return f"{agent}:{session_id}"


@dataclass(frozen=True)
class UsageEvent:
    """One deduplicated API response (or one usage delta) of a session."""

    event_id: str
    ts: str
    model: str
    input: int = 0           # uncached input
    output: int = 0          # includes reasoning
    cache_write: int = 0     # all cache writes
    cache_write_1h: int = 0  # the part of cache_write at the 1-hour tier
    cache_read: int = 0
    reasoning: int = 0
    logged_cost_usd: float | None = None  # what the agent itself logged
    speed: str | None = None              # Claude "fast" mode multiplies the price

    @property
    def tokens(self) -> int:
        return self.input + self.cache_write + self.cache_read + self.output

    @property
    def prompt_tokens(self) -> int:
        """The request's prompt size, which decides long-context price tiers."""
        return self.input + self.cache_write + self.cache_read


@dataclass(frozen=True)
class FileEdit:
    """One file written through an agent's edit tool: path, time, line hashes."""

    edit_id: str
    ts: str
    tool: str
    path: str                       # absolute, or relative to the session's cwd
    line_hashes: tuple[str, ...]


@dataclass
class SessionInfo:
    """What is known of a session from the lines read so far (fields may fill in later)."""

    agent: str
    session_id: str
    cwd: str | None = None
    git_branch: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    parent_id: str | None = None

    @property
    def key(self) -> str:
        return session_key(self.agent, self.session_id)

    def seen(self, ts: str | None) -> None:
        """Widen the session's time span to include ``ts``."""
        if not ts:
            return
        if self.started_at is None or ts < self.started_at:
            self.started_at = ts
        if self.ended_at is None or ts > self.ended_at:
            self.ended_at = ts


@dataclass(frozen=True)
class Problem:
    """A line or file skipped on import, named for the summary."""

    path: str
    line: int       # 1-based; 0 for the whole file
    reason: str


@dataclass
class ReadResult:
    """What one reader pass over one log file (from an offset) produced."""

    sessions: dict[str, SessionInfo] = field(default_factory=dict)
    # (session key, event)
    events: list[tuple[str, UsageEvent]] = field(default_factory=list)
    edits: list[tuple[str, FileEdit]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    offset: int = 0                      # bytes consumed: only whole lines
    state: dict[str, Any] = field(default_factory=dict)  # carried to the next read of this file
    # (session key, event_id / edit_id) imported by an EARLIER read that the log has since
    # withdrawn (Gemini CLI `$rewindTo`, a `$set.messages` checkpoint).  The importer deletes
    # them before upserting this result's events/edits; an id never appears in both lists.
    deleted_events: list[tuple[str, str]] = field(default_factory=list)
    deleted_edits: list[tuple[str, str]] = field(default_factory=list)

    def session(self, agent: str, session_id: str) -> SessionInfo:
        key = session_key(agent, session_id)
        info = self.sessions.get(key)
        if info is None:
            info = self.sessions[key] = SessionInfo(agent=agent, session_id=session_id)
        return info


class Reader(Protocol):
    """One agent's log format.  Readers are pure: files in, records out.

    ``read`` starts at byte ``offset`` with the ``state`` the previous read
    of the same file returned, reads only whole lines (a trailing partial line
    is left for next time), and must give the same records whether a file is
    read in one pass or in several.
    """

    agent: str

    def roots(self, env: Mapping[str, str], home: Path) -> list[Path]:
        """Directories (or files) where this agent keeps its logs."""
        ...

    def discover(self, roots: Iterable[Path]) -> Iterator[Path]:
        """Every log file under ``roots``."""
        ...

    def read(self, path: Path, offset: int, state: Mapping[str, Any]) -> ReadResult:
        """Parse ``path`` from ``offset``."""
        ...
