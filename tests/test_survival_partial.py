"""Partial clones: the analysis goes around missing blobs and says what is missing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.ledger.survival import summary
from gitroi.survival.analyze import analyze
from tests.conftest import GitRepo, run_gitroi
from tests.test_survival import CLAUDE, commit_of, day, five


def _git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True,
                          input=stdin).stdout


def test_missing_blobs_are_left_out_and_named(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("config", "uploadpack.allowFilter", "true")
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
    repo.commit({"a.py": "a = 1\n", "b.txt": "x0\n"}, "base", date=day(0))
    ai = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n", "b.txt": "x0\nx1\n"}, "ai" + CLAUDE, date=day(1))
    repo.commit({"a.py": "a = 1\nb = 20\nc = 3\n", "b.txt": "x0\nx1\nx2\n"}, "edit", date=day(3))
    # A commit touching only the file whose history will be missing: still replayed.
    repo.commit({"b.txt": "x0\nx1\nx2\nx3\n"}, "b only", date=day(4))
    clone = tmp_path / "partial"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", f"file://{repo.path}", str(clone)], check=True)
    # The checkout fetched the tip's blobs; fetch a.py's older versions too, then lose the remote.
    old = [f"{c}:a.py" for c in ("HEAD~2", "HEAD~3")]
    _git(clone, "cat-file", "--batch", stdin="".join(_git(clone, "rev-parse", o) for o in old))
    _git(clone, "remote", "set-url", "origin", str(tmp_path / "gone"))

    out = run_gitroi("analyze", cwd=clone)
    assert "4 commits replayed" in out.stdout
    assert "partial clone: 3 blobs missing; 1 file not analysed: b.txt" in out.stdout
    data = json.loads(run_gitroi("survival", "--json", cwd=clone).stdout)
    assert data["missing_blobs"] == {"blobs": 3, "files": 1, "paths": ["b.txt"]}
    assert data["commits_analysed"] == 4
    text = run_gitroi("survival", cwd=clone).stdout
    assert "partial clone: 3 blobs missing, 1 file not analysed" in text
    # a.py is analysed as in a full clone (a = 1, then b = 2 churned and c = 3 surviving, then
    # b = 20); b.txt counts nowhere.  (The AI commit's attribution is not checked here: loading
    # markers runs `git log --numstat`, which needs every blob.)
    assert five(data["all"]) == (1 + 2 + 1, 3, 1, 0, 0)

    # With the blobs back (the remote restored and fetched), the next run replays in full.
    _git(clone, "remote", "set-url", "origin", f"file://{repo.path}")
    want = "".join(_git(clone, "rev-parse", f"{c}:b.txt") for c in ("HEAD~1", "HEAD~2", "HEAD~3"))
    _git(clone, "cat-file", "--batch", stdin=want)
    db = open_ledger(clone / ".git" / "gitroi" / "ledger.db")
    res = analyze(Repo.discover(clone), db)
    assert (res.mode, res.stats["missing_blobs"]["blobs"]) == ("full", 0)
    data = summary(db)
    assert five(commit_of(data, ai)) == (3, 2, 1, 0, 0) and data["all"]["lines_added"] == 4 + 4
    assert data["missing_blobs"] == {"blobs": 0, "files": 0, "paths": []}
