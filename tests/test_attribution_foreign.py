"""git-ai notes (refs/notes/ai, authorship/3.0.0) and Agent Trace records become line-level attribution."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitroi.attribution.foreign import parse_git_ai, read_agent_traces
from gitroi.attribution.notes import Note
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
    """The older prompts-only shape (authorship/3.0.0 before git-ai 1.4), messages included."""
    n = parse_git_ai(GIT_AI_LOG, commit="ab" * 20)
    assert n is not None
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


FIXTURES = Path(__file__).parent / "fixtures" / "git-ai"


def _note(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _sessions(n: Note) -> list[tuple[str, str, list[str]]]:
    return [(s.agent, s.session_id, list(s.models)) for s in n.sessions]


def test_git_ai_sessions_format_1_6() -> None:
    """git-ai 1.6.20: an s_::t_ key resolved through the sessions map."""
    n = parse_git_ai(_note("sessions-1.6.20.note"), commit="f0d6d84d92c3")
    assert n is not None and dict(n.ai_ranges) == {"AGENTS.md": ((235, 235),)}
    assert _sessions(n) == [("codex", "019fb967-bdb1-7410-b343-d56bebc142f0", ["gpt-5.6-sol"])]
    assert n.source == "git-ai development:1.6.20" and n.markers == ("git-ai",)


def test_git_ai_known_human_lines_are_not_ai() -> None:
    """git-ai 1.6.7: line 5 is a person's (h_ key, humans map); the session wrote the rest."""
    n = parse_git_ai(_note("known-human-1.6.7.note"))
    assert n is not None and dict(n.ai_ranges) == {"AGENTS.md": ((1, 4), (6, 16))}
    assert n.ai_lines == 15 and n.agents == ("claude-code",)
    # notes naming people only (legacy "human", h_ keys) and notes with no attestation: no AI
    for name in ("human-1.0.22.note", "known-human-only-1.3.2.note", "empty.note"):
        assert parse_git_ai(_note(name)) is None, name


def test_git_ai_ranges_unsorted_adjacent_and_overlapping() -> None:
    n = parse_git_ai(_note("unsorted-1.5.7.note"))  # "68,57" then a second trace of the session
    assert n is not None
    assert dict(n.ai_ranges) == {"docs/rewrite-ops-spec.md": ((1, 55), (57, 68), (70, 131),
                                                               (143, 263))}
    assert len(n.sessions) == 1  # two traces, one session
    n = parse_git_ai(_note("prompts-adjacent-1.3.4.note"))  # 1-102,103,104-131,...: legacy keys
    assert n is not None
    assert dict(n.ai_ranges) == {"docs/superpowers/specs/2026-05-03-checkpoint-rewrite-design.md":
                                 ((1, 142), (153, 178), (181, 200), (202, 204))}
    assert _sessions(n) == [("claude-code", "73568fd6-810b-410c-80b7-8b19b027eee1",
                             ["claude-opus-4-6"])]
    n = parse_git_ai(_note("overlap-1.4.10.note"))  # two traces of one session name line 223
    assert n is not None and n.ai_lines == 26 + 9 + 33 and len(n.sessions) == 1  # the union


def test_git_ai_keys_without_a_record() -> None:
    """A prompt id no map holds, and git-ai's anonymous ai_agent key: AI by an unknown agent."""
    n = parse_git_ai(_note("no-record-7hex.note"))
    assert n is not None and dict(n.ai_ranges) == {"src/commands/upgrade.rs": ((282, 282),)}
    assert _sessions(n) == [("unknown", "349771e", [])]
    n = parse_git_ai(_note("ai-agent-1.4.6.note"))
    assert n is not None and n.ai_lines == 12 and _sessions(n) == [("unknown", "ai_agent", [])]


def test_git_ai_mixed_note_quoted_path_and_a_later_human_entry() -> None:
    """The standard's mixed example (specs/git_ai_standard_v3.0.0.md 1.2.7) plus a quoted path
    and a person's later entry over AI lines: the later entry wins, as git-ai's own reader."""
    text = (
        "src/main.rs\n"
        "  s_c9883b05a2487d::t_9f8e7d6c5b4a32 1-10\n"
        "  h_31dce776f88375 15-20\n"
        "  h_31dce776f88375 3-4\n"
        "src/lib.rs\n"
        "  abcd1234abcd1234 1-50\n"
        '"src/my file.rs"\n'
        "  s_c9883b05a2487d::t_a1b2c3d4e5f678 7,2-3\n"
        "---\n"
        + json.dumps({"schema_version": "authorship/3.0.0", "git_ai_version": "1.4.5",
                      "base_commit_sha": "7734793b756b3921c88db5375a8c156e9532447b",
                      "prompts": {"abcd1234abcd1234": {"agent_id": {"tool": "cursor",
                                  "id": "old_session_id", "model": "gpt-4"},
                                  "total_additions": 50, "total_deletions": 0,
                                  "accepted_lines": 50, "overriden_lines": 0}},
                      "humans": {"h_31dce776f88375": {"author": "Developer <dev@example.com>"}},
                      "sessions": {"s_c9883b05a2487d": {"agent_id": {
                          "tool": "claude", "id": "conv_abc123",
                          "model": "claude-sonnet-4-5-20250514"}}}}, indent=2))
    n = parse_git_ai(text, commit="ab" * 20)
    assert n is not None
    assert dict(n.ai_ranges) == {"src/lib.rs": ((1, 50),), "src/main.rs": ((1, 2), (5, 10)),
                                 "src/my file.rs": ((2, 3), (7, 7))}
    assert _sessions(n) == [("claude-code", "conv_abc123", ["claude-sonnet-4-5-20250514"]),
                            ("cursor", "old_session_id", ["gpt-4"])]
    assert "Developer" not in n.dumps()


@pytest.mark.parametrize("text, message", [
    ("src/x\n  abcd1234abcd1234 1\n", "has no '---' divider"),
    ("---\n[1, 2]", "not an object"),
    ("---\n{\"schema_version\": \"authorship/2.0.0\"}", "unsupported schema"),
    ("  abcd 1-2\n---\n{\"schema_version\": \"authorship/3.0.0\"}", "attestation line 1 is malformed"),
    ("a.py\n  abcd\n---\n{\"schema_version\": \"authorship/3.0.0\"}", "attestation line 2 is malformed"),
    ("a.py\n  abcd 5-2\n---\n{\"schema_version\": \"authorship/3.0.0\"}", "bad line range on line 2"),
    ("a.py\n  abcd x\n---\n{\"schema_version\": \"authorship/3.0.0\"}", "bad line range"),
    ("a.py\n  abcd 1\n---\n{\"schema_version\": \"authorship/3.0.0\", \"sessions\": []}",
     "metadata 'sessions' is not an object"),
])
def test_git_ai_unknown_shapes_name_the_commit(text: str, message: str) -> None:
    with pytest.raises(GitroiError, match=f"git-ai note on commit abababababab.*{re.escape(message)}"):
        parse_git_ai(text, commit="ab" * 20)


def test_a_current_git_ai_note_in_attribute_show_and_report(repo: GitRepo) -> None:
    """Issue 11: on a commit carrying a current (sessions) note, `attribute` said "without AI" and
    `show` stopped with "attestation line 2 is malformed".  An unknown shape is a warning."""
    repo.commit({"README": "r\n"}, "base")
    ok = repo.commit({"AGENTS.md": "".join(f"l{i}\n" for i in range(1, 17))}, "agents")
    repo.git("notes", "--ref=refs/notes/ai", "add", "-m",
             _note("known-human-1.6.7.note").decode(), ok)
    bad = repo.commit({"b.py": "x\n"}, "bad note\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    repo.git("notes", "--ref=refs/notes/ai", "add", "-m", "b.py\n  s_1::t_2\n---\n{}", bad)
    d = json.loads(run_gitroi("show", ok, "--json", cwd=repo.path).stdout)
    assert (d["attribution"], d["source"], d["ai_lines"], d["lines_added"], d["agents"]) == \
        ("line", "git-ai", 15, 16, ["claude-code"])
    proc = run_gitroi("show", bad, "--json", cwd=repo.path)
    d = json.loads(proc.stdout)
    assert (d["attribution"], d["source"], d["markers"]) == ("commit", "markers", ["co-author:claude"])
    assert d["warnings"] == [f"the git-ai note on commit {bad[:12]} has unsupported schema '' "
                             "(reads authorship/3.x); skipped"]
    text = run_gitroi("show", bad, cwd=repo.path)
    assert f"gitroi: warning: the git-ai note on commit {bad[:12]}" in text.stderr
    assert "attribution: commit level (every added line counts, from the commit's AI markers), " \
        "from the commit trailers and author" in text.stdout
    out = run_gitroi("attribute", "--json", cwd=repo.path)
    assert json.loads(out.stdout) == {"line": 1, "commit": 1, "none": 1}


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
    odd = dict(trace, id="third", files=[{"path": "src/a.ts", "conversations": [
        {"contributor": {"type": "ai"}, "ranges": [{"start_line": 9, "end_line": 2}]}]}])
    mixed = dict(trace, id="fourth", files=[{"path": "src/a.ts", "conversations": [
        {"contributor": {"type": "mixed"}, "ranges": [{"start_line": 5, "end_line": 5}]}]}])
    repo.write(".agent-trace/traces.jsonl",
               json.dumps(trace) + "\n" + "{broken\n" + json.dumps(short) + "\n\n"
               + json.dumps(odd) + "\n" + json.dumps(mixed) + "\n")
    r = Repo.discover(repo.path)
    problems: list[str] = []
    traces = read_agent_traces(r, problems=problems)
    assert list(traces) == [at]
    assert [p.split(":")[0] for p in problems] == [".agent-trace/traces.jsonl line 2",
                                                    ".agent-trace/traces.jsonl line 5"]
    assert f"the Agent Trace record for commit {at[:12]} has a shape gitroi does not know" \
        in problems[1] and problems[1].endswith("; skipped")
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
