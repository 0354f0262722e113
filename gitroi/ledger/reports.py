"""Compatibility names for code written against the old ``gitroi.ledger.reports`` module.

The report queries now live in one module per concept: :mod:`gitroi.ledger.figures`
(the figure SQL, scope and commit facts), :mod:`gitroi.ledger.prs` (pull
requests), :mod:`gitroi.ledger.exploration`, :mod:`gitroi.ledger.charts` and
:mod:`gitroi.ledger.views`.  New code imports from those.
"""

from __future__ import annotations

from gitroi.ledger.charts import cohort_facts, missing_blobs, top_rework
from gitroi.ledger.exploration import exploration_tokens, first_session_start
from gitroi.ledger.facts import group_figures
from gitroi.ledger.figures import (
    OUTCOMES,
    TOKEN_PARTS,
    WEEK_SQL,
    Scope,
    materialise,
    refresh_commit_facts,
    set_branch_commits,
    unpriced_models,
)
from gitroi.ledger.formulas import COMMIT_KEYS, LINE_KEYS, TOKEN_KEYS, figure_sql
from gitroi.ledger.prs import (
    commit_ai,
    known_prs,
    pr_commit_sources,
    pr_record,
    pr_rows,
    ranges_of,
    set_pr_bases,
    stored_pr_bases,
    write_prs,
)
from gitroi.ledger.views import create_views

__all__ = [
    "COMMIT_KEYS", "LINE_KEYS", "OUTCOMES", "TOKEN_KEYS", "TOKEN_PARTS", "WEEK_SQL", "Scope",
    "cohort_facts", "commit_ai", "create_views", "exploration_tokens", "figure_sql",
    "first_session_start", "group_figures", "known_prs", "materialise",
    "missing_blobs", "pr_commit_sources", "pr_record", "pr_rows", "ranges_of",
    "refresh_commit_facts", "set_branch_commits", "set_pr_bases", "stored_pr_bases",
    "top_rework", "unpriced_models", "write_prs",
]
