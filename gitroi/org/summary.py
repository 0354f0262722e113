"""The per-repository summary an export writes beside its facts, so the org report reads thousands of rows.

An organisation's headline summed straight from the fact tables reads every
commit, token slice and exploration event of every repository (millions of
rows in thousands of files) and counts distinct commits and PRs over them.
But every figure of the headline, and of the views by one commit-grain or
token-grain key, is a sum of per-repository figures: tokens, lines and cost
add up, and the distinct counts (commits, merged PRs, exploration sessions)
are keyed by repository, so they add up across repositories too.  So the
export runs the report's own formulas (:mod:`gitroi.ledger.formulas`) for
the repository once per *grain* (none, week, month, agent, model, provider)
and writes the sums as the ``summary`` table; ``org report`` adds the rows of
the repositories up.  A repository's rows are, by construction, what its own
``gitroi report --by GRAIN`` sums; the org's are their sums (``tests/test_org.py``
holds the summary path to the fact-table path, view by view).

Views the summary cannot answer (time bounds, ``--by author``/``pr``/``path``/
``symbol``, two grains at once) are computed from the fact tables, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gitroi.ledger.formulas import SUMS, TOKEN_KEYS, Tables, exploration_sql, figure_sql

if TYPE_CHECKING:
    from sqlite_utils import Database

#: The grains summarised: '' (the headline) and each single key the summary can answer.
GRAINS = ("", "week", "month", "agent", "model", "provider")
#: Keys that are per repository, so any grain can be grouped by them as well.
REPO_KEYS = ("repo", "team")
#: Grain of the rows naming the repository's unpriced models (one row each, sums null).
UNPRICED = "unpriced"
#: Summed per group beside :data:`SUMS`; the counts are distinct within the repository.
EXTRA = ("commits", "merged_prs", "pr_cost_usd", "pr_tokens", "exploration_tokens",
         "exploration_sessions", "exploration_cost_usd", "prs_in_history", "review_churn")
#: Columns that hold money (float); every other summed column is an integer.
MONEY = ("cost_usd", "pr_cost_usd", "exploration_cost_usd")
COLUMNS = ("figures", *SUMS, *EXTRA)


def grain_of(keys: Sequence[str]) -> str | None:
    """The summary grain answering ``--by keys``, or None when only the fact tables can."""
    rest = [k for k in keys if k not in REPO_KEYS]
    if not rest:
        return ""
    if len(rest) == 1 and rest[0] in GRAINS:
        return rest[0]
    return None


def _num(col: str, value: Any) -> Any:
    if value is None:
        return None
    return float(value) if col in MONEY else round(value)


def summary_rows(db: Database, repo: str, tables: Tables,
                 prs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``summary`` rows of one repository: its figures per grain, from the fact tables built.

    ``tables`` are the repository's fact tables (``gitroi.ledger.facts.build``,
    with ``exploration``); ``prs`` its merged PRs (the ``pull_requests`` rows).
    """
    from gitroi.ledger.facts import query

    out: list[dict[str, Any]] = []
    for grain in GRAINS:
        keys = [grain] if grain else []
        sql, pr_sql = figure_sql(keys, tables)
        figs = {(r[grain] if grain else ""): r for r in query(db, sql)}
        pr = {(r[grain] if grain else ""): r for r in query(db, pr_sql)}
        explo: dict[Any, dict[str, Any]] = {}
        if not grain or grain in TOKEN_KEYS:
            explo = {(r[grain] if grain else ""): r
                     for r in query(db, exploration_sql(keys, tables))}
        for value in sorted({*figs, *explo}, key=lambda v: (v is None, str(v))):
            f, q, e = figs.get(value), pr.get(value, {}), explo.get(value, {})
            row: dict[str, Any] = {"repo": repo, "grain": grain, "grain_value": value,
                                   "figures": 1 if f is not None else 0}
            for s in SUMS:
                row[s] = _num(s, f.get(s)) if f is not None else None
            row["commits"] = int(f.get("commits") or 0) if f is not None else None
            row["merged_prs"] = int(q.get("merged_prs") or 0) if f is not None else None
            row["pr_cost_usd"] = _num("pr_cost_usd", q.get("pr_cost_usd"))
            row["pr_tokens"] = _num("pr_tokens", q.get("pr_tokens") or 0) if f is not None \
                else None
            row["exploration_tokens"] = _num("exploration_tokens", e.get("exploration_tokens"))
            row["exploration_sessions"] = _num("exploration_sessions",
                                               e.get("exploration_sessions"))
            row["exploration_cost_usd"] = _num("exploration_cost_usd",
                                               e.get("exploration_cost_usd"))
            row["prs_in_history"] = len(prs) if not grain else None
            row["review_churn"] = (sum(int(p.get("review_churn") or 0) for p in prs)
                                   if not grain else None)
            out.append(row)
    t = tables
    for (model,) in db.conn.execute(
            f"SELECT DISTINCT tf.model FROM {t['token_facts']} tf JOIN {t['commit_facts']} c "
            "ON c.repo = tf.repo AND c.sha = tf.sha WHERE tf.cost_usd IS NULL AND tf.model <> '' "
            "ORDER BY 1"):
        out.append({"repo": repo, "grain": UNPRICED, "grain_value": model, "figures": 0,
                    **{c: None for c in COLUMNS if c != "figures"}})
    return out


def _sum(col: str) -> str:
    return f"SUM(s.{col}) AS {col}"


def figures_sql(keys: Sequence[str], table: str = "summary", teams: str = "teams") -> str:
    """Per group of ``keys``: the summed figures (:data:`SUMS`, ``commits``, merged PRs and
    what their commits cost) and exploration, from the summary rows of the grain answering ``keys``.

    One pass: a repository's row for a group the figure query did not return
    (``figures = 0``: a model used only while exploring) has null figures and
    only adds exploration; a group no repository has figures for is no row,
    as in the report.  Exploration sums are null at the week and month grains.
    """
    grain = grain_of(keys)
    if grain is None:
        raise ValueError(f"the summary cannot answer --by {keys}")
    dims = [_dim(k, grain) for k in keys]
    sel = "".join(f"{d} AS {k}, " for d, k in zip(dims, keys, strict=True))
    join = f" LEFT JOIN {teams} tm ON tm.repo = s.repo" if "team" in keys else ""
    group = ("GROUP BY " + ", ".join(dims)) if keys else ""
    sums = ", ".join(_sum(c) for c in (*SUMS, *EXTRA))
    return (f"SELECT {sel}{sums} FROM {table} s{join} WHERE s.grain = '{grain}' {group} "
            "HAVING SUM(s.figures) > 0")


def unpriced_sql(table: str = "summary") -> str:
    return f"SELECT DISTINCT grain_value AS model FROM {table} WHERE grain = '{UNPRICED}' ORDER BY 1"


def _dim(key: str, grain: str) -> str:
    if key == "repo":
        return "s.repo"
    if key == "team":
        return "COALESCE(tm.team, '(no team)')"
    assert key == grain
    return "s.grain_value"
