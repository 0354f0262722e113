"""A new ledger made from the baked schema (gitroi/ledger/schema.py) is the migrated ledger."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from sqlite_utils import Database

from gitroi.ledger import migrate, open_ledger
from gitroi.ledger.baked import create, expected_migrations
from gitroi.ledger.fast import FastLedger, open_fast

ROOT = Path(__file__).resolve().parent.parent


def _shape(conn: sqlite3.Connection) -> tuple[list[tuple[str, ...]], list[str], int]:
    master = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'gitroi' "
                                        "ORDER BY id")]
    return master, names, conn.execute("PRAGMA user_version").fetchone()[0]


def test_the_baked_schema_is_up_to_date() -> None:
    proc = subprocess.run([sys.executable, "scripts/bake_ledger_schema.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_created_and_migrated_ledgers_are_the_same(tmp_path: Path) -> None:
    migrated = Database(memory=True, execute_plugins=False)
    migrate(migrated)
    conn = sqlite3.connect(str(tmp_path / "new.db"))
    assert create(conn)
    assert _shape(conn) == _shape(migrated.conn)
    assert _shape(conn)[1] == expected_migrations()
    assert not create(conn)  # not empty any more: nothing done


def test_a_new_ledger_opens_fast_and_works(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ledger.db"
    db = open_fast(path, busy_timeout_ms=5000)
    assert isinstance(db, FastLedger)  # created at once, no migration run
    db["commits"].insert_all([{"sha": "a" * 40, "author_email": "x@y", "committed_at": "2026-01-01T00:00:00.000Z",
                               "attribution": "none"}], pk="sha")
    db.close()
    again = open_ledger(path)  # sqlite-utils' own open finds every migration applied
    assert again.execute("SELECT count(*) FROM commits").fetchone()[0] == 1
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_four_connections_creating_one_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    made: list[bool] = []

    def one() -> None:
        conn = sqlite3.connect(str(path), timeout=10)
        made.append(create(conn))
        conn.close()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(made) == [False, False, False, True]
    assert _shape(sqlite3.connect(str(path)))[1] == expected_migrations()
