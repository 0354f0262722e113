"""``gitroi org report``: the figures of every exported repository, from one set of formulas.

The headline and each ``--by`` view are :mod:`gitroi.ledger.formulas` run by
an engine (:mod:`gitroi.org.engines`) over the exported fact tables, finished
by :func:`gitroi.report.figures.finish`: the very code path of ``gitroi
report``, so the organisation's tokens, AI lines, surviving lines and merged
PRs are the sums of its repositories' (``tests/test_org.py`` holds them to it).
The JSON is ``gitroi.org-report/1`` (``docs/org.md``): ``gitroi.report/1``'s
headline and rows, plus the repositories, teams and what was ignored.
"""

from __future__ import annotations

import fnmatch
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitroi.errors import GitroiError
from gitroi.ledger.formulas import (
    LINE_KEYS,
    TOKEN_KEYS,
    Tables,
    _bound,
    exploration_sql,
    figure_sql,
)
from gitroi.org import summary
from gitroi.org.dataset import FACT_TABLES, read_dataset
from gitroi.org.engines import Engine, open_engine, register_dataset
from gitroi.org.summary import grain_of
from gitroi.report.figures import PER_PERSON_NOTE, finish
from gitroi.report.figures import normalise_by as report_normalise_by

SCHEMA = "gitroi.org-report/1"
BY_CHOICES = ("repo", "team", "agent", "model", "provider", "week", "month", "author", "path",
              "symbol")
NO_TEAM = "(no team)"


def normalise_by(by: Sequence[str]) -> list[str]:
    """``report``'s key rule (:func:`gitroi.report.figures.normalise_by`) over the org's keys."""
    return report_normalise_by(by, BY_CHOICES)


def load_teams(path: Path) -> list[tuple[str, list[str]]]:
    """``[(team, [repository globs])]`` from a TOML file, in the file's order.

    Either a ``[teams]`` table or top-level keys: ``payments = ["github.com/acme/pay-*"]``.
    A repository goes to the first team with a glob that matches its name.
    """
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GitroiError(f"cannot read the teams file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise GitroiError(f"the teams file {path} is not valid TOML: {exc}",
                          hint='e.g. payments = ["github.com/acme/pay-*"]') from exc
    table = data.get("teams", data)
    out: list[tuple[str, list[str]]] = []
    for team, globs in table.items():
        if isinstance(globs, str):
            globs = [globs]
        if not isinstance(globs, list) or not all(isinstance(g, str) for g in globs):
            raise GitroiError(f"{path}: team {team!r} must map to a list of repository globs",
                              hint=f'{team} = ["github.com/acme/*"]')
        out.append((str(team), list(globs)))
    return out


def team_of(repo: str, teams: Sequence[tuple[str, list[str]]]) -> str:
    for team, globs in teams:
        if any(fnmatch.fnmatchcase(repo, g) for g in globs):
            return team
    return NO_TEAM


def compute(src: str, *, by: Sequence[str] = (), since: str | None = None,
            until: str | None = None, teams: Sequence[tuple[str, list[str]]] = (),
            engine: str = "duckdb", spark_remote: str | None = None,
            charts: bool = False, use_summary: bool = True) -> dict[str, Any]:
    """The org report's data (``gitroi.org-report/1``); ``charts`` adds what the HTML draws.

    ``use_summary=False`` computes every figure from the fact tables (what the
    summary is tested against).
    """
    keys = normalise_by(by)
    _bound(since)
    _bound(until)
    ds = read_dataset(src)
    # The per-repository summary answers unbounded views by one grain (and the charts): a
    # few rows per repository instead of every commit (gitroi.org.summary).
    quick = use_summary and since is None and until is None
    from_summary = quick and grain_of(keys) is not None
    need = [*(("summary",) if quick else ()), *(() if from_summary else FACT_TABLES)]
    work = tempfile.TemporaryDirectory(prefix="gitroi-org-") if not ds.store.local else None
    eng = open_engine(engine, spark_remote=spark_remote)
    try:
        # Several queries over the summary (a view, the HTML's charts): read it once.
        cache = ("summary",) if quick and (keys or charts) else ()
        register_dataset(eng, ds, need, work, cache=cache)
        repos = sorted(e.repo for e in ds.exports)
        eng.register_rows("teams", ("repo", "team"), [(r, team_of(r, teams)) for r in repos])
        headline = (_summary_headline(eng) if quick else _headline(eng, since, until))
        data: dict[str, Any] = {"headline": headline,
                                "rows": _rows(eng, keys, since, until, from_summary) if keys else []}
        data["headline"]["repositories"] = len(ds.exports)
        if charts:
            # What the page draws, no more: its provider and agent charts show no merged PRs
            # (the costliest query at token grain, when the fact tables are read).
            data["charts"] = {
                name: _rows(eng, [key], since, until, quick, with_prs=prs)
                for name, key, prs in (("repos", "repo", True), ("months", "month", True),
                                       ("providers", "provider", False),
                                       ("agents", "agent", False))}
            data["charts"]["repo_months"] = _series_months(eng, data["charts"]["repos"], since,
                                                           until, quick)
    finally:
        eng.close()
        if work is not None:
            work.cleanup()
    notes: list[str] = []
    h = data["headline"]
    if h["ai_lines_commit_level"]:
        notes.append(
            f"{h['ai_lines_commit_level']:,} of {h['ai_lines']:,} AI lines are counted at commit "
            "level (no transcript: every line added by an AI-attributed commit counts).")
    if h["unanalysed"]:
        notes.append(f"{h['unanalysed']:,} AI lines are not analysed yet (no survival outcome).")
    if h["unpriced_models"]:
        notes.append("No price for model(s) " + ", ".join(h["unpriced_models"])
                     + ": their tokens are counted, their cost is not.")
    for what in ds.ignored:
        notes.append(f"Ignored {what}.")
    if "author" in keys:
        notes.append(PER_PERSON_NOTE)
    return {
        "schema": SCHEMA,
        "repo": f"{len(ds.exports)} repositories",
        "source": src,
        "engine": engine,
        "by": keys,
        "since": since,
        "until": until,
        "per_person": "author" in keys,
        "repositories": [{"repo": e.repo, "team": team_of(e.repo, teams), "export": e.export_id,
                          "exported_at": e.pointer.get("exported_at"),
                          "gitroi_version": e.pointer.get("gitroi_version")}
                         for e in sorted(ds.exports, key=lambda e: e.repo)],
        "ignored": list(ds.ignored),
        **data,
        "notes": notes,
    }


def _rows(eng: Engine, keys: list[str], since: str | None, until: str | None,
          from_summary: bool, teams: str = "teams", with_prs: bool = True
          ) -> list[dict[str, Any]]:
    """The rows by ``keys``; ``teams``: the table that maps each repository to its "team".

    ``with_prs=False``: no merged PRs (None, as at line grain), for rows that do not show them.
    """
    tables = Tables({"teams": teams})
    line_grain = any(k in LINE_KEYS for k in keys) or not with_prs
    explo_keys = all(k in ("repo", "team", *TOKEN_KEYS) for k in keys)
    prs: dict[tuple[Any, ...], dict[str, Any]] | None = None
    explo: dict[tuple[Any, ...], dict[str, Any]] = {}
    if from_summary:
        raw = eng.query(summary.figures_sql(keys, teams=teams))
        if explo_keys:
            explo = {tuple(r[k] for k in keys): r for r in raw}
    else:
        sql, pr_sql = figure_sql(keys, tables, since=since, until=until)
        raw = eng.query(sql)
        prs = {} if line_grain else {tuple(r[k] for k in keys): r for r in eng.query(pr_sql)}
        if explo_keys:
            explo = {tuple(r[k] for k in keys): r
                     for r in eng.query(exploration_sql(keys, tables, since=since, until=until))}
    out = []
    for r in raw:
        key = tuple(r[k] for k in keys)
        q = r if prs is None else prs.get(key, {})
        r["merged_prs"] = None if line_grain else int(q.get("merged_prs") or 0)
        r["pr_cost_usd"] = q.get("pr_cost_usd")
        r["pr_tokens"] = q.get("pr_tokens") or 0
        row = {k: r[k] for k in keys}
        row.update(finish(r))
        if explo:
            e = explo.get(key, {})
            row["exploration_tokens"] = int(e.get("exploration_tokens") or 0)
            row["exploration_cost_usd"] = (None if e.get("exploration_cost_usd") is None
                                           else round(float(e["exploration_cost_usd"]), 6))
        out.append(row)
    out.sort(key=lambda row: tuple((row[k] is None, str(row[k])) for k in keys))
    return out


#: Repositories the HTML draws as their own line over time; the others are one line.
SERIES = 10


def _series_months(eng: Engine, repos: list[dict[str, Any]], since: str | None,
                   until: str | None, quick: bool) -> list[dict[str, Any]]:
    """Figures by month for the :data:`SERIES` repositories that spend most, and the rest pooled.

    The pool is a group like a team (a ``chart_series`` table maps each repository
    to its line), so its ratios come from its sums, as every group's do.
    """
    spend = {r["repo"]: r.get("cost_usd") or 0 for r in repos}
    top = sorted(spend, key=lambda name: (-spend[name], name))[:SERIES]
    rest = f"(the other {len(spend) - len(top)} repositories)"
    eng.register_rows("chart_series", ("repo", "team"),
                      [(r, r if r in top else rest) for r in sorted(spend)])
    rows = _rows(eng, ["team", "month"], since, until, quick, teams="chart_series")
    return [{"series": r.pop("team"), **r} for r in rows]


def _headline(eng: Engine, since: str | None, until: str | None) -> dict[str, Any]:
    """The headline from the fact tables (time bounds apply to each commit's time)."""
    tables = Tables()
    head_sql, head_pr = figure_sql([], tables, since=since, until=until)
    raw = eng.query(head_sql)[0]
    pr = eng.query(head_pr)[0]
    raw["merged_prs"] = int(pr.get("merged_prs") or 0)
    raw["pr_cost_usd"] = pr.get("pr_cost_usd")
    raw["pr_tokens"] = pr.get("pr_tokens") or 0
    headline = finish(raw)
    explo = eng.query(exploration_sql([], tables, since=since, until=until))[0]
    headline["exploration_tokens"] = int(explo.get("exploration_tokens") or 0)
    headline["exploration_sessions"] = int(explo.get("exploration_sessions") or 0)
    headline["ai_lines_line_level"] = int(raw.get("ai_lines_line_level") or 0)
    headline["ai_lines_commit_level"] = int(raw.get("ai_lines_commit_level") or 0)
    conds = []
    if s := _bound(since):
        conds.append(f"merged_at >= {s}")
    if u := _bound(until):
        conds.append(f"merged_at < {u}")
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    prs = eng.query(f"SELECT COUNT(*) AS n, SUM(COALESCE(review_churn, 0)) AS churn "
                    f"FROM pull_requests {where}")[0]
    headline["prs_in_history"] = int(prs.get("n") or 0)
    headline["review_churn"] = int(prs.get("churn") or 0)
    cwhere = " AND ".join(c.replace("merged_at", "c.committed_at") for c in conds)
    priced = round(float(raw.get("priced_tokens") or 0))
    unpriced = [] if priced >= headline["tokens"] else eng.query(
        "SELECT DISTINCT tf.model AS model FROM token_facts tf JOIN commit_facts c "
        "ON c.repo = tf.repo AND c.sha = tf.sha WHERE tf.cost_usd IS NULL AND tf.model <> ''"
        + (f" AND {cwhere}" if cwhere else "") + " ORDER BY 1")
    headline["unpriced_models"] = [r["model"] for r in unpriced]
    headline["unpriced_tokens"] = max(0, headline["tokens"] - priced)
    return headline


def _summary_headline(eng: Engine) -> dict[str, Any]:
    """:func:`_headline` from the summary: the same figures, a few rows per repository read."""
    raw = eng.query(summary.figures_sql([]))[0]
    raw["merged_prs"] = int(raw.get("merged_prs") or 0)
    raw["pr_tokens"] = raw.get("pr_tokens") or 0
    headline = finish(raw)
    explo = raw
    headline["exploration_tokens"] = int(explo.get("exploration_tokens") or 0)
    headline["exploration_sessions"] = int(explo.get("exploration_sessions") or 0)
    headline["ai_lines_line_level"] = int(raw.get("ai_lines_line_level") or 0)
    headline["ai_lines_commit_level"] = int(raw.get("ai_lines_commit_level") or 0)
    headline["prs_in_history"] = int(raw.get("prs_in_history") or 0)
    headline["review_churn"] = int(raw.get("review_churn") or 0)
    priced = round(float(raw.get("priced_tokens") or 0))
    unpriced = [] if priced >= headline["tokens"] else eng.query(summary.unpriced_sql())
    headline["unpriced_models"] = [r["model"] for r in unpriced]
    headline["unpriced_tokens"] = max(0, headline["tokens"] - priced)
    return headline
