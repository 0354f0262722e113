"""The analysis's results, pinned: a generated AI-heavy history gives today's rows, exactly.

Every speed-up of the replay, the attribution load or the result writing must
leave the figures as they were (issue 12).  This test analyses a history made
by ``tests/aiheavy.py`` (a fixed seed: Python, TypeScript and Go files, merges,
moves, reformats, reverts, 30% of the commits by Claude) cold, then once more
after two new commits, and compares with ``tests/fixtures/golden/aiheavy-300-s11.json``:
the survival summary as ``gitroi survival --json`` gives it, and a digest of
every row of ``line_outcomes``, ``line_carried`` and the commits' attribution.

The file was written before the optimisations of issue 12 and checked against
them.  A change that is meant to change the figures rewrites it on purpose:
``GITROI_UPDATE_GOLDEN=1 pytest tests/test_results_golden.py``, and says why in
its commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.ledger import survival as lsurv
from gitroi.survival.analyze import analyze
from tests.aiheavy import AI_TRAILER, generate

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "aiheavy-300-s11.json"
UPDATE = bool(os.environ.get("GITROI_UPDATE_GOLDEN"))  # read before the tests' clean environment


def _digest(rows: list[Any]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(repr(tuple(r)).encode())
    return f"{len(rows)}:{h.hexdigest()}"


def _results(path: Path) -> dict[str, Any]:
    db = open_ledger(path / ".git" / "gitroi" / "ledger.db")
    try:
        analyze(Repo.discover(path), db)
        summary = lsurv.summary(db)
        summary.pop("analysed_at", None)
        return {
            "summary": summary,
            "line_outcomes": _digest(db.execute("SELECT * FROM line_outcomes ORDER BY 1, 2, 3, 4, 5, 6, 7, 8")
                                     .fetchall()),
            "line_carried": _digest(db.execute("SELECT * FROM line_carried ORDER BY 1, 2, 3, 4").fetchall()),
            "commits": _digest(db.execute("SELECT sha, attribution, agents, ai_lines, source, markers "
                                          "FROM commits ORDER BY sha").fetchall()),
        }
    finally:
        db.close()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("golden")
    bare = generate(base / "src.git", 300, seed=11)
    dest = base / "clone"
    subprocess.run(["git", "clone", "-q", str(bare), str(dest)], check=True)
    for k, v in (("user.email", "dev@example.com"), ("user.name", "Dev")):
        subprocess.run(["git", "-C", str(dest), "config", k, v], check=True)
    return dest


def test_cold_then_incremental_results_are_todays(clone: Path) -> None:
    got = {"cold": _results(clone)}
    env = {**os.environ, "GIT_AUTHOR_DATE": "2030-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z"}
    target = sorted(p for p in clone.rglob("*.py") if ".git" not in p.parts)[0]
    for i in range(2):
        with target.open("a") as fh:
            fh.write(f"golden_{i} = {i}\n")
        subprocess.run(["git", "-C", str(clone), "commit", "-q", "-am", f"more {i}" + AI_TRAILER],
                       check=True, env=env)
    got["again"] = _results(clone)
    if UPDATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert got["cold"]["summary"] == want["cold"]["summary"]
    assert got == want
