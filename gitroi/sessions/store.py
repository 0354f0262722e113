"""The ledger's store of sessions: SQL for sessions, usage events, edits, log files, problems.

It lives in the sessions package because it builds that layer's records
(:class:`UsageEvent`, :class:`Problem`), and the ledger sits below sessions.

Every write is an idempotent upsert keyed by stable ids (session key, event
id, edit id), so a log file read again from the start (it shrank, or was
replaced) never double counts, and an import killed half-way and run again
ends with the same ledger.  One log file's records and its new offset are
written in one transaction (:func:`write_file`).

Usage events of agents whose logs repeat a response with growing counts
(Claude Code's streaming placeholders) are upserted with ``keep_max``: a row
is replaced only by a copy with a larger token total, whichever file or read
it comes from.  Other agents' readers already emit the final figures, and
their later copy replaces the earlier one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gitroi.ledger.transactions import transaction
from gitroi.sessions import FileEdit, Problem, SessionInfo, UsageEvent

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

    from sqlite_utils import Database


@dataclass
class LogFile:
    """What the ledger remembers of one log file."""

    path: str
    agent: str
    dev: int | None
    inode: int | None
    size: int
    offset: int
    head_sha1: str | None
    mtime: float | None
    state: dict[str, Any]


def log_files(db: Database, agent: str | None = None) -> dict[str, LogFile]:
    """Every remembered log file (of one agent), by path."""
    sql = "SELECT path, agent, dev, inode, size, offset, head_sha1, mtime, state FROM log_files"
    args: tuple[Any, ...] = ()
    if agent is not None:
        sql += " WHERE agent = ?"
        args = (agent,)
    out: dict[str, LogFile] = {}
    for row in db.execute(sql, args).fetchall():
        try:
            state = json.loads(row[8]) if row[8] else {}
        except ValueError:
            state = {}
        out[row[0]] = LogFile(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                              state if isinstance(state, dict) else {})
    return out


_SESSION_UPSERT = """
INSERT INTO sessions (key, agent, session_id, cwd, git_branch, started_at, ended_at, source_path, parent_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(key) DO UPDATE SET
  cwd = coalesce(sessions.cwd, excluded.cwd),
  git_branch = coalesce(excluded.git_branch, sessions.git_branch),
  started_at = CASE WHEN sessions.started_at IS NULL OR excluded.started_at < sessions.started_at
                    THEN coalesce(excluded.started_at, sessions.started_at) ELSE sessions.started_at END,
  ended_at = CASE WHEN sessions.ended_at IS NULL OR excluded.ended_at > sessions.ended_at
                  THEN coalesce(excluded.ended_at, sessions.ended_at) ELSE sessions.ended_at END,
  source_path = coalesce(sessions.source_path, excluded.source_path),
  parent_key = coalesce(sessions.parent_key, excluded.parent_key)
"""

_EVENT_COLS = ("session_key, event_id, ts, model, input, output, cache_write, cache_write_1h, "
               "cache_read, reasoning, cost_usd, logged_cost_usd, speed")
_EVENT_SET = """ts = excluded.ts, model = excluded.model, input = excluded.input, output = excluded.output,
  cache_write = excluded.cache_write, cache_write_1h = excluded.cache_write_1h,
  cache_read = excluded.cache_read, reasoning = excluded.reasoning,
  cost_usd = excluded.cost_usd, logged_cost_usd = excluded.logged_cost_usd, speed = excluded.speed"""
_EVENT_UPSERT_MAX = f"""
INSERT INTO usage_events ({_EVENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session_key, event_id) DO UPDATE SET {_EVENT_SET}
WHERE excluded.input + excluded.output + excluded.cache_write + excluded.cache_read
    > usage_events.input + usage_events.output + usage_events.cache_write + usage_events.cache_read
"""
_EVENT_UPSERT = f"""
INSERT INTO usage_events ({_EVENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session_key, event_id) DO UPDATE SET {_EVENT_SET}
"""
_EDIT_UPSERT = """
INSERT INTO edits (session_key, edit_id, ts, tool, path, line_hashes) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT(session_key, edit_id) DO UPDATE SET
  ts = excluded.ts, tool = excluded.tool, path = excluded.path, line_hashes = excluded.line_hashes
"""
_LOG_UPSERT = """
INSERT INTO log_files (path, agent, dev, inode, size, offset, head_sha1, mtime, state)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(path) DO UPDATE SET agent = excluded.agent, dev = excluded.dev, inode = excluded.inode,
  size = excluded.size, offset = excluded.offset, head_sha1 = excluded.head_sha1,
  mtime = excluded.mtime, state = excluded.state
"""
_PROBLEM_UPSERT = """
INSERT INTO import_problems (path, line, reason, seen_at) VALUES (?, ?, ?, ?)
ON CONFLICT(path, line) DO UPDATE SET reason = excluded.reason, seen_at = excluded.seen_at
"""


def write_file(
    db: Database,
    log: LogFile,
    *,
    sessions: Iterable[SessionInfo] = (),
    events: Sequence[tuple[str, UsageEvent, float | None]] = (),
    edits: Sequence[tuple[str, FileEdit]] = (),
    problems: Sequence[Problem] = (),
    deleted_events: Sequence[tuple[str, str]] = (),
    deleted_edits: Sequence[tuple[str, str]] = (),
    keep_max: bool = False,
    seen_at: str = "",
) -> None:
    """Write one log file's records and its new reading position, atomically."""
    with transaction(db):
        conn = db.conn
        conn.executemany(_SESSION_UPSERT, [
            (s.key, s.agent, s.session_id, s.cwd, s.git_branch or None, s.started_at, s.ended_at,
             log.path, f"{s.agent}:{s.parent_id}" if s.parent_id else None)
            for s in sessions
        ])
        if deleted_events:
            conn.executemany("DELETE FROM usage_events WHERE session_key = ? AND event_id = ?",
                             list(deleted_events))
        if deleted_edits:
            conn.executemany("DELETE FROM edits WHERE session_key = ? AND edit_id = ?",
                             list(deleted_edits))
        conn.executemany(_EVENT_UPSERT_MAX if keep_max else _EVENT_UPSERT, [
            (key, e.event_id, e.ts, e.model, e.input, e.output, e.cache_write, e.cache_write_1h,
             e.cache_read, e.reasoning, cost, e.logged_cost_usd, e.speed)
            for key, e, cost in events
        ])
        conn.executemany(_EDIT_UPSERT, [
            (key, e.edit_id, e.ts, e.tool, e.path, " ".join(e.line_hashes)) for key, e in edits
        ])
        conn.executemany(_PROBLEM_UPSERT, [(p.path, p.line, p.reason, seen_at) for p in problems])
        conn.execute(_LOG_UPSERT, (log.path, log.agent, log.dev, log.inode, log.size, log.offset,
                                   log.head_sha1, log.mtime, json.dumps(log.state, sort_keys=True)))


def write_logs(db: Database, logs: Sequence[LogFile]) -> None:
    """Remember several log files at once (files found outside the scope: no records)."""
    if logs:
        with transaction(db):
            db.conn.executemany(_LOG_UPSERT, [
                (g.path, g.agent, g.dev, g.inode, g.size, g.offset, g.head_sha1, g.mtime,
                 json.dumps(g.state, sort_keys=True)) for g in logs])


def reprice(db: Database, cost: Callable[[UsageEvent], float | None]) -> tuple[int, int]:
    """Recompute every usage event's cost with ``cost``; returns (events, events left unpriced).

    For a price table that changed after the events were imported (a model
    added with ``--prices``); an agent's own logged cost stands in where
    ``cost`` has no price, as on import.
    """
    rows = db.execute(
        "SELECT session_key, event_id, ts, model, input, output, cache_write, cache_write_1h, "
        "cache_read, reasoning, logged_cost_usd, speed FROM usage_events").fetchall()
    updates = []
    unpriced = 0
    for r in rows:
        ev = UsageEvent(event_id=r[1], ts=r[2], model=r[3], input=r[4], output=r[5], cache_write=r[6],
                        cache_write_1h=r[7], cache_read=r[8], reasoning=r[9], logged_cost_usd=r[10],
                        speed=r[11])
        c = cost(ev)
        if c is None:
            c = ev.logged_cost_usd
        if c is None:
            unpriced += 1
        updates.append((c, r[0], r[1]))
    with transaction(db):
        db.conn.executemany("UPDATE usage_events SET cost_usd = ? WHERE session_key = ? AND event_id = ?",
                            updates)
    return len(rows), unpriced


def record_problems(db: Database, problems: Sequence[Problem], seen_at: str) -> None:
    """Problems not tied to one file's read (unreadable directories)."""
    if problems:
        with transaction(db):
            db.conn.executemany(_PROBLEM_UPSERT, [(p.path, p.line, p.reason, seen_at) for p in problems])


def _scope_clause(scopes: Sequence[str] | None) -> tuple[str, list[Any]]:
    if scopes is None:
        return "", []
    if not scopes:
        return " WHERE 0", []
    parts, args = [], []
    for s in scopes:
        s = s.rstrip("/") or "/"
        parts.append("(s.cwd = ? OR substr(s.cwd, 1, ?) = ?)")
        prefix = s if s.endswith("/") else s + "/"
        args += [s, len(prefix), prefix]
    return " WHERE (" + " OR ".join(parts) + ")", args


def list_sessions(db: Database, scopes: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Sessions (whose cwd lies in one of ``scopes``, or all) with per-model figures.

    The ``sessions list --json`` contract (docs/sessions.md): per model the
    four token counts, reasoning, responses and cost; ``cost_usd`` is null for
    a model with any unpriced response, and for a session with any such model.
    """
    where, args = _scope_clause(scopes)
    rows = db.execute(
        f"""SELECT s.key, s.agent, s.session_id, s.cwd, s.git_branch, s.started_at, s.ended_at,
                   s.parent_key,
                   (SELECT count(*) FROM edits e WHERE e.session_key = s.key)
            FROM sessions s{where}
            ORDER BY s.started_at IS NULL, s.started_at, s.key""", args).fetchall()
    usage: dict[str, dict[str, dict[str, Any]]] = {}
    for r in db.execute(
        f"""SELECT u.session_key, u.model, sum(u.input), sum(u.output), sum(u.cache_write),
                   sum(u.cache_read), sum(u.reasoning), count(*),
                   CASE WHEN count(u.cost_usd) = count(*) THEN sum(u.cost_usd) END
            FROM usage_events u JOIN sessions s ON s.key = u.session_key{where}
            GROUP BY u.session_key, u.model ORDER BY u.session_key, u.model""", args).fetchall():
        usage.setdefault(r[0], {})[r[1]] = {
            "input": r[2], "output": r[3], "cache_write": r[4], "cache_read": r[5],
            "reasoning": r[6], "responses": r[7],
            "cost_usd": None if r[8] is None else round(r[8], 6),
        }
    out = []
    for r in rows:
        models = usage.get(r[0], {})
        tot = {k: sum(m[k] for m in models.values())
               for k in ("input", "output", "cache_write", "cache_read", "reasoning", "responses")}
        costs = [m["cost_usd"] for m in models.values()]
        cost = None if any(c is None for c in costs) else round(sum(c for c in costs if c is not None), 6)
        out.append({
            "agent": r[1], "session_id": r[2], "cwd": r[3], "git_branch": r[4],
            "started_at": r[5], "ended_at": r[6],
            "parent": r[7].split(":", 1)[1] if r[7] else None,
            "models": models,
            **{k: tot[k] for k in ("input", "output", "cache_write", "cache_read", "reasoning")},
            "tokens": tot["input"] + tot["output"] + tot["cache_write"] + tot["cache_read"],
            "cost_usd": cost,
            "responses": tot["responses"],
            "edits": r[8],
        })
    return out


def agent_counts(db: Database) -> dict[str, dict[str, int]]:
    """Per agent: log files remembered, sessions, usage events, edits (for ``doctor``)."""
    out: dict[str, dict[str, int]] = {}

    def put(agent: str, name: str, n: int) -> None:
        out.setdefault(agent, {"log_files": 0, "sessions": 0, "events": 0, "edits": 0})[name] = n

    for a, n in db.execute("SELECT agent, count(*) FROM log_files GROUP BY agent").fetchall():
        put(a, "log_files", n)
    for a, n in db.execute("SELECT agent, count(*) FROM sessions GROUP BY agent").fetchall():
        put(a, "sessions", n)
    for a, n in db.execute("SELECT s.agent, count(*) FROM usage_events u JOIN sessions s "
                           "ON s.key = u.session_key GROUP BY s.agent").fetchall():
        put(a, "events", n)
    for a, n in db.execute("SELECT s.agent, count(*) FROM edits e JOIN sessions s "
                           "ON s.key = e.session_key GROUP BY s.agent").fetchall():
        put(a, "edits", n)
    return out


def recent_problems(db: Database, limit: int = 20) -> list[Problem]:
    """The most recently seen import problems."""
    return [Problem(r[0], r[1], r[2]) for r in db.execute(
        "SELECT path, line, reason FROM import_problems ORDER BY seen_at DESC, path, line LIMIT ?",
        (limit,)).fetchall()]


def problem_count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM import_problems").fetchone()[0])
