"""The SQLite ledger: one file, written with sqlite-utils, derived and rebuildable.

Only the ``gitroi.ledger`` package touches sqlite-utils and SQL.  Each concept
has its own query module beside this one (``ledger.sessions``,
``ledger.commits``, ``ledger.survival``, ``ledger.reports``); this module opens
the database, applies migrations and sets the pragmas every writer needs:
WAL so readers never block the hook, and a busy timeout so a second gitroi
waits for a lock instead of failing at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from gitroi.errors import GitroiError

DEFAULT_BUSY_TIMEOUT_MS = 5000


def open_ledger(path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Database:
    """Open (creating if needed) the ledger at ``path`` with its schema up to date.

    Raises :class:`GitroiError` naming the file when it cannot be opened, is
    not a SQLite database, or stays locked past the timeout.
    """
    from gitroi.ledger.migrations import migrations

    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(p), timeout=busy_timeout_ms / 1000.0)
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = OFF")
        migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise GitroiError(
            f"cannot open the ledger {p}: {exc}",
            hint="the ledger is derived data: move it aside and run `gitroi rebuild`",
        ) from exc
    except OSError as exc:
        raise GitroiError(f"cannot create the ledger {p}: {exc}") from exc
    return db


def memory_ledger() -> Database:
    """An in-memory ledger with the full schema, for pure queries and tests."""
    from gitroi.ledger.migrations import migrations

    db = Database(memory=True)
    migrations.apply(db)
    return db


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """All writes happen inside one of these, so a killed run leaves no half-state.

    Translates a lock held past the busy timeout into a :class:`GitroiError`.
    """
    try:
        with db.atomic():
            yield db
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise GitroiError(
                f"the ledger is locked by another process: {exc}",
                hint="another gitroi may be running; try again when it finishes",
            ) from exc
        raise
