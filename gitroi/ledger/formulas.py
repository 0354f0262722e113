"""The figures of DESIGN.md ("The figures") as SQL over fact tables, written once for every engine.

``gitroi report`` runs these queries on SQLite over fact tables it builds from
the ledger (:mod:`gitroi.ledger.facts`); ``gitroi export`` writes those same
fact tables to Parquet, and ``gitroi org report`` runs these same queries over
the Parquet files with DuckDB or Spark SQL.  So an organisation's figure is
the sum of its repositories' figures by construction, not by a second
implementation that happens to agree.

The SQL keeps to a subset the three dialects share: ``SUM``, ``COUNT(DISTINCT
x)`` on one expression, ``CASE``, ``COALESCE``, ``||`` on strings,
``CAST(x AS DOUBLE)``, ``UNION ALL``, joins, sub-selects; no parameters (the
only literals, the time bounds, are checked to be canonical timestamps and
inlined), no JSON functions, no date functions (the week and month of a
commit are columns of the facts).  Ratios and rounding are applied afterwards,
in Python, by :func:`gitroi.report.figures.finish`, to the sums these queries
return: that step too is shared by every engine.

The fact tables (columns documented in ``docs/export.md``):

* ``commit_facts``: one row per commit in scope with tokens or AI lines: its
  repository, time, week, month, author, attribution, attributed tokens (four
  parts and reasoning), cost, priced tokens, AI lines and their outcomes;
* ``token_facts``: the commit's tokens per (session, model), with agent and
  provider;
* ``commit_agents``: which (agent, model, provider) worked on a commit's lines
  (its sessions', else the agents its markers name with model '');
* ``line_facts``: the commit's AI lines per (path, symbol) and outcome;
* ``pr_commits``: commits that reached a merged PR, with ``pr_key`` (the
  repository and the PR number, unique across repositories);
* ``teams`` (org only): repository -> team.

Grains follow the report's rules: keys at commit grain (repo, team, week,
month, author, pr) group both tokens and lines exactly; keys at token grain
(agent, model, provider) group tokens exactly and give a commit's lines to
every agent/model that worked on it; keys at line grain (path, symbol) group
lines exactly and split a commit's tokens over its paths in proportion to its
AI lines there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

COMMIT_KEYS = ("repo", "team", "week", "month", "author", "pr")
TOKEN_KEYS = ("agent", "model", "provider")
LINE_KEYS = ("path", "symbol")
KEYS = (*COMMIT_KEYS, *TOKEN_KEYS, *LINE_KEYS)
TOKEN_PARTS = ("input", "cache_write", "cache_read", "output", "reasoning")
OUTCOMES = ("surviving", "churned", "reverted", "deleted_later", "unanalysed")
#: The sums every figure query returns per group (and ``commits``).
SUMS = ("tokens", *TOKEN_PARTS, "cost_usd", "priced_tokens", "ai_lines", *OUTCOMES, "carried",
        "ai_lines_line_level", "ai_lines_commit_level")
FACT_TABLES = ("commit_facts", "token_facts", "commit_agents", "line_facts", "pr_commits")

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T[0-9:.]+Z$")
_FOUR = ("input", "cache_write", "cache_read", "output")


@dataclass(frozen=True)
class Tables:
    """Where each fact table is, by engine (SQLite temp tables, DuckDB/Spark views over Parquet)."""

    names: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, fact: str) -> str:
        return self.names.get(fact, fact)


def _bound(value: str | None) -> str | None:
    if value is None:
        return None
    if not _ISO.match(value):
        raise ValueError(f"not a canonical time: {value!r}")
    return f"'{value}'"


def _where(since: str | None, until: str | None) -> str:
    conds = []
    if (s := _bound(since)) is not None:
        conds.append(f"c.committed_at >= {s}")
    if (u := _bound(until)) is not None:
        conds.append(f"c.committed_at < {u}")
    return ("WHERE " + " AND ".join(conds)) if conds else ""


def _dim(key: str, side: str) -> str:
    """SQL for ``key`` on the token side (``t``), the line side (``l``) or commit grain (``c``)."""
    if key in ("repo", "week", "month"):
        return f"c.{key}"
    if key == "team":
        return "COALESCE(tm.team, '(no team)')"
    if key == "author":
        return "COALESCE(c.author_name, '') || ' <' || COALESCE(c.author_email, '') || '>'"
    if key == "pr":
        return "pc.pr"
    if key in TOKEN_KEYS:
        return f"tf.{key}" if side == "t" else f"COALESCE(w.{key}, 'unknown')"
    if key in LINE_KEYS:
        return f"COALESCE(sh.{key}, '')" if side == "t" else f"lf.{key}"
    raise ValueError(f"unknown figure key {key!r}")


def _joins(keys: Sequence[str], t: Tables) -> str:
    out = ""
    if "team" in keys:
        out += f" LEFT JOIN {t['teams']} tm ON tm.repo = c.repo"
    if "pr" in keys:
        out += f" LEFT JOIN {t['pr_commits']} pc ON pc.repo = c.repo AND pc.sha = c.sha"
    return out


def _dbl(x: str) -> str:
    return f"CAST({x} AS DOUBLE)"


def figure_sql(keys: Sequence[str], tables: Tables | None = None, *, since: str | None = None,
               until: str | None = None) -> tuple[str, str]:
    """(figures, merged PRs) SELECTs per group of ``keys``: raw sums, one row per group.

    The first returns the keys, :data:`SUMS` and ``commits``; the second the
    keys, ``merged_prs`` (distinct merged PRs among the group's commits),
    ``pr_cost_usd`` and ``pr_tokens`` (what those commits cost).  ``since`` and
    ``until`` bound the commit time (canonical ``...Z`` timestamps).
    """
    t = tables or Tables()
    keys = list(keys)
    for k in keys:
        _dim(k, "c")
    tkeys = [k for k in keys if k in TOKEN_KEYS]
    lkeys = [k for k in keys if k in LINE_KEYS]
    where = _where(since, until)
    names = ", ".join(keys)
    group = f"GROUP BY {names}" if keys else ""
    cf = t["commit_facts"]
    if not tkeys and not lkeys:
        # Commit grain: one pass over the per-commit facts.
        dims = "".join(f"{_dim(k, 'c')} AS {k}, " for k in keys)
        cols = ", ".join(f"c.{s} AS {s}" for s in SUMS)
        # One row per commit here (a commit in two PRs counts in each PR's group), so a plain
        # count is the distinct count, without hashing a million keys.
        sums = ", ".join([f"SUM(u.{s}) AS {s}" for s in SUMS] + ["COUNT(*) AS commits"])
        base = f"FROM {cf} c{_joins(keys, t)}"
        head = f"SELECT {names + ', ' if keys else ''}"
        sql = f"""{head}{sums} FROM (
              SELECT {dims}{cols} {base} {where}) u {group}"""
        pr_sql = f"""{head}COUNT(DISTINCT u.pr_key) AS merged_prs,
            SUM(u.cost_usd) AS pr_cost_usd, SUM(u.tokens) AS pr_tokens FROM (
              SELECT {dims}pc2.pr_key AS pr_key, c.cost_usd AS cost_usd, c.tokens AS tokens {base}
              JOIN {t['pr_commits']} pc2 ON pc2.repo = c.repo AND pc2.sha = c.sha {where}) u
            {group}"""
        return sql, pr_sql

    # Token side: the token facts (per session and model) when a key needs them, else the
    # commit's totals; at line grain each commit's tokens are shared over its paths (frac).
    ctes: list[str] = []
    if lkeys:
        lsel = ", ".join(f"lf.{k}" for k in lkeys)
        ctes.append(f"""ctot AS (
            SELECT repo, sha, SUM(ai_lines) AS lines FROM {t['line_facts']} GROUP BY repo, sha)""")
        ctes.append(f"""sh AS (
            SELECT lf.repo, lf.sha, {lsel},
              {_dbl('SUM(lf.ai_lines)')} / ctot.lines AS frac
            FROM {t['line_facts']} lf JOIN ctot ON ctot.repo = lf.repo AND ctot.sha = lf.sha
            WHERE ctot.lines > 0 GROUP BY lf.repo, lf.sha, {lsel}, ctot.lines)""")
    if tkeys:
        wsel = ", ".join(tkeys)
        ctes.append(f"""w AS (SELECT DISTINCT repo, sha, {wsel} FROM {t['commit_agents']})""")
    f = "COALESCE(sh.frac, CAST(1 AS DOUBLE))" if lkeys else "CAST(1 AS DOUBLE)"
    frac_join = " LEFT JOIN sh ON sh.repo = c.repo AND sh.sha = c.sha" if lkeys else ""
    if tkeys:
        tsrc = f"{t['token_facts']} tf JOIN {cf} c ON c.repo = tf.repo AND c.sha = tf.sha"
        four = " + ".join(f"tf.{p}" for p in _FOUR)
        tparts = ", ".join(f"tf.{p} * {f} AS {p}" for p in TOKEN_PARTS)
        tcost = f"tf.cost_usd * {f}"
        tpriced = f"CASE WHEN tf.cost_usd IS NULL THEN 0 ELSE ({four}) * {f} END"
        ttokens = f"({four}) * {f}"
    else:
        tsrc = f"{cf} c"
        tparts = ", ".join(f"c.{p} * {f} AS {p}" for p in TOKEN_PARTS)
        tcost = f"c.cost_usd * {f}"
        tpriced = f"c.priced_tokens * {f}"
        ttokens = f"c.tokens * {f}"
    tdims = "".join(f"{_dim(k, 't')} AS {k}, " for k in keys)
    ldims = "".join(f"{_dim(k, 'l')} AS {k}, " for k in keys)
    zeros_lines = ", ".join(f"0 AS {o}" for o in (*OUTCOMES, "carried"))
    token_side = f"""
        SELECT {tdims}{ttokens} AS tokens, {tparts}, {tcost} AS cost_usd,
          {tpriced} AS priced_tokens, 0 AS ai_lines, {zeros_lines},
          0 AS ai_lines_line_level, 0 AS ai_lines_commit_level, c.repo AS repo_, c.sha AS sha_
        FROM {tsrc}{frac_join}{_joins(keys, t)} {where}"""
    if lkeys:
        lsrc = f"{t['line_facts']} lf JOIN {cf} c ON c.repo = lf.repo AND c.sha = lf.sha"
        lalias = "lf"
    else:
        lsrc = f"{cf} c"
        lalias = "c"
    who_join = " LEFT JOIN w ON w.repo = c.repo AND w.sha = c.sha" if tkeys else ""
    zeros_tokens = ", ".join(f"0 AS {p}" for p in TOKEN_PARTS)
    line_level = "c.attribution IN ('line', 'manual')"
    line_side = f"""
        SELECT {ldims}0 AS tokens, {zeros_tokens}, CAST(NULL AS DOUBLE) AS cost_usd,
          0 AS priced_tokens, {lalias}.ai_lines AS ai_lines,
          {", ".join(f"{lalias}.{o} AS {o}" for o in (*OUTCOMES, "carried"))},
          CASE WHEN {line_level} THEN {lalias}.ai_lines ELSE 0 END AS ai_lines_line_level,
          CASE WHEN {line_level} THEN 0 ELSE {lalias}.ai_lines END AS ai_lines_commit_level,
          c.repo AS repo_, c.sha AS sha_
        FROM {lsrc}{who_join}{_joins(keys, t)} {where}"""
    with_ = ("WITH " + ",\n".join(ctes) + "\n") if ctes else ""
    union = f"({token_side}\n      UNION ALL{line_side}) u"
    sums = ", ".join([f"SUM(u.{s}) AS {s}" for s in SUMS]
                     + ["COUNT(DISTINCT u.repo_ || ':' || u.sha_) AS commits"])
    sel = "".join(f"u.{k} AS {k}, " for k in keys)
    ugroup = ("GROUP BY " + ", ".join(f"u.{k}" for k in keys)) if keys else ""
    sql = f"{with_}SELECT {sel}{sums} FROM {union} {ugroup}"
    pr_sql = f"""{with_}SELECT {sel}COUNT(DISTINCT pc2.pr_key) AS merged_prs,
        SUM(u.cost_usd) AS pr_cost_usd, SUM(u.tokens) AS pr_tokens
      FROM {union} JOIN {t['pr_commits']} pc2 ON pc2.repo = u.repo_ AND pc2.sha = u.sha_ {ugroup}"""
    return sql, pr_sql


def exploration_sql(keys: Sequence[str], tables: Tables | None = None, *,
                    since: str | None = None, until: str | None = None) -> str:
    """Exploration tokens and sessions per group of ``keys`` (repo, team, agent, model, provider).

    Over ``exploration`` rows: the usage events no commit slice covers (one row
    per session, model and event time), as :func:`gitroi.ledger.facts.exploration_sql`
    selects them.  Time bounds apply to the event time.
    """
    t = tables or Tables()
    conds = []
    if (s := _bound(since)) is not None:
        conds.append(f"e.ts >= {s}")
    if (u := _bound(until)) is not None:
        conds.append(f"e.ts < {u}")
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    dims = []
    join = ""
    for k in keys:
        if k == "team":
            join = f" LEFT JOIN {t['teams']} tm ON tm.repo = e.repo"
            dims.append("COALESCE(tm.team, '(no team)') AS team")
        elif k in ("repo", "agent", "model", "provider"):
            dims.append(f"e.{k} AS {k}")
        else:
            raise ValueError(f"exploration has no {k!r}")
    four = " + ".join(f"e.{p}" for p in _FOUR)
    names = ", ".join(keys)
    return f"""SELECT {names + ', ' if keys else ''}SUM(tokens) AS exploration_tokens,
        COUNT(DISTINCT session_) AS exploration_sessions, SUM(cost_usd) AS exploration_cost_usd
      FROM (SELECT {"".join(d + ", " for d in dims)}{four} AS tokens, e.cost_usd,
              e.repo || ':' || e.session_key AS session_
            FROM {t['exploration']} e{join} {where}) x
      {"GROUP BY " + names if keys else ""}"""
