"""Field coercion shared by the session readers.

Agents' logs are written by many versions of many tools: a count may be
missing, null, a float or (in a corrupt line) a string.  Two policies exist,
and each reader picks the one its format needs: the lenient one
(:func:`count`) for formats whose hot path must never raise (Claude Code and
Codex, read at hook time), and the strict one (:func:`strict_count`) for
formats where a wrong type means the record is malformed and is reported as
a problem (Gemini CLI, OpenCode).
"""

from __future__ import annotations

import math
from typing import Any


def canon_ts(ts: Any) -> str | None:
    """A log's timestamp as gitroi's canonical string, or None when it is not one.

    The common case (already ``YYYY-MM-DDTHH:MM:SS.mmmZ``) is returned as is
    without parsing, which matters on the import hot path.
    """
    if not isinstance(ts, str) or not ts:
        return None
    if len(ts) == 24 and ts[10] == "T" and ts[-1] == "Z":
        return ts
    from gitroi import timeutil

    try:
        return timeutil.normalise(ts)
    except ValueError:
        return None


def count(v: Any) -> int:
    """A token count, lenient: anything but a positive int is 0."""
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


def strict_count(value: Any) -> int:
    """A token count, strict: None is 0; a non-number raises ``ValueError`` (a malformed record)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return int(value)
