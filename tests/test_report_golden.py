"""Report figures against hand working (tests/report_scenario.py) and golden files per format.

Regenerate the golden files after an intended change with
``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_report_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gitroi.ledger import memory_ledger, open_ledger
from gitroi.report.figures import PER_PERSON_NOTE, chart_data, compute
from gitroi.report.render import render, render_markdown, render_table
from tests.conftest import run_gitroi
from tests.report_scenario import C1, C2, C3, C4, HEADLINE, ROOT, fill

GOLDEN = Path(__file__).with_name("golden")


@pytest.fixture
def db() -> Any:
    d = memory_ledger()
    fill(d)
    return d


def _data(db: Any, by: list[str]) -> dict[str, Any]:
    return compute(db, by=by, roots=[ROOT], repo_name="golden")


def test_headline_matches_hand_working(db: Any) -> None:
    h = _data(db, [])["headline"]
    assert {k: h[k] for k in HEADLINE} == HEADLINE


def _pick(rows: list[dict[str, Any]], *cols: str) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in cols) for r in rows]


def test_rows_by_agent_model_week(db: Any) -> None:
    cols = ("tokens", "cost_usd", "ai_lines", "surviving", "churned", "reverted", "deleted_later")
    # aider's commit has 4 commit-level lines and no session; claude-code's c1 and codex's c3.
    assert _pick(_data(db, ["agent"])["rows"], "agent", *cols) == [
        ("aider", 0, None, 4, 4, 0, 0, 0),
        ("claude-code", 1000, 0.5, 10, 6, 2, 2, 0),
        ("codex", 1500, 0.25, 5, 3, 0, 0, 2),
    ]
    assert _pick(_data(db, ["model"])["rows"], "model", "tokens", "ai_lines") == [
        ("", 0, 4), ("claude-opus-4-6", 1000, 10), ("gpt-5", 1500, 5)]
    weeks = _data(db, ["week"])["rows"]
    # Week of Monday 2026-01-05: c1 + c2; week of 2026-01-12: c3 (c4 has no AI facts).
    assert _pick(weeks, "week", *cols, "rework_rate", "tokens_per_surviving_line") == [
        ("2026-01-05", 1000, 0.5, 14, 10, 2, 2, 0, round(4 / 14, 4), 100.0),
        ("2026-01-12", 1500, 0.25, 5, 3, 0, 0, 2, 0.0, 500.0),
    ]


def test_rows_by_path_split_tokens_by_ai_lines(db: Any) -> None:
    rows = _data(db, ["path"])["rows"]
    # c1's 1000 tokens: 8 of its 10 AI lines are in a.py, 2 in lib/u.py.
    assert _pick(rows, "path", "tokens", "cost_usd", "ai_lines", "surviving") == [
        ("a.py", 800, 0.4, 8, 6), ("b.py", 0, None, 4, 4), ("c.py", 1500, 0.25, 5, 3),
        ("lib/u.py", 200, 0.1, 2, 0)]
    sym = _data(db, ["symbol"])["rows"]
    assert _pick(sym, "path", "symbol", "ai_lines") == [
        ("a.py", "f", 8), ("b.py", "", 4), ("c.py", "g", 5), ("lib/u.py", "", 2)]
    assert sum(r["tokens"] for r in rows) == HEADLINE["tokens"]


def test_rows_by_pr_carry_review_churn(db: Any) -> None:
    rows = _data(db, ["pr"])["rows"]
    assert _pick(rows, "pr", "tokens", "ai_lines", "surviving", "review_churn",
                 "ai_lines_written", "ai_lines_merged", "method", "cost_per_merged_pr") == [
        (7, 1000, 14, 10, 2, 14, 12, "merge", 0.5),
        (8, 1500, 5, 3, 0, 5, 5, "squash", 0.25),
    ]
    # Per-PR sums equal the branch figure (every AI commit here is in a PR).
    for k in ("tokens", "ai_lines", "surviving", "churned", "reverted", "deleted_later"):
        assert sum(r[k] for r in rows) == HEADLINE[k]


def test_scope_by_commits_since_until(db: Any) -> None:
    only = compute(db, commits=[C3])["headline"]
    assert (only["tokens"], only["ai_lines"], only["merged_prs"]) == (1500, 5, 1)
    per_commit = [compute(db, commits=[c])["headline"] for c in (C1, C2, C3, C4)]
    for k in ("tokens", "ai_lines", "surviving", "churned", "reverted", "cost_usd"):
        assert sum(h[k] or 0 for h in per_commit) == HEADLINE[k]
    week2 = compute(db, since="2026-01-12T00:00:00.000Z", roots=[ROOT])["headline"]
    assert (week2["tokens"], week2["ai_lines"], week2["exploration_tokens"]) == (1500, 5, 0)
    week1 = compute(db, until="2026-01-12T00:00:00.000Z", roots=[ROOT])["headline"]
    assert (week1["tokens"], week1["ai_lines"], week1["exploration_tokens"]) == (1000, 14, 80)


def test_author_only_when_asked(db: Any) -> None:
    plain = _data(db, ["agent"])
    assert plain["per_person"] is False
    assert all("author" not in r for r in plain["rows"])
    assert PER_PERSON_NOTE not in plain["notes"]
    per = _data(db, ["author"])
    assert per["per_person"] is True and PER_PERSON_NOTE in per["notes"]
    assert _pick(per["rows"], "author", "ai_lines") == [("Ann <ann@example.com>", 19)]
    assert "Per-person figures were requested" in render_table(per)


def test_commit_level_lines_are_said(db: Any) -> None:
    data = _data(db, [])
    assert data["notes"][0].startswith("4 of 19 AI lines are counted at commit level")
    assert "(15 line-level, 4 commit-level)" in render_table(data)


def test_views_match_compute(db: Any) -> None:
    view = next(iter(db.query("SELECT * FROM report_headline")))
    h = _data(db, [])["headline"]
    for k in ("tokens", "cost_usd", "ai_lines", "surviving", "churned", "reverted",
              "rework_rate", "tokens_per_surviving_line", "cost_per_surviving_line",
              "merged_prs", "cost_per_merged_pr"):
        assert view[k] == h[k], k
    by_pr = [(r["pr"], r["tokens"], r["ai_lines"]) for r in db.query(
        "SELECT * FROM report_by_pr ORDER BY pr")]
    assert by_pr == [(7, 1000, 14), (8, 1500, 5)]
    explo = {r["session_key"]: r["tokens"] for r in db.query("SELECT * FROM report_exploration")}
    assert explo == {"claude-code:s1": 50, "gemini-cli:s3": 30, "claude-code:s4": 999}


def test_table_fits_80_columns(db: Any) -> None:
    for by in ([], ["pr"], ["path", "symbol"], ["agent", "model", "week"]):
        text = render_table(_data(db, by))
        assert max(len(line) for line in text.splitlines()) <= 80, by


CASES = [
    ("table_by_pr.txt", "table", ["pr"]),
    ("json_by_agent.json", "json", ["agent"]),
    ("csv_by_path.csv", "csv", ["path"]),
    ("markdown_by_week.md", "markdown", ["week"]),
    ("table_headline.txt", "table", []),
]


@pytest.mark.parametrize(("name", "fmt", "by"), CASES)
def test_golden(db: Any, name: str, fmt: str, by: list[str]) -> None:
    text = render(_data(db, by), fmt)
    _golden(name, text)


def test_golden_html(db: Any) -> None:
    text = render(chart_data(db, roots=[ROOT], repo_name="golden"), "html")
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text
    _golden("report.html", text)


def test_html_by_keys_has_the_rows_of_compute(db: Any) -> None:
    """``--format html --by agent``: the charts plus compute's rows, from one compute call."""
    keyed = chart_data(db, by=["agent"], roots=[ROOT], repo_name="golden")
    plain = chart_data(db, roots=[ROOT], repo_name="golden")
    rows = _data(db, ["agent"])
    assert keyed == {**plain, **rows}
    assert [r["agent"] for r in keyed["rows"]] == ["aider", "claude-code", "codex"]
    assert keyed["headline"] == plain["headline"] and keyed["cohorts"] == plain["cohorts"]


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    # A missing golden fails (it used to be written and pass): a new one is made on purpose.
    assert path.exists(), f"no golden file {name}: make it with UPDATE_GOLDEN=1 and check it by hand"
    assert text == path.read_text(), f"{name} differs from the golden file"


def test_json_contract_keys(db: Any) -> None:
    data = _data(db, ["pr"])
    for k in ("tokens", "cost_usd", "ai_lines", "surviving", "churned", "reverted",
              "tokens_per_surviving_line", "cost_per_surviving_line", "merged_prs",
              "cost_per_merged_pr", "exploration_tokens", "input", "cache_write", "cache_read",
              "output"):
        assert k in data["headline"]
    assert data["schema"] == "gitroi.report/1"
    assert data["rows"][0]["pr"] == 7 and "review_churn" in data["rows"][0]
    md = render_markdown(data)
    assert "| #7 |" in md and "review churn" in md


def test_cli_on_a_ledger_and_datasette_metadata(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    fill(open_ledger(ledger))
    out = run_gitroi("--db", str(ledger), "report", "--format", "json", "--by", "pr", cwd=tmp_path)
    data = json.loads(out.stdout)
    assert data["headline"]["tokens"] == 2500 and [r["pr"] for r in data["rows"]] == [7, 8]
    # Outside a repository there are no work trees: every session counts for exploration.
    assert data["headline"]["exploration_tokens"] == 50 + 30 + 999
    meta_path = tmp_path / "metadata.json"
    run_gitroi("--db", str(ledger), "report", "--datasette-metadata", "-o", str(meta_path),
               cwd=tmp_path)
    meta = json.loads(meta_path.read_text())
    tables = meta["databases"]["ledger"]["tables"]
    assert tables["line_outcomes"]["columns"]["outcome"].startswith("surviving | churned")
    assert "report_headline" in tables and "tokens_per_surviving_line" in \
        tables["report_headline"]["columns"]
    assert {"sessions", "usage_events", "commits", "pull_requests", "pr_figures"} <= set(tables)


def test_cached_facts_follow_the_ledger(db: Any) -> None:
    assert compute(db)["headline"]["ai_lines"] == 19
    # A new analysed AI commit: the per-commit cache must notice and rebuild.
    db["commits"].insert({"sha": "5" * 40, "committed_at": "2026-01-15T10:00:00.000Z",
                          "attribution": "commit", "agents": '["aider"]', "ai_lines": 3,
                          "lines_added": 3})
    h = compute(db)["headline"]
    assert (h["ai_lines"], h["unanalysed"], h["ai_lines_commit_level"]) == (22, 3, 7)
    db["line_outcomes"].insert({"commit_sha": "5" * 40, "path": "e.py", "symbol": "",
                                "ai": 1, "is_code": 1, "outcome": "churned",
                                "ended_by": "person", "lines": 3})
    h = compute(db)["headline"]
    assert (h["ai_lines"], h["unanalysed"], h["churned"]) == (22, 0, 5)
    # The branch scope: only commits of the analysed branch count once it is recorded.
    db["branch_commits"].insert_all([{"sha": C1, "branch": "main"}, {"sha": C2, "branch": "main"}])
    h = compute(db)["headline"]
    assert (h["ai_lines"], h["tokens"]) == (14, 1000)


def test_unpriced_model_is_named_not_zeroed(db: Any) -> None:
    db.execute("UPDATE commit_sessions SET cost_usd = NULL, models = json_set(models, "
               "'$.gpt-5.cost_usd', NULL) WHERE commit_sha = ?", [C3])
    data = compute(db)
    h = data["headline"]
    assert (h["cost_usd"], h["unpriced_models"], h["unpriced_tokens"]) == (0.5, ["gpt-5"], 1500)
    assert any("No price for model gpt-5" in n for n in data["notes"])
    rows = {r["model"]: r["cost_usd"] for r in compute(db, by=["model"])["rows"]}
    assert rows == {"": None, "claude-opus-4-6": 0.5, "gpt-5": None}


def test_cli_rejects_bad_input(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    fill(open_ledger(ledger))
    bad = run_gitroi("--db", str(ledger), "report", "--by", "colour", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "colour" in bad.stderr
    bad = run_gitroi("--db", str(ledger), "report", "--since", "yesterday-ish", cwd=tmp_path,
                     check=False)
    assert bad.returncode == 1 and "Error:" in bad.stderr and "Traceback" not in bad.stderr
    ok = run_gitroi("--db", str(ledger), "report", "--format", "json", "--since", "2026-01-12",
                    "--until", "2026-01-20", cwd=tmp_path)
    h = json.loads(ok.stdout)["headline"]
    assert (h["tokens"], h["ai_lines"], h["merged_prs"]) == (1500, 5, 1)


def test_cohort_curves_match_hand_working(db: Any) -> None:
    c = chart_data(db, roots=[ROOT], repo_name="golden")["cohorts"]
    assert (c["unit"], c["last_week"], c["unknown_end"]) == ("week", "2026-02-09", 0)
    # Week of 2026-01-05: c1 (10) + c2 (4) = 14 lines; 2 churned in week 1, 2 reverted in week 2;
    # observed up to 2026-02-09, 5 weeks on.  Week of 2026-01-12: c3's 5 lines, 2 gone in week 4.
    assert c["series"] == [
        {"cohort": "2026-01-05", "first_week": "2026-01-05", "ai_lines": 14, "surviving": 10,
         "alive": [1.0, round(12 / 14, 4), round(10 / 14, 4), round(10 / 14, 4), round(10 / 14, 4),
                   round(10 / 14, 4)]},
        {"cohort": "2026-01-12", "first_week": "2026-01-12", "ai_lines": 5, "surviving": 3,
         "alive": [1.0, 1.0, 1.0, 1.0, 0.6]},
    ]
    # All cohorts (Kaplan-Meier): week 1 keeps 17 of 19, week 2 15 of 17, week 4 13 of 15;
    # week 5 sees the first cohort only, which keeps its 10.
    assert c["overall"] == [1.0, round(17 / 19, 4), round(15 / 19, 4), round(15 / 19, 4),
                            round(13 / 19, 4), round(13 / 19, 4)]


def test_cohorts_bucket_by_month_and_unknown_end_weeks() -> None:
    # 25 weekly cohorts of 10 lines from 2026-01-05; each loses 1 line 2 weeks on; the first
    # also has 2 dead lines from an old analysis (no end week: counted at the tip).
    from datetime import date, timedelta

    from gitroi.report.figures import cohorts

    rows = []
    for i in range(25):
        w = date(2026, 1, 5) + timedelta(weeks=i)
        rows += [(w.isoformat(), 0, "", 9), (w.isoformat(), 1, (w + timedelta(weeks=2)).isoformat(), 1)]
    rows.append(("2026-01-05", 1, "", 2))
    c = cohorts(rows, "2026-07-06")   # the tip: two weeks after the last cohort
    assert c["unit"] == "month" and c["unknown_end"] == 2
    assert [s["cohort"] for s in c["series"]] == ["2026-01", "2026-02", "2026-03", "2026-04",
                                                  "2026-05", "2026-06"]
    jan = c["series"][0]   # weeks of Jan 5, 12, 19, 26: 42 lines; the youngest is 23 weeks old
    assert (jan["ai_lines"], jan["surviving"], len(jan["alive"])) == (42, 36, 24)
    assert jan["alive"][:3] == [1.0, 1.0, round(38 / 42, 4)] and jan["alive"][-1] == round(38 / 42, 4)
    june = c["series"][-1]  # weeks of Jun 1, 8, 15, 22: the newest is observed for 2 weeks
    assert june["alive"] == [1.0, 1.0, 0.9]
