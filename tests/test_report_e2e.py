"""``gitroi report`` end to end on a real repository: the real pipeline, PRs of every shape.

History (main), worked by hand:

* init: a.py, 3 lines, a person.
* PR #1, merge commit: X (Claude trailer) adds b.py with 5 lines; Y (a person) deletes 2 of
  them before the merge.  AI lines written 5, reached the merge 3, review churn 2.
* PR #2, squash: pre-squash P (Claude) adds c.py with 4 lines, Q (Claude) rewrites line 2 and
  adds a 5th line; refs/pull/2/head = Q is fetched.  Written 4 + 2 = 6, Q's rewrite replaced
  P's line 2, so 5 reached the head: review churn 1.  The squash commit on main carries the
  Claude trailer: 5 commit-level AI lines (c.py as merged).
* PR #4, squash, ref not fetched: "Tweak (#4)" (Claude) adds e.py, 1 line.  Churn 0 + note.
* PR #3, rebase: R (Claude) adds d.py with 2 lines on refs/pull/3/head; main got a
  cherry-pick R' (same patch id, new sha).  Written 2, merged 2.
* a person's commit adds 2 lines to a.py.

AI lines on main: X 5 + squash 5 + tweak 1 + R' 2 = 13, all commit-level (no transcripts).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.report.figures import compute
from gitroi.report.pipeline import prepare
from gitroi.report.prs import NOT_FETCHED
from tests.conftest import GitRepo, run_gitroi

CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"


def build(repo: GitRepo) -> dict[str, str]:
    shas: dict[str, str] = {}
    shas["init"] = repo.commit({"a.py": "a1\na2\na3\n"}, "init")
    # PR #1: merge commit.
    repo.git("checkout", "-q", "-b", "feat1")
    shas["X"] = repo.commit({"b.py": "b1\nb2\nb3\nb4\nb5\n"}, "add b" + CLAUDE)
    shas["Y"] = repo.commit({"b.py": "b1\nb2\nb5\n"}, "review: drop b3 b4")
    repo.git("checkout", "-q", "main")
    env = {"GIT_AUTHOR_DATE": "2026-01-02T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-02T00:00:00Z"}
    repo.git("merge", "-q", "--no-ff", "feat1", "-m", "Merge pull request #1 from me/feat1",
             "-m", "Add b", env=env)
    shas["M1"] = repo.git("rev-parse", "HEAD")
    # PR #2: squash, with the pre-squash commits fetched as refs/pull/2/head.
    repo.git("checkout", "-q", "-b", "feat2")
    shas["P"] = repo.commit({"c.py": "c1\nc2\nc3\nc4\n"}, "add c" + CLAUDE)
    shas["Q"] = repo.commit({"c.py": "c1\nC2 better\nc3\nc4\nc5\n"}, "improve c" + CLAUDE)
    repo.git("update-ref", "refs/pull/2/head", shas["Q"])
    repo.git("checkout", "-q", "main")
    shas["S"] = repo.commit({"c.py": "c1\nC2 better\nc3\nc4\nc5\n"}, "Add c (#2)" + CLAUDE)
    shas["T"] = repo.commit({"e.py": "e1\n"}, "Tweak (#4)" + CLAUDE)
    # PR #3: rebase merge (cherry-pick keeps the patch id, not the sha).
    repo.git("checkout", "-q", "-b", "feat3")
    shas["R"] = repo.commit({"d.py": "d1\nd2\n"}, "add d" + CLAUDE)
    repo.git("update-ref", "refs/pull/3/head", shas["R"])
    repo.git("checkout", "-q", "main")
    repo.git("cherry-pick", shas["R"], env={"GIT_COMMITTER_DATE": "2026-01-03T00:00:00Z"})
    shas["R2"] = repo.git("rev-parse", "HEAD")
    shas["H"] = repo.commit({"a.py": "a1\na2\na3\na4\na5\n"}, "person adds lines")
    return shas


def _report(repo: GitRepo, *args: str) -> dict[str, Any]:
    out = run_gitroi("report", "--format", "json", *args, cwd=repo.path)
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_report_end_to_end(repo: GitRepo) -> None:
    shas = build(repo)
    data = _report(repo, "--by", "pr")
    h = data["headline"]
    assert (h["ai_lines"], h["ai_lines_commit_level"], h["ai_lines_line_level"]) == (13, 13, 0)
    assert (h["tokens"], h["cost_usd"], h["merged_prs"], h["prs_in_history"]) == (0, None, 4, 4)
    assert h["review_churn"] == 2 + 1
    # Survival (14-day window): Y, a person, deleted 2 of X's lines within days: churned.
    assert (h["surviving"], h["churned"], h["reverted"], h["deleted_later"], h["unanalysed"]) == \
        (11, 2, 0, 0, 0)
    assert (h["surviving_share"], h["rework_rate"]) == (round(11 / 13, 4), round(2 / 13, 4))
    assert data["notes"][0].startswith("13 of 13 AI lines are counted at commit level")
    rows = {r["pr"]: r for r in data["rows"]}
    got = {n: (r["method"], r["ai_lines"], r["ai_lines_written"], r["ai_lines_merged"],
               r["review_churn"]) for n, r in rows.items()}
    assert got == {1: ("merge", 5, 5, 3, 2), 2: ("squash", 5, 6, 5, 1),
                   3: ("rebase", 2, 2, 2, 0), 4: ("squash", 1, 1, 1, 0)}
    assert rows[4]["note"] == NOT_FETCHED
    assert {n: (r["surviving"], r["churned"]) for n, r in rows.items()} == \
        {1: (3, 2), 2: (5, 0), 3: (2, 0), 4: (1, 0)}
    assert rows[1]["title"] == "Add b" and rows[2]["title"] == "Add c"
    # Per-PR sums equal the branch figure (every AI commit on main is in a PR here).
    for k in ("ai_lines", "surviving", "churned", "unanalysed", "tokens"):
        assert sum(r[k] for r in data["rows"]) == h[k], k

    ledger = open_ledger(repo.path / ".git" / "gitroi" / "ledger.db")
    prc = {(r["pr"], r["commit_sha"]): r["reached_merge"] for r in ledger["pr_commits"].rows}
    assert prc == {(1, shas["X"]): 1, (1, shas["Y"]): 1, (2, shas["S"]): 1, (2, shas["P"]): 0,
                   (2, shas["Q"]): 0, (3, shas["R2"]): 1, (3, shas["R"]): 0, (4, shas["T"]): 1}


def test_consistency_commits_ranges_and_diff_stat(repo: GitRepo) -> None:
    shas = build(repo)
    run_gitroi("report", cwd=repo.path)
    db = open_ledger(repo.path / ".git" / "gitroi" / "ledger.db")
    main = repo.git("rev-list", "main").split()
    whole = compute(db)["headline"]
    per = [compute(db, commits=[c])["headline"] for c in main]
    for k in ("ai_lines", "tokens", "surviving", "churned", "unanalysed"):
        assert sum(p[k] for p in per) == whole[k], k
    # The range S..R2 (squash, tweak, cherry-pick) is all AI at commit level: its AI lines
    # are exactly the insertions git diff --stat counts for it.
    rng = repo.git("rev-list", f"{shas['S']}~1..{shas['R2']}").split()
    ranged = compute(db, commits=rng)["headline"]
    stat = repo.git("diff", "--shortstat", f"{shas['S']}~1", shas["R2"])
    insertions = int(re.search(r"(\d+) insertion", stat).group(1))  # type: ignore[union-attr]
    assert ranged["ai_lines"] == insertions == 5 + 1 + 2
    assert sum(compute(db, commits=[c])["headline"]["ai_lines"] for c in rng) == 8


def test_prepare_is_incremental(repo: GitRepo) -> None:
    build(repo)
    db = open_ledger(repo.path / ".git" / "gitroi" / "ledger.db")
    r = Repo.discover(repo.path)
    first = prepare(r, db)
    assert first.prs_recorded == 4 and first.commits_loaded >= 10
    second = prepare(r, db)
    assert (second.prs_recorded, second.commits_loaded) == (0, 0)
    assert second.branch == "main"


def test_prepare_fills_the_ledger_once_the_analysis_log_runs(repo: GitRepo, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """The ledger pass with line counts runs inside the analysis, after git's log stream has
    started (so both diffs are made at once), and its rows carry counts as before."""
    import gitroi.attribution.rebuild as rebuild
    import gitroi.survival.analyze as analyze

    build(repo)
    calls: list[str] = []
    real_log, real_ensure = analyze.start_log, rebuild.ensure_ledger

    def log(*a: Any, **k: Any) -> Any:
        calls.append("log")
        return real_log(*a, **k)

    def ensure(*a: Any, **k: Any) -> Any:
        calls.append("ledger" if k.get("lines", True) else "ledger without counts")
        return real_ensure(*a, **k)

    monkeypatch.setattr(analyze, "start_log", log)
    monkeypatch.setattr(rebuild, "ensure_ledger", ensure)
    db = open_ledger(repo.path / ".git" / "gitroi" / "ledger.db")
    out = prepare(Repo.discover(repo.path), db)
    assert calls == ["log", "ledger"]
    assert out.steps == ["import", "attribution", "analysis", "prs"] and not out.problems
    nulls = db.execute("SELECT COUNT(*) FROM commits WHERE lines_added IS NULL").fetchone()[0]
    assert nulls == 0 and out.commits_loaded >= 10


def test_a_failing_ledger_pass_is_a_problem_not_a_lost_analysis(repo: GitRepo,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import gitroi.attribution.rebuild as rebuild

    build(repo)

    def broken(*a: Any, **k: Any) -> int:
        raise GitroiError("the notes ref is unreadable", hint="run git fsck")

    monkeypatch.setattr(rebuild, "ensure_ledger", broken)
    db = open_ledger(repo.path / ".git" / "gitroi" / "ledger.db")
    out = prepare(Repo.discover(repo.path), db)
    assert out.analysed and "analysis" in out.steps and "attribution" not in out.steps
    assert "attribution: the notes ref is unreadable (hint: run git fsck)" in out.problems


def test_no_ai_evidence_says_how_to_start(repo: GitRepo) -> None:
    repo.commit({"a.py": "x\n"}, "plain work")
    out = run_gitroi("report", cwd=repo.path)
    assert "No AI evidence" in out.stdout and "gitroi install" in out.stdout
    data = _report(repo)
    assert data["headline"]["ai_lines"] == 0 and data["rows"] == []


def test_empty_repository(repo: GitRepo) -> None:
    out = run_gitroi("report", cwd=repo.path)
    assert "No AI evidence" in out.stdout


def test_html_and_outputs(repo: GitRepo, tmp_path: Path) -> None:
    build(repo)
    page = tmp_path / "r.html"
    run_gitroi("report", "--format", "html", "-o", str(page), cwd=repo.path)
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "chart-cohort" in text
    csv_text = run_gitroi("report", "--format", "csv", "--by", "week", cwd=repo.path).stdout
    assert csv_text.splitlines()[0].startswith("week,tokens,")
    md = run_gitroi("report", "--format", "markdown", "--by", "agent", cwd=repo.path).stdout
    assert "| claude-code |" in md
    table = run_gitroi("report", "--by", "pr", "--by", "agent", cwd=repo.path).stdout
    assert max(len(x) for x in table.splitlines()) <= 80
    assert "\n#1  claude-code " in table


def test_tokens_from_a_real_claude_transcript(repo: GitRepo, tmp_path: Path,
                                              monkeypatch: Any) -> None:
    """Log on disk, commits made without hooks: `gitroi report` imports, attributes, analyses."""
    from tests.test_attribution_claude_log import Transcript, cost

    root = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    repo.commit({"app.py": "import os\n\n\ndef main():\n    print('hi')\n"}, "base",
                date="2026-02-12T15:00:00Z")
    t = Transcript(root, repo.path)
    app = repo.path / "app.py"
    t.edit("2026-02-12T16:02:27.718Z", "msg_A", "toolu_A", app, "    print('hi')",
           "    name = os.environ.get('USER', 'world')\n    print(f'hi {name}')",
           input=3, output=9, cache_write=15005, cache_read=11442)
    app.write_text(app.read_text() + "\n\nif __name__ == '__main__':\n    main()\n")
    repo.commit({"app.py": app.read_text()}, "greet by name", date="2026-02-12T16:05:00Z")
    t.write("2026-02-12T16:10:00.000Z", "msg_B", "toolu_B", repo.path / "util.py",
            "def shout(s):\n    return s.upper()\n", input=1, output=254, cache_write=829,
            cache_read=89823)
    repo.commit({"util.py": (repo.path / "util.py").read_text()}, "shout",
                date="2026-02-12T16:12:00Z")
    # Tokens after the last commit that led to no commit: exploration.
    t.response("2026-02-12T16:20:00.000Z", "msg_C", [{"type": "text", "text": "Done."}],
               input=2, output=50, cache_write=0, cache_read=1000)
    h = _report(repo)["headline"]
    tokens = (3 + 9 + 15005 + 11442) + (1 + 254 + 829 + 89823)          # 26459 + 90907
    assert (h["tokens"], h["input"], h["output"], h["cache_write"], h["cache_read"]) == \
        (tokens, 4, 263, 15834, 101265)
    assert h["cost_usd"] == round(cost(3, 9, 15005, 11442) + cost(1, 254, 829, 89823), 6)
    # app.py lines 5-6 and util.py lines 1-2 are the agent's, line-level; all still there.
    assert (h["ai_lines"], h["ai_lines_line_level"], h["surviving"]) == (4, 4, 4)
    assert h["tokens_per_surviving_line"] == round(tokens / 4, 2)
    assert (h["exploration_tokens"], h["exploration_sessions"]) == (2 + 50 + 1000, 1)
    rows = _report(repo, "--by", "model")["rows"]
    assert [(r["model"], r["tokens"], r["ai_lines"]) for r in rows] == \
        [("claude-opus-4-6", tokens, 4)]


def test_pr_figures_follow_a_newly_fetched_pr_ref(repo: GitRepo) -> None:
    shas = build(repo)
    db = open_ledger(repo.path / ".git" / "gitroi" / "ledger.db")
    r = Repo.discover(repo.path)
    prepare(r, db)
    before = {p["pr"]: p for p in compute(db, by=["pr"])["rows"]}
    assert (before[4]["review_churn"], before[4]["note"]) == (0, NOT_FETCHED)
    # Now the pre-squash commits of #4 arrive: U (Claude) wrote 2 lines, V (a person)
    # dropped one in review; the squash kept e1 only.
    repo.git("checkout", "-q", "-b", "feat4", shas["S"])
    repo.commit({"e.py": "e1\ne2\n"}, "add e" + CLAUDE)
    v = repo.commit({"e.py": "e1\n"}, "review: no e2")
    repo.git("update-ref", "refs/pull/4/head", v)
    repo.git("checkout", "-q", "main")
    again = prepare(r, db)
    assert again.prs_recorded == 1          # only #4 was recomputed
    after = {p["pr"]: p for p in compute(db, by=["pr"])["rows"]}
    assert (after[4]["ai_lines_written"], after[4]["ai_lines_merged"],
            after[4]["review_churn"]) == (2, 1, 1)
    assert "note" not in after[4]
    assert {n: after[n]["review_churn"] for n in (1, 2, 3)} == {1: 2, 2: 1, 3: 0}
    assert prepare(r, db).prs_recorded == 0


def test_moved_ai_lines_are_carried_and_analysed(repo: GitRepo) -> None:
    """An AI commit that moves a block: its moved lines are ``carried``, not new AI lines.

    A person writes a.py (two 2-line functions and a last line).  AI commit M
    swaps the functions and adds 2 new lines: numstat says 4 added, of which 2
    moved (carried).  AI commit N only moves the last line to the top: 1
    added, all carried, so N has no line of its own, yet it is analysed
    (``unanalysed`` 0).  ai_lines + carried = 2 + 3 = 5 = numstat of M and N.
    """
    first = "def first_function():\n    return 'the first value of the module'\n"
    second = "def second_function():\n    return 'the second value of the module'\n"
    last = "LAST_CONSTANT_OF_THE_MODULE_WITH_A_LONG_NAME = 1\n"
    repo.commit({"a.py": first + second + last}, "init", date="2026-01-01T00:00:00Z")
    m = repo.commit({"a.py": second + first + last + "x = 1\ny = 2\n"}, "swap" + CLAUDE,
                    date="2026-01-02T00:00:00Z")
    n = repo.commit({"a.py": last + second + first + "x = 1\ny = 2\n"}, "last first" + CLAUDE,
                    date="2026-01-03T00:00:00Z")
    numstat = sum(int(line.split("\t")[0]) for sha in (m, n) for line in
                  repo.git("show", "--numstat", "--format=", sha).splitlines() if line)
    assert numstat == 5
    h = _report(repo)["headline"]
    assert (h["ai_lines"], h["carried"], h["unanalysed"]) == (2, 3, 0)
    assert h["ai_lines"] + h["carried"] == numstat
    assert (h["surviving"], h["surviving_share"], h["rework_rate"]) == (2, 1.0, 0.0)
    assert h["commits"] == 2
    table = run_gitroi("report", "--no-update", cwd=repo.path).stdout
    assert "2 new (0 line-level, 2 commit-level) · +3 moved or reformatted, carried from older" \
        in " ".join(table.split())
    assert "not analysed" not in table


def test_pr_added_lines_read_quoted_paths_renames_and_deletions(repo: GitRepo) -> None:
    """The PR review's added lines, by commit and path, even where git C-quotes the path.

    A path with a double quote is printed quoted (``"b/say \\"hi\\".py"``) whatever
    ``core.quotepath`` says; its lines must be found under the real name.
    """
    from gitroi.report.prs import _added_lines, reached

    base = repo.commit({"old.py": "a = 1\nb = 2\nc = 3\n", "gone.py": "x = 1\n"}, "base")
    quoted = 'say "hi".py'
    c1 = repo.commit({quoted: "print('hi')\nprint('there')\n", "old.py": "a = 1\nB = 2\nc = 3\nd = 4\n"},
                     "first")
    repo.git("mv", "old.py", "new.py")
    c2 = repo.commit({"new.py": "a = 1\nB = 2\nc = 3\nd = 4\ne = 5\n", "gone.py": None, "é.py": "z = 1\n"},
                     "second")
    got = _added_lines(Repo.discover(repo.path), c2, base)
    assert got == {
        c1: {quoted: [1, 2], "old.py": [2, 4]},
        c2: {"new.py": [5], "é.py": [1]},
    }
    # ``reached`` finds those lines by blame, whose ``filename`` lines are C-quoted too:
    # every added line is still at the tip, so all 6 keys count.
    keys = {(sha, path, n) for sha, paths in got.items() for path, ns in paths.items() for n in ns}
    assert len(keys) == 6
    assert reached(Repo.discover(repo.path), keys, c2, base) == 6


def test_review_churn_agrees_with_the_pr_comment_on_a_formatter_run(repo: GitRepo) -> None:
    """An AI commit in a PR only re-indents a person's code, and that reaches the merge.

    `blame -w` hands whitespace-only changes back to the older commit, so on its own it
    finds none of the AI commit's lines at the head and would call them review churn.
    The merged-PR figure uses the PR comment's test (gitroi.pr.analysis.reaching: a second
    pass without -w), so both say the same.  Worked by hand: the AI commit adds 2 lines
    (the re-indented ones), both are at the head: review churn 0.
    """
    repo.commit({"b.py": "def f():\n  return 1\n"}, "init")
    repo.git("checkout", "-q", "-b", "feat")
    x = repo.commit({"b.py": "def f():\n    return 1\n"}, "format" + CLAUDE)
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "feat", "-m", "Merge pull request #9 from me/feat")
    # The case really needs the second pass: blame -w credits none of x's lines.
    blame = repo.git("blame", "-l", "-w", "-M", "-C", "-s", "main~1..main^2", "--", "b.py")
    assert [ln.split()[0].lstrip("^") for ln in blame.splitlines()].count(x) == 0
    data = _report(repo, "--by", "pr")
    row = next(r for r in data["rows"] if r["pr"] == 9)
    assert row["review_churn"] == 0
