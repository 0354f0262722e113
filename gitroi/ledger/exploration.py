"""Sessions of the repository that led to no commit: exploration tokens (DESIGN.md, "The figures").

Kept apart from the figure SQL because it reads usage events and session
slices, not commit facts: exploration is shown beside attributed tokens, never
inside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database


def first_session_start(db: Database, roots: Sequence[str]) -> str | None:
    """When the first session in the repository (cwd under one of ``roots``) started."""
    ors, params = [], []
    for r in roots:
        r = r.rstrip("/")
        ors.append("(cwd = ? OR substr(cwd, 1, ?) = ?)")
        params += [r, len(r) + 1, r + "/"]
    if not ors:
        return None
    row = db.conn.execute("SELECT MIN(COALESCE(started_at, ended_at)) FROM sessions WHERE "
                          + " OR ".join(ors), params).fetchone()
    return row[0] if row else None


def exploration_tokens(db: Database, *, roots: Sequence[str] | None = None,
                       since: str | None = None, until: str | None = None) -> dict[str, int]:
    """Tokens of usage events of sessions in the repository that no commit slice covers.

    A commit's slice of a session is ``since_ts < ts <= until_ts`` (no
    ``since_ts``: from the start), except that the first slice records the
    session's start as ``since_ts`` and includes it; testing coverage with
    ``>=`` is right for both, because a later slice's ``since_ts`` is the
    previous slice's (inclusive) ``until_ts``.  ``roots`` are the work trees of the
    repository (a session whose cwd is under one of them is in it); None
    counts every session in the ledger.
    """
    # All events of the repository's sessions, minus the covered ones counted once each
    # (slices may touch or overlap); covered events are found by index range scans per slice.
    # Much faster than a NOT EXISTS per event on big ledgers.
    conds: list[str] = []
    params: list[Any] = []
    if roots is not None:
        ors = []
        for r in roots:
            r = r.rstrip("/")
            ors.append("(s.cwd = ? OR substr(s.cwd, 1, ?) = ?)")
            params += [r, len(r) + 1, r + "/"]
        conds.append("u.session_key IN (SELECT s.key FROM sessions s WHERE "
                     + (" OR ".join(ors) or "0") + ")")
    if since:
        conds.append("u.ts >= ?")
        params.append(since)
    if until:
        conds.append("u.ts < ?")
        params.append(until)
    where = " AND ".join(conds) or "1"
    tok = "u.input + u.cache_write + u.cache_read + u.output"
    total = {k: (n, t) for k, n, t in db.conn.execute(
        f"SELECT u.session_key, COUNT(*), SUM({tok}) FROM usage_events u WHERE {where} "
        "GROUP BY u.session_key", params)}
    covered = {k: (n, t) for k, n, t in db.conn.execute(
        f"SELECT u.session_key, COUNT(*), SUM({tok}) FROM usage_events u WHERE {where} "
        "AND u.rowid IN (SELECT u.rowid FROM commit_sessions cs JOIN usage_events u "
        "ON u.session_key = cs.session_key AND u.ts >= COALESCE(cs.since_ts, '') "
        "AND u.ts <= COALESCE(cs.until_ts, '9999')) GROUP BY u.session_key", params)}
    tokens = sessions = 0
    for key, (n, t) in total.items():
        cn, ct = covered.get(key, (0, 0))
        if n > cn:
            sessions += 1
            tokens += int(t or 0) - int(ct or 0)
    return {"tokens": tokens, "sessions": sessions}
