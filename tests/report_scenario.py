"""A small ledger whose every report figure is worked out by hand (shared by the report tests).

Commits (all on the branch):

* c1, Mon 2026-01-05, line-level, claude-code, 10 AI lines: a.py/f 6 surviving + 2 churned,
  lib/u.py 2 reverted; session s1 slice: input 100, cache_write 200, cache_read 300, output 400,
  cost $0.50 (model claude-opus-4-6).
* c2, Wed 2026-01-07, commit-level (aider trailer), 4 AI lines: b.py 4 surviving; no session.
* c3, Tue 2026-01-13, line-level, codex, 5 AI lines: c.py/g 3 surviving + 2 deleted later;
  session s2 slice: input 1000, output 500 (reasoning 100), cost $0.25 (model gpt-5).
* c4, Wed 2026-01-14, a person's commit: 7 non-AI lines (must not count anywhere).

When the dead AI lines ended (``line_outcomes.ended_week``): c1's churned lines in the week of
2026-01-12, its reverted lines in the week of 2026-01-19, c3's deleted-later lines in the week of
2026-02-09 (the last week observed; the cohort curves stop there).

PRs: #7 merge of c1+c2 (14 AI lines written, 12 reached the merge, review churn 2);
#8 squash c3 (5 written, 5 merged).

Exploration: s1 has an event after its slice (50 tokens); s3 (gemini-cli, cwd inside the repo)
never led to a commit (30 tokens); s4 worked elsewhere (999 tokens, not this repository).
"""

from __future__ import annotations

import json

from sqlite_utils import Database

ROOT = "/w/repo"
C1, C2, C3, C4 = ("1" * 40, "2" * 40, "3" * 40, "4" * 40)

# The hand working, figure by figure.
TOKENS_C1 = 100 + 200 + 300 + 400          # 1000
TOKENS_C3 = 1000 + 0 + 0 + 500              # 1500
HEADLINE = {
    "tokens": TOKENS_C1 + TOKENS_C3,        # 2500
    "input": 1100, "cache_write": 200, "cache_read": 300, "output": 900, "reasoning": 100,
    "cost_usd": 0.75,
    "ai_lines": 10 + 4 + 5,                 # 19
    "surviving": 6 + 4 + 3,                 # 13
    "churned": 2, "reverted": 2, "deleted_later": 2, "unanalysed": 0,
    "surviving_share": round(13 / 19, 4),   # 0.6842
    "rework_rate": round((2 + 2) / 19, 4),  # 0.2105
    "tokens_per_surviving_line": round(2500 / 13, 2),   # 192.31
    "cost_per_surviving_line": round(0.75 / 13, 6),     # 0.057692
    "merged_prs": 2,
    "cost_per_merged_pr": 0.375,            # (0.50 + 0.25) / 2
    "tokens_per_merged_pr": 1250.0,
    "commits": 3,                           # c4 has no AI facts
    "exploration_tokens": 50 + 30,          # s1 after its slice + s3; s4 is elsewhere
    "exploration_sessions": 2,
    "ai_lines_line_level": 15, "ai_lines_commit_level": 4,
    "prs_in_history": 2, "review_churn": 2,
    "unpriced_models": [], "unpriced_tokens": 0,
}


def _session(db: Database, key: str, agent: str, cwd: str) -> None:
    db["sessions"].insert({"key": key, "agent": agent, "session_id": key.split(":", 1)[1],
                           "cwd": cwd, "started_at": "2026-01-05T08:00:00.000Z",
                           "ended_at": "2026-01-13T12:00:00.000Z"})


def _event(db: Database, key: str, eid: str, ts: str, model: str, **tok: int) -> None:
    db["usage_events"].insert({"session_key": key, "event_id": eid, "ts": ts, "model": model,
                               **tok, "cost_usd": 0.0})


def _outcome(db: Database, sha: str, path: str, symbol: str, outcome: str, lines: int,
             ai: int = 1, ended_week: str = "") -> None:
    db["line_outcomes"].insert({"commit_sha": sha, "path": path, "symbol": symbol, "ai": ai,
                                "is_code": 1, "outcome": outcome,
                                "ended_by": "" if outcome == "surviving" else "person",
                                "ended_week": ended_week, "lines": lines})


def fill(db: Database) -> None:
    """Write the scenario into an empty ledger."""
    commits = [
        (C1, "2026-01-05T10:00:00.000Z", "line", ["claude-code"], 10, 10, TOKENS_C1, 0.5),
        (C2, "2026-01-07T10:00:00.000Z", "commit", ["aider"], 4, 4, 0, None),
        (C3, "2026-01-13T10:00:00.000Z", "line", ["codex"], 5, 5, TOKENS_C3, 0.25),
        (C4, "2026-01-14T10:00:00.000Z", "none", [], 7, 0, 0, None),
    ]
    for sha, when, attr, agents, added, ai, tokens, cost in commits:
        db["commits"].insert({"sha": sha, "author_name": "Ann", "author_email": "ann@example.com",
                              "authored_at": when, "committed_at": when, "subject": f"commit {sha[0]}",
                              "parents": "", "attribution": attr, "agents": json.dumps(agents),
                              "lines_added": added, "ai_lines": ai, "tokens": tokens,
                              "cost_usd": cost})
    _session(db, "claude-code:s1", "claude-code", ROOT)
    _session(db, "codex:s2", "codex", ROOT)
    _session(db, "gemini-cli:s3", "gemini-cli", ROOT + "/sub")
    _session(db, "claude-code:s4", "claude-code", "/elsewhere")
    _event(db, "claude-code:s1", "e1", "2026-01-05T09:00:00.000Z", "claude-opus-4-6",
           input=100, cache_write=200, cache_read=300, output=400)
    _event(db, "claude-code:s1", "e2", "2026-01-05T11:00:00.000Z", "claude-opus-4-6",
           input=10, output=40)
    _event(db, "codex:s2", "e1", "2026-01-13T09:00:00.000Z", "gpt-5", input=1000, output=500,
           reasoning=100)
    _event(db, "gemini-cli:s3", "e1", "2026-01-06T09:00:00.000Z", "gemini-2.5-pro",
           input=20, output=10)
    _event(db, "claude-code:s4", "e1", "2026-01-06T09:00:00.000Z", "claude-opus-4-6", input=999)
    db["commit_sessions"].insert_all([
        {"commit_sha": C1, "session_key": "claude-code:s1", "agent": "claude-code",
         "session_id": "s1", "input": 100, "cache_write": 200, "cache_read": 300, "output": 400,
         "reasoning": 0, "tokens": 1000, "cost_usd": 0.5, "since_ts": None,
         "until_ts": "2026-01-05T10:00:00.000Z",
         "models": json.dumps({"claude-opus-4-6": {"input": 100, "cache_write": 200,
                                                   "cache_read": 300, "output": 400,
                                                   "reasoning": 0, "responses": 1,
                                                   "cost_usd": 0.5}})},
        {"commit_sha": C3, "session_key": "codex:s2", "agent": "codex", "session_id": "s2",
         "input": 1000, "cache_write": 0, "cache_read": 0, "output": 500, "reasoning": 100,
         "tokens": 1500, "cost_usd": 0.25, "since_ts": "2026-01-12T00:00:00.000Z",
         "until_ts": "2026-01-13T10:00:00.000Z",
         "models": json.dumps({"gpt-5": {"input": 1000, "cache_write": 0, "cache_read": 0,
                                         "output": 500, "reasoning": 100, "responses": 1,
                                         "cost_usd": 0.25}})},
    ])
    _outcome(db, C1, "a.py", "f", "surviving", 6)
    _outcome(db, C1, "a.py", "f", "churned", 2, ended_week="2026-01-12")
    _outcome(db, C1, "lib/u.py", "", "reverted", 2, ended_week="2026-01-19")
    _outcome(db, C1, "a.py", "", "surviving", 3, ai=0)
    _outcome(db, C2, "b.py", "", "surviving", 4)
    _outcome(db, C3, "c.py", "g", "surviving", 3)
    _outcome(db, C3, "c.py", "g", "deleted_later", 2, ended_week="2026-02-09")
    _outcome(db, C4, "d.py", "", "surviving", 7, ai=0)
    db["pull_requests"].insert_all([
        {"number": 7, "title": "Add a and b", "merged_at": "2026-01-08T10:00:00.000Z",
         "merge_commit": "7" * 40, "method": "merge", "source": "history"},
        {"number": 8, "title": "Add c", "merged_at": "2026-01-13T10:00:00.000Z",
         "merge_commit": C3, "method": "squash", "source": "history"},
    ])
    db["pr_commits"].insert_all([
        {"pr": 7, "commit_sha": C1, "reached_merge": 1},
        {"pr": 7, "commit_sha": C2, "reached_merge": 1},
        {"pr": 8, "commit_sha": C3, "reached_merge": 1},
    ])
    db["pr_figures"].insert_all([
        {"pr": 7, "ai_written": 14, "ai_merged": 12, "review_churn": 2, "note": None},
        {"pr": 8, "ai_written": 5, "ai_merged": 5, "review_churn": 0, "note": None},
    ])
