"""The ledger's schema, as an append-only list of sqlite-utils migrations.

The schema is a public contract (``docs/ledger.md``).  Once a migration has
shipped it is never edited: a change is a new function appended at the end of
this file.  Every table here is derived from the notes, the agents' logs and
the git history, so ``gitroi rebuild`` can always recreate it.  A new ledger
does not run these one by one: it is given their result at once
(``gitroi/ledger/schema.py``), so after adding a migration (or changing a view)
run ``python scripts/bake_ledger_schema.py``; ``tests/test_ledger_schema.py``
fails until it is done, and a stale schema file is never used.

Conventions: times are canonical ISO 8601 UTC strings (``gitroi.timeutil``);
a session is keyed ``"<agent>:<session_id>"``; token columns are the four
disjoint counts of DESIGN.md (``input`` = uncached input, ``cache_write``,
``cache_read``, ``output``) plus ``reasoning``, a known part of ``output``.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("gitroi")

SCHEMA_VERSION = 1


@migrations()
def m001_core(db: Database) -> None:
    db.executescript(
        """
        -- One run of a coding agent.
        CREATE TABLE sessions (
            key TEXT PRIMARY KEY,            -- agent:session_id
            agent TEXT NOT NULL,             -- claude-code, codex, gemini-cli, opencode, aider, ...
            session_id TEXT NOT NULL,
            cwd TEXT,                        -- absolute path the agent worked in
            git_branch TEXT,
            started_at TEXT,
            ended_at TEXT,
            source_path TEXT,                -- the log file it was read from (last one seen)
            parent_key TEXT                  -- forked-from / parent session, where known
        );
        CREATE INDEX sessions_cwd ON sessions(cwd);

        -- One deduplicated API response (or usage delta) of a session.
        CREATE TABLE usage_events (
            session_key TEXT NOT NULL REFERENCES sessions(key),
            event_id TEXT NOT NULL,          -- message.id+requestId, codex line offset, gemini message id ...
            ts TEXT NOT NULL,
            model TEXT NOT NULL,
            input INTEGER NOT NULL DEFAULT 0,        -- uncached input
            output INTEGER NOT NULL DEFAULT 0,       -- includes reasoning
            cache_write INTEGER NOT NULL DEFAULT 0,  -- all cache writes (5m + 1h)
            cache_write_1h INTEGER NOT NULL DEFAULT 0, -- the part of cache_write at the 1-hour tier
            cache_read INTEGER NOT NULL DEFAULT 0,
            reasoning INTEGER NOT NULL DEFAULT 0,    -- part of output, where the agent reports it
            cost_usd REAL,                   -- NULL when the model is not in the price table
            logged_cost_usd REAL,            -- the cost the agent itself logged, if any
            PRIMARY KEY (session_key, event_id)
        );
        CREATE INDEX usage_events_ts ON usage_events(session_key, ts);

        -- One file edit made through an agent's edit tool: line hashes only, never text.
        CREATE TABLE edits (
            session_key TEXT NOT NULL REFERENCES sessions(key),
            edit_id TEXT NOT NULL,           -- tool_use id / call_id (+ file index)
            ts TEXT NOT NULL,
            tool TEXT NOT NULL,              -- Edit, Write, MultiEdit, NotebookEdit, apply_patch, replace ...
            path TEXT NOT NULL,              -- absolute path as the agent wrote it
            line_hashes TEXT NOT NULL,       -- space-separated SHA-1 hex of each written line, stripped
            PRIMARY KEY (session_key, edit_id)
        );
        CREATE INDEX edits_path ON edits(path);

        -- Incremental reading: where each log file was read up to.
        CREATE TABLE log_files (
            path TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            dev INTEGER, inode INTEGER,
            size INTEGER NOT NULL DEFAULT 0,
            offset INTEGER NOT NULL DEFAULT 0,
            head_sha1 TEXT,                  -- hash of the first bytes, to notice a replaced file
            mtime REAL,
            state TEXT                       -- reader-specific JSON (e.g. codex running totals)
        );

        -- Lines skipped on import, so the summary can name them.
        CREATE TABLE import_problems (
            path TEXT NOT NULL,
            line INTEGER NOT NULL,
            reason TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (path, line)
        );

        -- Commits gitroi knows about (attributed or analysed).
        CREATE TABLE commits (
            sha TEXT PRIMARY KEY,
            author_name TEXT, author_email TEXT,
            authored_at TEXT, committed_at TEXT,
            subject TEXT,
            parents TEXT,                    -- space-separated
            attribution TEXT NOT NULL DEFAULT 'none',  -- line | commit | manual | none
            agents TEXT NOT NULL DEFAULT '[]',          -- JSON list of agent names
            lines_added INTEGER,
            ai_lines INTEGER,
            tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            note_version INTEGER            -- schema version of the note it came from, NULL if markers
        );
        CREATE INDEX commits_committed_at ON commits(committed_at);

        -- Tokens of a session given to a commit (a session spanning commits is split by time).
        CREATE TABLE commit_sessions (
            commit_sha TEXT NOT NULL,
            session_key TEXT NOT NULL,
            agent TEXT NOT NULL,
            session_id TEXT NOT NULL,
            models TEXT NOT NULL DEFAULT '{}',  -- JSON {model: {input, output, cache_write, cache_read, reasoning, responses, cost_usd}}
            input INTEGER NOT NULL DEFAULT 0,
            output INTEGER NOT NULL DEFAULT 0,
            cache_write INTEGER NOT NULL DEFAULT 0,
            cache_read INTEGER NOT NULL DEFAULT 0,
            reasoning INTEGER NOT NULL DEFAULT 0,
            tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            since_ts TEXT, until_ts TEXT,    -- the slice of the session's usage given to this commit
            PRIMARY KEY (commit_sha, session_key)
        );
        CREATE INDEX commit_sessions_session ON commit_sessions(session_key);

        -- AI-written line ranges in the commit's own file versions (1-based, inclusive).
        CREATE TABLE ai_ranges (
            commit_sha TEXT NOT NULL,
            path TEXT NOT NULL,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            PRIMARY KEY (commit_sha, path, start)
        );

        -- What became of the lines each commit added, aggregated (survival analysis).
        CREATE TABLE line_outcomes (
            commit_sha TEXT NOT NULL,
            path TEXT NOT NULL,              -- path in the commit that added the lines
            symbol TEXT NOT NULL DEFAULT '', -- enclosing function/class, '' at module level or unknown
            ai INTEGER NOT NULL,             -- 1 = AI line, 0 = not
            is_code INTEGER NOT NULL,        -- 0 = blank or comment-only
            outcome TEXT NOT NULL,           -- surviving | churned | reverted | deleted_later
            ended_by TEXT NOT NULL DEFAULT '', -- same_session | ai | person ('' while surviving)
            lines INTEGER NOT NULL,
            PRIMARY KEY (commit_sha, path, symbol, ai, is_code, outcome, ended_by)
        );
        CREATE INDEX line_outcomes_outcome ON line_outcomes(outcome);

        -- State of an analysis of a branch, for incremental re-runs.
        CREATE TABLE analyses (
            branch TEXT PRIMARY KEY,
            tip TEXT NOT NULL,
            window_days REAL NOT NULL,
            analysed_at TEXT NOT NULL,
            commits INTEGER NOT NULL,
            state_path TEXT                  -- snapshot of per-file origin state at the tip
        );

        -- Pull requests, from merge subjects, squash suffixes, patch ids or the API.
        CREATE TABLE pull_requests (
            number INTEGER PRIMARY KEY,
            title TEXT,
            merged_at TEXT,
            merge_commit TEXT,
            method TEXT,                     -- merge | squash | rebase
            base TEXT, head TEXT,
            source TEXT                      -- history | api
        );
        CREATE TABLE pr_commits (
            pr INTEGER NOT NULL,
            commit_sha TEXT NOT NULL,
            reached_merge INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (pr, commit_sha)
        );
        """
    )


@migrations()
def m002_attribution_commit_source(db: Database) -> None:
    """Where each commit's attribution came from, so ``ensure_ledger`` can skip unchanged commits.

    ``source`` is note | git-ai | agent-trace | markers | none; ``source_key``
    identifies the exact input (e.g. ``note:<blob id>``), so a commit is reloaded
    only when its note (or foreign record) changed; ``markers`` is the JSON list
    of marker evidence found in the commit message and identities.
    """
    db.executescript(
        """
        ALTER TABLE commits ADD COLUMN source TEXT NOT NULL DEFAULT 'none';
        ALTER TABLE commits ADD COLUMN source_key TEXT;
        ALTER TABLE commits ADD COLUMN markers TEXT NOT NULL DEFAULT '[]';
        """
    )


@migrations()
def m010_report_views(db: Database) -> None:
    """Report support: the analysed branch's commits, PR review figures, indexes and views.

    ``branch_commits`` is the default scope of ``gitroi report`` (commits of the
    analysed branch, so work on unmerged branches is not counted); ``pr_figures``
    keeps what a PR's review did to its AI lines (computed once per merged PR);
    the ``report_*`` views give the headline figures by agent, model, week, PR,
    path and symbol to Datasette and SQL users (``gitroi.ledger.views``).
    """
    from gitroi.ledger.views import create_views

    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS branch_commits (
            sha TEXT PRIMARY KEY,
            branch TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS pr_figures (
            pr INTEGER PRIMARY KEY,
            ai_written INTEGER,              -- AI lines written in the PR's commits (before merge)
            ai_merged INTEGER,               -- of those, the ones that reached the merge
            review_churn INTEGER,            -- ai_written - ai_merged
            note TEXT                        -- why a figure is missing or approximate
        );
        CREATE INDEX IF NOT EXISTS line_outcomes_report
            ON line_outcomes(commit_sha, ai, outcome, path, symbol, lines);
        CREATE INDEX IF NOT EXISTS pr_commits_commit ON pr_commits(commit_sha, reached_merge);
        CREATE INDEX IF NOT EXISTS commit_sessions_slice
            ON commit_sessions(session_key, since_ts, until_ts);
        """
    )
    create_views(db)


@migrations()
def m011_attribution_checks(db: Database) -> None:
    """Commits ``gitroi attribute`` looked at and found no AI line in, with the edits seen then.

    Catching up (``attribute`` without a range, the report's pipeline) re-checks
    such a commit only when new edits were imported since (``edits_seen`` is
    the largest ``edits`` rowid at the time), so repeated runs cost nothing.
    Not derived from notes: losing it only costs one re-check.
    """
    db.executescript(
        """
        CREATE TABLE attribution_checks (
            sha TEXT PRIMARY KEY,
            edits_seen INTEGER NOT NULL,
            checked_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m020_survival_carried(db: Database) -> None:
    """Survival: lines a commit's diff added that kept an older origin, and run statistics.

    ``line_carried`` counts, per commit and path, the added lines that are not
    the commit's own (a moved block, a reformat, a whitespace change): with
    ``line_outcomes`` they make ``lines_added = surviving + churned + reverted +
    deleted_later + carried``, so ``lines_added`` equals ``git log --numstat``.
    ``analyses.stats`` is a JSON object (skipped files by reason, lines of
    unknown origin, replay counts) shown by ``gitroi survival``.
    """
    db.executescript(
        """
        CREATE TABLE line_carried (
            commit_sha TEXT NOT NULL,
            path TEXT NOT NULL,
            ai INTEGER NOT NULL,
            is_code INTEGER NOT NULL,
            lines INTEGER NOT NULL,
            PRIMARY KEY (commit_sha, path, ai, is_code)
        );
        ALTER TABLE analyses ADD COLUMN stats TEXT NOT NULL DEFAULT '{}';
        """
    )


@migrations()
def m030_sessions_speed(db: Database) -> None:
    """Claude's ``speed`` ("fast" mode multiplies the price), so costs can be recomputed
    (``gitroi sessions import --reprice``) with the same multiplier."""
    db.execute("ALTER TABLE usage_events ADD COLUMN speed TEXT")


@migrations()
def m040_report_commit_facts(db: Database) -> None:
    """A per-commit summary of the report's facts, so the headline of a big ledger is one scan.

    ``report_commit_facts`` holds, for each commit of the default report scope
    with tokens or AI lines, its attributed tokens and cost and its AI line
    outcomes; it is derived from commits, commit_sessions and line_outcomes
    and rebuilt by ``gitroi.ledger.figures`` whenever their fingerprint (kept
    in ``report_cache_state``) changes.  Never edit it by hand.
    """
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS report_commit_facts (
            sha TEXT PRIMARY KEY,
            committed_at TEXT, attribution TEXT, agents TEXT,
            attributed_ai_lines INTEGER,     -- commits.ai_lines
            author_name TEXT, author_email TEXT,
            tokens INTEGER, input INTEGER, cache_write INTEGER, cache_read INTEGER,
            output INTEGER, reasoning INTEGER, cost_usd REAL, priced_tokens INTEGER,
            ai_lines INTEGER, surviving INTEGER, churned INTEGER, reverted INTEGER,
            deleted_later INTEGER, unanalysed INTEGER,
            ai_lines_line_level INTEGER, ai_lines_commit_level INTEGER
        );
        CREATE INDEX IF NOT EXISTS report_commit_facts_time ON report_commit_facts(committed_at);
        -- Path and symbol before outcome: per-path/per-symbol sums then read the index in order.
        DROP INDEX IF EXISTS line_outcomes_report;
        CREATE INDEX IF NOT EXISTS line_outcomes_report_paths
            ON line_outcomes(commit_sha, ai, path, symbol, outcome, lines);
        CREATE TABLE IF NOT EXISTS report_cache_state (
            name TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            built_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m050_survival_ended_week(db: Database) -> None:
    """Survival: the week each dead line ended in, so reports can draw cohort curves.

    ``line_outcomes.ended_week`` is the Monday (``YYYY-MM-DD``, UTC, as the
    report's ``week``) of the committer time of the commit that churned,
    reverted or deleted the lines; ``''`` while they survive.  It is part of
    the aggregation key (the primary key is rebuilt with sqlite-utils
    ``transform``, which keeps the indexes).  Rows written before this
    migration have ``''`` on dead lines too, until the next ``gitroi analyze``,
    which replays in full (the replay snapshot's version changed with it).
    """
    table = db.table("line_outcomes")
    table.add_column("ended_week", str, not_null_default="")
    cols = ["commit_sha", "path", "symbol", "ai", "is_code", "outcome", "ended_by", "ended_week"]
    table.transform(pk=cols)


@migrations()
def m060_report_carried(db: Database) -> None:
    """Report: AI lines carried by a commit (``line_carried``) in the per-commit report facts.

    ``report_commit_facts.carried`` counts the lines an AI commit's diff added
    that keep an older origin (a move, a reformat), so the report can say that
    ``ai_lines + carried`` is what the commits added and count such a commit as
    analysed.  The cache is marked stale so the next report rebuilds it.
    """
    db.executescript(
        """
        ALTER TABLE report_commit_facts ADD COLUMN carried INTEGER NOT NULL DEFAULT 0;
        DELETE FROM report_cache_state WHERE name = 'commit_facts';
        """
    )


@migrations()
def m070_report_model_providers(db: Database) -> None:
    """Report: each model's provider, so the ``report_*`` views name it as ``gitroi report`` does.

    The provider (anthropic, openai, google, ...) is the price table's
    ``litellm_provider`` for the model; the price table is not in the ledger,
    so ``gitroi report`` and ``gitroi export`` write what it says for every
    model the ledger names (``gitroi.ledger.views.record_providers``), and the
    views (``report_fact_tokens``, ``report_by_provider``...) read it.
    """
    from gitroi.ledger.views import create_views

    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS model_providers (
            model TEXT PRIMARY KEY,
            provider TEXT NOT NULL
        );
        """
    )
    create_views(db)
