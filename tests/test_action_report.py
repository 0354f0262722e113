"""The PR report: figures from notes + git for the cases a review produces, the comment's golden
file, and ``gitroi pr comment`` as another CI system would run it (base/head from the API)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitroi.attribution.notes import Note, write_note
from gitroi.git import Repo
from gitroi.pr.analysis import analyse_pr
from gitroi.pr.comment import render_markdown
from tests import pr_repo
from tests.conftest import GitRepo, run_gitroi
from tests.fake_github import FakeGitHub

GOLDEN = Path(__file__).parent / "golden" / "pr_comment.md"
TOKEN = "ghs_fakeTokenForTests0123456789"


def test_hand_worked_figures(repo: GitRepo) -> None:
    shas = pr_repo.build(repo)
    data = analyse_pr(Repo.discover(repo.path), base="main", head="feature").to_dict()
    assert {k: data[k] for k in ("commits", "attributed_commits", "attribution", "tokens", "cost_usd",
                                 "lines_added", "ai_lines", "surviving", "churned", "deleted_later",
                                 "review_churn", "tokens_per_surviving_line",
                                 "cost_per_surviving_line", "rework", "merge_base")} == {
        "commits": 3, "attributed_commits": 2, "attribution": {"line": 2}, "tokens": 23200,
        "cost_usd": 0.3, "lines_added": 9, "ai_lines": 8, "surviving": 6, "churned": 2,
        "deleted_later": 0, "review_churn": 0.25, "tokens_per_surviving_line": 3866.67,
        "cost_per_surviving_line": 0.05,
        "rework": [{"path": "util.py", "symbol": "sub", "ai_lines": 2, "churned": 2}],
        "merge_base": shas["base"]}
    assert [(c["commit"], c["ai_lines"], c["surviving"]) for c in data["commit_list"]] == [
        (shas["c1"], 6, 4), (shas["c2"], 2, 2), (shas["c3"], 0, 0)]
    assert data["by_model"][1] == {"agent": "codex", "model": "gpt-5-codex", "tokens": 9700,
                                   "input": 3000, "output": 700, "cache_write": 0, "cache_read": 6000,
                                   "reasoning": 200, "responses": 2, "cost_usd": 0.05}


def test_golden_comment(repo: GitRepo) -> None:
    """tests/golden/pr_comment.md, commit ids and version masked (regenerate: write `got` there)."""
    pr_repo.build(repo)
    data = analyse_pr(Repo.discover(repo.path), base="main", head="feature").to_dict()
    got = re.sub(r"(base|head) `[0-9a-f]{7}`", r"\1 `<sha>`", render_markdown(data))
    got = re.sub(r"gitroi \d+\.\d+\S*</sub>", "gitroi <version></sub>", got)
    assert got == GOLDEN.read_text()


def test_reindent_and_move_to_another_file_still_survive(repo: GitRepo) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    repo.git("checkout", "-q", "-b", "pr")
    body = ("def helper(value, factor):\n    total = value * factor\n"
            "    total += compute_offset(value)\n    return total\n")
    c1 = repo.commit({"a.py": "x = 0\n" + body}, "agent writes helper")
    r = Repo.discover(repo.path)
    write_note(r, c1, Note.build(attribution="line", agents=["claude-code"], lines_added=4,
                                 ai_ranges={"a.py": [[2, 5]]}))
    # Review: helper moves to b.py inside a class (re-indented), a.py keeps x.
    moved = "class K:\n" + "".join("    " + line + "\n" for line in body.splitlines())
    repo.commit({"a.py": "x = 0\n", "b.py": moved}, "move helper into K")
    data = analyse_pr(r, base="main", head="pr").to_dict()
    assert (data["ai_lines"], data["surviving"], data["churned"]) == (4, 4, 0)
    assert (data["tokens"], data["tokens_per_surviving_line"]) == (0, 0.0)


def test_commit_level_note_counts_every_added_line(repo: GitRepo) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    repo.git("checkout", "-q", "-b", "pr")
    c1 = repo.commit({"a.py": "x = 0\ny = 1\nz = 2\n"}, "aider: add y, z")
    r = Repo.discover(repo.path)
    write_note(r, c1, Note.build(attribution="commit", agents=["aider"], lines_added=2,
                                 markers=["subject:aider"]))
    repo.commit({"a.py": "x = 0\ny = 1\n"}, "drop z")
    data = analyse_pr(r, base="main", head="pr").to_dict()
    assert (data["ai_lines"], data["surviving"], data["churned"], data["attribution"]) == (
        2, 1, 1, {"commit": 1})
    assert data["tokens"] == 0 and data["cost_usd"] is None and data["by_model"] == []


def test_commit_level_lines_are_the_ledgers_where_U0_differs(repo: GitRepo) -> None:
    # A changelog with many blank lines: `git show -U0` calls 9 lines added, plain numstat and
    # the ledger's reader (gitroi.attribution.commits, -U1) 10.  The PR figures must use the latter,
    # so that every added line of a commit-level commit is an AI line (DESIGN.md).
    tail = "".join(f"Version 1.{i}\n-----------\n\nReleased 2014-07-{i:02d}\n\n- fix {i} "
                   f"{'x' * 51}\n\n\n" for i in range(10))
    block = "added line 0\nadded line 1\n\n" + "".join(f"more added line {i}\n" for i in range(7))
    repo.commit({"CHANGES.rst": "\n\n" + tail}, "base")
    repo.git("checkout", "-q", "-b", "pr")
    c1 = repo.commit({"CHANGES.rst": block + "\n" + tail}, "aider: changelog")
    zero = [ln for ln in repo.git("log", "-1", "--numstat", "-U0", "--format=", c1).splitlines()
            if "\t" in ln]
    assert zero == ["9\t0\tCHANGES.rst"]  # the case is real
    r = Repo.discover(repo.path)
    write_note(r, c1, Note.build(attribution="commit", agents=["aider"], lines_added=10,
                                 markers=["subject:aider"]))
    data = analyse_pr(r, base="main", head="pr").to_dict()
    assert (data["lines_added"], data["ai_lines"]) == (10, 10)
    # Not asserted here: surviving (blame diffs at -U0 too, and hands one blank line to the base,
    # so 9 of 10 "reach" this head; a line-level note with these ranges shows the same gap).


def test_no_notes_renders_how_to_start(repo: GitRepo) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    repo.git("checkout", "-q", "-b", "pr")
    repo.commit({"a.py": "x = 1\n"}, "by hand")
    data = analyse_pr(Repo.discover(repo.path), base="main", head="pr").to_dict()
    md = render_markdown(data)
    assert "No AI attribution found on the 1 commit of this pull request." in md
    assert "mermaid" not in md
    assert data["review_churn"] is None and data["tokens_per_surviving_line"] is None


def test_unknown_base_says_how_to_fetch(repo: GitRepo) -> None:
    repo.commit({"a.py": "x\n"}, "base")
    proc = run_gitroi("pr", "report", "--base", "f" * 40, cwd=repo.path, check=False)
    assert proc.returncode == 1
    assert f"Error: base '{'f' * 40}' is not a commit in this repository" in proc.stderr
    assert "fetch-depth: 0" in proc.stderr


def test_unpriced_model_has_no_cost(repo: GitRepo) -> None:
    from gitroi.attribution.notes import SessionShare

    repo.commit({"a.py": "x\n"}, "base")
    repo.git("checkout", "-q", "-b", "pr")
    c1 = repo.commit({"a.py": "x\ny\n"}, "agent")
    share = SessionShare.from_models("opencode", "o1", {"mystery-model": {
        "input": 10, "output": 5, "cache_write": 0, "cache_read": 0, "responses": 1, "cost_usd": None}},
        since=None, until=None)
    write_note(Repo.discover(repo.path), c1, Note.build(attribution="line", sessions=[share],
                                                       lines_added=1, ai_ranges={"a.py": [[2, 2]]}))
    data = analyse_pr(Repo.discover(repo.path), base="main", head="pr").to_dict()
    assert (data["tokens"], data["cost_usd"], data["unpriced_models"]) == (15, None, ["mystery-model"])
    md = render_markdown(data)
    assert "**15 tokens** · **n/a**" in md and "Not in the price table (no cost): `mystery-model`." in md


@pytest.fixture
def fake() -> FakeGitHub:
    server = FakeGitHub(prefix="").start()
    yield server  # type: ignore[misc]
    server.stop()


def test_pr_comment_cli_for_other_ci_systems(repo: GitRepo, fake: FakeGitHub) -> None:
    shas = pr_repo.build(repo)
    fake.add_pr("octo-org/app", 42, head_sha=shas["c3"], base_sha=shas["other"])
    env = {"GITROI_GITHUB_TOKEN": TOKEN}
    out = run_gitroi("pr", "comment", "--repo", "octo-org/app", "--pr", "42", "--api-url", fake.api_url,
                     "--json", cwd=repo.path, env=env)
    data = json.loads(out.stdout)
    assert data["comment"]["status"] == "created"
    assert data["outputs"]["tokens"] == "23200" and data["report"]["head"] == shas["c3"]
    assert fake.requests()[0][:2] == ("GET", "/repos/octo-org/app/pulls/42")
    out = run_gitroi("pr", "comment", "--repo", "octo-org/app", "--pr", "42", "--api-url", fake.api_url,
                     cwd=repo.path, env=env)
    assert out.stdout.startswith("comment: unchanged https://github.com/octo-org/app/pull/42#issuecomment-")
    assert len(fake.comments_on("octo-org/app", 42)) == 1
    assert TOKEN not in out.stdout + out.stderr
    bad = run_gitroi("pr", "comment", "--repo", "octo-org/app", "--pr", "42", "--api-url", fake.api_url,
                     "--fail-on", "review-churn>0.1", cwd=repo.path, env=env, check=False)
    assert bad.returncode == 1
    assert "gitroi: fail-on: review-churn is 0.25, and fail-on says review-churn>0.1" in bad.stderr


def test_quoted_paths_non_ascii_and_spaces(repo: GitRepo) -> None:
    """git C-quotes such names in diff headers and blame output; the report must not lose them."""
    repo.commit({"a.txt": "x\n"}, "base")
    repo.git("checkout", "-q", "-b", "pr")
    c1 = repo.commit({"naïve file.py": "a = 1\nb = 2\n"}, "agent")
    write_note(Repo.discover(repo.path), c1, Note.build(attribution="line", agents=["codex"], lines_added=2,
                                                       ai_ranges={"naïve file.py": [[1, 2]]}))
    repo.commit({"naïve file.py": "a = 1\n"}, "review")
    data = analyse_pr(Repo.discover(repo.path), base="main", head="pr").to_dict()
    assert (data["ai_lines"], data["surviving"], data["churned"]) == (2, 1, 1)
    assert data["rework"] == [{"path": "naïve file.py", "symbol": "", "ai_lines": 2, "churned": 1}]
    assert "| `naïve file.py` | · | 1 | 2 |" in render_markdown(data)


def test_agrees_with_the_ledger_pipeline(repo: GitRepo, tmp_path: Path) -> None:
    """Consistency: the PR report (notes + blame) equals `gitroi report`'s figures (ledger +
    survival replay) restricted to the PR's commits, analysed at the PR's head."""
    from gitroi.ledger import open_ledger
    from gitroi.report.figures import compute
    from gitroi.report.pipeline import prepare

    shas = pr_repo.build(repo)
    r = Repo.discover(repo.path)
    db = open_ledger(tmp_path / "ledger.db")
    assert prepare(r, db, branch="feature", import_logs=False).problems == []
    head = compute(db, commits=[shas["c1"], shas["c2"], shas["c3"]])["headline"]
    mine = analyse_pr(r, base="main", head="feature").to_dict()
    keys = ("tokens", "cost_usd", "ai_lines", "surviving", "churned", "tokens_per_surviving_line")
    assert {k: head[k] for k in keys} == {k: mine[k] for k in keys} == {
        "tokens": 23200, "cost_usd": 0.3, "ai_lines": 8, "surviving": 6, "churned": 2,
        "tokens_per_surviving_line": 3866.67}


def test_formatter_commit_keeps_both_its_lines_and_the_originals(repo: GitRepo) -> None:
    """Seen on anthropics/claude-code-action#25: an AI commit that only re-spaced a table (prettier)
    lost all its lines under `blame -w` alone, which hands them to the older commit."""
    repo.commit({"README.md": "intro\n"}, "base")
    repo.git("checkout", "-q", "-b", "pr")
    c1 = repo.commit({"README.md": "intro\n| a | b |\n| long value | x |\n"}, "agent: table")
    c2 = repo.commit({"README.md": "intro\n| a          | b |\n| long value | x |\n"}, "agent: prettier")
    r = Repo.discover(repo.path)
    write_note(r, c1, Note.build(attribution="line", agents=["claude-code"], lines_added=2,
                                 ai_ranges={"README.md": [[2, 3]]}))
    write_note(r, c2, Note.build(attribution="line", agents=["claude-code"], lines_added=1,
                                 ai_ranges={"README.md": [[2, 2]]}))
    data = analyse_pr(r, base="main", head="pr").to_dict()
    assert (data["ai_lines"], data["surviving"], data["churned"]) == (3, 3, 0)
