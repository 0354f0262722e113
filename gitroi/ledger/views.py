"""The ``report_*`` views: the report's figures as SQL views, for Datasette and SQL users.

Built from the same SQL as ``gitroi report``: the default scope and its
per-commit facts, the fact tables of :mod:`gitroi.ledger.facts` as
``report_fact_*`` views over them (live: read from the ledger's tables, not
from the report's cache), and the formulas of
:mod:`gitroi.ledger.formulas` over them, so Datasette shows the very figures
the report prints (the views' repository is ``'repo'``).  A model's provider is
the price table's, as in the report: the table is not in the ledger, so the
report writes what it says for each model into ``model_providers``
(:func:`record_providers`), which the views read.
"""

from __future__ import annotations

from collections.abc import Callable

from gitroi.ledger.facts import (
    commit_agents_sql,
    commit_facts_sql,
    line_facts_sql,
    pr_commits_sql,
    token_facts_sql,
)
from gitroi.ledger.figures import Scope, _facts_select, scope_sql
from gitroi.ledger.formulas import TOKEN_PARTS, Tables, figure_sql

TYPE_CHECKING = False  # not from typing: sqlite-utils is imported only where a ledger is opened
if TYPE_CHECKING:
    from sqlite_utils import Database

#: The fact views (names the formulas read them by -> view name).
FACT_VIEWS = {
    "commit_facts": "report_fact_commits", "token_facts": "report_fact_tokens",
    "commit_agents": "report_fact_agents", "line_facts": "report_fact_lines",
    "pr_commits": "report_fact_pr_commits",
}
_SCOPE_VIEW = "report_fact_scope"
_PER_COMMIT_VIEW = "report_fact_per_commit"
_NO_PROVIDERS = "(SELECT NULL AS model, NULL AS provider)"
#: model -> provider, written by :func:`record_providers` (migration m070).
PROVIDERS = "model_providers"


def record_providers(db: Database, provider_of: Callable[[str], str | None]) -> None:
    """Write ``model_providers``: every model the ledger names, with its provider (else ``unknown``).

    Rewritten only when something changed, so a report on an unchanged ledger writes nothing.
    """
    if not db[PROVIDERS].exists():
        return
    models = {r[0] for r in db.conn.execute(
        "SELECT DISTINCT m.key FROM commit_sessions cs, json_each(CASE WHEN cs.models IN "
        "('', '{}') THEN NULL ELSE cs.models END) m")}
    models |= {r[0] for r in db.conn.execute("SELECT DISTINCT model FROM usage_events")}
    want = {m: provider_of(m) or "unknown" for m in models if m}
    have = dict(db.conn.execute(f"SELECT model, provider FROM {PROVIDERS}").fetchall())
    if want == have:
        return
    with db.conn:
        db.conn.execute(f"DELETE FROM {PROVIDERS}")
        db.conn.executemany(f"INSERT INTO {PROVIDERS} VALUES (?, ?)", sorted(want.items()))


def _fact_views(providers: str) -> list[tuple[str, str]]:
    """The fact views in creation order (each may read the ones before it)."""
    v = FACT_VIEWS
    where, params = Scope().where("c")
    assert not params  # the default scope has no parameters to bind
    return [
        (_SCOPE_VIEW, scope_sql(where)),
        (_PER_COMMIT_VIEW, _facts_select(_SCOPE_VIEW, small=False)),
        (v["commit_facts"], commit_facts_sql("repo", cf=_PER_COMMIT_VIEW)),
        (v["token_facts"], token_facts_sql("repo", scope=_SCOPE_VIEW, providers=providers)),
        (v["commit_agents"], commit_agents_sql("repo", scope=_SCOPE_VIEW,
                                               tokens=v["token_facts"])),
        (v["line_facts"], line_facts_sql("repo", scope=_SCOPE_VIEW)),
        (v["pr_commits"], pr_commits_sql("repo", scope=_SCOPE_VIEW)),
    ]

VIEW_KEYS: dict[str, list[str]] = {
    "report_headline": [], "report_by_agent": ["agent"], "report_by_model": ["model"],
    "report_by_provider": ["provider"], "report_by_week": ["week"], "report_by_pr": ["pr"],
    "report_by_path": ["path"], "report_by_symbol": ["path", "symbol"],
}


def _view_sql(keys: list[str]) -> str:
    sql, pr_sql = figure_sql(keys, Tables(FACT_VIEWS))
    names = list(keys)
    join = (" LEFT JOIN (" + pr_sql + ") q USING (" + ", ".join(names) + ")") if names else \
        " CROSS JOIN (" + pr_sql + ") q"
    key_cols = ", ".join(f"g.{n}" for n in names) + ", " if names else ""
    return f"""SELECT {key_cols}
        CAST(ROUND(g.tokens) AS INTEGER) AS tokens,
        {", ".join(f"CAST(ROUND(g.{p}) AS INTEGER) AS {p}" for p in TOKEN_PARTS)},
        ROUND(g.cost_usd, 6) AS cost_usd, g.ai_lines, g.surviving, g.churned, g.reverted,
        g.deleted_later, g.unanalysed, g.ai_lines_line_level, g.ai_lines_commit_level, g.carried,
        CASE WHEN g.ai_lines - g.unanalysed > 0
          THEN ROUND(1.0 * (g.churned + g.reverted) / (g.ai_lines - g.unanalysed), 4) END
          AS rework_rate,
        CASE WHEN g.surviving > 0 AND g.tokens > 0 THEN ROUND(1.0 * g.tokens / g.surviving, 2) END
          AS tokens_per_surviving_line,
        CASE WHEN g.surviving > 0 THEN ROUND(g.cost_usd / g.surviving, 6) END
          AS cost_per_surviving_line,
        COALESCE(q.merged_prs, 0) AS merged_prs,
        CASE WHEN q.merged_prs > 0 THEN ROUND(q.pr_cost_usd / q.merged_prs, 6) END
          AS cost_per_merged_pr
      FROM ({sql}) g{join}"""


def create_views(db: Database, provider_of: Callable[[str], str | None] | None = None) -> None:
    """(Re)create the ``report_*`` views for Datasette and SQL users, where their SQL changed.

    Unchanged views are left alone, so a report does not rewrite the schema
    (and make every other connection re-prepare) on each run.  ``provider_of``
    (the price table's, ``gitroi.report.figures.providers``) refreshes
    ``model_providers`` first.
    """
    has_providers = db[PROVIDERS].exists()  # not yet while the migrations before m070 run
    if provider_of is not None:
        record_providers(db, provider_of)
    views = [(name, f"CREATE VIEW {name} AS {body}")
             for name, body in _fact_views(PROVIDERS if has_providers else _NO_PROVIDERS)]
    views += [(name, f"CREATE VIEW {name} AS {_view_sql(keys)}")
              for name, keys in VIEW_KEYS.items()]
    views.append(("report_exploration", """CREATE VIEW report_exploration AS
        SELECT u.session_key, s.agent, s.cwd, COUNT(*) AS events,
          SUM(u.input + u.cache_write + u.cache_read + u.output) AS tokens,
          ROUND(SUM(u.cost_usd), 6) AS cost_usd
        FROM usage_events u JOIN sessions s ON s.key = u.session_key
        WHERE NOT EXISTS (SELECT 1 FROM commit_sessions cs WHERE cs.session_key = u.session_key
          AND (cs.since_ts IS NULL OR u.ts >= cs.since_ts)
          AND (cs.until_ts IS NULL OR u.ts <= cs.until_ts))
        GROUP BY u.session_key"""))
    views.append(("report_prs", """CREATE VIEW report_prs AS
        SELECT p.number AS pr, p.title, p.method, p.merged_at, p.merge_commit,
          f.ai_written, f.ai_merged, f.review_churn, f.note,
          (SELECT SUM(cs.input + cs.cache_write + cs.cache_read + cs.output) FROM pr_commits pc
             JOIN commit_sessions cs ON cs.commit_sha = pc.commit_sha
             WHERE pc.pr = p.number AND pc.reached_merge = 1) AS tokens,
          (SELECT ROUND(SUM(cs.cost_usd), 6) FROM pr_commits pc
             JOIN commit_sessions cs ON cs.commit_sha = pc.commit_sha
             WHERE pc.pr = p.number AND pc.reached_merge = 1) AS cost_usd
        FROM pull_requests p LEFT JOIN pr_figures f ON f.pr = p.number"""))
    existing = {n: sql for n, sql in db.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'view'")}
    for name, sql in views:
        if existing.get(name) != sql:
            db.execute(f"DROP VIEW IF EXISTS {name}")
            db.execute(sql)
