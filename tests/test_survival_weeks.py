"""The week each dead line ended in (``line_outcomes.ended_week``), full and incremental."""

from __future__ import annotations

from pathlib import Path

from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.survival.analyze import analyze
from gitroi.survival.replay import week_index, week_monday
from tests.conftest import GitRepo
from tests.test_survival import CLAUDE, day

ROWS = ("SELECT outcome, ended_by, ended_week, SUM(lines) FROM line_outcomes WHERE ai = 1 "
        "GROUP BY outcome, ended_by, ended_week ORDER BY outcome, ended_week")


def test_week_index_is_monday_based_utc() -> None:
    # 2026-01-05 is a Monday: Sunday 23:59:59 UTC is the week before.
    monday = 1767571200
    assert week_monday(week_index(monday)) == "2026-01-05"
    assert week_monday(week_index(monday - 1)) == "2025-12-29"
    assert week_monday(week_index(monday + 7 * 86400 - 1)) == "2026-01-05"


def test_ended_week_full_and_incremental(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date=day(0))
    repo.commit({"a.py": "a = 1\nb = 2\nc = 3\nd = 4\n"}, "ai" + CLAUDE, date=day(1))     # Fri 2026-01-02
    repo.commit({"a.py": "a = 1\nb = 20\nc = 3\nd = 4\n"}, "tweak b", date=day(4))        # Mon 2026-01-05
    db = open_ledger(tmp_path / "ledger.db")
    r = Repo.discover(repo.path)
    analyze(r, db, branch="main")
    assert db.execute(ROWS).fetchall() == [("churned", "person", "2026-01-05", 1), ("surviving", "", "", 2)]
    # Incremental: c churned by another AI commit on Sunday, d deleted 40 days on (Tue 2026-02-10).
    repo.commit({"a.py": "a = 1\nb = 20\nc = 30\nd = 4\n"}, "c" + CLAUDE, date=day(10))  # Sun 2026-01-11
    repo.commit({"a.py": "a = 1\nb = 20\nc = 30\n"}, "drop d", date=day(40))
    res = analyze(r, db, branch="main")
    assert (res.mode, res.commits_replayed) == ("incremental", 2)
    want = [("churned", "ai", "2026-01-05", 1), ("churned", "person", "2026-01-05", 1),
            ("deleted_later", "person", "2026-02-09", 1), ("surviving", "", "", 1)]  # c = 30 is AI too
    assert db.execute(ROWS).fetchall() == want
    assert res.stats["tip_committed_at"] == "2026-02-10T00:00:00.000Z"
    # The same from scratch.
    fresh = open_ledger(tmp_path / "fresh.db")
    analyze(r, fresh, branch="main")
    assert fresh.execute(ROWS).fetchall() == want
    assert fresh.execute("SELECT COUNT(*) FROM line_outcomes").fetchone() == \
        db.execute("SELECT COUNT(*) FROM line_outcomes").fetchone()


def test_report_cohorts_from_a_real_analysis(repo: GitRepo, tmp_path: Path) -> None:
    from gitroi.report.figures import chart_data

    repo.commit({"a.py": "a = 1\n"}, "base", date=day(0))
    repo.commit({"a.py": "a = 1\nb = 2\nc = 3\nd = 4\n"}, "ai" + CLAUDE, date=day(1))     # week 2025-12-29
    repo.commit({"a.py": "a = 1\nb = 20\nc = 3\nd = 4\n"}, "tweak b", date=day(4))        # week 2026-01-05
    repo.commit({"a.py": "a = 1\nb = 20\nc = 3\n"}, "drop d", date=day(18))               # week 2026-01-19
    db = open_ledger(tmp_path / "ledger.db")
    analyze(Repo.discover(repo.path), db, branch="main")
    c = chart_data(db)["cohorts"]
    assert (c["unit"], c["last_week"]) == ("week", "2026-01-19")
    assert c["series"] == [{"cohort": "2025-12-29", "first_week": "2025-12-29", "ai_lines": 3,
                            "surviving": 1, "alive": [1.0, round(2 / 3, 4), round(2 / 3, 4), round(1 / 3, 4)]}]
