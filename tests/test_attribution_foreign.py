"""git-ai notes (refs/notes/ai, authorship/3.0.0) and Agent Trace records become line-level attribution."""

from __future__ import annotations

import json

import pytest

from gitroi.attribution.foreign import parse_git_ai, read_agent_traces
from gitroi.attribution.rebuild import ensure_ledger
from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.ledger import memory_ledger
from gitroi.ledger.commits import commit_ranges, commit_row, commit_sessions
from tests.conftest import GitRepo, run_gitroi

GIT_AI_LOG = """src/main.rs
  abcd1234abcd1234 1-3,5
  efab5678efab5678 7
"src/my file.rs"
  abcd1234abcd1234 2
---
{
  "schema_version": "authorship/3.0.0",
  "git_ai_version": "1.0.23",
  "base_commit_sha": "7734793b756b3921c88db5375a8c156e9532447b",
  "prompts": {
    "abcd1234abcd1234": {
      "agent_id": {"tool": "cursor", "id": "6ef2299e", "model": "claude-4.5-opus"},
      "human_author": "Developer <dev@example.com>",
      "messages": [{"type": "user", "text": "SECRET PROMPT TEXT"}],
      "total_additions": 25, "total_deletions": 5, "accepted_lines": 20, "overriden_lines": 0
    },
    "efab5678efab5678": {
      "agent_id": {"tool": "claude", "id": "a1b2c3d4", "model": "claude-3-sonnet"},
      "messages": [], "total_additions": 1, "total_deletions": 0, "accepted_lines": 1,
      "overriden_lines": 0
    }
  }
}
"""


def test_parse_git_ai_log() -> None:
    n = parse_git_ai(GIT_AI_LOG, commit="ab" * 20)
    assert n.attribution == "line"
    assert n.agents == ("claude-code", "cursor")
    assert dict(n.ai_ranges) == {"src/main.rs": ((1, 3), (5, 5), (7, 7)),
                                 "src/my file.rs": ((2, 2),)}
    assert [(s.agent, s.session_id, list(s.models)) for s in n.sessions] == [
        ("claude-code", "a1b2c3d4", ["claude-3-sonnet"]), ("cursor", "6ef2299e", ["claude-4.5-opus"])]
    assert n.tokens == 0 and n.cost_usd is None
    assert "SECRET" not in n.dumps()
    with pytest.raises(GitroiError, match="git-ai note on commit abababababab has no '---'"):
        parse_git_ai("src/x\n  abcd1234abcd1234 1\n", commit="ab" * 20)
    with pytest.raises(GitroiError, match="unsupported schema"):
        parse_git_ai("---\n{\"schema_version\": \"authorship/2.0.0\"}", commit="ab" * 20)


def test_git_ai_note_and_agent_trace_in_the_ledger(repo: GitRepo) -> None:
    repo.commit({"README": "r\n"}, "base")
    ga = repo.commit({"src/main.rs": "".join(f"l{i}\n" for i in range(1, 9)),
                      "src/my file.rs": "a\nb\n"}, "git-ai made")
    repo.git("notes", "--ref=refs/notes/ai", "add", "-m", GIT_AI_LOG, ga)
    at = repo.commit({"src/a.ts": "".join(f"x{i}\n" for i in range(1, 11))}, "traced")
    trace = {"version": "0.1.0", "id": "0b9f6f4e-1111-4d5e-9a63-2c1c2f0c9a11",
             "timestamp": "2026-01-01T00:00:00Z", "vcs": {"type": "git", "revision": at},
             "tool": {"name": "cursor", "version": "2.0"},
             "files": [{"path": "src/a.ts", "conversations": [
                 {"url": "https://cursor.example/conv/1",
                  "contributor": {"type": "ai", "model_id": "gpt-5"},
                  "ranges": [{"start_line": 1, "end_line": 4}, {"start_line": 9, "end_line": 10}]},
                 {"contributor": {"type": "human"}, "ranges": [{"start_line": 5, "end_line": 8}]},
             ]}]}
    short = dict(trace, id="second", vcs={"type": "git", "revision": at[:10]},
                 files=[{"path": "src/a.ts", "conversations": [
                     {"url": "https://cursor.example/conv/1", "contributor": {"type": "ai"},
                      "ranges": [{"start_line": 6, "end_line": 6}]}]}])
    repo.write(".agent-trace/traces.jsonl",
               json.dumps(trace) + "\n" + "{broken\n" + json.dumps(short) + "\n")
    r = Repo.discover(repo.path)
    traces = read_agent_traces(r)
    assert list(traces) == [at]
    assert dict(traces[at][1].ai_ranges) == {"src/a.ts": ((1, 4), (6, 6), (9, 10))}

    db = memory_ledger()
    assert ensure_ledger(r, db) == 3
    row = commit_row(db, ga)
    assert row is not None
    assert (row["attribution"], row["source"], row["lines_added"], row["ai_lines"]) == \
        ("line", "git-ai", 10, 6)
    assert commit_ranges(db, ga) == {"src/main.rs": [[1, 3], [5, 5], [7, 7]],
                                     "src/my file.rs": [[2, 2]]}
    assert [s["session_id"] for s in commit_sessions(db, ga)] == ["a1b2c3d4", "6ef2299e"]
    row = commit_row(db, at)
    assert row is not None
    assert (row["attribution"], row["source"], row["ai_lines"], row["agents"]) == \
        ("line", "agent-trace", 7, '["cursor"]')
    assert ensure_ledger(r, db) == 0
    d = json.loads(run_gitroi("show", ga, "--json", cwd=repo.path).stdout)
    assert (d["attribution"], d["source"], d["ai_lines"], d["lines_added"]) == \
        ("line", "git-ai", 6, 10)
    d = json.loads(run_gitroi("show", at, "--json", cwd=repo.path).stdout)
    assert (d["source"], d["ai_ranges"]) == ("agent-trace", {"src/a.ts": [[1, 4], [6, 6], [9, 10]]})
