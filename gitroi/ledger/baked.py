"""A new ledger's schema in one transaction, and the migrations it stands for.

Kept apart from ``gitroi.ledger`` and its fast handle (both create ledgers
through it) and free of sqlite-utils: the post-commit hook's first commit makes
the ledger here without importing it.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

_MIGRATION_RE = re.compile(r"^@migrations\(\)\s*\ndef (\w+)\(", re.M)


def expected_migrations() -> list[str]:
    """The migration names ``migrations.py`` declares, read from its source (no import)."""
    src = Path(__file__).with_name("migrations.py").read_text(encoding="utf-8")
    return _MIGRATION_RE.findall(src)


def create(conn: sqlite3.Connection) -> bool:
    """Give an empty database the whole schema at once; False (nothing done) when it is not empty.

    A first run would otherwise apply every migration one by one through
    sqlite-utils (about 80 ms with its import, a tenth of a cold analysis of a
    small repository).  The statements are those of a migrated ledger
    (``gitroi/ledger/schema.py``, written by ``scripts/bake_ledger_schema.py``)
    and the migrations are recorded as applied, so nothing tells the two apart;
    a schema file older than the migrations is not used.  One ``BEGIN
    IMMEDIATE`` transaction: a second process creating the same ledger waits,
    then finds it made.
    """
    from gitroi.ledger.schema import MIGRATIONS, STATEMENTS

    if list(MIGRATIONS) != expected_migrations():
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            conn.rollback()
            return False
        for sql in STATEMENTS:
            conn.execute(sql)
        from datetime import UTC, datetime

        now = str(datetime.now(UTC))  # sqlite-utils' own form of applied_at
        conn.executemany("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                         "VALUES ('gitroi', ?, ?)", [(name, now) for name in MIGRATIONS])
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return True
