"""The report's data: headline and grouped rows, as the ``gitroi.report/1`` JSON contract.

:func:`compute` reads the ledger only (no git, no network), so the GitHub
Action can call it on any ledger and :mod:`gitroi.report.render` can turn its
result into a table, CSV, Markdown or HTML.  Definitions are DESIGN.md's:
``tokens`` are attributed tokens (input + cache write + cache read + output);
exploration is shown beside them, never inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gitroi.errors import GitroiError
from gitroi.wording import plural

if TYPE_CHECKING:
    from sqlite_utils import Database

SCHEMA = "gitroi.report/1"
BY_CHOICES = ("repo", "agent", "model", "provider", "week", "month", "pr", "path", "symbol",
              "author")
TOKEN_SPLIT = ("input", "cache_write", "cache_read", "output", "reasoning")

PER_PERSON_NOTE = ("Per-person figures were requested explicitly (--by author); gitroi never "
                   "shows them by default and they measure outcomes, not people.")


def _r6(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _int(x: Any) -> int:
    return round(float(x)) if x is not None else 0


def finish(raw: dict[str, Any]) -> dict[str, Any]:
    """Ratios and rounding for one group of summed facts."""
    out: dict[str, Any] = {}
    for k in ("tokens", *TOKEN_SPLIT):
        out[k] = _int(raw.get(k))
    out["cost_usd"] = _r6(raw.get("cost_usd"))
    for k in ("ai_lines", "surviving", "churned", "reverted", "deleted_later", "unanalysed"):
        out[k] = _int(raw.get(k))
    # Lines the AI commits added that keep an older origin (moves, reformats): analysed, but
    # followed under the older commit, so not in ai_lines or any ratio; ai_lines + carried is
    # what `git log --numstat` says the commits added.
    out["carried"] = _int(raw.get("carried"))
    ai, surv = out["ai_lines"], out["surviving"]
    # Shares are of the AI lines that have an outcome (all of them once the analysis ran).
    known = ai - out["unanalysed"]
    out["surviving_share"] = round(surv / known, 4) if known > 0 else None
    out["rework_rate"] = (round((out["churned"] + out["reverted"]) / known, 4)
                          if known > 0 else None)
    tokens = float(raw.get("tokens") or 0)
    # No attributed tokens (commit-level evidence only) is "unknown", not "free".
    out["tokens_per_surviving_line"] = round(tokens / surv, 2) if surv and tokens else None
    cost = raw.get("cost_usd")
    out["cost_per_surviving_line"] = _r6(cost / surv) if surv and cost is not None else None
    # None: not meaningful for the grouping (per path or symbol a PR touches many).
    prs = raw.get("merged_prs")
    out["merged_prs"] = prs
    pr_cost = raw.get("pr_cost_usd")
    out["cost_per_merged_pr"] = _r6(pr_cost / prs) if prs and pr_cost is not None else None
    out["tokens_per_merged_pr"] = round(float(raw.get("pr_tokens") or 0) / prs, 1) if prs else None
    out["commits"] = int(raw.get("commits") or 0)
    return out


def provider_name(litellm_provider: str) -> str:
    """The provider a price table entry's ``litellm_provider`` names (Google's two as ``google``)."""
    if litellm_provider == "gemini" or litellm_provider.startswith("vertex_ai"):
        return "google"
    return litellm_provider


def providers() -> Callable[[str], str | None]:
    """Model -> provider (anthropic, openai, google, ...): the price table's ``litellm_provider``.

    The shipped table merged with the user's (``GITROI_PRICES``, ``~/.config/gitroi``),
    as the importer prices with; None for a model the table does not know.  LiteLLM
    names Google twice (``vertex_ai-language-models`` for the bare Gemini names,
    ``gemini`` for ``gemini/...``): both are ``google``, the company paid.
    """
    from gitroi.sessions.pricing import PriceTable

    table: list[PriceTable] = []
    known: dict[str, str | None] = {}

    def of(model: str) -> str | None:
        if model not in known:
            if not table:
                table.append(PriceTable.load())
            entry = table[0].entry(model)
            got = entry.get("litellm_provider") if entry else None
            known[model] = provider_name(str(got)) if got else None
        return known[model]

    return of


def normalise_by(by: Sequence[str], choices: Sequence[str] = BY_CHOICES) -> list[str]:
    """Validated, de-duplicated keys in a stable order; ``symbol`` implies ``path``.

    ``choices``: the keys the command offers (``org report`` offers repo and team too).
    """
    keys: list[str] = []
    for k in by:
        if k not in choices:
            raise GitroiError(f"unknown --by key {k!r}", hint="use one of " + ", ".join(choices))
        if k == "symbol" and "path" not in keys:
            keys.append("path")
        if k not in keys:
            keys.append(k)
    return keys


def compute(db: Database, *, by: Sequence[str] = (), since: str | None = None,
            until: str | None = None, commits: Sequence[str] | None = None,
            repo_name: str = "repository", roots: Sequence[str] | None = None,
            canonical: Canonical | None = None) -> dict[str, Any]:
    """Headline and rows (one per group of ``by``) of the report; the ``gitroi.report/1`` JSON.

    ``canonical`` (the repository's ``.mailmap``, :meth:`gitroi.git.Repo.canonical_contacts`)
    makes ``--by author`` one row per person.

    ``commits`` restricts the report to those commits (a PR's, for example)
    instead of the analysed branch; ``since``/``until`` bound the commit time
    (and the exploration events' time); ``roots`` are the repository's work
    trees, to tell its sessions from others for exploration tokens.
    """
    from gitroi.ledger.charts import missing_blobs
    from gitroi.ledger.exploration import exploration_tokens
    from gitroi.ledger.facts import group_figures
    from gitroi.ledger.figures import Scope, materialise, unpriced_models
    from gitroi.ledger.prs import pr_rows

    keys = normalise_by(by)
    scope = Scope(since=since, until=until, commits=commits)
    materialise(db, scope)
    provider_of = providers()
    head_raw = group_figures(db, [], repo_name, provider_of=provider_of)[0]
    headline = finish(head_raw)
    if commits is None:
        explo = exploration_tokens(db, roots=roots, since=since, until=until, repo=repo_name,
                                   provider_of=provider_of)
    else:
        explo = {"tokens": 0, "sessions": 0}
    headline["exploration_tokens"] = explo["tokens"]
    headline["exploration_sessions"] = explo["sessions"]
    headline["ai_lines_line_level"] = _int(head_raw.get("ai_lines_line_level"))
    headline["ai_lines_commit_level"] = _int(head_raw.get("ai_lines_commit_level"))
    prs = pr_rows(db, scope)
    headline["prs_in_history"] = len(prs)
    headline["review_churn"] = sum(int(p["review_churn"] or 0) for p in prs)
    priced = float(head_raw.get("priced_tokens") or 0)
    unpriced = unpriced_models(db, scope) if priced < headline["tokens"] else []
    headline["unpriced_models"] = unpriced
    headline["unpriced_tokens"] = max(0, headline["tokens"] - _int(priced))

    rows = group_rows(db, keys, scope, repo_name, prs, canonical) if keys else []

    notes: list[str] = []
    ai_all = headline["ai_lines"]
    if headline["ai_lines_commit_level"]:
        n = headline["ai_lines_commit_level"]
        notes.append(
            f"{n:,} of {plural(ai_all, 'AI line', number=f'{ai_all:,}')} "
            + ("is" if n == 1 else "are")
            + " counted at commit level (no transcript: every line added by an AI-attributed commit "
            f"counts); {headline['ai_lines_line_level']:,} at line level.")
    if headline["carried"]:
        n = headline["carried"]
        notes.append(
            f"{plural(n, 'more line', number=f'{n:,}')} added by AI commits "
            + ("was" if n == 1 else "were")
            + " moved or reformatted from older commits (carried): survival follows them under "
            "their older commit, so they are not counted as new AI lines; "
            f"{ai_all:,} + {n:,} = the lines the AI commits added.")
    if headline["unanalysed"]:
        n = headline["unanalysed"]
        notes.append(f"{plural(n, 'AI line', number=f'{n:,}')} "
                     + ("is" if n == 1 else "are")
                     + " not analysed yet (no survival outcome): run `gitroi analyze`.")
    missing = missing_blobs(db)
    if missing["files"]:
        shown = ", ".join(missing["paths"][:10])
        more = missing["files"] - min(10, len(missing["paths"]))
        blobs, files = missing["blobs"], missing["files"]
        notes.append(
            f"Partial clone: {plural(blobs, 'blob', number=f'{blobs:,}')} "
            f"missing (no promisor remote to fetch them from); "
            f"{plural(files, 'file', number=f'{files:,}')} "
            + ("is" if missing["files"] == 1 else "are") + f" left out of every figure: {shown}"
            + (f" and {more:,} more" if more > 0 else "")
            + ". Fetch them, or report on a full clone, for complete figures.")
    if unpriced:
        notes.append("No price for " + ("model " if len(unpriced) == 1 else "models ") + ", ".join(unpriced)
                     + ": their tokens are counted, their cost is not.")
    if "author" in keys:
        notes.append(PER_PERSON_NOTE)
    return {
        "schema": SCHEMA,
        "repo": repo_name,
        "by": keys,
        "since": since,
        "until": until,
        "per_person": "author" in keys,
        "headline": headline,
        "rows": rows,
        "notes": notes,
        "missing_blobs": missing,
    }


#: ``Name <email>`` contacts -> the person each is (``Repo.canonical_contacts``: ``.mailmap``).
Canonical = Callable[[Sequence[str]], dict[str, str]]

#: Raw sums that do not add up across rows of one person (kept from the first row).
_NOT_SUMMED = ("repo", "week", "agent", "model", "pr", "path", "symbol", "author")


def merge_people(raws: list[dict[str, Any]], keys: list[str], canonical: Canonical) -> list[dict[str, Any]]:
    """One row per person: rows whose authors ``.mailmap`` names as one person are summed.

    The raw figures are sums (ratios come later from :func:`finish`), so two
    rows of one person add up; ``merged_prs`` may count a PR twice when one
    person committed to it under both identities.
    """
    mapped = canonical([str(r.get("author") or "") for r in raws])
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for raw in raws:
        person = mapped.get(str(raw.get("author") or ""), raw.get("author"))
        key = tuple(person if k == "author" else raw.get(k) for k in keys)
        have = merged.get(key)
        if have is None:
            merged[key] = {**raw, "author": person}
            continue
        for k, v in raw.items():
            # SQL's SUM: NULLs are skipped, and all-NULL stays NULL (an unknown cost).
            if k in _NOT_SUMMED or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            old = have.get(k)
            have[k] = v if old is None else old + v
    return list(merged.values())


def group_rows(db: Database, keys: list[str], scope: Any, repo_name: str,
               prs: list[dict[str, Any]], canonical: Canonical | None = None) -> list[dict[str, Any]]:
    """Rows per group of ``keys`` over the materialised scope (see ``ledger.figures.materialise``).

    With ``author`` among the keys and ``canonical`` given, one person is one
    row whatever names and e-mails they committed under (:func:`merge_people`).
    """
    from gitroi.ledger.facts import group_figures

    rows: list[dict[str, Any]] = []
    pr_info = {p["pr"]: p for p in prs}
    raws = group_figures(db, keys, repo_name, provider_of=providers())
    if "author" in keys and canonical is not None:
        raws = merge_people(raws, keys, canonical)
    for raw in raws:
        row: dict[str, Any] = {k: raw[k] for k in keys}
        row.update(finish(raw))
        if "pr" in keys:
            info = pr_info.get(raw["pr"], {})
            row["title"] = info.get("title")
            row["method"] = info.get("method")
            row["merged_at"] = info.get("merged_at")
            row["ai_lines_written"] = info.get("ai_written")
            row["ai_lines_merged"] = info.get("ai_merged")
            row["review_churn"] = info.get("review_churn")
            if info.get("note"):
                row["note"] = info["note"]
        rows.append(row)
    rows.sort(key=lambda r: tuple((r[k] is None, str(r[k]) if k != "pr" else (r[k] or 0))
                                  for k in keys))
    return rows


#: Cohort buckets, finest first: the first with at most :data:`MAX_COHORTS` cohorts is used.
COHORT_UNITS = ("week", "month", "quarter", "year")
MAX_COHORTS = 20


def _bucket(week: str, unit: str) -> str:
    if unit == "week":
        return week
    if unit == "month":
        return week[:7]
    if unit == "quarter":
        return f"{week[:4]}-Q{(int(week[5:7]) - 1) // 3 + 1}"
    return week[:4]


def cohorts(rows: Sequence[tuple[str, int, str, int]], last_week: str | None,
            max_cohorts: int = MAX_COHORTS) -> dict[str, Any]:
    """Survival curves of AI lines by when they were written (``ledger.charts.cohort_facts`` rows).

    For each cohort (the AI lines whose commits fall in one week, or one month,
    quarter or year when there are more than ``max_cohorts`` weeks), ``alive[k]``
    is the share of its lines still alive at the end of the ``k``-th week after
    the week each line was written (``k = 0``: the end of that week), for every
    ``k`` observed for all of its lines (up to the analysed tip's week).  Dead
    lines whose end week is unknown (an analysis older than the ledger's
    ``ended_week``) count as ended at the tip and are reported in ``unknown_end``.
    ``overall`` is all cohorts together, as a Kaplan-Meier product: from week
    ``k - 1`` to ``k`` the share kept by the cohorts observed at ``k``, so that
    young cohorts dropping out of the sum do not bend the curve.
    """
    from datetime import date

    def day(w: str) -> date:
        return date.fromisoformat(w)

    totals: dict[str, int] = {}
    deaths: dict[str, dict[int | None, int]] = {}
    unknown = 0
    ends = [e for _, dead, e, _ in rows if dead and e]
    weeks_seen = [w for w, *_ in rows]
    if not rows:
        return {"unit": "week", "last_week": last_week, "series": [], "overall": [], "unknown_end": 0}
    last = max([w for w in [last_week, *ends, *weeks_seen] if w])
    for w, dead, ended, n in rows:
        totals[w] = totals.get(w, 0) + n
        if dead:
            off: int | None = max(0, (day(ended) - day(w)).days // 7) if ended else None
            if off is None:
                unknown += n
            d = deaths.setdefault(w, {})
            d[off] = d.get(off, 0) + n
    weeks = sorted(w for w, n in totals.items() if n > 0)
    unit = next((u for u in COHORT_UNITS if len({_bucket(w, u) for w in weeks}) <= max_cohorts), "year")
    groups: dict[str, list[str]] = {}
    for w in weeks:
        groups.setdefault(_bucket(w, unit), []).append(w)
    series: list[dict[str, Any]] = []
    counts: list[tuple[int, list[int]]] = []  # per cohort: lines, lines alive after k weeks
    for label, members in groups.items():
        horizon = {w: (day(last) - day(w)).days // 7 for w in members}
        span = min(horizon.values())
        total = sum(totals[w] for w in members)
        dead_at = [0] * (span + 1)
        dead_all = 0
        for w in members:
            for off, n in deaths.get(w, {}).items():
                k = horizon[w] if off is None else off  # unknown end: at the tip
                dead_all += n
                if k <= span:
                    dead_at[k] += n
        left: list[int] = []
        gone = 0
        for k in range(span + 1):
            gone += dead_at[k]
            left.append(total - gone)
        counts.append((total, left))
        series.append({"cohort": label, "first_week": members[0], "ai_lines": total,
                       "surviving": total - dead_all, "alive": [round(n / total, 4) for n in left]})
    overall: list[float] = []
    share = 1.0
    for k in range(max(len(left) for _, left in counts)):
        before = sum(total if k == 0 else left[k - 1] for total, left in counts if len(left) > k)
        after = sum(left[k] for _, left in counts if len(left) > k)
        share *= after / before if before else 1.0
        overall.append(round(share, 4))
    return {"unit": unit, "last_week": last, "series": series, "overall": overall,
            "unknown_end": unknown}


def chart_data(db: Database, *, by: Sequence[str] = (), since: str | None = None, until: str | None = None,
               repo_name: str = "repository", roots: Sequence[str] | None = None,
               canonical: Canonical | None = None) -> dict[str, Any]:
    """Everything the HTML report draws: cohort curves, weekly figures, rework by agent/model, top PRs and paths.

    Also :func:`compute`'s headline and, with ``by``, its rows (computed once).
    """
    from gitroi.ledger.charts import cohort_facts, top_rework
    from gitroi.ledger.figures import Scope

    base = compute(db, by=by, since=since, until=until, repo_name=repo_name, roots=roots,
                   canonical=canonical)
    scope = Scope(since=since, until=until)

    from gitroi.ledger.prs import pr_rows

    prs_all = pr_rows(db, scope)

    def rows(key: str) -> list[dict[str, Any]]:
        return group_rows(db, [key], scope, repo_name, prs_all)

    weeks, agents, models = rows("week"), rows("agent"), rows("model")
    # The PR chart needs only what the PR records hold (no per-PR figures query).
    prs = [{"pr": p["pr"], "title": p["title"], "method": p["method"],
            "review_churn": p["review_churn"] or 0, "ai_lines_written": p["ai_written"] or 0,
            "ai_lines_merged": p["ai_merged"] or 0} for p in prs_all]
    top_prs = sorted(prs, key=lambda p: (-p["review_churn"], p["pr"]))[:10]
    paths, symbols = top_rework(db)
    facts, last_week = cohort_facts(db)
    return {
        **base,
        "cohorts": cohorts(facts, last_week),
        "weeks": weeks,
        "agents": agents,
        "models": models,
        "prs": top_prs,
        "paths": paths,
        "symbols": symbols,
    }
