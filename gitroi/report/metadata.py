"""Datasette metadata for the ledger: what each table, view and column means.

``datasette .git/gitroi/ledger.db -m metadata.json`` then shows these
descriptions beside the data.  Columns are listed from the live schema, so a
table another migration adds still appears (with its name as description until
one is written here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database

_TOKENS = {
    "input": "uncached input tokens",
    "output": "output tokens (includes reasoning)",
    "cache_write": "cache-write tokens (5-minute and 1-hour tiers)",
    "cache_read": "cache-read tokens",
    "reasoning": "reasoning tokens: a known part of output, where the agent reports it",
    "tokens": "input + cache_write + cache_read + output",
    "cost_usd": "cost in USD from the price table; NULL when the model has no price",
}
_FIGURES = {
    **_TOKENS,
    "tokens": "attributed tokens: input + cache_write + cache_read + output of the commits' session slices",
    "ai_lines": "lines added by the commits and written by an agent",
    "surviving": "AI lines still present at the analysed tip",
    "churned": "AI lines changed or deleted within the churn window after they were committed",
    "reverted": "AI lines removed by a revert or by restoring earlier content",
    "deleted_later": "AI lines removed after the churn window",
    "unanalysed": "AI lines with no survival outcome yet",
    "carried": "lines the AI commits added that keep an older origin (moved or reformatted; "
               "not in ai_lines): ai_lines + carried = the lines git log --numstat counts",
    "ai_lines_line_level": "AI lines attributed line by line from a transcript",
    "ai_lines_commit_level": "AI lines counted at commit level (trailer/marker: every added line)",
    "surviving_share": "surviving / AI lines with an outcome",
    "rework_rate": "(churned + reverted) / AI lines with an outcome",
    "tokens_per_surviving_line": "tokens / surviving",
    "cost_per_surviving_line": "cost_usd / surviving",
    "merged_prs": "merged pull requests whose commits carry AI work",
    "agent": "coding agent (claude-code, codex, ...)",
    "model": "model name ('' = commit attributed with no session)",
    "week": "Monday of the week the lines were committed",
    "pr": "pull request number (NULL: commits not in a PR)",
    "path": "path in the commit that added the lines",
    "symbol": "enclosing function or class ('' = module level)",
}

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "sessions": ("One run of a coding agent, read from its own logs.", {
        "key": "agent:session_id", "agent": "coding agent", "session_id": "the agent's session id",
        "cwd": "directory the agent worked in", "git_branch": "branch, where the agent logs it",
        "started_at": "first event (UTC)", "ended_at": "last event (UTC)",
        "source_path": "log file it was read from", "parent_key": "forked-from session"}),
    "usage_events": ("One deduplicated API response (or usage delta) of a session.", {
        **_TOKENS, "session_key": "sessions.key", "event_id": "response id within the session",
        "ts": "time of the response (UTC)", "model": "model that answered",
        "cache_write_1h": "part of cache_write at the 1-hour tier",
        "logged_cost_usd": "cost the agent itself logged, if any"}),
    "edits": ("A file edit made through an agent's edit tool: line hashes only, never text.", {
        "line_hashes": "SHA-1 of each written line, trimmed", "tool": "edit tool name",
        "path": "file path as the agent wrote it"}),
    "log_files": ("Incremental reading: how far each agent log was read.", {}),
    "import_problems": ("Log lines skipped on import, by file and line.", {}),
    "commits": ("Commits gitroi knows about, with their attribution.", {
        "attribution": "line (transcript) | commit (trailer/marker) | manual | none",
        "agents": "JSON list of agents", "lines_added": "lines the commit added",
        "ai_lines": "AI lines the commit added", "tokens": "tokens attributed to the commit",
        "cost_usd": "cost attributed to the commit", "source": "note | git-ai | agent-trace | markers | none",
        "markers": "JSON list of marker evidence (trailers, bot authors)"}),
    "commit_sessions": ("Tokens of a session given to a commit (split by time across commits).", {
        **_TOKENS, "models": "JSON per-model split",
        "since_ts": "slice start (exclusive)", "until_ts": "slice end (inclusive)"}),
    "ai_ranges": ("AI-written line ranges in the commit's own file versions (1-based, inclusive).", {}),
    "line_outcomes": ("What became of the lines each commit added, aggregated.", {
        "ai": "1 = AI line", "is_code": "0 = blank or comment-only",
        "outcome": "surviving | churned | reverted | deleted_later",
        "ended_by": "same_session | ai | person ('' while surviving)", "lines": "number of lines",
        "ended_week": "Monday (UTC) of the week the lines ended in ('' while surviving)",
        "symbol": _FIGURES["symbol"], "path": _FIGURES["path"]}),
    "analyses": ("State of the survival analysis of a branch.", {}),
    "pull_requests": ("Pull requests found in history (merge, squash, rebase) or the API.", {
        "method": "merge | squash | rebase", "merged_at": "merge time (UTC)",
        "merge_commit": "the commit that landed it on the branch"}),
    "pr_commits": ("Commits of each pull request.", {
        "reached_merge": "1 = on the branch; 0 = pre-squash/pre-rebase original"}),
    "pr_figures": ("What each PR's review did to its AI lines.", {
        "ai_written": "AI lines written in the PR's commits",
        "ai_merged": "of those, the lines that reached the merge",
        "review_churn": "ai_written - ai_merged", "note": "why a figure is missing"}),
    "branch_commits": ("Commits of the analysed branch: the default scope of reports.", {}),
    "report_headline": ("Headline figures of the analysed branch (DESIGN.md 'The figures').", _FIGURES),
    "report_by_agent": ("Headline figures per agent.", _FIGURES),
    "report_by_model": ("Headline figures per model.", _FIGURES),
    "report_by_provider": ("Headline figures per provider (the price table's).", _FIGURES),
    "model_providers": ("Each model's provider, from the price table (litellm_provider).", {
        "provider": "anthropic | openai | google | ... ('unknown': not in the price table)"}),
    "report_by_week": ("Headline figures per week the lines were committed.", _FIGURES),
    "report_by_pr": ("Headline figures per pull request.", _FIGURES),
    "report_by_path": ("Headline figures per path (tokens split by AI lines).", _FIGURES),
    "report_by_symbol": ("Headline figures per enclosing symbol.", _FIGURES),
    "report_exploration": ("Tokens of sessions not covered by any commit slice: exploration.", _TOKENS),
    "report_prs": ("Pull requests with their review churn, tokens and cost.", _FIGURES),
}


def datasette_metadata(db: Database, *, database: str = "ledger") -> dict[str, Any]:
    """Datasette ``metadata.json`` content for the ledger ``db`` (named ``database`` there)."""
    tables: dict[str, Any] = {}
    for t in [*db.tables, *db.views]:
        if t.name.startswith("_"):
            continue
        desc, cols = TABLES.get(t.name, ("", {}))
        entry: dict[str, Any] = {}
        if desc:
            entry["description"] = desc
        names = [c.name for c in t.columns]
        entry["columns"] = {c: cols[c] for c in names if c in cols}
        tables[t.name] = entry
    return {
        "title": "gitroi ledger",
        "description": "What did the tokens buy? Sessions, attribution, line survival and PRs. "
                       "Figures follow docs/report.md.",
        "databases": {database: {"tables": tables}},
    }
