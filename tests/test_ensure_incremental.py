"""A re-analysis lists only the commits after the last analysed tip (``ensure_ledger(known_upto=)``),
and still sees what changed on older commits: a marker switch, a rule turned back on, a rewrite.

Each test would fail if the walk after ``known_upto`` skipped the old rows it must redo.
"""

from __future__ import annotations

import sqlite3

from tests.conftest import GitRepo, run_gitroi

CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"


def _attribution(repo: GitRepo) -> dict[str, str]:
    db = sqlite3.connect(repo.path / ".git" / "gitroi" / "ledger.db")
    try:
        return {sha: attr for sha, attr in db.execute("SELECT sha, attribution FROM commits")}
    finally:
        db.close()


def test_a_new_commit_and_a_switch_on_an_old_one_both_land(repo: GitRepo) -> None:
    old = repo.commit({"a.py": "x = 1\n"}, "feat: a" + CLAUDE)
    repo.commit({"b.py": "y = 2\n"}, "feat: b")
    run_gitroi("analyze", cwd=repo.path)
    assert _attribution(repo)[old] == "commit"
    # The rule that marked the old commit is switched off, and one more commit lands:
    # the incremental run lists one new commit from git, and redoes the old row.
    repo.git("config", "gitroi.marker.claude-noreply", "false")
    new = repo.commit({"c.py": "z = 3\n"}, "feat: c" + CLAUDE)
    out = run_gitroi("analyze", cwd=repo.path)
    rows = _attribution(repo)
    assert rows[old] == "none"
    assert rows[new] == "none"
    assert len(rows) == 3, out.stdout


def test_rows_of_commits_rebased_away_do_not_break_the_walk(repo: GitRepo) -> None:
    repo.commit({"a.py": "x = 1\n"}, "feat: a" + CLAUDE)
    run_gitroi("analyze", cwd=repo.path)
    # A side branch's commit gets a ledger row (analysed there), then disappears.
    repo.git("checkout", "-q", "-b", "side")
    gone = repo.commit({"s.py": "s = 1\n"}, "feat: side" + CLAUDE)
    run_gitroi("analyze", "--branch", "side", cwd=repo.path)
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "side")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    repo.git("config", "gitroi.marker.claude-noreply", "false")  # voids every marker row
    new = repo.commit({"b.py": "y = 2\n"}, "feat: b" + CLAUDE)
    out = run_gitroi("analyze", cwd=repo.path)
    assert "not refreshed" not in out.stdout + out.stderr
    rows = _attribution(repo)
    assert rows[new] == "none"
    assert rows[gone] == "commit"  # not in this history: left as it was, not read from git
