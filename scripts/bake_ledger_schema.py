"""Write gitroi/ledger/schema.py: the schema of a ledger with every migration applied.

A new ledger is created from it in one transaction (``gitroi.ledger.baked.create``)
instead of running the migrations one by one through sqlite-utils (about 80 ms
of a first ``gitroi analyze``, import included).  Run this after adding a
migration or changing a view; ``tests/test_ledger_schema.py`` fails until then.

Usage: ``python scripts/bake_ledger_schema.py [--check]``
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "gitroi" / "ledger" / "schema.py"


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from sqlite_utils import Database

    from gitroi.ledger import migrate
    from gitroi.ledger.baked import expected_migrations

    db = Database(memory=True, execute_plugins=False)
    migrate(db)  # the migrations themselves, never the baked schema
    rows = db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").fetchall()
    names = [r[0] for r in db.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = 'gitroi' ORDER BY id").fetchall()]
    assert names == expected_migrations(), (names, expected_migrations())
    out = ['"""The schema of a ledger with every migration applied: generated, do not edit.',
           "",
           "Written by ``scripts/bake_ledger_schema.py`` from the migrations",
           "(``gitroi/ledger/migrations.py``); a new ledger is created from it in one",
           "transaction (:func:`gitroi.ledger.baked.create`).  ``tests/test_ledger_schema.py``",
           "checks it against a migrated ledger.",
           '"""',
           "",
           "MIGRATIONS: tuple[str, ...] = (",
           *[f"    {n!r}," for n in names],
           ")",
           "",
           "STATEMENTS: tuple[str, ...] = (",
           *[f"    {sql!r}," for (sql,) in rows],
           ")",
           ""]
    return "\n".join(out)


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not TARGET.is_file() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python scripts/bake_ledger_schema.py")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}: {text.count(chr(10))} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
