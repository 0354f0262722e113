"""The SQLite ledger: one file, written with sqlite-utils, derived and rebuildable.

The ledger owns the database file and its schema.  Each concept has its own
query module: ``ledger.commits``, ``ledger.survival``, ``ledger.figures``,
``ledger.prs``, ``ledger.exploration``, ``ledger.charts`` and ``ledger.views``
beside this one, and ``sessions.store`` in the sessions package (it builds the
sessions layer's records, and the ledger sits below that layer: see
``tests/test_layers.py``); this module opens the database, applies migrations and sets the pragmas every writer needs:
WAL so readers never block the hook, and a busy timeout so a second gitroi
waits for a lock instead of failing at once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gitroi.errors import GitroiError
from gitroi.ledger.transactions import transaction

TYPE_CHECKING = False  # sqlite-utils (~50 ms) is imported where a ledger is opened, not with the package
if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "memory_ledger", "migrate", "open_ledger", "transaction"]

DEFAULT_BUSY_TIMEOUT_MS = 5000


def open_ledger(path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Database:
    """Open (creating if needed) the ledger at ``path`` with its schema up to date.

    Raises :class:`GitroiError` naming the file when it cannot be opened, is
    not a SQLite database, or stays locked past the timeout.
    """
    from sqlite_utils import Database

    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        new = not p.exists() or p.stat().st_size == 0
        conn = sqlite3.connect(str(p), timeout=busy_timeout_ms / 1000.0)
        db = Database(conn, execute_plugins=False)  # no entry-point scan: ~45 ms per command
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = OFF")
        if new:
            from gitroi.ledger.baked import create

            create(conn)  # the whole schema at once; then migrate() finds nothing to do
        migrate(db)
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
    from sqlite_utils import Database

    from gitroi.ledger.baked import create

    db = Database(memory=True, execute_plugins=False)
    create(db.conn)
    migrate(db)
    return db


def migrate(db: Database) -> None:
    """Apply pending migrations, with one ``PRAGMA user_version`` read when there are none.

    ``user_version`` holds how many migrations of the ``gitroi`` set the
    ledger has (set after they are all applied).  Migrations are append-only,
    so a count at least ours means every one of ours is applied, and an
    older gitroi opening a newer ledger skips the look-ups too.  A ledger
    written before this check (``user_version`` 0) goes through sqlite-utils'
    name-by-name look-up once and is stamped.
    """
    from gitroi.ledger.migrations import migrations

    count = len(migrations._migrations)
    have = db.execute("PRAGMA user_version").fetchone()[0]
    if have >= count:
        return
    migrations.apply(db)
    db.execute(f"PRAGMA user_version = {count}")
