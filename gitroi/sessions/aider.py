"""Aider sessions: ``.aider.chat.history.md`` in a repository's work tree.

Aider appends a Markdown transcript to ``.aider.chat.history.md`` in the
directory it runs in (the repository root, usually).  What gitroi reads of it
(``aider/io.py`` ``append_chat_history``, ``aider/coders/base_coder.py``):

* ``# aider chat started at 2026-03-04 09:15:02`` opens a chat (local time,
  no zone: read as the local time of the machine gitroi runs on).  A chat is
  a session; its id is a hash of the history file's path and that line, so
  it is stable across imports and machines' clones of the same path.
* ``> Main model: <name> with diff edit format, ...`` (older versions:
  ``> Model: <name> with ...``, ``> Models: <name> with ..., weak model ...``)
  names the model of the usage lines that follow; ``/model`` prints it again.
* ``> Tokens: 2.4k sent, 1.1k cache write, 800 cache hit, 187 received.
  Cost: $0.0071 message, $0.021 session.`` is one API exchange.  When both
  cache figures are present Aider breaks the line before ``Cost:``, and the
  second line carries no ``> `` prefix; it may therefore arrive in the next
  incremental read, which then re-emits the same event with its cost.
  Counts are printed lossily (``<1000`` exact, ``<10000`` one decimal of
  ``k``, else whole ``k``): ``2.4k`` is read as 2400.
* ``> Applied edit to <file>``: Aider edited that file.  The history holds no
  line content, so the edit is recorded with an empty list of line hashes:
  it ties the session to the file (and Aider's own ``(aider)`` commits are
  attributed at commit level), but never claims a line.

Token split: Aider's ``sent`` is the prompt plus cache writes; whether the
prompt includes cache hits depends on the provider (OpenAI-style prompts do,
Anthropic's do not).  gitroi takes ``input = sent - write - hit`` when
``sent`` is at least ``write + hit``, else ``input = sent - write``;
``cache_write = write``, ``cache_read = hit``, ``output = received``.  The
``message`` cost is kept as the logged cost.  Every event and edit of a chat
is stamped with the chat's start time: the history has no other clock.

Aider's ``--analytics-log`` JSONL has exact counts but no directory or chat
id to tie an event to a repository, so it is not read.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from gitroi import timeutil
from gitroi.sessions import FileEdit, Problem, ReadResult, UsageEvent, session_key
from gitroi.sessions._lines import decode, read_whole_lines

AGENT = "aider"
HISTORY_NAME = ".aider.chat.history.md"
ENV_VAR = "GITROI_AIDER_HISTORY"

_NUM = r"[\d,]+(?:\.\d+)?k?"
_START = re.compile(r"^# aider chat started at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s*$")
_MODEL = re.compile(r"^> (?:Main model|Model|Models): (\S+)")
_TOKENS = re.compile(
    rf"^> Tokens: (?P<sent>{_NUM}) sent(?:, (?P<write>{_NUM}) cache write)?(?:, (?P<hit>{_NUM}) cache hit)?"
    rf", (?P<recv>{_NUM}) received\.(?P<rest>.*)$"
)
_COST = re.compile(r"^\s*(?:> )?Cost: \$(?P<msg>[\d.]+) (?:message|request), \$(?P<sess>[\d.]+) session\.?\s*$")
_APPLIED = re.compile(r"^> Applied edit to (.+?)\s*$")


def parse_count(text: str) -> int:
    """Aider's formatted token count: ``187``, ``1,234``, ``2.4k`` (2400), ``12k`` (12000)."""
    t = text.replace(",", "")
    if t.endswith("k"):
        return round(float(t[:-1]) * 1000)
    return int(float(t))


def split_tokens(sent: int, write: int, hit: int) -> int:
    """Uncached input from Aider's ``sent`` (see the module docstring)."""
    if sent >= write + hit:
        return sent - write - hit
    return max(0, sent - write)


def chat_start(local: str) -> str:
    """``2026-03-04 09:15:02`` in this machine's local time, as a canonical UTC string."""
    return timeutil.iso(datetime.strptime(local, "%Y-%m-%d %H:%M:%S").astimezone())


def session_id(path: Path, start_line: str) -> str:
    key = f"{os.path.abspath(path)}\n{start_line}"
    return hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


class AiderReader:
    """Reader for Aider's Markdown chat history."""

    agent = AGENT

    def roots(self, env: Mapping[str, str], home: Path) -> list[Path]:
        """Only the explicit ``GITROI_AIDER_HISTORY`` list (files or directories, ``:``-separated).

        Aider keeps no central log: the importer adds the work trees of the
        repository being imported (``scoped_roots``).
        """
        return [Path(p).expanduser() for p in (env.get(ENV_VAR) or "").split(os.pathsep) if p.strip()]

    def scoped_roots(self, worktrees: Iterable[str]) -> list[Path]:
        """Where Aider writes its history for these directories.

        Each given directory, and its parents up to the work tree's top (the
        first one holding ``.git``): the importer passes the repository's
        work trees, or the current directory when it has no repository.
        """
        out: list[Path] = []
        for w in worktrees:
            d = Path(w)
            chain = [d]
            for cand in (d, *d.parents):
                if cand != d:
                    chain.append(cand)
                try:
                    if (cand / ".git").exists():
                        break
                except OSError:
                    chain = [d]
                    break
            else:
                chain = [d]  # not inside a work tree: only the directory itself
            out.extend(c for c in chain if c not in out)
        return out

    def discover(self, roots: Iterable[Path]) -> Iterator[Path]:
        seen: set[Path] = set()
        for root in roots:
            cand = root / HISTORY_NAME if root.is_dir() else root
            try:
                ok = cand.is_file()
            except OSError:
                ok = False
            if ok and cand not in seen:
                seen.add(cand)
                yield cand

    def peek_cwd(self, path: Path) -> str | None:
        """Aider runs where its history file is."""
        return str(path.parent.resolve())

    def read(self, path: Path, offset: int, state: Mapping[str, Any]) -> ReadResult:
        result = ReadResult(offset=offset, state=dict(state))
        try:
            lines, end = read_whole_lines(path, offset, int(state.get("line", 0)) + 1)
        except OSError as exc:
            result.problems.append(Problem(str(path), 0, f"cannot read: {exc.strerror or exc}"))
            return result
        cwd = str(path.parent.resolve())
        sid: str | None = state.get("sid")
        start: str | None = state.get("start")
        model: str | None = state.get("model")
        pending: dict[str, Any] | None = state.get("pending")
        events: dict[str, UsageEvent] = {}
        order: list[tuple[str, str]] = []  # (session id, event id) in file order
        edits: list[tuple[str, FileEdit]] = []

        def touch(s: str, st: str) -> None:
            info = result.session(AGENT, s)
            info.cwd = cwd
            info.seen(st)

        if sid and start and lines:
            touch(sid, start)
        for line in lines:
            text = decode(line.raw)
            if text is None:
                result.problems.append(Problem(str(path), line.number, "not UTF-8"))
                pending = None
                continue
            if pending is not None:
                m = _COST.match(text)
                if m:
                    ev = _event_from(pending, float(m.group("msg")))
                    events[ev.event_id] = ev
                    if (pending["sid"], ev.event_id) not in order:
                        order.append((pending["sid"], ev.event_id))
                    pending = None
                    continue
                pending = None
            if not text.startswith(("#", ">")):
                continue  # prompts' continuation lines and the model's replies: never read
            m = _START.match(text)
            if m:
                try:
                    start = chat_start(m.group(1))
                except ValueError:
                    result.problems.append(Problem(str(path), line.number, "bad chat start time"))
                    sid = start = None
                    continue
                sid = session_id(path, m.group(1))
                model = None
                touch(sid, start)
                continue
            if not text.startswith("> "):
                continue
            if text.startswith("> Tokens:"):
                if sid is None or start is None:
                    result.problems.append(Problem(str(path), line.number, "usage line before any chat start"))
                    continue
                t = _TOKENS.match(text)
                if t is None:
                    result.problems.append(Problem(str(path), line.number, "unrecognised Tokens line"))
                    continue
                sent = parse_count(t.group("sent"))
                write = parse_count(t.group("write")) if t.group("write") else 0
                hit = parse_count(t.group("hit")) if t.group("hit") else 0
                fields = {
                    "sid": sid, "id": f"o{line.start}", "ts": start, "model": model or "unknown",
                    "input": split_tokens(sent, write, hit), "cache_write": write, "cache_read": hit,
                    "output": parse_count(t.group("recv")),
                }
                rest = t.group("rest").strip()
                cost: float | None = None
                if rest:
                    c = _COST.match(rest)
                    if c is None:
                        result.problems.append(Problem(str(path), line.number, "unrecognised Cost part"))
                    else:
                        cost = float(c.group("msg"))
                ev = _event_from(fields, cost)
                events[ev.event_id] = ev
                order.append((sid, ev.event_id))
                if cost is None and not rest:
                    pending = fields  # the cost may follow on its own line
                continue
            mm = _MODEL.match(text)
            if mm:
                model = mm.group(1)
                continue
            ap = _APPLIED.match(text)
            if ap and sid is not None and start is not None:
                edits.append((session_key(AGENT, sid), FileEdit(
                    edit_id=f"o{line.start}", ts=start, tool="aider", path=ap.group(1), line_hashes=())))
        for s, eid in order:
            result.events.append((session_key(AGENT, s), events[eid]))
        result.edits.extend(edits)
        result.offset = end
        result.state = {"line": int(state.get("line", 0)) + len(lines), "sid": sid, "start": start,
                        "model": model, "pending": pending}
        return result


def _event_from(fields: Mapping[str, Any], cost: float | None) -> UsageEvent:
    return UsageEvent(
        event_id=str(fields["id"]), ts=str(fields["ts"]), model=str(fields["model"]),
        input=int(fields["input"]), output=int(fields["output"]),
        cache_write=int(fields["cache_write"]), cache_read=int(fields["cache_read"]),
        logged_cost_usd=cost,
    )


READER = AiderReader()
