"""Time `gitroi report` on a ledger with a large synthetic history.

The ledger holds 100k commits, 5k sessions (250k usage events), 60k commit
slices, 10k pull requests and 10M line outcomes.  ``line_outcomes`` is
aggregated (one row per commit, path, symbol, ai, is_code, outcome, ended_by
with a ``lines`` count), so 10M lines are ~650k rows here (15 lines per row on
average), which is what the survival analyser writes for a history this size.

Measured, in the same run: a plain ``SELECT count(*)`` over the tables the
report reads (the floor), the rebuild of the per-commit facts cache
(``report_commit_facts``: paid once after the ledger changed, e.g. by the
analysis), ``compute()`` for the headline, ``gitroi report``
as a user runs it (a subprocess, ``--no-update``: the ledger is the input),
the same with ``--by week --by agent``, and ``--format html``.  Targets: headline
< 1 s, HTML < 5 s.

    .venv/bin/python benchmarks/bench_report.py [--commits 100000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENTS = [("claude-code", "claude-opus-4-6"), ("codex", "gpt-5"), ("gemini-cli", "gemini-2.5-pro"),
          ("aider", "claude-sonnet-4-5")]
OUTCOMES = ["surviving"] * 6 + ["churned", "reverted", "deleted_later", "deleted_later"]


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".000Z"


def build(path: Path, n_commits: int, n_sessions: int, target_lines: int) -> dict[str, int]:
    from gitroi.ledger import open_ledger

    open_ledger(path).conn.close()
    rnd = random.Random(7)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA journal_mode = MEMORY")
    t0 = 1_640_000_000.0
    step = 3 * 365 * 86400 / n_commits
    commits, slices, outcomes, branch = [], [], [], []
    per_commit_lines = target_lines / n_commits
    lines_total = 0
    for i in range(n_commits):
        sha = f"{i:040x}"
        when = iso(t0 + i * step)
        ai = rnd.random() < 0.6
        agent, model = AGENTS[i % len(AGENTS)]
        added = max(1, int(rnd.expovariate(1 / per_commit_lines)))
        attribution = "line" if ai and i % 3 else ("commit" if ai else "none")
        ai_lines = int(added * 0.7) if attribution == "line" else (added if ai else 0)
        commits.append((sha, "Dev", "dev@example.com", when, when, "c", "", attribution,
                        json.dumps([agent] if ai else []), added, ai_lines, 0, None, None, "none",
                        None, "[]"))
        branch.append((sha, "main"))
        if ai and attribution == "line":
            s = i % n_sessions
            tok = (rnd.randint(10, 500), rnd.randint(100, 3000), rnd.randint(0, 20000),
                   rnd.randint(0, 200000))
            cost = round(sum(tok) * 2e-6, 6)
            models = json.dumps({model: {"input": tok[0], "output": tok[1], "cache_write": tok[2],
                                         "cache_read": tok[3], "reasoning": 0, "responses": 3,
                                         "cost_usd": cost}})
            slices.append((sha, f"{agent}:s{s}", agent, f"s{s}", models, tok[0], tok[1], tok[2],
                           tok[3], 0, sum(tok), cost, iso(t0 + i * step - 3600), when))
        # ~10 rows per commit: paths x symbols x outcomes, AI and not.
        files = 1 + i % 3
        left = added
        for f in range(files):
            for sym in ("", f"fn_{(i + f) % 50}", f"Cls_{(i * 7 + f) % 30}.method"):
                if left <= 0:
                    break
                chunk = max(1, added // (files * 3))
                chunk = min(chunk, left)
                left -= chunk
                outcome = OUTCOMES[(i + f + len(sym)) % len(OUTCOMES)]
                outcomes.append((sha, f"src/mod{(i + f) % 400}/file{f}.py", sym, 1 if ai else 0,
                                 1, outcome, "" if outcome == "surviving" else "person", chunk))
                lines_total += chunk
        if left > 0:
            outcomes.append((sha, "src/rest.py", "", 1 if ai else 0, 1, "surviving", "", left))
            lines_total += left
    conn.executemany("INSERT INTO commits (sha, author_name, author_email, authored_at, "
                     "committed_at, subject, parents, attribution, agents, lines_added, ai_lines, "
                     "tokens, cost_usd, note_version, source, source_key, markers) VALUES "
                     "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", commits)
    conn.executemany("INSERT OR IGNORE INTO commit_sessions (commit_sha, session_key, agent, "
                     "session_id, models, input, output, cache_write, cache_read, reasoning, "
                     "tokens, cost_usd, since_ts, until_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     slices)
    conn.executemany("INSERT OR IGNORE INTO line_outcomes (commit_sha, path, symbol, ai, is_code, "
                     "outcome, ended_by, lines) VALUES (?,?,?,?,?,?,?,?)", outcomes)
    conn.executemany("INSERT INTO branch_commits (sha, branch) VALUES (?,?)", branch)
    sessions, events = [], []
    for s in range(n_sessions):
        agent, model = AGENTS[s % len(AGENTS)]
        start = t0 + s * (3 * 365 * 86400 / n_sessions)
        sessions.append((f"{agent}:s{s}", agent, f"s{s}", "/work/repo", "main", iso(start),
                         iso(start + 7200), "/logs/x.jsonl", None))
        for e in range(50):
            events.append((f"{agent}:s{s}", f"e{e}", iso(start + e * 120), model,
                           rnd.randint(1, 50), rnd.randint(10, 500), rnd.randint(0, 2000), 0,
                           rnd.randint(0, 20000), 0, 0.001, None))
    conn.executemany("INSERT OR IGNORE INTO sessions (key, agent, session_id, cwd, git_branch, "
                     "started_at, ended_at, source_path, parent_key) VALUES (?,?,?,?,?,?,?,?,?)",
                     sessions)
    conn.executemany("INSERT OR IGNORE INTO usage_events (session_key, event_id, ts, model, input, "
                     "output, cache_write, cache_write_1h, cache_read, reasoning, cost_usd, "
                     "logged_cost_usd) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", events)
    prs, pr_commits, figs = [], [], []
    for p in range(1, n_commits // 10 + 1):
        last = min(n_commits - 1, p * 10 - 1)
        prs.append((p, f"PR {p}", iso(t0 + last * step), f"{last:040x}", "merge", "main",
                    f"feat{p}", "history"))
        for c in range(p * 10 - 10, p * 10):
            pr_commits.append((p, f"{c:040x}", 1))
        figs.append((p, 50, 45, 5, None))
    conn.executemany("INSERT INTO pull_requests (number, title, merged_at, merge_commit, method, "
                     "base, head, source) VALUES (?,?,?,?,?,?,?,?)", prs)
    conn.executemany("INSERT INTO pr_commits (pr, commit_sha, reached_merge) VALUES (?,?,?)",
                     pr_commits)
    conn.executemany("INSERT INTO pr_figures (pr, ai_written, ai_merged, review_churn, note) "
                     "VALUES (?,?,?,?,?)", figs)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return {"commits": n_commits, "sessions": n_sessions, "usage_events": len(events),
            "commit_sessions": len(slices), "line_outcome_rows": len(outcomes),
            "lines": lines_total, "pull_requests": len(prs)}


def timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=100_000)
    ap.add_argument("--sessions", type=int, default=5_000)
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--db", type=Path, help="reuse/keep the ledger here")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="gitroi-bench-report-")
    db_path = args.db or Path(tmp) / "ledger.db"
    if not db_path.exists():
        t = time.perf_counter()
        sizes = build(db_path, args.commits, args.sessions, args.lines)
        print(f"built {db_path} in {time.perf_counter() - t:.1f} s: {sizes}")
    from gitroi.ledger import open_ledger
    from gitroi.report.figures import chart_data, compute
    from gitroi.report.html import render_html

    db = open_ledger(db_path)
    tables = ["commits", "commit_sessions", "line_outcomes", "usage_events", "sessions",
              "pull_requests", "pr_commits", "branch_commits"]
    floor = timed(lambda: [db.execute(f"SELECT count(*) FROM {t}").fetchone() for t in tables])
    from gitroi.ledger.figures import refresh_commit_facts

    cold = timed(lambda: refresh_commit_facts(db, force=True))
    head = timed(lambda: compute(db, roots=["/work/repo"]))
    html_t = timed(lambda: render_html(chart_data(db, roots=["/work/repo"])))
    grouped = timed(lambda: compute(db, by=["week", "agent"], roots=["/work/repo"]))
    cli = [sys.executable, "-m", "gitroi", "--db", str(db_path), "report", "--no-update"]
    cli_head = timed(lambda: subprocess.run([*cli, "--format", "json"], check=True,
                                            capture_output=True, cwd=tmp))
    cli_html = timed(lambda: subprocess.run([*cli, "--format", "html", "-o", f"{tmp}/r.html"],
                                            check=True, capture_output=True, cwd=tmp))
    h = compute(db)["headline"]
    print(f"lines in line_outcomes: {db.execute('SELECT sum(lines) FROM line_outcomes').fetchone()[0]:,}"
          f"; AI lines {h['ai_lines']:,}; tokens {h['tokens']:,}")
    print(f"SELECT count(*) over {len(tables)} tables: {floor:.3f} s")
    print(f"rebuild report_commit_facts (once per ledger change): {cold:.3f} s")
    print(f"compute() headline:                 {head:.3f} s")
    print(f"compute() --by week --by agent:     {grouped:.3f} s")
    print(f"chart_data() + render_html():        {html_t:.3f} s")
    print(f"gitroi report --format json (CLI):  {cli_head:.3f} s  (target < 1 s)")
    print(f"gitroi report --format html (CLI):  {cli_html:.3f} s  (target < 5 s)")


if __name__ == "__main__":
    main()
