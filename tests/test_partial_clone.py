"""Attribution and the report in a partial clone whose promisor remote is gone.

``git log --numstat`` needs every blob, so before this a blob:none clone
attributed nothing from trailers.  Now the attribution finds the missing blobs
first (as the survival analysis does, ``gitroi.git.partial``), leaves their paths
out and never fetches: every commit is attributed from its markers, its lines
counted where they can be, and the missing files are named.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from gitroi.git import Repo
from gitroi.ledger import open_ledger
from tests.conftest import GitRepo, run_gitroi

CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"


def _git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True, input=stdin).stdout


def test_report_in_a_partial_clone_counts_ai_lines_and_names_missing_files(
        repo: GitRepo, tmp_path: Path) -> None:
    repo.git("config", "uploadpack.allowFilter", "true")
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
    repo.commit({"a.py": "a = 1\n", "b.txt": "x0\n"}, "base", date="2026-01-01T00:00:00Z")
    ai = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n", "b.txt": "x0\nx1\n"}, "ai" + CLAUDE,
                     date="2026-01-02T00:00:00Z")
    repo.commit({"b.txt": "x0\nx1\nx2\n"}, "person", date="2026-01-03T00:00:00Z")
    # An AI commit touching only the file whose history will be missing: still attributed.
    b_only = repo.commit({"b.txt": "x0\nx1\nx2\nx3\n"}, "ai b only" + CLAUDE,
                         date="2026-01-04T00:00:00Z")
    clone = tmp_path / "partial"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", f"file://{repo.path}", str(clone)],
                   check=True)
    # The checkout fetched the tip's blobs; fetch a.py's first version too, then lose the remote:
    # b.txt's three older versions stay missing.
    _git(clone, "cat-file", "--batch", stdin=_git(clone, "rev-parse", "HEAD~3:a.py"))
    _git(clone, "remote", "set-url", "origin", str(tmp_path / "gone"))

    out = run_gitroi("report", "--format", "json", cwd=clone)
    assert ("warning: partial clone: 3 blobs missing; 1 file left out of the commits' "
            "added lines: b.txt") in out.stderr
    data = json.loads(out.stdout)
    h = data["headline"]
    # The AI commit's 2 lines of a.py count; b.txt's lines (1 + 1 by AI) count nowhere.
    assert (h["ai_lines"], h["carried"], h["unanalysed"], h["surviving"]) == (2, 0, 0, 2)
    assert data["missing_blobs"] == {"blobs": 3, "files": 1, "paths": ["b.txt"]}
    assert any(n.startswith("Partial clone: 3 blobs missing") and "b.txt" in n
               for n in data["notes"])
    ledger = open_ledger(clone / ".git" / "gitroi" / "ledger.db")
    got = {r["sha"]: (r["attribution"], r["ai_lines"]) for r in ledger["commits"].rows}
    assert got[ai] == ("commit", 2) and got[b_only] == ("commit", 0)
    assert sum(1 for a, _ in got.values() if a == "commit") == 2
    # Nothing was fetched (no lazy fetch): b.txt's old versions are still missing.
    missing = _git(clone, "rev-list", "--objects", "--missing=print", "HEAD")
    assert sum(1 for ln in missing.splitlines() if ln.startswith("?")) == 3
    # A second run has nothing stale to attribute; the JSON still names the gap.
    again = json.loads(run_gitroi("report", "--format", "json", cwd=clone).stdout)
    assert again["missing_blobs"]["paths"] == ["b.txt"] and again["headline"]["ai_lines"] == 2
    assert Repo.discover(clone).head() is not None


def test_iter_history_in_a_full_clone_has_no_excludes(repo: GitRepo) -> None:
    """The usual case: no partial clone, one ``git config`` and the plain numstat."""
    from gitroi.attribution.history import iter_history
    from gitroi.git.partial import missing_blobs

    repo.commit({"a.py": "1\n2\n"}, "one" + CLAUDE)
    r = Repo.discover(repo.path)
    assert missing_blobs(r, ["HEAD"]) is None
    assert [hc.lines_added for hc in iter_history(r, ["HEAD"])] == [2]
