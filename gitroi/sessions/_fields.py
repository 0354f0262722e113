"""Field coercion shared by the session readers.

Agents' logs are written by many versions of many tools: a count may be
missing, null, a float or (in a corrupt line) a string.  Two policies exist,
and each reader picks the one its format needs: the lenient one
(:func:`count`) for formats whose hot path reads millions of lines (Claude Code
and Codex, read at hook time: a wrong type counts 0), and the strict one
(:func:`strict_count`) for formats where a wrong type means the record is
malformed and is reported as a problem (Gemini CLI, OpenCode).

Both refuse an *absurd* number (negative, not finite, above :data:`MAX_COUNT`):
logs are written by other programs, and one ``"output_tokens":
99999999999999999999999`` must make that one line a problem (file:line, why),
never a SQLite overflow that stops every later import.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

#: A token count of one API response or one log record: a trillion is beyond any real one,
#: and with it every sum the ledger makes stays inside SQLite's 64-bit integers.
MAX_COUNT = 10**12
#: A cost in USD an agent logged for one response.
MAX_COST = 1e9


class AbsurdValue(ValueError):
    """A number no agent writes: the reader makes its line a problem and reads on."""


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
    """A token count, lenient: a non-number is 0; an absurd number raises :class:`AbsurdValue`."""
    if isinstance(v, int) and not isinstance(v, bool):
        if 0 <= v <= MAX_COUNT:
            return v
        raise AbsurdValue(f"token count {_show(v)} is {'negative' if v < 0 else 'above the cap'}")
    if isinstance(v, float) and not (math.isfinite(v) and 0 <= v <= MAX_COUNT):
        raise AbsurdValue(f"token count {_show(v)} is not a finite, non-negative number")
    return 0


def cost(v: Any) -> float | None:
    """A cost the agent logged: None when absent or not a number; an absurd one raises."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    if not (math.isfinite(f) and 0 <= f <= MAX_COST):
        raise AbsurdValue(f"cost {_show(v)} is not a finite, non-negative amount")
    return f


def _show(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 30 else s[:30] + "…"


def strict_count(value: Any) -> int:
    """A token count, strict: None is 0; a non-number raises ``ValueError`` (a malformed record)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {type(value).__name__}")
    if not math.isfinite(value):
        raise AbsurdValue("not a finite number")
    if not 0 <= value <= MAX_COUNT:
        raise AbsurdValue(f"token count {_show(value)} is "
                          f"{'negative' if value < 0 else 'above the cap'}")
    return int(value)
