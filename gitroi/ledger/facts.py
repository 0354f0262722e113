"""The fact tables of :mod:`gitroi.ledger.formulas`, built from one repository's ledger.

``gitroi report`` builds them as SQLite temp tables for the scope that
:func:`gitroi.ledger.figures.materialise` made available and runs the figure
formulas over them; ``gitroi export`` builds the same tables for the default
scope and writes them to Parquet.  One definition of each fact, so the
repository's report and its share of the organisation's report agree exactly.

Each model's provider (anthropic, openai, google, ...) comes from the caller
(the price table's ``litellm_provider``: the ledger layer does not read the
price table itself), and is kept in ``temp.gf_providers``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gitroi.ledger.figures import _CF_T, _SCOPE_T, _UNANALYSED, FACTS_META, OUTCOMES, WEEK_SQL
from gitroi.ledger.formulas import LINE_KEYS, TOKEN_KEYS, Tables, figure_sql

TYPE_CHECKING = False  # not from typing: sqlite-utils is imported only where a ledger is opened
if TYPE_CHECKING:
    from sqlite_utils import Database

ProviderOf = Callable[[str], "str | None"]

#: Temp table (or view) holding each fact for the current report.
TEMP = {
    "commit_facts": "temp.gf_commit_facts",
    "token_facts": "temp.gf_token_facts",
    "commit_agents": "temp.gf_commit_agents",
    "line_facts": "temp.gf_line_facts",
    "pr_commits": "temp.gf_pr_commits",
    "exploration": "temp.gf_exploration",
}
TABLES = Tables(TEMP)
_PROVIDERS = "temp.gf_providers"

_OUTCOME_SUMS = ", ".join(
    f"SUM(CASE WHEN lo.outcome = '{o}' THEN lo.lines ELSE 0 END) AS {o}" for o in OUTCOMES[:-1])


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _drop(db: Database, name: str) -> None:
    bare = name.split(".", 1)[1]
    row = db.conn.execute("SELECT type FROM sqlite_temp_master WHERE name = ?", [bare]).fetchone()
    if row:
        db.conn.execute(f"DROP {row[0].upper()} {name}")


def _providers(db: Database, provider_of: ProviderOf | None) -> None:
    """``temp.gf_providers``: model -> provider for every model the ledger names."""
    _drop(db, _PROVIDERS)
    db.conn.execute(f"CREATE TABLE {_PROVIDERS} (model TEXT PRIMARY KEY, provider TEXT)")
    models = {r[0] for r in db.conn.execute(
        "SELECT DISTINCT m.key FROM commit_sessions cs, json_each(CASE WHEN cs.models IN "
        "('', '{}') THEN NULL ELSE cs.models END) m")}
    models |= {r[0] for r in db.conn.execute("SELECT DISTINCT model FROM usage_events")}
    rows = [(m, (provider_of(m) if provider_of else None) or "unknown") for m in models if m]
    db.conn.executemany(f"INSERT INTO {_PROVIDERS} VALUES (?, ?)", rows)


def commit_facts_sql(repo: str, *, cf: str = _CF_T) -> str:
    """The ``commit_facts`` rows of the per-commit facts ``cf`` (the materialised scope's)."""
    return f"""SELECT {_lit(repo)} AS repo, sha, committed_at,
          {WEEK_SQL.format(col="committed_at")} AS week, substr(committed_at, 1, 7) AS month,
          author_name, author_email, attribution, agents, tokens, input, cache_write, cache_read,
          output, reasoning, cost_usd, priced_tokens, ai_lines, {", ".join(OUTCOMES)}, carried,
          ai_lines_line_level, ai_lines_commit_level
        FROM {cf}"""


def token_facts_sql(repo: str, *, scope: str = _SCOPE_T, providers: str = _PROVIDERS) -> str:
    """A commit's tokens per (session, model): ``commit_sessions`` split by its ``models`` JSON."""
    return f"""SELECT {_lit(repo)} AS repo, x.sha, x.session_key, x.agent, x.model,
          COALESCE(p.provider, 'unknown') AS provider, x.input, x.cache_write, x.cache_read,
          x.output, x.reasoning, x.cost_usd
        FROM (
          SELECT cs.commit_sha AS sha, cs.session_key, cs.agent, COALESCE(m.key, '') AS model,
            COALESCE(json_extract(m.value, '$.input'), cs.input) AS input,
            COALESCE(json_extract(m.value, '$.cache_write'), cs.cache_write) AS cache_write,
            COALESCE(json_extract(m.value, '$.cache_read'), cs.cache_read) AS cache_read,
            COALESCE(json_extract(m.value, '$.output'), cs.output) AS output,
            COALESCE(json_extract(m.value, '$.reasoning'), cs.reasoning) AS reasoning,
            CASE WHEN m.key IS NULL THEN cs.cost_usd ELSE json_extract(m.value, '$.cost_usd') END
              AS cost_usd
          FROM commit_sessions cs JOIN {scope} s ON s.sha = cs.commit_sha
          LEFT JOIN json_each(CASE WHEN cs.models IN ('', '{{}}') THEN NULL ELSE cs.models END) m
        ) x LEFT JOIN {providers} p ON p.model = x.model"""


def commit_agents_sql(repo: str, *, scope: str = _SCOPE_T,
                      tokens: str = TEMP["token_facts"]) -> str:
    """Who worked on a commit's lines: its sessions' (agent, model, provider), else its markers' agents."""
    return f"""SELECT DISTINCT repo, sha, agent, model, provider FROM {tokens}
        UNION
        SELECT {_lit(repo)}, s.sha, j.value, '', 'unknown' FROM {scope} s, json_each(s.agents) j
        WHERE s.sha NOT IN (SELECT sha FROM {tokens})"""


def line_facts_sql(repo: str, *, scope: str = _SCOPE_T) -> str:
    """A commit's AI lines per (path, symbol) by outcome, carried lines, and unanalysed commits."""
    return f"""SELECT {_lit(repo)} AS repo, f.* FROM (
          SELECT lo.commit_sha AS sha, lo.path AS path, lo.symbol AS symbol,
            SUM(lo.lines) AS ai_lines, {_OUTCOME_SUMS}, 0 AS unanalysed, 0 AS carried
          FROM {scope} s JOIN line_outcomes lo ON lo.commit_sha = s.sha AND lo.ai = 1
          GROUP BY lo.commit_sha, lo.path, lo.symbol
          UNION ALL
          SELECT lc.commit_sha, lc.path, '', 0, 0, 0, 0, 0, 0, SUM(lc.lines)
          FROM {scope} s JOIN line_carried lc ON lc.commit_sha = s.sha AND lc.ai = 1
          GROUP BY lc.commit_sha, lc.path
          UNION ALL{_UNANALYSED.format(scope=scope)}) f"""


def pr_commits_sql(repo: str, *, scope: str = _SCOPE_T) -> str:
    """Commits of the scope that reached a merged PR, keyed across repositories by ``pr_key``."""
    return f"""SELECT {_lit(repo)} AS repo, pc.pr AS pr, pc.commit_sha AS sha,
          {_lit(repo + '#')} || pc.pr AS pr_key
        FROM pr_commits pc JOIN pull_requests p ON p.number = pc.pr AND p.merged_at IS NOT NULL
        WHERE pc.reached_merge = 1 AND pc.commit_sha IN (SELECT sha FROM {scope})"""


def exploration_sql(repo: str, roots: Sequence[str] | None) -> tuple[str, list[Any]]:
    """Usage events of the repository's sessions that no commit slice covers (exploration).

    A commit's slice of a session is ``since_ts <= ts <= until_ts`` (see
    :func:`gitroi.ledger.exploration.exploration_tokens` for why ``>=`` is right);
    ``roots`` are the repository's work trees (None: every session).
    """
    params: list[Any] = []
    cond = "1"
    if roots is not None:
        ors = []
        for r in roots:
            r = r.rstrip("/")
            ors.append("(s.cwd = ? OR substr(s.cwd, 1, ?) = ?)")
            params += [r, len(r) + 1, r + "/"]
        cond = "(" + (" OR ".join(ors) or "0") + ")"
    sql = f"""SELECT {_lit(repo)} AS repo, u.session_key, s.agent, u.model,
          COALESCE(p.provider, 'unknown') AS provider, u.ts, u.input, u.cache_write,
          u.cache_read, u.output, u.reasoning, u.cost_usd
        FROM usage_events u JOIN sessions s ON s.key = u.session_key
        LEFT JOIN {_PROVIDERS} p ON p.model = u.model
        WHERE {cond} AND u.rowid NOT IN (
          SELECT u2.rowid FROM commit_sessions cs JOIN usage_events u2
            ON u2.session_key = cs.session_key AND u2.ts >= COALESCE(cs.since_ts, '')
            AND u2.ts <= COALESCE(cs.until_ts, '9999'))"""
    return sql, params


def build(db: Database, repo: str, *, provider_of: ProviderOf | None = None,
          facts: Sequence[str] = ("commit_facts", "token_facts", "commit_agents", "line_facts",
                                  "pr_commits"),
          roots: Sequence[str] | None = None) -> Tables:
    """Create the temp fact tables named in ``facts`` for the materialised scope; their :class:`Tables`.

    ``commit_facts`` is a view (one scan of the cached per-commit facts); the
    others are tables indexed on ``sha``, since the formulas join them.  A
    table already built for this scope and repository name is kept (several
    views of one report share them); :func:`gitroi.ledger.figures.materialise`
    forgets them with the scope.  ``exploration`` is built each time it is
    asked for, over the sessions under ``roots``.
    """
    conn = db.conn
    meta = FACTS_META.split(".", 1)[1]
    have: set[str] = set()
    row = conn.execute("SELECT name FROM sqlite_temp_master WHERE name = ?", [meta]).fetchone()
    if row:
        got = conn.execute(f"SELECT repo, built FROM {FACTS_META}").fetchone()
        if got and got[0] == repo:
            have = set(str(got[1]).split(","))
    if not have:
        for name in (*TEMP.values(), FACTS_META):
            _drop(db, name)
        _providers(db, provider_of)
        conn.execute(f"CREATE TABLE {FACTS_META} (repo TEXT, built TEXT)")
        conn.execute(f"INSERT INTO {FACTS_META} VALUES (?, '')", [repo])
    wanted = set(facts)
    if "commit_agents" in wanted:
        wanted.add("token_facts")
    if "commit_facts" not in have:
        conn.execute(f"CREATE VIEW {TEMP['commit_facts']} AS {commit_facts_sql(repo)}")
        have.add("commit_facts")
    for fact, body in (("token_facts", token_facts_sql), ("commit_agents", commit_agents_sql),
                       ("line_facts", line_facts_sql), ("pr_commits", pr_commits_sql)):
        if fact in wanted and fact not in have:
            conn.execute(f"CREATE TABLE {TEMP[fact]} AS {body(repo)}")
            bare = TEMP[fact].split(".", 1)[1]
            conn.execute(f"CREATE INDEX temp.{bare}_sha ON {bare}(sha)")
            have.add(fact)
    if "exploration" in wanted:
        _drop(db, TEMP["exploration"])
        sql, params = exploration_sql(repo, roots)
        conn.execute(f"CREATE TABLE {TEMP['exploration']} AS {sql}", params)
    conn.execute(f"UPDATE {FACTS_META} SET built = ?", [",".join(sorted(have))])
    if conn.in_transaction:  # only temp tables were written; leave no transaction open
        conn.commit()
    return TABLES


def group_figures(db: Database, keys: Sequence[str], repo: str = "", *,
                  provider_of: ProviderOf | None = None) -> list[dict[str, Any]]:
    """Summed facts per group of ``keys`` over the materialised scope (ratios: ``report.figures.finish``).

    The formulas of :mod:`gitroi.ledger.formulas` over this repository's fact
    tables; ``gitroi org report`` runs the same over every repository's.
    """
    keys = list(keys)
    need = ["commit_facts", "pr_commits"]
    if any(k in TOKEN_KEYS for k in keys):
        need += ["token_facts", "commit_agents"]
    line_grain = any(k in LINE_KEYS for k in keys)
    if line_grain:
        need.append("line_facts")
    tables = build(db, repo, provider_of=provider_of, facts=need)
    sql, pr_sql = figure_sql(keys, tables)
    rows = query(db, sql)
    # PRs per path or symbol mean little (a PR touches many); skip that costly query there.
    prs = {} if line_grain else {tuple(r[k] for k in keys): r for r in query(db, pr_sql)}
    return [attach_prs(r, prs.get(tuple(r[k] for k in keys), {}), line_grain) for r in rows]


def attach_prs(row: dict[str, Any], prs: dict[str, Any], line_grain: bool) -> dict[str, Any]:
    """A group's figures with its merged PRs and what their commits cost (None at line grain)."""
    row["merged_prs"] = None if line_grain else int(prs.get("merged_prs") or 0)
    row["pr_cost_usd"] = prs.get("pr_cost_usd")
    row["pr_tokens"] = prs.get("pr_tokens") or 0
    return row


def query(db: Database, sql: str) -> list[dict[str, Any]]:
    cur = db.conn.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
