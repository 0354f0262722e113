"""The optimised survival path gives exactly the reference's rows, on a generated AI-heavy history.

The reference classifies inline after the replay (``GITROI_CLASSIFY=inline``);
the optimised path forks a worker fed by the replay (``survival/classify.py``).
Both must write the same ``line_outcomes`` and ``line_carried`` rows and the
same ``survival --json`` figures, and an incremental run after new commits
must give what a full run gives.  The history (``tests/aiheavy.py``) has AI
commits with churned, reverted and surviving lines in Python, TypeScript and
Go, merges, moves and reformats, so every kind of version gets parsed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.ledger import survival as lsurv
from gitroi.survival import classify
from gitroi.survival.analyze import analyze
from tests.aiheavy import AI_TRAILER, generate


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("aiheavy")
    bare = generate(base / "src.git", 260, seed=7)
    return bare


def _clone(bare: Path, dest: Path, rev: str = "main") -> Path:
    subprocess.run(["git", "clone", "-q", str(bare), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "reset", "-q", "--hard", rev], check=True)
    return dest


def _rows(db: Any) -> tuple[list[Any], list[Any], dict[str, Any]]:
    out = db.execute("SELECT * FROM line_outcomes ORDER BY 1, 2, 3, 4, 5, 6, 7, 8").fetchall()
    car = db.execute("SELECT * FROM line_carried ORDER BY 1, 2, 3, 4").fetchall()
    summary = lsurv.summary(db)
    summary.pop("analysed_at")
    return out, car, summary


def _run(path: Path, monkeypatch: pytest.MonkeyPatch, *, inline: bool) -> tuple[list[Any], list[Any], dict[str, Any]]:
    seen: list[bool] = []
    real = classify.Classifier.finish

    def spy(self: classify.Classifier) -> None:
        seen.append(self.parallel)
        real(self)

    with monkeypatch.context() as m:
        m.setattr(classify.Classifier, "finish", spy)
        if inline:
            m.setenv("GITROI_CLASSIFY", "inline")
        else:
            m.delenv("GITROI_CLASSIFY", raising=False)
        db = open_ledger(path / ".git" / "gitroi" / "ledger.db")
        result = analyze(Repo.discover(path), db, branch="main")
    assert result.mode == "full"
    assert seen == [not inline]
    return _rows(db)


def test_worker_classification_gives_the_reference_rows(history: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _run(_clone(history, tmp_path / "a"), monkeypatch, inline=True)
    got = _run(_clone(history, tmp_path / "b"), monkeypatch, inline=False)
    # The history exercises the parse: AI lines with symbols, rework among them.
    assert any(r[3] == 1 and r[2] for r in ref[0]), "no AI line got a symbol"
    assert any(r[3] == 1 and r[5] == "churned" and r[2] for r in ref[0]), "no churned AI line parsed"
    assert ref[2]["ai"]["surviving"] > 0 and ref[2]["ai"]["churned"] > 0
    assert got == ref


def test_incremental_after_new_commits_equals_full(history: Path, tmp_path: Path) -> None:
    inc = _clone(history, tmp_path / "inc", "main~40")
    db = open_ledger(inc / ".git" / "gitroi" / "ledger.db")
    analyze(Repo.discover(inc), db, branch="main")
    subprocess.run(["git", "-C", str(inc), "reset", "-q", "--hard", "origin/main"], check=True)
    result = analyze(Repo.discover(inc), db, branch="main")
    assert result.mode == "incremental" and result.commits_replayed >= 40
    assert _rows(db) == _full_rows(inc, tmp_path / "full40")
    # One more commit: a handful of rows written, not the whole table again.
    (inc / "extra.py").write_text("def extra(a):\n    return a + 1\n")
    subprocess.run(["git", "-C", str(inc), "add", "extra.py"], check=True)
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@example.com", "GIT_AUTHOR_DATE": "2030-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "-C", str(inc), "commit", "-q", "-m", "extra" + AI_TRAILER], check=True, env=env)
    result = analyze(Repo.discover(inc), db, branch="main")
    assert result.mode == "incremental" and result.commits_replayed == 1
    got = _rows(db)
    assert 0 < result.rows_written <= 4 < len(got[0])
    assert got == _full_rows(inc, tmp_path / "full41")


def _full_rows(src: Path, dest: Path) -> tuple[list[Any], list[Any], dict[str, Any]]:
    full = _clone(src, dest)
    db = open_ledger(full / ".git" / "gitroi" / "ledger.db")
    assert analyze(Repo.discover(full), db, branch="main").mode == "full"
    return _rows(db)
