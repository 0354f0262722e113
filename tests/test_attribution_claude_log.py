"""End to end from a real Claude Code transcript: log on disk -> import -> commit -> note.

The transcript is written in the shape of ``tests/fixtures/samples/claude-code-sample.jsonl``
(one line per content block repeating ``usage``, ``Edit``/``Write`` tool_use
lines, user tool_result lines with ``toolUseResult.structuredPatch``) into a
temporary ``CLAUDE_CONFIG_DIR``; the edits write real lines into real files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitroi.attribution.attribute import attribute_commit
from gitroi.git import Repo
from gitroi.ledger import open_ledger
from tests.conftest import SAMPLES, GitRepo, run_gitroi

SID = "4d5611e5-241a-462a-8d15-5122611a9569"
# claude-opus-4-6 in the shipped price table: input, output, cache write (5m), cache read.
PRICE = (5e-06, 2.5e-05, 6.25e-06, 5e-07)


class Transcript:
    """Appends Claude Code JSONL lines for one session working in ``cwd``."""

    def __init__(self, root: Path, cwd: Path) -> None:
        enc = "".join(c if c.isalnum() else "-" for c in str(cwd))
        self.path = root / "projects" / enc / f"{SID}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.cwd = str(cwd)
        self.n = 0

    def _line(self, rec: dict[str, Any]) -> None:
        self.n += 1
        base = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": self.cwd,
                "sessionId": SID, "version": "2.1.39", "gitBranch": "main",
                "uuid": f"uuid-{self.n}"}
        with self.path.open("a") as fh:
            fh.write(json.dumps({**base, **rec}) + "\n")

    def response(self, ts: str, msg_id: str, blocks: list[dict[str, Any]], *, input: int,
                 output: int, cache_write: int, cache_read: int) -> None:
        """One API response, written as one line per content block (each repeating usage),
        the first with a streaming placeholder output count, as Claude Code does."""
        for i, block in enumerate(blocks):
            usage = {"input_tokens": input, "cache_creation_input_tokens": cache_write,
                     "cache_read_input_tokens": cache_read,
                     "cache_creation": {"ephemeral_5m_input_tokens": cache_write,
                                        "ephemeral_1h_input_tokens": 0},
                     "output_tokens": output if i == len(blocks) - 1 else 1,
                     "service_tier": "standard"}
            self._line({"type": "assistant", "timestamp": ts, "requestId": f"req_{msg_id}",
                        "message": {"model": "claude-opus-4-6", "id": msg_id, "type": "message",
                                    "role": "assistant", "content": [block],
                                    "stop_reason": None, "usage": usage}})

    def result(self, ts: str, tool_id: str, tool_use_result: dict[str, Any]) -> None:
        self._line({"type": "user", "timestamp": ts, "toolUseResult": tool_use_result,
                    "message": {"role": "user", "content": [
                        {"tool_use_id": tool_id, "type": "tool_result", "content": "ok"}]}})

    def edit(self, ts: str, msg_id: str, tool_id: str, file: Path, old: str, new: str,
             **usage: int) -> None:
        """An Edit that really changes ``file`` on disk."""
        text = file.read_text()
        assert old in text
        file.write_text(text.replace(old, new, 1))
        self.response(ts, msg_id, [
            {"type": "text", "text": "Let me edit."},
            {"type": "tool_use", "id": tool_id, "name": "Edit",
             "input": {"replace_all": False, "file_path": str(file), "old_string": old,
                       "new_string": new}}], **usage)
        start = text[: text.index(old)].count("\n") + 1
        patch = [{"oldStart": start, "oldLines": old.count("\n") + 1, "newStart": start,
                  "newLines": new.count("\n") + 1,
                  "lines": [f"-{x}" for x in old.split("\n")] + [f"+{x}" for x in new.split("\n")]}]
        self.result(ts, tool_id, {"filePath": str(file), "oldString": old, "newString": new,
                                  "originalFile": text, "structuredPatch": patch,
                                  "userModified": False, "replaceAll": False})

    def write(self, ts: str, msg_id: str, tool_id: str, file: Path, content: str,
              **usage: int) -> None:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(content)
        self.response(ts, msg_id, [
            {"type": "tool_use", "id": tool_id, "name": "Write",
             "input": {"file_path": str(file), "content": content}}], **usage)
        self.result(ts, tool_id, {"type": "create", "filePath": str(file), "content": content,
                                  "structuredPatch": [], "originalFile": None})


def cost(i: int, o: int, cw: int, cr: int) -> float:
    return i * PRICE[0] + o * PRICE[1] + cw * PRICE[2] + cr * PRICE[3]


def test_sample_shape_is_what_we_write() -> None:
    """Our transcript lines use the real sample's keys (guards against drifting from the format)."""
    sample = [json.loads(x) for x in (SAMPLES / "claude-code-sample.jsonl").read_text().splitlines()]
    edit_line = next(r for r in sample if r.get("type") == "assistant"
                     and r["message"]["content"][0].get("name") == "Edit")
    assert set(edit_line["message"]["content"][0]["input"]) == \
        {"replace_all", "file_path", "old_string", "new_string"}
    result_line = next(r for r in sample if "toolUseResult" in r and "oldString" in r["toolUseResult"])
    assert {"filePath", "oldString", "newString", "structuredPatch"} <= set(result_line["toolUseResult"])


def test_claude_session_over_two_commits(repo: GitRepo, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gitroi.sessions.importer")
    root = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    repo.commit({"app.py": "import os\n\n\ndef main():\n    print('hi')\n"}, "base",
                date="2026-02-12T15:00:00Z")
    t = Transcript(root, repo.path)
    app = repo.path / "app.py"
    # Turn 1: the agent rewrites main(); usage 3+9+15005+11442 on one deduplicated response.
    t.edit("2026-02-12T16:02:27.718Z", "msg_A", "toolu_A", app, "    print('hi')",
           "    name = os.environ.get('USER', 'world')\n    print(f'hi {name}')",
           input=3, output=9, cache_write=15005, cache_read=11442)
    # Then a person types two lines of their own at the end.
    app.write_text(app.read_text() + "\n\nif __name__ == '__main__':\n    main()\n")
    c1 = repo.commit({"app.py": app.read_text()}, "greet by name", date="2026-02-12T16:05:00Z")
    db = open_ledger(tmp_path / "ledger.db")
    r = Repo.discover(repo.path)
    note = attribute_commit(r, db, c1)
    assert note is not None
    d = json.loads(run_gitroi("show", "HEAD", "--json", cwd=repo.path).stdout)
    assert d["attribution"] == "line"
    assert d["ai_ranges"] == {"app.py": [[5, 6]]}
    # Lines 5-6 are the agent's; 7-10 (two blank lines and the __main__ guard) the person's.
    assert (d["lines_added"], d["ai_lines"]) == (6, 2)
    [s] = d["sessions"]
    assert (s["agent"], s["session_id"]) == ("claude-code", SID)
    assert (s["input"], s["output"], s["cache_write"], s["cache_read"]) == (3, 9, 15005, 11442)
    assert d["tokens"] == 26459
    assert d["cost_usd"] == pytest.approx(cost(3, 9, 15005, 11442))
    assert s["models"]["claude-opus-4-6"]["responses"] == 1
    # No prompt, response or file text in the note: only ids, counts, paths, line numbers.
    raw = repo.git("notes", "--ref=gitroi", "show", "HEAD")
    assert "Let me edit" not in raw and "os.environ" not in raw and "print(" not in raw

    # Turn 2 (after commit 1): a new file, then more tokens after commit 2 that must wait.
    t.write("2026-02-12T16:10:00.000Z", "msg_B", "toolu_B", repo.path / "util.py",
            "def shout(s):\n    return s.upper()\n", input=1, output=254, cache_write=829,
            cache_read=89823)
    c2 = repo.commit({"util.py": (repo.path / "util.py").read_text()}, "shout",
                     date="2026-02-12T16:12:00Z")
    t.response("2026-02-12T16:20:00.000Z", "msg_C", [{"type": "text", "text": "Done."}],
               input=2, output=50, cache_write=0, cache_read=1000)
    note2 = attribute_commit(r, db, c2)
    assert note2 is not None
    assert dict(note2.ai_ranges) == {"util.py": ((1, 2),)}
    [s2] = note2.sessions
    assert (s2.input, s2.output, s2.cache_write, s2.cache_read) == (1, 254, 829, 89823)
    assert note2.tokens == 90907
    assert s2.since == "2026-02-12T16:05:01.000Z"
    assert note2.cost_usd == pytest.approx(cost(1, 254, 829, 89823))
    # The ledger gave the session exactly its two slices; msg_C is still unattributed.
    rows = db.execute("SELECT commit_sha, tokens FROM commit_sessions ORDER BY until_ts").fetchall()
    assert rows == [(c1, 26459), (c2, 90907)]
    total = db.execute("SELECT sum(input+output+cache_write+cache_read) FROM usage_events").fetchone()
    assert total[0] == 26459 + 90907 + 1052


CODEX_SID = "019c8bfe-ec25-79e0-97d7-bda6a9c575ff"


def codex_usage(i: int, c: int, o: int, r: int) -> dict[str, int]:
    return {"input_tokens": i, "cached_input_tokens": c, "output_tokens": o,
            "reasoning_output_tokens": r, "total_tokens": i + o}


def codex_rollout(home: Path, cwd: Path, added: str, infos: list[dict[str, Any]]) -> Path:
    """A Codex CLI rollout under ``home`` (the shape of tests/fixtures/samples/codex-sample.jsonl):
    one turn in ``cwd`` whose apply_patch adds ``added`` (``def add``, two lines), then a
    ``token_count`` event per item of ``infos``, a second apart."""
    log = home / "sessions" / "2026" / "02" / "23" / f"rollout-2026-02-23T19-34-25-{CODEX_SID}.jsonl"
    log.parent.mkdir(parents=True)
    patch = (f"*** Begin Patch\n*** Add File: {added}\n+def add(a, b):\n+    return a + b\n"
             "*** End Patch\n")
    lines: list[dict[str, Any]] = [
        {"timestamp": "2026-02-23T19:34:25.573Z", "type": "session_meta",
         "payload": {"id": CODEX_SID, "timestamp": "2026-02-23T19:34:25.573Z", "cwd": str(cwd),
                     "originator": "codex_cli_rs", "cli_version": "0.104.0"}},
        {"timestamp": "2026-02-23T19:34:26.000Z", "type": "turn_context",
         "payload": {"turn_id": "t1", "cwd": str(cwd), "model": "gpt-5.3-codex"}},
        {"timestamp": "2026-02-23T19:35:00.000Z", "type": "response_item",
         "payload": {"type": "custom_tool_call", "status": "completed", "call_id": "call_1",
                     "name": "apply_patch", "input": patch}},
    ]
    lines += [{"timestamp": f"2026-02-23T19:35:{k + 1:02d}.000Z", "type": "event_msg",
               "payload": {"type": "token_count", "info": info}} for k, info in enumerate(infos)]
    log.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return log


def test_codex_rollout_with_apply_patch(repo: GitRepo, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A Codex CLI rollout (shape of tests/fixtures/samples/codex-sample.jsonl) whose apply_patch
    adds a file by a path relative to the session's cwd."""
    pytest.importorskip("gitroi.sessions.importer")
    home = tmp_path / "codex"
    monkeypatch.setenv("CODEX_HOME", str(home))
    repo.commit({"README.md": "# demo\n"}, "base", date="2026-02-23T19:00:00Z")
    (repo.path / "src").mkdir()
    (repo.path / "src" / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\nPI = 3\n")
    usage = codex_usage(42772, 3456, 204, 124)
    info = {"total_token_usage": usage, "last_token_usage": usage, "model_context_window": 258400}
    codex_rollout(home, repo.path, "src/calc.py", [info, info])  # re-emitted: must not count twice
    sha = repo.commit({"src/calc.py": (repo.path / "src" / "calc.py").read_text()}, "calc",
                      date="2026-02-23T19:40:00Z")
    db = open_ledger(tmp_path / "ledger.db")
    note = attribute_commit(Repo.discover(repo.path), db, sha)
    assert note is not None
    # Lines 1-2 from the patch; the two blank lines and PI = 3 were typed by a person.
    assert dict(note.ai_ranges) == {"src/calc.py": ((1, 2),)}
    assert (note.lines_added, note.ai_lines) == (5, 2)
    [s] = note.sessions
    assert (s.agent, s.session_id) == ("codex", CODEX_SID)
    # Codex counts cached input inside input: uncached 42772 - 3456.
    assert (s.input, s.cache_read, s.cache_write, s.output, s.reasoning) == \
        (39316, 3456, 0, 204, 124)
    assert note.tokens == 42976
    assert list(s.models) == ["gpt-5.3-codex"]
