"""Survival analysis on real histories built with the git CLI: exact outcomes per case."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.ledger.survival import summary
from gitroi.survival.analyze import analyze
from tests.conftest import GitRepo, run_gitroi

CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: float) -> str:
    return (T0 + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def survive(repo: GitRepo, tmp: Path, **kw: Any) -> dict[str, Any]:
    db = open_ledger(tmp / "ledger.db")
    analyze(Repo.discover(repo.path), db, branch=kw.pop("branch", "main"), **kw)
    return summary(db)


def five(d: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (d["lines_added"], d["surviving"], d["churned"], d["reverted"], d["deleted_later"])


def commit_of(data: dict[str, Any], sha: str) -> dict[str, Any]:
    return next(c for c in data["commits"] if c["commit"] == sha)


def note(repo: GitRepo, sha: str, ranges: dict[str, list[list[int]]], session: str) -> None:
    """A line-level gitroi note, written the way the hook writes it (refs/notes/gitroi)."""
    body = {
        "schema": "gitroi.note/1", "attribution": "line", "agents": ["claude-code"],
        "sessions": [{"agent": "claude-code", "session_id": session, "models": {}, "input": 1, "output": 1,
                      "cache_write": 0, "cache_read": 0, "reasoning": 0, "tokens": 2, "cost_usd": None,
                      "since": day(0), "until": day(0)}],
        "tokens": 2, "cost_usd": None, "lines_added": 0,
        "ai_lines": sum(b - a + 1 for rs in ranges.values() for a, b in rs),
        "ai_ranges": ranges, "markers": [], "source": "test",
    }
    repo.git("notes", "--ref=gitroi", "add", "-f", "-m", json.dumps(body), sha)


def test_edit_within_and_after_window(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "def f():\n    return 0\n"}, "base", date=day(0))
    ai = repo.commit({"a.py": "def f():\n    return 0\n\n\ndef g():\n    x = 1\n    y = 2\n    return x + y\n"},
                     "add g" + CLAUDE, date=day(1))
    # 3 days later a person changes `x = 1` (churn); 40 days later `y = 2` (lived its life).
    repo.commit({"a.py": "def f():\n    return 0\n\n\ndef g():\n    x = 10\n    y = 2\n    return x + y\n"},
                "tweak x", date=day(4))
    repo.commit({"a.py": "def f():\n    return 0\n\n\ndef g():\n    x = 10\n    y = 20\n    return x + y\n"},
                "tweak y", date=day(41))
    data = survive(repo, tmp_path)
    c = commit_of(data, ai)
    assert five(c) == (6, 4, 1, 0, 1)
    assert (c["attribution"], c["agents"]) == ("commit", ["claude-code"])
    assert five(data["ai"]) == (6, 4, 1, 0, 1)
    # Two blank lines are non-code; the churned and deleted lines are code.
    assert five(data["ai"]["non_code"]) == (2, 2, 0, 0, 0)
    assert five(data["ai"]["code"]) == (4, 2, 1, 0, 1)
    assert five(data["all"]) == (10, 8, 1, 0, 1)
    db = open_ledger(tmp_path / "ledger.db")
    rows = db.execute("SELECT symbol, outcome, ended_by, lines FROM line_outcomes WHERE ai = 1 AND is_code = 1 "
                      "ORDER BY outcome").fetchall()
    assert rows == [("g", "churned", "person", 1), ("g", "deleted_later", "person", 1), ("g", "surviving", "", 2)]


def test_window_option(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.txt": "one\n"}, "base", date=day(0))
    ai = repo.commit({"a.txt": "one\ntwo\n"}, "ai" + CLAUDE, date=day(0))
    repo.commit({"a.txt": "one\nTWO\n"}, "edit", date=day(10))
    assert five(commit_of(survive(repo, tmp_path, window_days=14), ai)) == (1, 0, 1, 0, 0)
    assert five(commit_of(survive(repo, tmp_path, window_days=7), ai)) == (1, 0, 0, 0, 1)


def test_git_revert(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date=day(0))
    ai = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n"}, "ai" + CLAUDE, date=day(1))
    repo.git("revert", "--no-edit", ai, env={"GIT_AUTHOR_DATE": day(30), "GIT_COMMITTER_DATE": day(30)})
    data = survive(repo, tmp_path)
    assert five(commit_of(data, ai)) == (2, 0, 0, 2, 0)


def test_restore_of_replaced_lines_is_a_revert(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "def f():\n    return compute_the_value(1)\n"}, "base", date=day(0))
    ai = repo.commit({"a.py": "def f():\n    return compute_the_value(2) + 1\n"}, "ai" + CLAUDE, date=day(1))
    # A person puts the old line back by hand 30 days later (no revert message).
    repo.commit({"a.py": "def f():\n    return compute_the_value(1)\n"}, "back to 1", date=day(31))
    data = survive(repo, tmp_path)
    assert five(commit_of(data, ai)) == (1, 0, 0, 1, 0)


def test_rename_keeps_lines(repo: GitRepo, tmp_path: Path) -> None:
    body = "".join(f"value_{i} = compute_something_long({i})\n" for i in range(10))
    ai = repo.commit({"old/name.py": body}, "ai" + CLAUDE, date=day(0))
    repo.git("mv", "old/name.py", "new_name.py")
    repo.commit({"new_name.py": body.replace("value_3 ", "renamed_3 ")}, "rename", date=day(20))
    data = survive(repo, tmp_path)
    assert five(commit_of(data, ai)) == (10, 9, 0, 0, 1)


def test_move_across_files_keeps_origin(repo: GitRepo, tmp_path: Path) -> None:
    block = "".join(f"    total = total + weight_of_item_number_{i}(items)\n" for i in range(6))
    repo.commit({"a.py": "import os\n", "b.py": "import sys\n"}, "base", date=day(0))
    ai = repo.commit({"a.py": "import os\n\ndef f(items):\n    total = 0\n" + block + "    return total\n"},
                     "ai" + CLAUDE, date=day(1))
    moved = repo.commit({"a.py": "import os\n",
                         "b.py": "import sys\n\n\ndef f(items):\n    total = 0\n" + block + "    return total\n"},
                        "move f to b", date=day(2))
    data = survive(repo, tmp_path)
    c = commit_of(data, ai)
    assert five(c) == (10, 10, 0, 0, 0)
    # The moving commit's diff added 11 lines to b.py: the 9 code lines and the blank line
    # before them kept their origin (as blame -M -C sees it); one blank line is new.
    db = open_ledger(tmp_path / "ledger.db")
    carried = db.execute("SELECT SUM(lines) FROM line_carried WHERE commit_sha = ?", [moved]).fetchone()[0]
    own = db.execute("SELECT SUM(lines) FROM line_outcomes WHERE commit_sha = ?", [moved]).fetchone()[0]
    numstat = int(repo.git("show", "--numstat", "--format=", moved, "--", "b.py").split()[0])
    assert (carried, own, carried + own) == (10, 1, numstat)


def test_python_reformat_is_not_churn(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"m.py": "import os\n"}, "base", date=day(0))
    ai = repo.commit({"m.py": "import os\n\nresult = call_function(argument_one, argument_two)\n"
                               "if result:  print(result)\n"}, "ai" + CLAUDE, date=day(1))
    # Black-style reformat 2 days later: the call split over lines with a magic trailing comma,
    # the one-line `if` indented; same tokens.
    repo.commit({"m.py": "import os\n\nresult = call_function(\n    argument_one,\n    argument_two,\n)\n"
                         "if result:\n    print(result)\n"}, "black", date=day(3))
    data = survive(repo, tmp_path)
    c = commit_of(data, ai)
    assert (c["surviving"], c["churned"]) == (3, 0)
    # A real change 2 days later is churn: the line that carries the call's origin is renamed.
    repo.commit({"m.py": "import os\n\nvalue = call_function(\n    argument_one,\n    argument_two,\n)\n"
                         "if value:\n    print(value)\n"}, "change", date=day(5))
    c = commit_of(survive(repo, tmp_path), ai)
    assert (c["surviving"], c["churned"]) == (1, 2)


def test_merge_from_side_branch(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "x = 1\n", "b.py": "y = 1\n"}, "base", date=day(0))
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit({"b.py": "y = 1\ny2 = 2\ny3 = 3\n"}, "side ai" + CLAUDE, date=day(1))
    repo.git("checkout", "-q", "main")
    repo.commit({"a.py": "x = 1\nx2 = 2\n"}, "main work", date=day(2))
    repo.git("merge", "-q", "--no-ff", "side", "-m", "merge side",
             env={"GIT_AUTHOR_DATE": day(3), "GIT_COMMITTER_DATE": day(3)})
    data = survive(repo, tmp_path)
    assert five(commit_of(data, side)) == (2, 2, 0, 0, 0)
    assert five(data["all"]) == (5, 5, 0, 0, 0)


def test_merge_with_conflict_resolution(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n"}, "base", date=day(0))
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit({"a.py": "a = 1\nb = 20\nc = 3\nside_line = 4\n"}, "side ai" + CLAUDE, date=day(1))
    repo.git("checkout", "-q", "main")
    main = repo.commit({"a.py": "a = 10\nb = 2\nc = 3\n"}, "main", date=day(2))
    repo.git("merge", "-q", "--no-commit", "side", check=False)
    repo.write("a.py", "a = 10\nb = 20\nc = 3\nmerged = 5\n")
    repo.git("add", "a.py")
    merge = repo.commit(None, "merge side by hand", date=day(3))
    data = survive(repo, tmp_path)
    # side's `b = 20` survives through the merge; its `side_line` was dropped by the resolution.
    assert five(commit_of(data, side)) == (2, 1, 1, 0, 0)
    blame = repo.git("blame", "-w", "-M", "-C", "--line-porcelain", "main", "--", "a.py")
    origins = [ln.split()[0] for ln in blame.splitlines() if len(ln) > 40 and ln[40] == " "]
    assert origins == [main, side, origins[2], merge]


def test_squash_of_a_branch(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date=day(0))
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"a.py": "a = 1\nb = 2\n"}, "wip 1" + CLAUDE, date=day(1))
    repo.commit({"a.py": "a = 1\nb = 2\nc = 3\nd = 4\n"}, "wip 2" + CLAUDE, date=day(2))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "feature")
    squash = repo.commit(None, "feature (#7)" + CLAUDE, date=day(3))
    repo.commit({"a.py": "a = 1\nb = 2\nc = 30\nd = 4\n"}, "fix c", date=day(5))
    data = survive(repo, tmp_path)
    # The branch's commits are not on main: the squash commit owns the lines.
    assert [c["commit"] for c in data["commits"]] == [squash]
    assert five(commit_of(data, squash)) == (3, 2, 1, 0, 0)


def test_line_level_ranges_and_same_session(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date=day(0))
    first = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\nd = 4\n"}, "agent and person", date=day(1))
    note(repo, first, {"a.py": [[2, 3]]}, "s1")     # b and c are the agent's, d the person's
    second = repo.commit({"a.py": "a = 1\nb = 22\nc = 3\nd = 4\n"}, "agent again", date=day(2))
    note(repo, second, {"a.py": [[2, 2]]}, "s1")    # the same session rewrites b
    repo.commit({"a.py": "a = 1\nb = 22\nc = 33\nd = 44\n"}, "person", date=day(3))
    data = survive(repo, tmp_path)
    c = commit_of(data, first)
    assert (c["attribution"], five(c)) == ("line", (2, 0, 2, 0, 0))
    db = open_ledger(tmp_path / "ledger.db")
    rows = db.execute("SELECT commit_sha, ai, outcome, ended_by, lines FROM line_outcomes "
                      "WHERE commit_sha = ? ORDER BY ai, ended_by", [first]).fetchall()
    assert rows == [(first, 0, "churned", "person", 1), (first, 1, "churned", "person", 1),
                    (first, 1, "churned", "same_session", 1)]
    assert five(data["ai"]) == (3, 1, 2, 0, 0)   # b = 22 survives


def test_binary_symlink_submodule_non_utf8(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"img.bin": b"\x00\x01\x02" * 10, "latin.txt": "caf\xe9\nna\xefve\n".encode("latin-1")},
                "base" + CLAUDE, date=day(0))
    (repo.path / "link").symlink_to("latin.txt")
    repo.git("add", "link")
    sub = tmp_path / "sub"
    subprocess.run(["git", "init", "-q", str(sub)], check=True)
    subprocess.run(["git", "-C", str(sub), "commit", "-q", "--allow-empty", "-m", "s"], check=True)
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/sub")
    repo.commit(None, "links", date=day(1))
    data = survive(repo, tmp_path)
    assert five(data["ai"]) == (2, 2, 0, 0, 0)
    assert data["skipped_files"] == {"binary": 1, "submodule": 1, "symlink": 1}
    # .gitmodules is a text file of the person's commit.
    assert data["all"]["lines_added"] == 5


def test_awkward_paths(repo: GitRepo, tmp_path: Path) -> None:
    odd = 'dir with space/caf\u00e9 "quoted".py'
    ai = repo.commit({odd: "a = 1\nb = 2\n"}, "ai" + CLAUDE, date=day(0))
    repo.git("mv", odd, "plain.py")
    repo.commit({"plain.py": "a = 1\nb = 3\n"}, "rename and edit", date=day(1))
    data = survive(repo, tmp_path)
    assert five(commit_of(data, ai)) == (2, 1, 1, 0, 0)
    db = open_ledger(tmp_path / "ledger.db")
    assert {r[0] for r in db.execute("SELECT path FROM line_outcomes WHERE commit_sha = ?", [ai])} == {odd}


def test_huge_files_are_skipped(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"big.txt": "x = 1\n" * 400, "small.txt": "y = 2\n"}, "files" + CLAUDE, date=day(0))
    data = survive(repo, tmp_path, max_file_bytes=1000)
    assert data["skipped_files"] == {"huge": 1} and data["ai"]["lines_added"] == 1
    out = run_gitroi("analyze", "--max-file-size", "1k", cwd=repo.path)
    assert "skipped files: 1 huge" in out.stdout


def test_shallow_clone_lines_of_unknown_origin(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\nb = 2\n"}, "old", date=day(0))
    repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n"}, "older", date=day(1))
    ai = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\nd = 4\n"}, "ai" + CLAUDE, date=day(2))
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo.path}", str(clone)], check=True)
    data = survive(GitRepo(clone), tmp_path, branch="origin/main")
    assert five(commit_of(data, ai)) == (1, 1, 0, 0, 0)
    assert data["unknown_origin_lines"] == 3
    assert data["all"]["lines_added"] == 1


def test_partial_clone_tree_filter_cannot_be_listed(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("config", "uploadpack.allowFilter", "true")
    for i in range(2):
        repo.commit({"d/a.txt": "".join(f"line {n}\n" for n in range(i + 1))}, f"c{i}", date=day(i))
    clone = tmp_path / "partial"
    subprocess.run(["git", "clone", "-q", "--filter=tree:0", "--no-checkout", f"file://{repo.path}",
                    str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "remote", "set-url", "origin", str(tmp_path / "gone")], check=True)
    out = run_gitroi("analyze", "--branch", "origin/main", cwd=clone, check=False)
    assert out.returncode == 1
    assert "cannot even be listed" in out.stderr and "git fetch --refetch" in out.stderr


def test_since_makes_older_lines_unknown(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\nb = 2\n"}, "old", date=day(0))
    cut = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n"}, "cut", date=day(1))
    ai = repo.commit({"a.py": "a = 1\nb = 20\nc = 3\nd = 4\n"}, "ai" + CLAUDE, date=day(2))
    data = survive(repo, tmp_path, since=cut)
    assert data["commits_analysed"] == 1 and five(commit_of(data, ai)) == (2, 2, 0, 0, 0)
    assert (data["unknown_origin_lines"], data["all"]["lines_added"]) == (2, 2)


def test_empty_repository_cli(repo: GitRepo) -> None:
    out = run_gitroi("analyze", cwd=repo.path)
    assert "empty repository" in out.stdout
    data = json.loads(run_gitroi("survival", "--json", cwd=repo.path).stdout)
    assert five(data["all"]) == (0, 0, 0, 0, 0) and data["commits"] == []


def test_incremental_and_rewritten_history(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date=day(0))
    ai = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n"}, "ai" + CLAUDE, date=day(1))
    db = open_ledger(tmp_path / "ledger.db")
    r = Repo.discover(repo.path)
    assert analyze(r, db, branch="main").mode == "full"
    assert analyze(r, db, branch="main").mode == "unchanged"
    repo.commit({"a.py": "a = 1\nb = 20\nc = 3\n"}, "edit", date=day(2))
    res = analyze(r, db, branch="main")
    assert (res.mode, res.commits_replayed) == ("incremental", 1)
    assert five(commit_of(summary(db), ai)) == (2, 1, 1, 0, 0)
    # Force-push: drop the edit, commit something else; the stored tip is gone from history.
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.commit({"a.py": "a = 1\nb = 2\nc = 3\nd = 4\n"}, "other", date=day(3))
    res = analyze(r, db, branch="main")
    assert res.mode == "full"
    assert five(commit_of(summary(db), ai)) == (2, 2, 0, 0, 0)


def test_changed_attribution_of_an_old_commit_replays_fully(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date=day(0))
    old = repo.commit({"a.py": "a = 1\nb = 2\n"}, "by hand?", date=day(1))
    db = open_ledger(tmp_path / "ledger.db")
    r = Repo.discover(repo.path)
    analyze(r, db, branch="main")
    assert summary(db)["commits"] == []
    note(repo, old, {"a.py": [[2, 2]]}, "s9")   # the note arrives later (gitroi sync)
    repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n"}, "more", date=day(2))
    res = analyze(r, db, branch="main")
    assert (res.mode, res.commits_replayed) == ("full", 3)
    assert five(commit_of(summary(db), old)) == (1, 1, 0, 0, 0)


def test_incremental_merge_of_an_old_branch(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit({"a.py": "a = 1\n", "b.py": "b = 1\n"}, "base", date=day(0))
    ai = repo.commit({"a.py": "a = 1\na2 = 2\n"}, "ai" + CLAUDE, date=day(1))
    db = open_ledger(tmp_path / "ledger.db")
    r = Repo.discover(repo.path)
    analyze(r, db, branch="main")
    repo.git("checkout", "-q", "-b", "old", base)
    side = repo.commit({"b.py": "b = 1\nb2 = 2\n"}, "side" + CLAUDE, date=day(2))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "old", "-m", "merge old")
    res = analyze(r, db, branch="main")
    assert (res.mode, res.commits_replayed) == ("incremental", 2)
    data = summary(db)
    assert five(commit_of(data, ai)) == (1, 1, 0, 0, 0) and five(commit_of(data, side)) == (1, 1, 0, 0, 0)
    assert data["unknown_origin_lines"] == 0


def test_cli_analyze_and_survival_json(repo: GitRepo) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date=day(0))
    ai = repo.commit({"a.py": "a = 1\nb = 2\n"}, "ai" + CLAUDE, date=day(1))
    out = run_gitroi("analyze", "--window", "7d", cwd=repo.path)
    assert "2 commits replayed (full)" in out.stdout and "\r" not in out.stderr
    data = json.loads(run_gitroi("survival", "--json", cwd=repo.path).stdout)
    assert set(data["all"]) >= {"lines_added", "surviving", "churned", "reverted", "deleted_later",
                                "code", "non_code"}
    assert data["window_days"] == 7.0
    assert data["commits"] == [{"commit": ai, "attribution": "commit", "agents": ["claude-code"],
                                "committed_at": "2026-01-02T00:00:00.000Z", "lines_added": 1,
                                "surviving": 1, "churned": 0, "reverted": 0, "deleted_later": 0,
                                "carried": 0}]
    text = run_gitroi("survival", cwd=repo.path).stdout
    assert "surviving" in text and "1 attributed commit" in text
