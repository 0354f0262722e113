"""Aider reader: a ``.aider.chat.history.md`` written the way aider/io.py appends it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitroi.sessions import hash_lines
from gitroi.sessions.aider import READER, parse_count, session_id, split_tokens
from tests.session_ledger import Ledger

SECRET = "SECRET-AIDER-TEXT"


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Aider writes local time; pin the zone so expected times are exact."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def tool(text: str) -> str:
    """io.tool_output -> append_chat_history(blockquote=True, linebreak=True)."""
    return "> " + text.strip() + "  \n"


def user(text: str) -> str:
    return "\n#### " + "  \n#### ".join(text.splitlines()) + "  \n\n"


HISTORY = (
    "\n# aider chat started at 2026-03-04 09:15:02\n\n"
    + tool("/home/dev/.local/bin/aider --model sonnet")
    + tool("Aider v0.86.1")
    + tool("Main model: anthropic/claude-sonnet-4-20250514 with diff edit format, infinite output")
    + tool("Weak model: anthropic/claude-3-5-haiku-20241022")
    + tool("Git repo: .git with 12 files")
    + tool("Repo-map: using 4096 tokens, auto refresh")
    + user(f"add a function f\n{SECRET} second prompt line")
    + f"Here is the change. {SECRET}\n\n"
    + "app.py\n```python\n<<<<<<< SEARCH\n=======\ndef f():\n    return 1\n>>>>>>> REPLACE\n```\n\n"
    # both cache figures: aider breaks before Cost, and the second line has no "> "
    + tool("Tokens: 2.4k sent, 1.1k cache write, 800 cache hit, 187 received.\nCost: $0.0071 message, $0.021 session.")
    + tool("Applied edit to app.py")
    + tool("Commit 1a2b3c4 feat: add f")
    + user("/model gpt-4o")
    + tool("Aider v0.86.1")
    + tool("Main model: gpt-4o with diff edit format")
    + user(f"{SECRET} explain")
    + f"{SECRET} answer\n\n"
    + tool("Tokens: 12k sent, 350 received. Cost: $0.03 message, $0.05 session.")
    + tool("Tokens: 1,234 sent, 56 received.")
    + "\n# aider chat started at 2026-03-05 14:00:00\n\n"
    + tool("Model: gpt-4-1106-preview with udiff edit format")
    + user(f"{SECRET} fix util")
    # udiff, whole (with lines that look like headings and quotes) and diff-fenced replies
    + f"I will fix it. {SECRET}\n\n```diff\n--- src/util.py\n+++ src/util.py\n@@ ... @@\n"
      "-def g():\n-    return 0\n+def g():\n+    return 2\n```\n\n"
    + "docs/x.md\n```\n# Title\n> quoted\nbody\n```\n\n"
    + "```\nlib/h.py\n<<<<<<< SEARCH\nold_h = 0\n=======\nnew_h = 1\n>>>>>>> REPLACE\n```\n\n"
    + tool("Tokens: 900 sent, 12k cache hit, 40 received. Cost: $0.0012 message, $0.0012 session.")
    + tool("Applied edit to src/util.py")
    + tool("Applied edit to docs/x.md")
    + tool("Applied edit to lib/h.py")
)


def write(repo: Path, text: str | bytes) -> Path:
    repo.mkdir(parents=True, exist_ok=True)
    p = repo / ".aider.chat.history.md"
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def test_counts_and_split() -> None:
    assert [parse_count(x) for x in ("187", "1,234", "2.4k", "12k", "9.9k")] == [187, 1234, 2400, 12000, 9900]
    assert split_tokens(2400, 1100, 800) == 500   # prompt includes the hits
    assert split_tokens(900, 0, 12000) == 900     # hits reported apart (Anthropic style)
    assert split_tokens(12000, 0, 0) == 12000


def test_one_pass(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    path = write(repo, HISTORY)
    r = READER.read(path, 0, {})
    assert r.problems == []
    assert r.offset == len(HISTORY.encode())
    s1 = "aider:" + session_id(path, "2026-03-04 09:15:02")
    s2 = "aider:" + session_id(path, "2026-03-05 14:00:00")
    got = [(k, e.model, e.input, e.cache_write, e.cache_read, e.output, e.logged_cost_usd, e.ts) for k, e in r.events]
    assert got == [
        (s1, "anthropic/claude-sonnet-4-20250514", 500, 1100, 800, 187, 0.0071, "2026-03-04T09:15:02.000Z"),
        (s1, "gpt-4o", 12000, 0, 0, 350, 0.03, "2026-03-04T09:15:02.000Z"),
        (s1, "gpt-4o", 1234, 0, 0, 56, None, "2026-03-04T09:15:02.000Z"),
        (s2, "gpt-4-1106-preview", 900, 0, 12000, 40, 0.0012, "2026-03-05T14:00:00.000Z"),
    ]
    assert sum(e.tokens for _, e in r.events) == 2587 + 12350 + 1290 + 12940
    assert len({e.event_id for _, e in r.events}) == 4
    assert [(k, e.path, e.tool, e.line_hashes, e.ts) for k, e in r.edits] == [
        (s1, "app.py", "aider", hash_lines("def f():\n    return 1"), "2026-03-04T09:15:02.000Z"),
        (s2, "src/util.py", "aider", hash_lines("def g():\n    return 2"), "2026-03-05T14:00:00.000Z"),
        (s2, "docs/x.md", "aider", hash_lines("# Title\n> quoted\nbody"), "2026-03-05T14:00:00.000Z"),
        (s2, "lib/h.py", "aider", hash_lines("new_h = 1"), "2026-03-05T14:00:00.000Z"),
    ]
    assert sorted(r.sessions) == sorted([s1, s2])
    info = r.sessions[s1]
    assert (info.cwd, info.started_at, info.ended_at) == (str(repo), "2026-03-04T09:15:02.000Z", "2026-03-04T09:15:02.000Z")
    assert SECRET not in repr(r) and SECRET not in json.dumps(r.state)
    # re-read with nothing new
    again = READER.read(path, r.offset, r.state)
    assert (again.events, again.edits, again.offset) == ([], [], r.offset)


def test_incremental_splits_equal_one_pass(tmp_path: Path) -> None:
    path = write(tmp_path / "repo", HISTORY)
    full = path.read_bytes()
    one = Ledger()
    one.apply(READER.read(path, 0, {}))
    for step in (13, 57, 200):
        led = Ledger()
        offset, state = 0, {}
        for cut in [*range(step, len(full), step), len(full)]:
            path.write_bytes(full[:cut])
            r = READER.read(path, offset, state)
            assert not r.problems
            led.apply(r)
            offset, state = r.offset, json.loads(json.dumps(r.state))
        assert led.events == one.events and led.edits == one.edits, step


def test_cost_line_arriving_in_the_next_read(tmp_path: Path) -> None:
    head, tail = HISTORY.split("Cost: $0.0071")
    path = write(tmp_path / "repo", head)
    r1 = READER.read(path, 0, {})
    first = [e for _, e in r1.events]
    assert [(e.input, e.logged_cost_usd) for e in first] == [(500, None)]
    path.write_text(head + "Cost: $0.0071" + tail)
    r2 = READER.read(path, r1.offset, r1.state)
    assert r2.events[0][1].event_id == first[0].event_id
    assert r2.events[0][1].logged_cost_usd == 0.0071


def test_bad_lines(tmp_path: Path) -> None:
    text = (
        tool("Tokens: 5 sent, 1 received.")                      # 1: before any chat start
        + "\n# aider chat started at 2026-13-45 99:00:00\n"      # 3: impossible date
        + "\n# aider chat started at 2026-03-04 09:15:02\n\n"
    ).encode() + b"> Main model: m\xff\xfe with diff\n" + (     # 7: not UTF-8
        tool("Tokens: lots sent, 3 received.")                   # 8: unrecognised
        + tool("Tokens: 10 sent, 3 received. Cost: free")        # 9: event kept, cost part unrecognised
        + tool("Tokens: 10 sent, 4 received.")
    ).encode()
    path = write(tmp_path / "repo", text)
    r = READER.read(path, 0, {})
    assert [(p.line, p.reason) for p in r.problems] == [
        (1, "usage line before any chat start"), (3, "bad chat start time"), (7, "not UTF-8"),
        (8, "unrecognised Tokens line"), (9, "unrecognised Cost part"),
    ]
    assert [(e.input, e.output, e.model) for _, e in r.events] == [(10, 3, "unknown"), (10, 4, "unknown")]


def test_roots_and_discover(tmp_path: Path) -> None:
    a = write(tmp_path / "a", HISTORY)
    b = write(tmp_path / "b", HISTORY)
    env = {"GITROI_AIDER_HISTORY": f"{a}:{tmp_path / 'b'}:{tmp_path / 'missing'}"}
    roots = READER.roots(env, tmp_path)
    assert roots == [a, tmp_path / "b", tmp_path / "missing"]
    assert list(READER.discover(roots)) == [a, b]
    assert READER.roots({}, tmp_path) == []
    assert list(READER.discover(READER.scoped_roots([str(tmp_path / "a"), str(tmp_path / "c")]))) == [a]
    assert READER.peek_cwd(a) == str(tmp_path / "a")
    (tmp_path / "a" / ".git").mkdir()
    (tmp_path / "a" / "sub" / "deeper").mkdir(parents=True)
    assert READER.scoped_roots([str(tmp_path / "a" / "sub" / "deeper")]) == [
        tmp_path / "a" / "sub" / "deeper", tmp_path / "a" / "sub", tmp_path / "a"]
    assert READER.scoped_roots([str(tmp_path / "b")]) == [tmp_path / "b"]


def test_end_to_end_import_and_list(repo: Any) -> None:
    from tests.conftest import run_gitroi

    repo.commit({"app.py": "x = 0\n"}, "init")
    path = write(repo.path, HISTORY)
    out = run_gitroi("sessions", "import", cwd=repo.path).stdout
    assert out.startswith("Imported 4 responses and 4 edits of 2 sessions from 1 log file")
    rows = json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path).stdout)
    assert [(r["agent"], r["session_id"], r["cwd"], r["started_at"], r["tokens"]) for r in rows] == [
        ("aider", session_id(path, "2026-03-04 09:15:02"), str(repo.path), "2026-03-04T09:15:02.000Z", 16227),
        ("aider", session_id(path, "2026-03-05 14:00:00"), str(repo.path), "2026-03-05T14:00:00.000Z", 12940),
    ]
    first = rows[0]["models"]
    assert sorted(first) == ["anthropic/claude-sonnet-4-20250514", "gpt-4o"]
    assert {k: first["gpt-4o"][k] for k in ("input", "output", "cache_write", "cache_read", "responses")} == {
        "input": 13234, "output": 406, "cache_write": 0, "cache_read": 0, "responses": 2}
    ledger = b"".join(p.read_bytes() for p in (repo.path / ".git" / "gitroi").glob("ledger.db*"))
    assert SECRET.encode() not in ledger
    # aider appends a new exchange; the re-import reads only that
    with path.open("a") as fh:
        fh.write(tool("Tokens: 3.1k sent, 90 received. Cost: $0.0089 message, $0.0101 session."))
    out = run_gitroi("sessions", "import", cwd=repo.path).stdout
    assert out.startswith("Imported 1 response and 0 edits of 1 session")
    rows = json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path).stdout)
    assert rows[1]["tokens"] == 12940 + 3190
    assert rows[1]["models"]["gpt-4-1106-preview"]["responses"] == 2


INPUT_HISTORY = (
    "\n# 2026-03-01 08:00:00.000000\n+/model gpt-4o\n"              # before the chat: never matched
    f"\n# 2026-03-04 09:15:40.123456\n+add a function f\n+{SECRET} second prompt line\n"
    "\n# 2026-03-04 09:20:00.000001\n+/model gpt-4o\n"
    f"\n# 2026-03-04 09:21:30.500000\n+{SECRET} explain\n"
    "\n# 2026-03-04 09:40:00.000000\n+typed in another terminal\n"
    f"\n# 2026-03-05 14:02:00.250000\n+{SECRET} fix util\n"
)


def test_prompt_times_from_the_input_history(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    path = write(repo, HISTORY)
    (repo / ".aider.input.history").write_text(INPUT_HISTORY)
    r = READER.read(path, 0, {})
    assert [e.ts for _, e in r.events] == [
        "2026-03-04T09:15:40.123Z", "2026-03-04T09:21:30.500Z", "2026-03-04T09:21:30.500Z",
        "2026-03-05T14:02:00.250Z"]
    assert [e.ts for _, e in r.edits] == ["2026-03-04T09:15:40.123Z"] + ["2026-03-05T14:02:00.250Z"] * 3
    s1 = "aider:" + session_id(path, "2026-03-04 09:15:02")
    assert (r.sessions[s1].started_at, r.sessions[s1].ended_at) == ("2026-03-04T09:15:02.000Z", "2026-03-04T09:21:30.500Z")
    assert SECRET not in json.dumps(r.state)
    # the same, read in pieces
    full = path.read_bytes()
    one = Ledger()
    one.apply(r)
    for step in (11, 64):
        led = Ledger()
        offset, state = 0, {}
        for cut in [*range(step, len(full), step), len(full)]:
            path.write_bytes(full[:cut])
            part = READER.read(path, offset, state)
            led.apply(part)
            offset, state = part.offset, json.loads(json.dumps(part.state))
        assert led.events == one.events and led.edits == one.edits, step


def _exchange(prompt: str, name: str, new: str, tokens: str) -> str:
    return (user(prompt) + f"Sure. {SECRET}\n\n{name}\n```python\n<<<<<<< SEARCH\n=======\n{new}\n>>>>>>> REPLACE\n```\n\n"
            + tool(tokens) + tool(f"Applied edit to {name}") + tool("Commit 0000000 aider: edit"))


def test_end_to_end_attribution_splits_a_chat_between_its_commits(repo: Any) -> None:
    from tests.conftest import run_gitroi

    repo.commit({"app.py": "x = 0\n"}, "init", date="2026-03-04T09:00:00Z")
    hist = write(repo.path, "\n# aider chat started at 2026-03-04 09:15:02\n\n"
                 + tool("Main model: claude-sonnet-4-5 with diff edit format")
                 + _exchange("add f", "app.py", "def f():\n    return 1",
                             "Tokens: 2.4k sent, 150 received. Cost: $0.0095 message, $0.0095 session."))
    (repo.path / ".aider.input.history").write_text(
        "\n# 2026-03-04 09:15:40.000000\n+add f\n\n# 2026-03-04 09:30:00.000000\n+add g\n")
    repo.commit({"app.py": "x = 0\ndef f():\n    return 1\n"}, "feat: f", date="2026-03-04T09:16:00Z",
                author="Test Person (aider) <person@example.com>")
    with hist.open("a") as fh:
        fh.write(_exchange("add g", "app.py", "def g():\n    return 2",
                           "Tokens: 3.1k sent, 90 received. Cost: $0.0107 message, $0.0202 session."))
    repo.commit({"app.py": "x = 0\ndef f():\n    return 1\ndef g():\n    return 2\n"}, "feat: g",
                date="2026-03-04T09:31:00Z", author="Test Person (aider) <person@example.com>")
    run_gitroi("attribute", cwd=repo.path)
    first = json.loads(run_gitroi("show", "HEAD~1", "--json", cwd=repo.path).stdout)
    second = json.loads(run_gitroi("show", "HEAD", "--json", cwd=repo.path).stdout)
    for note, added, tokens in ((first, 2, 2550), (second, 2, 3190)):
        assert (note["attribution"], note["agents"], note["ai_lines"], note["lines_added"]) == (
            "line", ["aider"], added, added)
        assert note["tokens"] == tokens
    assert second["ai_ranges"] == {"app.py": [[4, 5]]}
