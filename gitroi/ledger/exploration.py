"""Sessions of the repository that led to no commit: exploration tokens (DESIGN.md, "The figures").

Kept apart from the figure SQL because it reads usage events and session
slices, not commit facts: exploration is shown beside attributed tokens, never
inside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

    from gitroi.ledger.facts import ProviderOf


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
                       since: str | None = None, until: str | None = None,
                       repo: str = "", provider_of: ProviderOf | None = None) -> dict[str, int]:
    """Tokens and sessions of usage events of sessions in the repository that no commit slice covers.

    A commit's slice of a session is ``since_ts < ts <= until_ts`` (no
    ``since_ts``: from the start), except that the first slice records the
    session's start as ``since_ts`` and includes it; testing coverage with
    ``>=`` is right for both, because a later slice's ``since_ts`` is the
    previous slice's (inclusive) ``until_ts``.  ``roots`` are the work trees of the
    repository (a session whose cwd is under one of them is in it); None
    counts every session in the ledger.  The events are the ``exploration``
    fact (:func:`gitroi.ledger.facts.exploration_sql`), summed by the formula
    ``gitroi org report`` uses too (:func:`gitroi.ledger.formulas.exploration_sql`).
    """
    from gitroi.ledger import facts, formulas

    tables = facts.build(db, repo, facts=["exploration"], roots=roots, provider_of=provider_of)
    row = facts.query(db, formulas.exploration_sql([], tables, since=since, until=until))[0]
    return {"tokens": int(row["exploration_tokens"] or 0),
            "sessions": int(row["exploration_sessions"] or 0)}
