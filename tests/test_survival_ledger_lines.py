"""The analysis loads who wrote what without counting lines; the next full load fills the counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlite_utils import Database

from gitroi.attribution.rebuild import NO_LINES, ensure_ledger
from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.survival.analyze import analyze
from tests.conftest import GitRepo

CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"


def _rows(db: Database) -> list[Any]:
    return db.execute(
        "SELECT sha, attribution, lines_added, ai_lines, source, source_key FROM commits ORDER BY sha"
    ).fetchall()


def test_analysis_leaves_counts_to_the_full_load_with_the_same_figures(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit({"a.py": "a\nb\n"}, "person")
    ai = repo.commit({"a.py": "a\nb\nc\nd\ne\n", "b.py": "x\n"}, "agent" + CLAUDE)
    r = Repo.discover(repo.path)
    db = open_ledger(tmp_path / "l.db")
    result = analyze(r, db, branch="main")
    assert result.mode == "full" and result.stats["ai_commits"] == [ai]
    assert _rows(db) == sorted([
        (base, "none", None, 0, "none", "none/r3" + NO_LINES),
        (ai, "commit", None, None, "markers", "markers/r3" + NO_LINES),
    ])
    # A second analysis has nothing to reload; the full load redoes both rows.
    assert ensure_ledger(r, db, "main", lines=False) == 0
    assert ensure_ledger(r, db, "main") == 2
    fresh = open_ledger(tmp_path / "fresh.db")
    ensure_ledger(r, fresh, "main")
    assert _rows(db) == _rows(fresh) == sorted([
        (base, "none", 2, 0, "none", "none/r3"),
        (ai, "commit", 4, 4, "markers", "markers/r3"),
    ])
    assert ensure_ledger(r, db, "main") == 0 and ensure_ledger(r, db, "main", lines=False) == 0
