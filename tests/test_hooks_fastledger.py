"""FastLedger: the hooks' sqlite-utils-free ledger handle behaves as sqlite-utils does."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from gitroi.ledger import open_ledger, transaction
from gitroi.ledger.fast import FastLedger, expected_migrations, open_fast


def test_open_fast_only_on_a_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = open_fast(path, busy_timeout_ms=100)  # no file yet: created with the whole schema at once
    assert isinstance(first, FastLedger)
    applied = {r[0] for r in first.execute("SELECT name FROM _sqlite_migrations")}
    assert applied == set(expected_migrations()) and "m001_core" in applied
    # a ledger one migration behind (an older gitroi's): the real ledger, which migrates it
    first.execute("DELETE FROM _sqlite_migrations WHERE name = 'm070_report_model_providers'")
    first.execute("DROP TABLE model_providers")
    first.execute("PRAGMA user_version = 0")
    first.close()
    behind = open_fast(path, busy_timeout_ms=100)
    assert type(behind).__name__ == "Database"
    assert behind.execute("SELECT count(*) FROM model_providers").fetchone()[0] == 0
    behind.conn.close()
    fast = open_fast(path, busy_timeout_ms=100)
    assert isinstance(fast, FastLedger)
    assert fast.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    fast.close()


def test_writes_match_sqlite_utils(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    open_ledger(path).conn.close()
    fast = open_fast(path, busy_timeout_ms=100)
    real = open_ledger(tmp_path / "other.db")
    for db in (fast, real):
        with transaction(db):
            db["commits"].upsert({"sha": "a", "attribution": "line", "agents": ["x"],
                                  "tokens": 5}, pk="sha")
            db["commits"].upsert({"sha": "a", "tokens": 7}, pk="sha")  # only given columns change
            db["ai_ranges"].insert_all([{"commit_sha": "a", "path": "p", "start": 1, "end": 2},
                                        {"commit_sha": "a", "path": "p", "start": 5, "end": 5}],
                                       pk=("commit_sha", "path", "start"), replace=True)
            db["ai_ranges"].insert_all([{"commit_sha": "a", "path": "p", "start": 1, "end": 3}],
                                       pk=("commit_sha", "path", "start"), replace=True)
        db.execute("INSERT INTO import_problems VALUES ('f', 1, 'r', 't')")  # autocommits
    rows = [(d.execute("SELECT sha, attribution, agents, tokens FROM commits").fetchall(),
             d.execute("SELECT * FROM ai_ranges ORDER BY start").fetchall(),
             d.execute("SELECT count(*) FROM import_problems").fetchone())
            for d in (fast, real)]
    assert rows[0] == rows[1]
    assert rows[0][0] == [("a", "line", json.dumps(["x"]), 7)]
    # a rolled back transaction leaves nothing, nested blocks use savepoints
    with pytest.raises(ZeroDivisionError), fast.atomic():
        fast["commits"].upsert({"sha": "b"}, pk="sha")
        with fast.atomic():
            fast["commits"].upsert({"sha": "c"}, pk="sha")
        raise ZeroDivisionError
    assert fast.execute("SELECT count(*) FROM commits").fetchone()[0] == 1
    # anything else is the real sqlite-utils on the same connection
    assert fast["commits"].count == 1
    assert fast.table_names()[:1] and "commits" in fast.table_names()
    other = sqlite3.connect(path)
    assert other.execute("SELECT count(*) FROM import_problems").fetchone()[0] == 1
    fast.close()


def test_deferred_sqlite_utils_loads_for_real_when_needed(tmp_path: Path) -> None:
    """In a hook process sqlite-utils is a stand-in until something really needs it."""
    import subprocess
    import sys

    path = tmp_path / "ledger.db"
    open_ledger(path).conn.close()
    code = (
        "import sys\n"
        "from gitroi.attribution.lazymodules import defer_sqlite_utils\n"
        "defer_sqlite_utils()\n"
        "import gitroi.sessions.store, gitroi.ledger.commits\n"
        "from gitroi.ledger.fast import open_fast\n"
        f"db = open_fast({str(path)!r}, busy_timeout_ms=100)\n"
        "before = 'sqlite_utils.db' in sys.modules\n"
        "names = db.table_names()\n"
        "from sqlite_utils import Database\n"
        "print(before, 'sqlite_utils.db' in sys.modules, 'commits' in names,"
        " isinstance(db.real(), Database), type(sys.modules['sqlite_utils']).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stderr == ""
    assert out.stdout.split() == ["False", "True", "True", "True", "module"]
