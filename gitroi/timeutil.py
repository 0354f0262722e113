"""Timestamps as gitroi stores them.

Every time in the ledger, the notes and ``--json`` output is an ISO 8601 UTC
string of fixed width, ``2026-11-23T17:55:18.123Z``, so that plain string
comparison in SQL orders them correctly and Datasette shows them readably.
Agents write times in several shapes (ISO with or without ``Z``, epoch
milliseconds, local "YYYY-MM-DD HH:MM:SS"); everything is normalised here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from gitroi.errors import GitroiError

_FMT = "%Y-%m-%dT%H:%M:%S"


def iso(dt: datetime) -> str:
    """Format an aware (or naive-as-UTC) datetime as gitroi's canonical string."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime(_FMT) + f".{dt.microsecond // 1000:03d}Z"


def from_epoch(seconds: float) -> str:
    """Canonical string for a POSIX timestamp in seconds."""
    return iso(datetime.fromtimestamp(seconds, tz=UTC))


def from_epoch_ms(ms: float) -> str:
    """Canonical string for a POSIX timestamp in milliseconds (OpenCode, Gemini)."""
    return from_epoch(ms / 1000.0)


def parse(value: str) -> datetime:
    """Parse an ISO 8601 string (``Z`` or offset; naive means UTC).

    Raises ``ValueError`` for anything else, so readers can count the line as
    malformed rather than guessing.
    """
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python 3.11 accepts most ISO forms, but not more than 6 fraction digits.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def normalise(value: str) -> str:
    """Any ISO 8601 string to the canonical form."""
    return iso(parse(value))


def now() -> str:
    """The current time, canonical."""
    return iso(datetime.now(tz=UTC))


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def parse_duration(value: str) -> timedelta:
    """``14d``, ``2w``, ``36h``, or a bare number of days."""
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 14d, 2w, 36h)")
    return timedelta(seconds=int(m.group(1)) * _UNIT[m.group(2)])


#: What every ``--since``/``--until`` accepts, for help texts and error hints.
TIME_SYNTAX = "an ISO date or time (2026-01-31, 2026-01-31T12:00Z), a duration ago (30d, 2w, 36h), today or yesterday"
WINDOW_SYNTAX = "a duration: 14d, 2w, 36h, or a bare number of days"


def parse_since(value: str, *, now: datetime | None = None) -> str:
    """A ``--since``/``--until`` value as a canonical time (``ValueError`` if it is none).

    Accepted, the same in every command: an ISO 8601 date or time (naive means
    UTC), a duration ago (``30d``, ``2w``, ``36h``: see :func:`parse_duration`),
    ``now``, ``today`` and ``yesterday`` (midnight of the local day, as a person
    at the terminal means it).
    """
    current = now or datetime.now(tz=UTC)
    word = value.strip().lower()
    if word == "now":
        return iso(current)
    if word in ("today", "yesterday"):
        local = current.astimezone()
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if word == "yesterday":
            # the calendar day before, whatever its length (DST)
            midnight = (midnight - timedelta(hours=12)).replace(hour=0, minute=0, second=0,
                                                                microsecond=0)
        return iso(midnight)
    if _DURATION.match(value):
        return iso(current - parse_duration(value))
    try:
        return iso(parse(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a time: use {TIME_SYNTAX}") from None


def time_option(value: str | None, option: str) -> str | None:
    """:func:`parse_since` for a command-line option: a GitroiError naming the option and the syntax."""
    if value is None or value == "":
        return None
    try:
        return parse_since(value)
    except ValueError:
        raise GitroiError(f"{option} {value!r} is not a time",
                          hint=f"use {TIME_SYNTAX}") from None


def window_option(value: str, option: str = "--window") -> float:
    """A churn window for a command-line option, in days (GitroiError naming the option)."""
    try:
        return parse_duration(value).total_seconds() / 86400.0
    except ValueError:
        raise GitroiError(f"{option} {value!r} is not a duration", hint=f"use {WINDOW_SYNTAX}") from None
