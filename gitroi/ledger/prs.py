"""Pull requests in the ledger: the merged PRs found in history, their commits and review figures.

``pull_requests``/``pr_commits``/``pr_figures`` are written by
:mod:`gitroi.report.prs` (one transaction per batch) and read back for the
report's PR rows and for the PR analysis's commit facts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from gitroi.ledger.figures import Scope
from gitroi.ledger.transactions import transaction

TYPE_CHECKING = False  # not from typing: sqlite-utils is imported only where a ledger is opened
if TYPE_CHECKING:
    from sqlite_utils import Database


def pr_rows(db: Database, scope: Scope) -> list[dict[str, Any]]:
    """Each PR merged within the scope's time range, with its review figures."""
    conds, params = [], []
    if scope.since:
        conds.append("p.merged_at >= ?")
        params.append(scope.since)
    if scope.until:
        conds.append("p.merged_at < ?")
        params.append(scope.until)
    if scope.commits is not None:
        conds.append("p.number IN (SELECT pr FROM pr_commits WHERE commit_sha IN "
                     "(SELECT value FROM json_each(?)))")
        params.append(json.dumps(scope.commits))
    sql = f"""
        SELECT p.number AS pr, p.title, p.method, p.merged_at, p.merge_commit, p.head,
          (SELECT COUNT(*) FROM pr_commits pc WHERE pc.pr = p.number AND pc.reached_merge = 1)
            AS pr_commits,
          f.ai_written, f.ai_merged, f.review_churn, f.note
        FROM pull_requests p LEFT JOIN pr_figures f ON f.pr = p.number
        WHERE p.merged_at IS NOT NULL {"AND " + " AND ".join(conds) if conds else ""}
        ORDER BY p.merged_at, p.number"""
    cur = db.conn.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def known_prs(db: Database) -> dict[int, str | None]:
    """PR number -> merge commit, to skip PRs already recorded."""
    return {r[0]: r[1] for r in db.conn.execute(
        "SELECT p.number, p.merge_commit FROM pull_requests p "
        "JOIN pr_figures f ON f.pr = p.number").fetchall()}


def pr_commit_sources(db: Database) -> dict[int, list[tuple[str, str, int]]]:
    """PR -> [(commit, attribution source key, AI lines)] of its recorded commits, sorted."""
    out: dict[int, list[tuple[str, str, int]]] = {}
    for pr, sha, src, ai in db.conn.execute(
            "SELECT pc.pr, pc.commit_sha, COALESCE(c.source_key, c.attribution, ''), "
            "COALESCE(c.ai_lines, 0) FROM pr_commits pc LEFT JOIN commits c "
            "ON c.sha = pc.commit_sha ORDER BY pc.pr, pc.commit_sha"):
        out.setdefault(int(pr), []).append((sha, src, int(ai)))
    return out


def stored_pr_bases(db: Database) -> dict[int, str]:
    return {int(name[3:]): fp for name, fp in db.conn.execute(
        "SELECT name, fingerprint FROM report_cache_state WHERE name LIKE 'pr:%'")}


def set_pr_bases(db: Database, bases: dict[int, str]) -> None:
    """Remember what each PR's figures were computed from (``report_cache_state``, ``pr:N``)."""
    from gitroi import timeutil

    now = timeutil.now()
    with transaction(db):
        db.conn.executemany(
            "INSERT OR REPLACE INTO report_cache_state (name, fingerprint, built_at) "
            "VALUES (?, ?, ?)", [(f"pr:{n}", fp, now) for n, fp in bases.items()])


def pr_record(db: Database, number: int) -> dict[str, Any] | None:
    """A recorded PR with its commits split into merged (on the branch) and originals."""
    row = db.conn.execute("SELECT number, title, merged_at, merge_commit, method, base, head "
                          "FROM pull_requests WHERE number = ?", [number]).fetchone()
    if row is None or not row[3]:
        return None
    rec = dict(zip(("number", "title", "merged_at", "merge_commit", "method", "base", "head"),
                   row, strict=True))
    merged: list[str] = []
    originals: list[str] = []
    for sha, reached in db.conn.execute(
            "SELECT commit_sha, reached_merge FROM pr_commits WHERE pr = ? ORDER BY rowid",
            [number]):
        (merged if reached else originals).append(sha)
    rec["merged"], rec["originals"] = merged, originals
    return rec


def write_prs(db: Database, prs: Iterable[dict[str, Any]]) -> int:
    """Upsert PRs found in history with their commits and review figures (one transaction).

    Each item: number, title, merged_at, merge_commit, method, base, head, and
    ``commits`` [(sha, reached_merge)], ``figures`` {ai_written, ai_merged,
    review_churn, note}.
    """
    items = list(prs)
    if not items:
        return 0
    # Plain statements: through sqlite-utils' upsert (which reads the schema on every
    # call) a history of 500 PRs took 0.3 s to write.
    cols = ("number", "title", "merged_at", "merge_commit", "method", "base", "head")
    pr_sql = (f"INSERT INTO pull_requests ({', '.join(cols)}, source) VALUES ({', '.join('?' * len(cols))}, "
              f"'history') ON CONFLICT(number) DO UPDATE SET "
              + ", ".join(f"{c} = excluded.{c}" for c in (*cols[1:], "source")))
    fig_cols = ("ai_written", "ai_merged", "review_churn", "note")
    fig_sql = (f"INSERT INTO pr_figures (pr, {', '.join(fig_cols)}) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT(pr) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in fig_cols))
    conn = db.conn
    with transaction(db):
        for p in items:
            n = p["number"]
            conn.execute("DELETE FROM pr_commits WHERE pr = ?", [n])
            conn.execute(pr_sql, [p.get(k) for k in cols])
            if p["commits"]:
                conn.executemany("INSERT OR REPLACE INTO pr_commits (pr, commit_sha, reached_merge) "
                                 "VALUES (?, ?, ?)", [(n, s, int(r)) for s, r in p["commits"]])
            figures = p["figures"]
            conn.execute(fig_sql, [n, *(figures.get(k) for k in fig_cols)])
    return len(items)


def commit_ai(db: Database, shas: Sequence[str]) -> dict[str, tuple[str, int]]:
    """sha -> (attribution, ai_lines) for the known ones."""
    out: dict[str, tuple[str, int]] = {}
    for i in range(0, len(shas), 500):
        chunk = list(shas[i:i + 500])
        q = ",".join("?" * len(chunk))
        for sha, attr, ai in db.conn.execute(
                f"SELECT sha, attribution, COALESCE(ai_lines, 0) FROM commits WHERE sha IN ({q})",
                chunk):
            out[sha] = (attr, int(ai))
    return out


def ranges_of(db: Database, sha: str) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for path, a, b in db.conn.execute(
            "SELECT path, start, end FROM ai_ranges WHERE commit_sha = ? ORDER BY path, start", [sha]):
        out.setdefault(path, []).append((int(a), int(b)))
    return out
