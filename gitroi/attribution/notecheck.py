"""The rules every gitroi note must pass before any of its values is used (docs/notes.md).

``refs/notes/gitroi`` is rarely protected: anyone who can push to the remote
can put any bytes on any commit, and ``gitroi sync`` or a plain ``git fetch``
brings them to every clone.  So a note is untrusted input, checked in two
steps:

1. :func:`load` (in :func:`gitroi.attribution.notes.parse`): a size cap and a
   nesting cap measured on the bytes, *before* the JSON parser can recurse;
   then JSON that refuses ``NaN``/``Infinity``, numbers that overflow a float
   and integers outside SQLite's 64-bit range; then the field rules below
   (:func:`count`, :func:`cost`, :func:`path`, :func:`text`, :func:`when`,
   :func:`ranges`).  A note that breaks one is *invalid*: the error names the
   field and why, and the caller quarantines the note (the commit falls back
   to its markers; every other note still counts).
2. :func:`gitroi.attribution.notes.clip` where the commit's own added lines are known: claimed ranges
   are intersected with them (range arithmetic, never line by line) and
   ``lines_added`` is what git says; the caller reports the difference.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

from gitroi import ranges as rng
from gitroi.errors import GitroiError

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~2.5 ms, the post-commit hook counts them
if TYPE_CHECKING:
    from typing import Any

#: A note is a few KiB (a thousand sessions and ten thousand ranges stay far below this).
MAX_BYTES = 4 << 20
#: A gitroi note nests 5 deep (note > sessions > session > models > model); keys of a newer
#: minor version get room, a parser-crashing tower does not.
MAX_DEPTH = 32
#: A token count of one session slice: a trillion is beyond any real session, and with it
#: every sum the ledger makes stays inside SQLite's 64-bit integers.
MAX_COUNT = 10**12
#: All sessions of one note together.
MAX_NOTE_TOKENS = 10**15
#: A cost in USD (one session slice).
MAX_COST = 1e9
#: A line number (no file has two billion lines).
MAX_LINE = 2**31 - 1
#: Names, ids, markers, paths.
MAX_TEXT = 4096
INT64 = 2**63 - 1

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class NoteInvalid(ValueError):
    """A rule a note breaks: ``field`` (a JSON path such as ``sessions[0].output``) and why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}" if field else why)
        self.field = field
        self.why = why


class InvalidNote(GitroiError):
    """A quarantined note: the commit, the field and why; the hint says how to inspect it."""

    def __init__(self, message: str, *, commit: str, field: str = "", why: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.commit = commit
        self.field = field
        self.why = why


def inspect_hint(commit: str) -> str:
    c = commit[:12]
    return (f"inspect it with `git notes --ref=gitroi show {c}`; remove it with "
            f"`git notes --ref=gitroi remove {c}` (then `gitroi attribute {c}` to attribute "
            "the commit again)")


# --- step 1: bytes to a checked JSON value --------------------------------------------------


def depth(data: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings, without parsing (no recursion)."""
    bare = _STRING.sub(b'""', data).translate(None, _NOT_BRACKETS)
    d = best = 0
    for b in bare:
        if b in (91, 123):       # [ {
            d += 1
            if d > best:
                best = d
                if best > MAX_DEPTH:
                    return best
        else:
            d -= 1
    return best


class Refused:
    """A JSON number the parser kept aside (NaN, Infinity, an overflowing float, an integer of
    more than 30 digits): the field check that meets it names the field and refuses the note."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"Refused({self.why!r})"


def _constant(name: str) -> Refused:
    return Refused(f"{name} is not a number gitroi accepts (counts and costs are finite)")


def _float(text: str) -> float | Refused:
    v = float(text)
    return v if math.isfinite(v) else Refused(f"the number {text[:40]} overflows")


def _int(text: str) -> int | Refused:
    if len(text.lstrip("-")) > 30:
        return Refused(f"the integer {text[:30]}… ({len(text)} digits) is outside SQLite's "
                       "64-bit range")
    return int(text)


def load(data: str | bytes) -> Any:
    """Bytes to a JSON value, refusing what could exhaust memory, the stack or SQLite."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_BYTES:
        raise NoteInvalid("", f"{len(raw):,} bytes, above the {MAX_BYTES:,}-byte cap")
    deep = depth(raw)
    if deep > MAX_DEPTH:
        raise NoteInvalid("", f"nested more than {MAX_DEPTH} deep")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteInvalid("", f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise NoteInvalid("", f"not valid JSON: {exc}") from exc
    except ValueError as exc:
        raise NoteInvalid("", f"not valid JSON: {exc}") from exc


def plain(value: Any, field: str) -> Any:
    """``value`` (kept as written, e.g. a key of a newer minor version) when it holds no refused
    number and no integer outside SQLite's 64-bit range; else NoteInvalid naming where."""
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        v, f = stack.pop()
        if isinstance(v, Refused):
            raise NoteInvalid(f, v.why)
        if isinstance(v, int) and not isinstance(v, bool) and not -INT64 - 1 <= v <= INT64:
            raise NoteInvalid(f, f"the integer {v} is outside SQLite's 64-bit range")
        if isinstance(v, dict):
            stack.extend((x, f"{f}.{k}") for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{f}[{i}]") for i, x in enumerate(v))
    return value


# --- step 1b: field rules ------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, Refused):
        return "a refused number"
    s = json.dumps(value, default=repr) if not isinstance(value, float) else repr(value)
    return s if len(s) <= 40 else s[:40] + "…"


def count(value: Any, field: str, *, cap: int = MAX_COUNT) -> int:
    """A token or line count: an integer, 0 ≤ value ≤ ``cap`` (None/absent is 0)."""
    if value is None:
        return 0
    if isinstance(value, Refused):
        raise NoteInvalid(field, value.why)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer() and 0 <= value <= cap:
            return int(value)
        raise NoteInvalid(field, f"{_show(value)} is not a whole number")
    if value < 0:
        raise NoteInvalid(field, f"{value} is negative")
    if value > cap:
        raise NoteInvalid(field, f"{value} is above the cap of {cap:,}")
    return value


def cost(value: Any, field: str) -> float | None:
    """A cost in USD: null (unpriced) or a finite number, 0 ≤ value ≤ :data:`MAX_COST`."""
    if value is None:
        return None
    if isinstance(value, Refused):
        raise NoteInvalid(field, value.why)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NoteInvalid(field, f"{_show(value)} is not a number")
    v = float(value)
    if not math.isfinite(v):
        raise NoteInvalid(field, f"{_show(value)} is not finite")
    if v < 0:
        raise NoteInvalid(field, f"{_show(value)} is negative")
    if v > MAX_COST:
        raise NoteInvalid(field, f"{_show(value)} is above the cap of ${MAX_COST:,.0f}")
    return v


def text(value: Any, field: str, *, empty: bool = False) -> str:
    """A name, id or marker: a string without control characters, at most :data:`MAX_TEXT`."""
    if not isinstance(value, str):
        raise NoteInvalid(field, f"{_show(value)} is not a string")
    if not value and not empty:
        raise NoteInvalid(field, "is empty")
    if len(value) > MAX_TEXT:
        raise NoteInvalid(field, f"{len(value):,} characters, above the cap of {MAX_TEXT:,}")
    m = _CONTROL.search(value)
    if m:
        raise NoteInvalid(field, f"holds the control character U+{ord(m.group()):04X}")
    return value


def path(value: Any, field: str) -> str:
    """A repository path: relative, normal (no empty, ``.`` or ``..`` part), no control character."""
    p = text(value, field)
    if p.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", p):
        raise NoteInvalid(field, f"{_show(p)} is an absolute path")
    parts = p.split("/")
    if ".." in parts:
        raise NoteInvalid(field, f"{_show(p)} leaves the repository (..)")
    if "" in parts or "." in parts:
        raise NoteInvalid(field, f"{_show(p)} is not a normal path")
    return p


def when(value: Any, field: str) -> str | None:
    """A time: null or an ISO 8601 string (kept as written)."""
    if value is None:
        return None
    from gitroi import timeutil

    s = text(value, field)
    try:
        timeutil.parse(s)
    except (ValueError, OverflowError) as exc:
        raise NoteInvalid(field, f"{_show(s)} is not an ISO 8601 time") from exc
    return s


def strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise NoteInvalid(field, f"{_show(value)} is not a list")
    return [text(v, f"{field}[{i}]") for i, v in enumerate(value)]


def mapping(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NoteInvalid(field, f"{_show(value)} is not an object")
    return value


def ranges(value: Any, field: str) -> tuple[rng.Range, ...]:
    """``[[start, end], ...]``: integers, 1 ≤ start ≤ end ≤ :data:`MAX_LINE`."""
    if not isinstance(value, list):
        raise NoteInvalid(field, f"{_show(value)} is not a list of [start, end] pairs")
    out: list[rng.Range] = []
    for i, r in enumerate(value):
        f = f"{field}[{i}]"
        if not isinstance(r, list) or len(r) != 2:
            raise NoteInvalid(f, f"{_show(r)} is not a [start, end] pair")
        a, b = (count(x, f, cap=MAX_LINE) for x in r)
        if a < 1:
            raise NoteInvalid(f, "line numbers start at 1")
        if b < a:
            raise NoteInvalid(f, f"ends ({b}) before it starts ({a})")
        out.append((a, b))
    return rng.normalise(out)
