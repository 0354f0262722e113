"""What the HTML report draws beyond the figures: rework hot spots, survival cohorts, missing blobs.

Every query reads the scope materialised by :func:`gitroi.ledger.figures.materialise`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from gitroi.ledger.figures import _CF_T, _ISO, _SCOPE_T, WEEK_SQL

TYPE_CHECKING = False  # not from typing: sqlite-utils is imported only where a ledger is opened
if TYPE_CHECKING:
    from sqlite_utils import Database


def top_rework(db: Database, limit: int = 10) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The paths, and the (path, symbol)s, with the most churned+reverted AI lines.

    One pass over the materialised scope's line outcomes (:func:`materialise`).
    """
    sql = f"""
        SELECT lo.path, lo.symbol, SUM(lo.lines) AS ai_lines,
          SUM(CASE WHEN lo.outcome = 'churned' THEN lo.lines ELSE 0 END) AS churned,
          SUM(CASE WHEN lo.outcome = 'reverted' THEN lo.lines ELSE 0 END) AS reverted
        FROM line_outcomes lo JOIN {_SCOPE_T} c ON c.sha = lo.commit_sha
        WHERE lo.ai = 1 GROUP BY lo.path, lo.symbol"""
    paths: dict[str, dict[str, Any]] = {}
    symbols: list[dict[str, Any]] = []
    for path, symbol, ai, churned, reverted in db.conn.execute(sql):
        p = paths.setdefault(path, {"path": path, "ai_lines": 0, "churned": 0, "reverted": 0})
        p["ai_lines"] += ai
        p["churned"] += churned
        p["reverted"] += reverted
        if symbol and churned + reverted:
            symbols.append({"path": path, "symbol": symbol, "ai_lines": ai, "churned": churned,
                            "reverted": reverted})

    def top(items: Iterable[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
        hit = [x for x in items if x["churned"] + x["reverted"] > 0]
        hit.sort(key=lambda x: (-(x["churned"] + x["reverted"]), *(x[k] for k in keys)))
        return hit[:limit]

    return top(paths.values(), "path"), top(symbols, "path", "symbol")


def cohort_facts(db: Database) -> tuple[list[tuple[str, int, str, int]], str | None]:
    """AI lines of the materialised scope by (week written, dead, week ended), and the last week observed.

    Rows are ``(week, dead, ended_week, lines)``: ``week`` the Monday of the
    line's commit, ``dead`` 0 for surviving lines, ``ended_week`` the Monday of
    the commit that ended them (``''`` while surviving, and on dead lines of an
    analysis made before the ledger recorded it).  The last week observed is
    that of the analysed tip's commit time (``analyses.stats``), else of the
    latest commit in scope.
    """
    week = WEEK_SQL.format(col="c.committed_at")
    # Surviving lines per week from the per-commit facts; only dead lines are read from
    # line_outcomes (filtering them before the join halves the time on a big ledger).
    rows = [(w, 0, "", int(n)) for w, n in db.conn.execute(f"""
        SELECT {week}, SUM(c.surviving) FROM {_CF_T} c
        WHERE c.committed_at IS NOT NULL AND c.surviving > 0 GROUP BY 1""") if w]
    rows += [(w, 1, e or "", int(n)) for w, e, n in db.conn.execute(f"""
        SELECT {week}, lo.ended_week, SUM(lo.lines)
        FROM line_outcomes lo JOIN {_SCOPE_T} c ON c.sha = lo.commit_sha
        WHERE lo.outcome IN ('churned', 'reverted', 'deleted_later') AND lo.ai = 1
          AND c.committed_at IS NOT NULL GROUP BY 1, 2""") if w]
    last: str | None = None
    row = db.conn.execute("SELECT stats FROM analyses ORDER BY analysed_at DESC, rowid DESC LIMIT 1"
                          ).fetchone()
    if row and row[0]:
        try:
            tip_time = json.loads(row[0]).get("tip_committed_at")
        except (ValueError, AttributeError):
            tip_time = None
        if isinstance(tip_time, str) and _ISO.match(tip_time):
            last = db.conn.execute(f"SELECT {WEEK_SQL.format(col='?')}", [tip_time]).fetchone()[0]
    if last is None:
        last = db.conn.execute(f"SELECT {WEEK_SQL.format(col='MAX(committed_at)')} FROM {_SCOPE_T}"
                               ).fetchone()[0]
    return rows, last


def missing_blobs(db: Database) -> dict[str, Any]:
    """What the last survival analysis left out of a partial clone (``analyses.stats``).

    ``{"blobs": n, "files": m, "paths": [...]}``: blobs missing without a
    promisor to fetch them from, and the files whose history names one (their
    lines count in no figure, attribution's line counts included).  Zeros when
    nothing is missing or nothing was analysed.
    """
    row = db.conn.execute("SELECT stats FROM analyses ORDER BY analysed_at DESC, rowid DESC LIMIT 1"
                          ).fetchone()
    out: dict[str, Any] = {"blobs": 0, "files": 0, "paths": []}
    try:
        got = json.loads(row[0]).get("missing_blobs") if row and row[0] else None
    except (ValueError, AttributeError):
        got = None
    if isinstance(got, dict):
        out = {"blobs": int(got.get("blobs") or 0), "files": int(got.get("files") or 0),
               "paths": [str(x) for x in got.get("paths") or []]}
    return out
