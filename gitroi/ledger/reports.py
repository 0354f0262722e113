"""Ledger queries for reports: the figures of DESIGN.md ("The figures"), grouped any way.

Every figure is a sum over two kinds of facts, kept apart because they live at
different grains:

* **token facts**: ``commit_sessions`` rows (one per commit and session,
  optionally split per model from its ``models`` JSON): the attributed tokens
  (input, cache write, cache read, output; reasoning as a part of output) and
  cost of a commit;
* **line facts**: ``line_outcomes`` rows with ``ai = 1`` (per commit, path,
  symbol and outcome); a commit that has AI lines but no analysed outcomes yet
  adds its ``commits.ai_lines`` as ``unanalysed``.

A report groups both by the requested keys and adds them up (``UNION ALL`` +
``GROUP BY``).  Keys at commit grain (repo, week, author, pr) group both facts
exactly.  Keys at token grain (agent, model) group tokens exactly and give a
commit's lines to every agent/model that worked on it (rows may then add up
to more lines than the headline; a commit with one agent, the usual case, is
exact).  Keys at line grain (path, symbol) group lines exactly and split a
commit's tokens over its paths in proportion to its AI lines there.

The scope is the commits of the analysed branch (``branch_commits``, filled
by the report pipeline; when empty, every commit in the ledger), minus
commits that never reached a merge (pre-squash/pre-rebase originals in
``pr_commits`` with ``reached_merge = 0``), within ``since``/``until`` on the
commit time, or an explicit list of commits.

The same SQL backs the ``report_*`` views (:func:`create_views`), so Datasette
shows the very figures ``gitroi report`` prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from gitroi.ledger import transaction

KEYS = ("repo", "agent", "model", "week", "pr", "path", "symbol", "author")
COMMIT_KEYS = ("repo", "week", "author", "pr")
TOKEN_KEYS = ("agent", "model")
LINE_KEYS = ("path", "symbol")
TOKEN_PARTS = ("input", "cache_write", "cache_read", "output", "reasoning")
OUTCOMES = ("surviving", "churned", "reverted", "deleted_later", "unanalysed")
SUMS = ("tokens", *TOKEN_PARTS, "cost_usd", "priced_tokens", "unpriced_tokens",
        "ai_lines", *OUTCOMES, "ai_lines_line_level", "ai_lines_commit_level",
        "commits", "merged_prs", "pr_cost_usd")

# Monday of the ISO week of a canonical timestamp, e.g. '2026-01-05'.
WEEK_SQL = "date({col}, '-6 days', 'weekday 1')"


class Scope:
    """Which commits a report covers; renders to SQL text plus parameters."""

    def __init__(self, *, since: str | None = None, until: str | None = None,
                 commits: Sequence[str] | None = None, use_branch: bool = True) -> None:
        self.since = since
        self.until = until
        self.commits = list(commits) if commits is not None else None
        self.use_branch = use_branch

    def where(self, alias: str = "c") -> tuple[str, list[Any]]:
        conds: list[str] = []
        params: list[Any] = []
        if self.commits is not None:
            conds.append(f"{alias}.sha IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(self.commits))
        else:
            if self.use_branch:
                conds.append(f"(NOT EXISTS (SELECT 1 FROM branch_commits) OR {alias}.sha IN "
                             "(SELECT sha FROM branch_commits))")
            conds.append(f"{alias}.sha NOT IN (SELECT commit_sha FROM pr_commits "
                         "WHERE reached_merge = 0)")
        if self.since:
            conds.append(f"{alias}.committed_at >= ?")
            params.append(self.since)
        if self.until:
            conds.append(f"{alias}.committed_at < ?")
            params.append(self.until)
        return (" AND ".join(conds) or "1"), params


def _dims(keys: Sequence[str], side: str) -> list[tuple[str, str]]:
    """(name, SQL expression) for each key, on the token side or the line side."""
    out: list[tuple[str, str]] = []
    for k in keys:
        if k == "repo":
            out.append((k, ":repo"))
        elif k == "week":
            out.append((k, WEEK_SQL.format(col="s.committed_at")))
        elif k == "author":
            out.append((k, "COALESCE(s.author_name, '') || ' <' || COALESCE(s.author_email, '') || '>'"))
        elif k == "pr":
            out.append((k, "pc.pr"))
        elif k in TOKEN_KEYS:
            out.append((k, f"tf.{k}" if side == "t" else f"COALESCE(w.{k}, 'unknown')"))
        elif k in LINE_KEYS:
            out.append((k, f"COALESCE(sh.{k}, '')" if side == "t" else f"lf.{k}"))
        else:
            raise ValueError(f"unknown report key {k!r}")
    return out


def figures_sql(keys: Sequence[str], scope_where: str) -> str:
    """One SELECT giving the summed facts per group of ``keys`` (no ratios; see :func:`finish`).

    ``scope_where`` filters ``commits c``; the SQL uses the named parameter
    ``:repo`` when ``repo`` is a key.
    """
    keys = list(keys)
    per_model = "model" in keys
    tkeys = [k for k in keys if k in TOKEN_KEYS]
    lkeys = [k for k in keys if k in LINE_KEYS]
    if per_model:
        tf = """
        tf AS (
          SELECT cs.commit_sha AS sha, cs.agent AS agent, COALESCE(m.key, '') AS model,
            COALESCE(json_extract(m.value, '$.input'), cs.input) AS input,
            COALESCE(json_extract(m.value, '$.cache_write'), cs.cache_write) AS cache_write,
            COALESCE(json_extract(m.value, '$.cache_read'), cs.cache_read) AS cache_read,
            COALESCE(json_extract(m.value, '$.output'), cs.output) AS output,
            COALESCE(json_extract(m.value, '$.reasoning'), cs.reasoning) AS reasoning,
            CASE WHEN m.key IS NULL THEN cs.cost_usd ELSE json_extract(m.value, '$.cost_usd') END
              AS cost_usd
          FROM commit_sessions cs JOIN scope s ON s.sha = cs.commit_sha
          LEFT JOIN json_each(CASE WHEN cs.models IN ('', '{}') THEN NULL ELSE cs.models END) m
        )"""
    else:
        tf = """
        tf AS (
          SELECT cs.commit_sha AS sha, cs.agent AS agent, '' AS model, cs.input, cs.cache_write,
            cs.cache_read, cs.output, cs.reasoning, cs.cost_usd
          FROM commit_sessions cs JOIN scope s ON s.sha = cs.commit_sha
        )"""
    ctes = [f"""
        scope AS (
          SELECT c.sha, c.committed_at, c.attribution, c.agents, c.ai_lines, c.author_name,
                 c.author_email
          FROM commits c WHERE {scope_where}
        )""", tf, """
        lf AS (
          SELECT lo.commit_sha AS sha, lo.path, lo.symbol, lo.outcome, SUM(lo.lines) AS lines
          FROM line_outcomes lo JOIN scope s ON s.sha = lo.commit_sha
          WHERE lo.ai = 1
          GROUP BY lo.commit_sha, lo.path, lo.symbol, lo.outcome
          UNION ALL
          SELECT s.sha, '', '', 'unanalysed', s.ai_lines FROM scope s
          WHERE s.ai_lines > 0 AND NOT EXISTS (
            SELECT 1 FROM line_outcomes lo WHERE lo.commit_sha = s.sha AND lo.ai = 1)
        )"""]
    if tkeys:
        sel = ", ".join(k for k in ("agent", "model") if k in tkeys)
        ctes.append(f"""
        who AS (
          SELECT DISTINCT {sel} , sha FROM (
            SELECT sha, agent, model FROM tf
            UNION
            SELECT s.sha, j.value, '' FROM scope s, json_each(s.agents) j
            WHERE NOT EXISTS (SELECT 1 FROM tf WHERE tf.sha = s.sha AND tf.agent = j.value)
          )
        )""")
    if lkeys:
        lsel = ", ".join(lkeys)
        ctes.append(f"""
        ctot AS (SELECT sha, SUM(lines) AS lines FROM lf GROUP BY sha),
        sh AS (
          SELECT lf.sha, {", ".join("lf." + k for k in lkeys)},
                 CAST(SUM(lf.lines) AS REAL) / ctot.lines AS frac
          FROM lf JOIN ctot ON ctot.sha = lf.sha WHERE ctot.lines > 0
          GROUP BY lf.sha, {lsel}
        )""")
    pr_join = ("LEFT JOIN pr_commits pc ON pc.commit_sha = s.sha AND pc.reached_merge = 1"
               if "pr" in keys else "")
    tdims = _dims(keys, "t")
    ldims = _dims(keys, "l")
    frac = "sh.frac" if lkeys else "1.0"
    frac_join = "LEFT JOIN sh ON sh.sha = tf.sha" if lkeys else ""
    tcols = ", ".join(f"{expr} AS {name}" for name, expr in tdims)
    lcols = ", ".join(f"{expr} AS {name}" for name, expr in ldims)
    tpre = tcols + ", " if tcols else ""
    lpre = lcols + ", " if lcols else ""
    zeros_lines = ", ".join(f"0 AS {o}" for o in OUTCOMES)
    zeros_tokens = ", ".join(f"0 AS {p}" for p in TOKEN_PARTS)
    f = f"COALESCE({frac}, 1.0)"
    token_side = f"""
        SELECT {tpre}
          ({" + ".join(f"tf.{p}" for p in ("input", "cache_write", "cache_read", "output"))}) * {f} AS tokens,
          {", ".join(f"tf.{p} * {f} AS {p}" for p in TOKEN_PARTS)},
          tf.cost_usd * {f} AS cost_usd,
          CASE WHEN tf.cost_usd IS NULL THEN 0 ELSE
            ({" + ".join(f"tf.{p}" for p in ("input", "cache_write", "cache_read", "output"))}) * {f}
          END AS priced_tokens,
          0 AS ai_lines, {zeros_lines}, 0 AS ai_lines_line_level, 0 AS ai_lines_commit_level,
          tf.sha AS sha
        FROM tf JOIN scope s ON s.sha = tf.sha {frac_join} {pr_join}"""
    who_join = "LEFT JOIN who w ON w.sha = lf.sha" if tkeys else ""
    line_side = f"""
        SELECT {lpre}
          0 AS tokens, {zeros_tokens}, NULL AS cost_usd, 0 AS priced_tokens,
          lf.lines AS ai_lines,
          {", ".join(f"CASE WHEN lf.outcome = '{o}' THEN lf.lines ELSE 0 END AS {o}" for o in OUTCOMES)},
          CASE WHEN s.attribution IN ('line', 'manual') THEN lf.lines ELSE 0 END AS ai_lines_line_level,
          CASE WHEN s.attribution IN ('line', 'manual') THEN 0 ELSE lf.lines END AS ai_lines_commit_level,
          lf.sha AS sha
        FROM lf JOIN scope s ON s.sha = lf.sha {who_join} {pr_join}"""
    names = [n for n, _ in tdims]
    group = ", ".join(names)
    outer_names = ", ".join(names) + ", " if names else ""
    sums = ", ".join(
        [f"SUM({c}) AS {c}" for c in ("tokens", *TOKEN_PARTS)]
        + ["SUM(cost_usd) AS cost_usd", "SUM(priced_tokens) AS priced_tokens", "SUM(ai_lines) AS ai_lines"]
        + [f"SUM({o}) AS {o}" for o in OUTCOMES]
        + ["SUM(ai_lines_line_level) AS ai_lines_line_level",
           "SUM(ai_lines_commit_level) AS ai_lines_commit_level",
           "COUNT(DISTINCT sha) AS commits"])
    union = f"({token_side} UNION ALL {line_side})"
    u_names = "".join(f"u.{n} AS {n}, " for n in names)
    u_group = ", ".join(f"u.{n}" for n in names)
    # PRs per group: distinct merged PRs among the group's commits, and what those commits cost.
    pr_sql = f"""
        WITH {",".join(ctes)}
        SELECT {u_names}COUNT(DISTINCT pc2.pr) AS merged_prs,
          SUM(u.cost_usd) AS pr_cost_usd, SUM(u.tokens) AS pr_tokens
        FROM {union} u
        JOIN pr_commits pc2 ON pc2.commit_sha = u.sha AND pc2.reached_merge = 1
        JOIN pull_requests p2 ON p2.number = pc2.pr AND p2.merged_at IS NOT NULL
        {"GROUP BY " + u_group if u_group else ""}"""
    sql = f"""
        WITH {",".join(ctes)}
        SELECT {outer_names}{sums}
        FROM {union}
        {"GROUP BY " + group if group else ""}"""
    return sql + "\n-- PRS --\n" + pr_sql


def group_figures(db: Database, keys: Sequence[str], scope: Scope,
                  repo_name: str = "") -> list[dict[str, Any]]:
    """Summed facts per group of ``keys`` (raw sums; ratios come from :func:`finish`)."""
    where, params = scope.where("c")
    sql, pr_sql = figures_sql(keys, where).split("\n-- PRS --\n")
    # Positional scope parameters appear once per reference to the scope CTE (one here).
    named = {"repo": repo_name}
    rows = _query(db, sql, params, named)
    prs = {tuple(r[k] for k in keys): r for r in _query(db, pr_sql, params, named)}
    for r in rows:
        q = prs.get(tuple(r[k] for k in keys), {})
        r["merged_prs"] = q.get("merged_prs") or 0
        r["pr_cost_usd"] = q.get("pr_cost_usd")
        r["pr_tokens"] = q.get("pr_tokens") or 0
    return rows


def _query(db: Database, sql: str, params: list[Any], named: dict[str, Any]) -> list[dict[str, Any]]:
    # sqlite3 cannot mix ? and :name; turn the positional ones into names.
    out = []
    for i, part in enumerate(sql.split("?")):
        out.append(part)
        out.append(f":p{i}")
    text = "".join(out[:-1])
    args = {**{f"p{j}": v for j, v in enumerate(params)}, **named}
    cur = db.conn.execute(text, {k: v for k, v in args.items()
                               if re.search(f":{k}\\b", text)})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def exploration_tokens(db: Database, *, roots: Sequence[str] | None = None,
                       since: str | None = None, until: str | None = None) -> dict[str, int]:
    """Tokens of usage events of sessions in the repository that no commit slice covers.

    A commit's slice of a session is ``since_ts < ts <= until_ts`` (no
    ``since_ts``: from the start), except that the first slice records the
    session's start as ``since_ts`` and includes it; testing coverage with
    ``>=`` is right for both, because a later slice's ``since_ts`` is the
    previous slice's (inclusive) ``until_ts``.  ``roots`` are the work trees of the
    repository (a session whose cwd is under one of them is in it); None
    counts every session in the ledger.
    """
    conds = ["NOT EXISTS (SELECT 1 FROM commit_sessions cs WHERE cs.session_key = u.session_key "
             "AND (cs.since_ts IS NULL OR u.ts >= cs.since_ts) "
             "AND (cs.until_ts IS NULL OR u.ts <= cs.until_ts))"]
    params: list[Any] = []
    if roots is not None:
        ors = []
        for r in roots:
            r = r.rstrip("/")
            ors.append("(s.cwd = ? OR substr(s.cwd, 1, ?) = ?)")
            params += [r, len(r) + 1, r + "/"]
        conds.append("u.session_key IN (SELECT s.key FROM sessions s WHERE "
                     + (" OR ".join(ors) or "0") + ")")
    if since:
        conds.append("u.ts >= ?")
        params.append(since)
    if until:
        conds.append("u.ts < ?")
        params.append(until)
    sql = ("SELECT COALESCE(SUM(u.input + u.cache_write + u.cache_read + u.output), 0), "
           "COUNT(DISTINCT u.session_key) FROM usage_events u WHERE " + " AND ".join(conds))
    tokens, sessions = db.conn.execute(sql, params).fetchone()
    return {"tokens": int(tokens or 0), "sessions": int(sessions or 0)}


def unpriced_models(db: Database, scope: Scope) -> list[str]:
    """Models with tokens but no price among the scope's commit slices."""
    where, params = scope.where("c")
    sql = f"""
        SELECT DISTINCT m.key FROM commit_sessions cs JOIN commits c ON c.sha = cs.commit_sha,
          json_each(CASE WHEN cs.models IN ('', '{{}}') THEN NULL ELSE cs.models END) m
        WHERE {where} AND json_extract(m.value, '$.cost_usd') IS NULL ORDER BY 1"""
    return [r[0] for r in db.conn.execute(sql, params).fetchall()]


# --- pull requests -------------------------------------------------------------------------------


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


def write_prs(db: Database, prs: Iterable[dict[str, Any]]) -> int:
    """Upsert PRs found in history with their commits and review figures (one transaction).

    Each item: number, title, merged_at, merge_commit, method, base, head, and
    ``commits`` [(sha, reached_merge)], ``figures`` {ai_written, ai_merged,
    review_churn, note}.
    """
    items = list(prs)
    if not items:
        return 0
    with transaction(db):
        for p in items:
            n = p["number"]
            db.conn.execute("DELETE FROM pr_commits WHERE pr = ?", [n])
            db.table("pull_requests").upsert(
                {k: p.get(k) for k in ("number", "title", "merged_at", "merge_commit", "method",
                                       "base", "head")} | {"source": "history"}, pk="number")
            if p["commits"]:
                db.table("pr_commits").insert_all(
                    [{"pr": n, "commit_sha": s, "reached_merge": int(r)} for s, r in p["commits"]],
                    pk=("pr", "commit_sha"), replace=True)
            db.table("pr_figures").upsert({"pr": n, **p["figures"]}, pk="pr")
    return len(items)


def set_branch_commits(db: Database, branch: str, shas: Sequence[str]) -> None:
    """Replace the analysed branch's commit list (the report's default scope); no-op if unchanged."""
    if shas:
        n = db.conn.execute("SELECT COUNT(*) FROM branch_commits").fetchone()[0]
        same = db.conn.execute("SELECT COUNT(*) FROM branch_commits WHERE sha = ? AND branch = ?",
                               [shas[0], branch]).fetchone()[0]
        if n == len(shas) and same:
            return
    with transaction(db):
        db.conn.execute("DELETE FROM branch_commits")
        db.conn.executemany("INSERT OR IGNORE INTO branch_commits (sha, branch) VALUES (?, ?)",
                            [(s, branch) for s in shas])


def branch_commit_count(db: Database, branch: str) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM branch_commits WHERE branch = ?",
                               [branch]).fetchone()[0])


def first_session_start(db: Database, roots: Sequence[str]) -> str | None:
    """When the first session in the repository (cwd under one of ``roots``) started."""
    ors, params = [], []
    for r in roots:
        r = r.rstrip("/")
        ors.append("(cwd = ? OR substr(cwd, 1, ?) = ?)")
        params += [r, len(r) + 1, r + "/"]
    if not ors:
        return None
    row = db.conn.execute("SELECT MIN(COALESCE(started_at, ended_at)) FROM sessions WHERE "
                          + " OR ".join(ors), params).fetchone()
    return row[0] if row else None


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


# --- charts --------------------------------------------------------------------------------------


def top_rework(db: Database, scope: Scope, key: str, limit: int = 10) -> list[dict[str, Any]]:
    """Paths (key='path') or path+symbol (key='symbol') with the most churned+reverted AI lines."""
    where, params = scope.where("c")
    dims = "lo.path" if key == "path" else "lo.path, lo.symbol"
    sql = f"""
        SELECT {dims}, SUM(lo.lines) AS ai_lines,
          SUM(CASE WHEN lo.outcome = 'churned' THEN lo.lines ELSE 0 END) AS churned,
          SUM(CASE WHEN lo.outcome = 'reverted' THEN lo.lines ELSE 0 END) AS reverted
        FROM line_outcomes lo JOIN commits c ON c.sha = lo.commit_sha
        WHERE lo.ai = 1 {"AND lo.symbol != ''" if key == "symbol" else ""} AND {where}
        GROUP BY {dims} HAVING churned + reverted > 0
        ORDER BY churned + reverted DESC, {dims} LIMIT {int(limit)}"""
    cur = db.conn.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


# --- views ---------------------------------------------------------------------------------------

VIEW_KEYS: dict[str, list[str]] = {
    "report_headline": [], "report_by_agent": ["agent"], "report_by_model": ["model"],
    "report_by_week": ["week"], "report_by_pr": ["pr"], "report_by_path": ["path"],
    "report_by_symbol": ["path", "symbol"],
}


def _view_sql(keys: list[str]) -> str:
    scope_where, _ = Scope().where("c")
    sql, pr_sql = figures_sql(keys, scope_where).split("\n-- PRS --\n")
    names = list(keys)
    join = (" LEFT JOIN (" + pr_sql + ") q USING (" + ", ".join(names) + ")") if names else \
        " CROSS JOIN (" + pr_sql + ") q"
    key_cols = ", ".join(f"g.{n}" for n in names) + ", " if names else ""
    return f"""SELECT {key_cols}
        CAST(ROUND(g.tokens) AS INTEGER) AS tokens,
        {", ".join(f"CAST(ROUND(g.{p}) AS INTEGER) AS {p}" for p in TOKEN_PARTS)},
        ROUND(g.cost_usd, 6) AS cost_usd, g.ai_lines, g.surviving, g.churned, g.reverted,
        g.deleted_later, g.unanalysed, g.ai_lines_line_level, g.ai_lines_commit_level,
        CASE WHEN g.ai_lines - g.unanalysed > 0
          THEN ROUND(1.0 * (g.churned + g.reverted) / (g.ai_lines - g.unanalysed), 4) END
          AS rework_rate,
        CASE WHEN g.surviving > 0 THEN ROUND(g.tokens / g.surviving, 2) END
          AS tokens_per_surviving_line,
        CASE WHEN g.surviving > 0 THEN ROUND(g.cost_usd / g.surviving, 6) END
          AS cost_per_surviving_line,
        COALESCE(q.merged_prs, 0) AS merged_prs,
        CASE WHEN q.merged_prs > 0 THEN ROUND(q.pr_cost_usd / q.merged_prs, 6) END
          AS cost_per_merged_pr
      FROM ({sql}) g{join}""".replace(":repo", "'repo'")


def create_views(db: Database) -> None:
    """(Re)create the ``report_*`` views for Datasette and SQL users."""
    for name, keys in VIEW_KEYS.items():
        db.execute(f"DROP VIEW IF EXISTS {name}")
        db.execute(f"CREATE VIEW {name} AS {_view_sql(keys)}")
    db.execute("DROP VIEW IF EXISTS report_exploration")
    db.execute("""CREATE VIEW report_exploration AS
        SELECT u.session_key, s.agent, s.cwd, COUNT(*) AS events,
          SUM(u.input + u.cache_write + u.cache_read + u.output) AS tokens,
          ROUND(SUM(u.cost_usd), 6) AS cost_usd
        FROM usage_events u JOIN sessions s ON s.key = u.session_key
        WHERE NOT EXISTS (SELECT 1 FROM commit_sessions cs WHERE cs.session_key = u.session_key
          AND (cs.since_ts IS NULL OR u.ts >= cs.since_ts)
          AND (cs.until_ts IS NULL OR u.ts <= cs.until_ts))
        GROUP BY u.session_key""")
    db.execute("DROP VIEW IF EXISTS report_prs")
    db.execute("""CREATE VIEW report_prs AS
        SELECT p.number AS pr, p.title, p.method, p.merged_at, p.merge_commit,
          f.ai_written, f.ai_merged, f.review_churn, f.note,
          (SELECT SUM(cs.input + cs.cache_write + cs.cache_read + cs.output) FROM pr_commits pc
             JOIN commit_sessions cs ON cs.commit_sha = pc.commit_sha
             WHERE pc.pr = p.number AND pc.reached_merge = 1) AS tokens,
          (SELECT ROUND(SUM(cs.cost_usd), 6) FROM pr_commits pc
             JOIN commit_sessions cs ON cs.commit_sha = pc.commit_sha
             WHERE pc.pr = p.number AND pc.reached_merge = 1) AS cost_usd
        FROM pull_requests p LEFT JOIN pr_figures f ON f.pr = p.number""")
