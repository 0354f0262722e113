"""Ledger queries for attribution: commits, the session slices given to them, AI line ranges.

Every commit row is derived from one source (a gitroi note, a git-ai note, an
Agent Trace record, markers, or nothing) and carries ``source_key`` so
``ensure_ledger`` can skip commits whose source did not change.  Rows for one
commit are always replaced together (commit, commit_sessions, ai_ranges), so a
re-run or a rebuild gives identical rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gitroi.ledger.transactions import transaction

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

    from sqlite_utils import Database

_COMMIT_COLUMNS = ("sha", "author_name", "author_email", "authored_at", "committed_at", "subject",
                   "parents", "attribution", "agents", "lines_added", "ai_lines", "tokens",
                   "cost_usd", "note_version", "source", "source_key", "markers")


@dataclass(frozen=True)
class CommitRecord:
    """Everything the ledger keeps about one commit's attribution."""

    row: Mapping[str, Any]                       # the commits row (all _COMMIT_COLUMNS)
    sessions: Sequence[Mapping[str, Any]] = ()   # commit_sessions rows
    ranges: Mapping[str, Sequence[tuple[int, int]]] | None = None


def write_commits(db: Database, records: Iterable[CommitRecord]) -> int:
    """Replace the rows of each commit, all in one transaction; returns how many commits.

    Plain batched SQL (no sqlite-utils table machinery), so loading a 3k-commit
    history stays fast and the post-commit hook's lightweight ledger handle works.
    """
    recs = list(records)
    if not recs:
        return 0
    shas = [[r.row["sha"]] for r in recs]
    sessions = [{**s, "commit_sha": r.row["sha"]} for r in recs for s in r.sessions]
    ranges = [{"commit_sha": r.row["sha"], "path": p, "start": a, "end": b}
              for r in recs for p, rs in (r.ranges or {}).items() for a, b in rs]
    scols = ("commit_sha", "session_key", "agent", "session_id", "models", "input", "output",
             "cache_write", "cache_read", "reasoning", "tokens", "cost_usd", "since_ts", "until_ts")
    with transaction(db):
        conn = db.conn
        conn.executemany("DELETE FROM commit_sessions WHERE commit_sha = ?", shas)
        conn.executemany("DELETE FROM ai_ranges WHERE commit_sha = ?", shas)
        conn.executemany(_insert("commits", _COMMIT_COLUMNS),
                         [[r.row.get(k) for k in _COMMIT_COLUMNS] for r in recs])
        conn.executemany(_insert("commit_sessions", scols),
                         [[s.get(k) for k in scols] for s in sessions])
        conn.executemany("INSERT OR REPLACE INTO ai_ranges (commit_sha, path, start, end) "
                         "VALUES (:commit_sha, :path, :start, :end)", ranges)
    return len(recs)


def _insert(table: str, cols: Sequence[str]) -> str:
    return (f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) "
            f"VALUES ({', '.join('?' * len(cols))})")


def known_sources(db: Database, *, unless: Sequence[str] | None = None,
                  shas: Iterable[str] = ()) -> dict[str, str | None]:
    """{sha: source_key} of every commit already in the ledger.

    ``unless``: leave out the rows whose key is one of these (the usual marker keys: on a
    long history nearly every row), but keep the rows of ``shas`` whatever their key.
    """
    if unless is None:
        return {r[0]: r[1] for r in db.execute("SELECT sha, source_key FROM commits").fetchall()}
    marks = ", ".join("?" * len(unless))
    out = {r[0]: r[1] for r in db.execute(
        f"SELECT sha, source_key FROM commits WHERE source_key IS NULL OR source_key NOT IN ({marks})",
        list(unless)).fetchall()}
    wanted = [s for s in shas if s not in out]
    for i in range(0, len(wanted), 500):
        part = wanted[i:i + 500]
        out.update((r[0], r[1]) for r in db.execute(
            f"SELECT sha, source_key FROM commits WHERE sha IN ({', '.join('?' * len(part))})", part))
    return out


def clear_attribution(db: Database) -> None:
    """Drop the derived commit tables' rows (for ``gitroi rebuild``)."""
    with transaction(db):
        db.execute("DELETE FROM ai_ranges")
        db.execute("DELETE FROM commit_sessions")
        db.execute("DELETE FROM commits")


def commit_row(db: Database, sha: str) -> dict[str, Any] | None:
    cur = db.execute(f"SELECT {', '.join(_COMMIT_COLUMNS)} FROM commits WHERE sha = ?", [sha])
    r = cur.fetchone()
    return dict(zip(_COMMIT_COLUMNS, r, strict=True)) if r else None


def commit_sessions(db: Database, sha: str) -> list[dict[str, Any]]:
    cur = db.execute(
        "SELECT agent, session_id, models, input, output, cache_write, cache_read, reasoning, "
        "tokens, cost_usd, since_ts, until_ts FROM commit_sessions WHERE commit_sha = ? "
        "ORDER BY agent, session_id", [sha])
    cols = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        d = dict(zip(cols, r, strict=True))
        d["models"] = json.loads(d["models"] or "{}")
        out.append(d)
    return out


def commit_ranges(db: Database, sha: str) -> dict[str, list[list[int]]]:
    out: dict[str, list[list[int]]] = {}
    for path, start, end in db.execute(
            "SELECT path, start, end FROM ai_ranges WHERE commit_sha = ? ORDER BY path, start",
            [sha]).fetchall():
        out.setdefault(path, []).append([start, end])
    return out


def dump_attribution(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """All rows of the three attribution tables, sorted: for comparing a ledger to its rebuild."""
    return {
        t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
        for t in ("commits", "commit_sessions", "ai_ranges")
    }


# --- sessions side: candidates, their edits and usage ------------------------------------------


def candidate_sessions(db: Database, roots: Sequence[str], until: str) -> list[dict[str, Any]]:
    """Sessions whose cwd lies in one of ``roots`` (work trees) and that started by ``until``."""
    if not roots:
        return []
    conds = " OR ".join(["cwd = ? OR substr(cwd, 1, ?) = ?"] * len(roots))
    params: list[Any] = []
    for r in roots:
        r = r.rstrip("/")
        params += [r, len(r) + 1, r + "/"]
    cur = db.execute(
        f"SELECT key, agent, session_id, cwd, started_at, ended_at FROM sessions "
        f"WHERE ({conds}) AND (started_at IS NULL OR started_at <= ?) ORDER BY key",
        [*params, until])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def session_edits(db: Database, keys: Sequence[str], until: str,
                  paths: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """(session key, path as logged, space-separated line hashes) of edits made by ``until``.

    With ``paths`` (work-tree relative), only edits whose logged path is
    relative or ends in ``/<path>``: the hook reads the edits that can match,
    not a whole long session's.
    """
    if not keys:
        return []
    marks = ",".join("?" * len(keys))
    sql = (f"SELECT session_key, path, line_hashes FROM edits WHERE session_key IN ({marks}) "
           f"AND ts <= ?")
    params: list[Any] = [*keys, until]
    if paths is not None:
        if not paths:
            return []
        # Relative paths (to the session's cwd) are resolved by the caller: keep them all.
        sql += (" AND (substr(path, 1, 1) != '/' OR "
                + " OR ".join(["path = ? OR substr(path, ?) = ?"] * len(paths)) + ")")
        for p in paths:
            params += [p, -(len(p) + 1), "/" + p]
    return [(r[0], r[1], r[2]) for r in db.execute(sql + " ORDER BY ts, edit_id",
                                                    params).fetchall()]


def last_until(db: Database, session_key: str, *, before: str, exclude_commit: str) -> str | None:
    """Where the session's previous slice (ending at or before ``before``) ended.

    Usage after it and up to this commit is this commit's; usage after this
    commit waits for the next commit where the session's edits land.
    """
    r = db.execute("SELECT max(until_ts) FROM commit_sessions WHERE session_key = ? "
                   "AND until_ts <= ? AND commit_sha != ?",
                   [session_key, before, exclude_commit]).fetchone()
    return r[0] if r else None


def covered_by_later(db: Database, session_key: str, until: str, exclude_commit: str) -> bool:
    """True when a later commit's slice already holds this session's usage up to ``until``.

    Happens when commits are attributed out of order (catching up on an
    older commit after a newer one): the tokens were given once already.
    """
    r = db.execute("SELECT 1 FROM commit_sessions WHERE session_key = ? AND commit_sha != ? "
                   "AND until_ts > ? AND (since_ts IS NULL OR since_ts < ?) LIMIT 1",
                   [session_key, exclude_commit, until, until]).fetchone()
    return r is not None


def usage_by_model(db: Database, session_key: str, since: str | None,
                   until: str) -> dict[str, dict[str, Any]]:
    """Per-model sums of a session's usage with since < ts <= until (cost None if any unpriced)."""
    cur = db.execute(
        "SELECT model, sum(input), sum(output), sum(cache_write), sum(cache_read), "
        "sum(reasoning), count(*), sum(cost_usd), count(cost_usd) FROM usage_events "
        "WHERE session_key = ? AND ts > ? AND ts <= ? GROUP BY model ORDER BY model",
        [session_key, since or "", until])
    out: dict[str, dict[str, Any]] = {}
    for model, i, o, cw, cr, rs, n, cost, priced in cur.fetchall():
        out[model] = {"input": i or 0, "output": o or 0, "cache_write": cw or 0,
                      "cache_read": cr or 0, "reasoning": rs or 0, "responses": n,
                      "cost_usd": round(cost, 10) if priced == n and cost is not None else None}
    return out


def edits_high_water(db: Database) -> int:
    """The largest ``edits`` rowid: grows whenever the importer adds an edit."""
    r = db.execute("SELECT max(rowid) FROM edits").fetchone()
    return int(r[0] or 0) if r else 0


def checked_commits(db: Database) -> dict[str, int]:
    """{sha: edits high-water mark when it was last checked and found without AI lines}."""
    return {r[0]: r[1] for r in db.execute("SELECT sha, edits_seen FROM attribution_checks")}


def mark_checked(db: Database, shas: Sequence[str], edits_seen: int, when: str) -> None:
    if not shas:
        return
    with transaction(db):
        db.conn.executemany(
            "INSERT OR REPLACE INTO attribution_checks (sha, edits_seen, checked_at) VALUES (?, ?, ?)",
            [(s, edits_seen, when) for s in shas])
