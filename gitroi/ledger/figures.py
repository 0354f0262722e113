"""The report's scope and per-commit facts: what the figures of DESIGN.md ("The figures") sum.

Every figure is a sum over two kinds of facts, kept apart because they live at
different grains:

* **token facts**: ``commit_sessions`` rows (one per commit and session,
  optionally split per model from its ``models`` JSON): the attributed tokens
  (input, cache write, cache read, output; reasoning as a part of output) and
  cost of a commit;
* **line facts**: ``line_outcomes`` rows with ``ai = 1`` (per commit, path,
  symbol and outcome), and ``line_carried`` rows with ``ai = 1`` as
  ``carried`` (lines the commit's diff added that keep an older origin: a
  move, a reformat; survival follows them under the older commit, so they are
  not the commit's ``ai_lines`` but are analysed); a commit that has AI lines
  but neither yet adds its ``commits.ai_lines`` as ``unanalysed``.  So
  ``ai_lines + carried`` is what ``git log --numstat`` says the AI commits added.

This module builds the per-commit facts (the cached ``report_commit_facts``)
and makes a report's scope available as temp tables (:func:`materialise`);
the fact tables the figures are summed from are :mod:`gitroi.ledger.facts`,
and the sums themselves (grouped any way, grain by grain) are the formulas of
:mod:`gitroi.ledger.formulas`, shared with ``gitroi org report``.

The scope is the commits of the analysed branch (``branch_commits``, filled
by the report pipeline; when empty, every commit in the ledger), minus
commits that never reached a merge (pre-squash/pre-rebase originals in
``pr_commits`` with ``reached_merge = 0``), within ``since``/``until`` on the
commit time, or an explicit list of commits.

The same facts and formulas back the ``report_*`` views (:mod:`gitroi.ledger.views`),
so Datasette shows the very figures ``gitroi report`` prints.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from gitroi.ledger.transactions import transaction

TYPE_CHECKING = False  # not from typing: sqlite-utils is imported only where a ledger is opened
if TYPE_CHECKING:
    from sqlite_utils import Database

TOKEN_PARTS = ("input", "cache_write", "cache_read", "output", "reasoning")
OUTCOMES = ("surviving", "churned", "reverted", "deleted_later", "unanalysed")

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


SCOPE_COLUMNS = ("sha", "committed_at", "attribution", "agents", "ai_lines", "author_name",
                 "author_email")
_OUTCOME_SUMS = ", ".join(
    f"SUM(CASE WHEN lo.outcome = '{o}' THEN lo.lines ELSE 0 END) AS {o}" for o in OUTCOMES[:-1])
# A commit with AI lines but no AI row in line_outcomes or line_carried: not analysed yet.
_UNANALYSED = """
          SELECT s.sha, '', '', s.ai_lines, 0, 0, 0, 0, s.ai_lines, 0 FROM {scope} s
          WHERE s.ai_lines > 0 AND NOT EXISTS (
            SELECT 1 FROM line_outcomes lo WHERE lo.commit_sha = s.sha AND lo.ai = 1)
          AND NOT EXISTS (
            SELECT 1 FROM line_carried lc WHERE lc.commit_sha = s.sha AND lc.ai = 1)"""


def scope_sql(scope_where: str) -> str:
    """The scope CTE body over ``commits c`` filtered by ``scope_where``."""
    return f"SELECT {', '.join('c.' + c for c in SCOPE_COLUMNS)} FROM commits c WHERE {scope_where}"


def commit_lines_sql(scope: str = "scope", *, small: bool = False) -> str:
    """Per-commit AI line facts (wide: ai_lines, one column per outcome, carried) for the scope.

    For a big scope, ``line_outcomes`` is aggregated first (one pass over its
    covering index, in commit order) and joined to the scope afterwards; for a
    ``small`` scope (a few commits) each commit's rows are looked up instead.
    A commit may have outcome rows, carried rows or both; its row sums them.
    """
    zeros = ", ".join("0" for _ in OUTCOMES[:-1])
    if small:
        parts = f"""
              SELECT lo.commit_sha AS sha, SUM(lo.lines) AS ai_lines, {_OUTCOME_SUMS},
                0 AS carried
              FROM {scope} s JOIN line_outcomes lo ON lo.commit_sha = s.sha AND lo.ai = 1
              GROUP BY lo.commit_sha
              UNION ALL
              SELECT lc.commit_sha, 0, {zeros}, SUM(lc.lines)
              FROM {scope} s JOIN line_carried lc ON lc.commit_sha = s.sha AND lc.ai = 1
              GROUP BY lc.commit_sha"""
        join = ""
    else:
        parts = f"""
              SELECT lo.commit_sha AS sha, SUM(lo.lines) AS ai_lines, {_OUTCOME_SUMS},
                0 AS carried
              FROM line_outcomes lo WHERE lo.ai = 1 GROUP BY lo.commit_sha
              UNION ALL
              SELECT lc.commit_sha, 0, {zeros}, SUM(lc.lines)
              FROM line_carried lc WHERE lc.ai = 1 GROUP BY lc.commit_sha"""
        join = f" JOIN {scope} s ON s.sha = l.sha"
    sums = ", ".join(f"SUM(u.{o}) AS {o}" for o in OUTCOMES[:-1])
    first = f"""
            SELECT l.* FROM (
              SELECT u.sha, '' AS path, '' AS symbol, SUM(u.ai_lines) AS ai_lines, {sums},
                0 AS unanalysed, SUM(u.carried) AS carried
              FROM ({parts}) u GROUP BY u.sha) l{join}"""
    return f"""{first}
          UNION ALL{_UNANALYSED.format(scope=scope)}"""


_SCOPE_T = "temp._gitroi_scope"
_LINES_T = "temp._gitroi_commit_lines"
_CF_T = "temp._gitroi_commit_facts"
_BUILD_T = "temp._gitroi_build_scope"
#: Which scope the fact tables of :mod:`gitroi.ledger.facts` were built for; dropped with the scope.
FACTS_META = "temp.gf_meta"


def _facts_select(scope_table: str, small: bool) -> str:
    """Per-commit facts (tokens, cost, AI line outcomes) of the commits in ``scope_table``."""
    four = "input + cache_write + cache_read + output"
    return f"""
        SELECT s.sha, s.committed_at, s.attribution, s.agents, s.ai_lines AS attributed_ai_lines,
          s.author_name, s.author_email,
          COALESCE(t.tokens, 0) AS tokens,
          {", ".join(f"COALESCE(t.{p}, 0) AS {p}" for p in TOKEN_PARTS)},
          t.cost_usd, COALESCE(t.priced_tokens, 0) AS priced_tokens,
          COALESCE(l.ai_lines, 0) AS ai_lines,
          {", ".join(f"COALESCE(l.{o}, 0) AS {o}" for o in OUTCOMES)},
          CASE WHEN s.attribution IN ('line', 'manual') THEN COALESCE(l.ai_lines, 0) ELSE 0 END
            AS ai_lines_line_level,
          CASE WHEN s.attribution IN ('line', 'manual') THEN 0 ELSE COALESCE(l.ai_lines, 0) END
            AS ai_lines_commit_level,
          COALESCE(l.carried, 0) AS carried
        FROM {scope_table} s
        LEFT JOIN (
          SELECT commit_sha, SUM({four}) AS tokens,
            {", ".join(f"SUM({p}) AS {p}" for p in TOKEN_PARTS)}, SUM(cost_usd) AS cost_usd,
            SUM(CASE WHEN cost_usd IS NULL THEN 0 ELSE {four} END) AS priced_tokens
          FROM commit_sessions WHERE commit_sha IN (SELECT sha FROM {scope_table})
          GROUP BY commit_sha) t ON t.commit_sha = s.sha
        LEFT JOIN ({commit_lines_sql(scope_table, small=small)}) l ON l.sha = s.sha
        WHERE t.commit_sha IS NOT NULL OR l.sha IS NOT NULL"""


def _fingerprint(db: Database) -> str:
    """Changes whenever a table the commit facts derive from changes (cheap: counts, max rowid)."""
    parts = []
    for t in ("commits", "commit_sessions", "line_outcomes", "line_carried", "branch_commits",
              "pr_commits"):
        n, mx = db.conn.execute(f"SELECT COUNT(*), MAX(rowid) FROM {t}").fetchone()
        parts.append(f"{t}:{n}:{mx}")
    an = db.conn.execute("SELECT group_concat(branch || '@' || tip || '@' || analysed_at, ',') "
                         "FROM analyses").fetchone()[0]
    parts.append(f"analyses:{an}")
    return ";".join(parts)


def refresh_commit_facts(db: Database, *, force: bool = False) -> bool:
    """Rebuild ``report_commit_facts`` for the default scope if its inputs changed; True if rebuilt."""
    from gitroi import timeutil

    fp = _fingerprint(db)
    row = db.conn.execute("SELECT fingerprint FROM report_cache_state WHERE name = 'commit_facts'"
                          ).fetchone()
    if row and row[0] == fp and not force:
        return False
    where, params = Scope().where("c")
    conn = db.conn
    if conn.in_transaction:  # an implicit transaction would swallow ours as a savepoint
        conn.commit()
    conn.execute(f"DROP TABLE IF EXISTS {_BUILD_T}")
    conn.execute(f"CREATE TABLE {_BUILD_T} (sha TEXT PRIMARY KEY, committed_at TEXT, "
                 "attribution TEXT, agents TEXT, ai_lines INTEGER, author_name TEXT, "
                 "author_email TEXT)")
    with transaction(db):
        conn.execute(f"INSERT INTO {_BUILD_T} {scope_sql(where)}", params)
        conn.execute("DELETE FROM report_commit_facts")
        conn.execute(f"INSERT INTO report_commit_facts {_facts_select(_BUILD_T, small=False)}")
        conn.execute("INSERT OR REPLACE INTO report_cache_state (name, fingerprint, built_at) "
                     "VALUES ('commit_facts', ?, ?)", [fp, timeutil.now()])
    conn.execute(f"DROP TABLE IF EXISTS {_BUILD_T}")
    return True


def _drop_temp(db: Database, name: str) -> None:
    bare = name.split(".", 1)[1]
    row = db.conn.execute("SELECT type FROM sqlite_temp_master WHERE name = ?", [bare]).fetchone()
    if row:
        db.conn.execute(f"DROP {row[0].upper()} {name}")


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T[0-9:.]+Z$")


def materialise(db: Database, scope: Scope) -> None:
    """Make the scope's commits and per-commit facts available to every query of one report.

    The default scope (the branch, optionally within since/until) reads the
    cached ``report_commit_facts`` through temp views; an explicit list of
    commits (a PR's) gets small temp tables built on the spot.  Either way
    ``temp._gitroi_scope``, ``temp._gitroi_commit_lines`` and
    ``temp._gitroi_commit_facts`` exist afterwards.
    """
    conn = db.conn
    for name in (_CF_T, _LINES_T, _SCOPE_T, FACTS_META):
        _drop_temp(db, name)
    cached = scope.commits is None
    if cached:
        try:
            refresh_commit_facts(db)
        except sqlite3.OperationalError:  # a read-only ledger: compute on the spot instead
            cached = False
    if cached:
        conds = []
        for op, v in ((">=", scope.since), ("<", scope.until)):
            if v:
                if not _ISO.match(v):
                    raise ValueError(f"not a canonical time: {v!r}")
                conds.append(f"committed_at {op} '{v}'")
        where = " AND ".join(conds) or "1"
        conn.execute(f"CREATE VIEW {_CF_T} AS SELECT * FROM main.report_commit_facts "
                     f"WHERE {where}")
        conn.execute(f"CREATE VIEW {_SCOPE_T} AS SELECT sha, committed_at, attribution, agents, "
                     f"attributed_ai_lines AS ai_lines, author_name, author_email FROM {_CF_T}")
        conn.execute(f"CREATE VIEW {_LINES_T} AS SELECT sha, '' AS path, '' AS symbol, ai_lines, "
                     f"{', '.join(OUTCOMES)}, carried FROM {_CF_T} "
                     "WHERE ai_lines > 0 OR carried > 0")
        return
    where, params = scope.where("c")
    conn.execute(f"CREATE TABLE {_SCOPE_T} (sha TEXT PRIMARY KEY, committed_at TEXT, "
                 "attribution TEXT, agents TEXT, ai_lines INTEGER, author_name TEXT, "
                 "author_email TEXT)")
    conn.execute(f"INSERT INTO {_SCOPE_T} {scope_sql(where)}", params)
    small = scope.commits is not None
    conn.execute(f"CREATE TABLE {_LINES_T} AS {commit_lines_sql(_SCOPE_T, small=small)}")
    conn.execute(f"CREATE TABLE {_CF_T} AS {_facts_select(_SCOPE_T, small=small)}")
    if conn.in_transaction:  # only temp tables were written; leave no transaction open
        conn.commit()


def unpriced_models(db: Database, scope: Scope) -> list[str]:
    """Models with tokens but no price among the scope's commit slices."""
    where, params = scope.where("c")
    sql = f"""
        SELECT DISTINCT m.key FROM commit_sessions cs JOIN commits c ON c.sha = cs.commit_sha,
          json_each(CASE WHEN cs.models IN ('', '{{}}') THEN NULL ELSE cs.models END) m
        WHERE {where} AND json_extract(m.value, '$.cost_usd') IS NULL ORDER BY 1"""
    return [r[0] for r in db.conn.execute(sql, params).fetchall()]


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
