"""Opening a ledger already at the current schema costs one ``PRAGMA user_version`` read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gitroi.ledger import open_ledger
from gitroi.ledger.migrations import migrations


def test_current_ledger_skips_the_migration_lookups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.db"
    open_ledger(path).conn.close()
    count = len(migrations._migrations)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == count

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("migrations looked up on a current ledger")

    monkeypatch.setattr(type(migrations), "apply", boom)
    db = open_ledger(path)
    assert db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == count


def test_ledger_from_before_the_stamp_is_checked_once_then_stamped(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.db"
    open_ledger(path).conn.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")  # what every gitroi before the stamp left
    conn.commit()
    conn.close()
    calls: list[int] = []
    real = type(migrations).apply

    def counting(self: object, db: object, **k: object) -> None:
        calls.append(1)
        real(self, db, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(type(migrations), "apply", counting)
    open_ledger(path).conn.close()
    open_ledger(path).conn.close()
    assert calls == [1]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(migrations._migrations)


def test_newer_ledger_is_not_migrated_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.db"
    open_ledger(path).conn.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(migrations._migrations) + 5}")  # a later gitroi's
    conn.commit()
    conn.close()
    monkeypatch.setattr(type(migrations), "apply", lambda *a, **k: (_ for _ in ()).throw(AssertionError()))
    open_ledger(path).conn.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(migrations._migrations) + 5
