"""``gitroi verify``: the self-audit against ``git log --numstat`` and ``git blame -w -M -C`` (issue 11, item 4)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import GitRepo, corpus, run_gitroi
from tests.history_gen import AI_TRAILER, HistoryGen
from tests.test_survival import day


def test_verify_passes_on_a_generated_history_with_merges(repo: GitRepo, tmp_path: Path) -> None:
    gen = HistoryGen(repo, seed=11).run(rounds=8)
    # The generator copies lines within files often: blame -M gives copies to the old line.
    out = run_gitroi("--db", str(tmp_path / "l.db"), "verify", "--all", "--json", "--tolerance", "15%",
                     cwd=repo.path)
    data = json.loads(out.stdout)
    assert data["schema"] == "gitroi.verify/1"
    assert data["branch"] == "main" and data["tip"] == repo.git("rev-parse", "main")
    added = data["added"]
    assert added["ok"] and added["mismatched"] == 0
    assert added["ai_commits"] == len(gen.ai)
    assert added["numstat"] == added["new"] + added["carried"] + added["skipped"] > 0
    surv = data["surviving"]
    assert surv["files_checked"] == surv["candidate_files"] > 0 and not surv["sampled"]
    assert surv["ok"] and 0 < surv["delta_share"] <= 0.15
    assert surv["replay"] == sum(f["replay"] for f in surv["files"])
    assert data["ok"] is surv["ok"]


def test_verify_reads_a_copy_as_a_delta_and_fails_past_the_tolerance(repo: GitRepo, tmp_path: Path) -> None:
    """A person copies an AI block into another file while editing the source: blame -C gives the copy
    to the AI commit, the replay to the person's commit. 20 lines in blame, 10 in the replay."""
    block = "".join(f"def helper_{i}(value):\n    return compute_something(value, {i})\n" for i in range(5))
    repo.commit({"a.py": "import os\n"}, "base", date=day(0))
    repo.commit({"a.py": "import os\n" + block}, "helpers" + AI_TRAILER, date=day(1))
    repo.commit({"a.py": "import sys\n" + block, "b.py": block}, "copy helpers", date=day(2))
    db = str(tmp_path / "l.db")
    proc = run_gitroi("--db", db, "verify", cwd=repo.path, check=False)
    assert proc.returncode == 1, proc.stdout
    assert "b.py: replay 0, blame 10 (-10)" in proc.stdout
    assert "total: replay 10, git blame -w -M -C 20, delta -10 (50.00%; tolerance 2.00%)" in proc.stdout
    assert "git log --numstat -M 10 = new 10 + carried 0 + skipped 0" in proc.stdout
    assert proc.stdout.rstrip().endswith("FAILED")
    assert run_gitroi("--db", db, "verify", "--tolerance", "60%", cwd=repo.path).returncode == 0


def test_verify_all_passes_on_claude_code_action(tmp_path: Path) -> None:
    clone = tmp_path / "cca"
    subprocess.run(["git", "clone", "-q", str(corpus("claude-code-action")), str(clone)], check=True)
    out = run_gitroi("--db", str(tmp_path / "l.db"), "verify", "--all", "--json", cwd=clone)
    data = json.loads(out.stdout)
    assert data["ok"]
    assert (data["added"]["ai_commits"], data["added"]["numstat"], data["added"]["mismatched"]) == (179, 26657, 0)
    surv = data["surviving"]
    assert not surv["sampled"] and surv["delta_share"] < 0.02
