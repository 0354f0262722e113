"""Claude Code and Codex readers through the importer, on the real samples.

The samples are placed in a temporary ``CLAUDE_CONFIG_DIR`` / ``CODEX_HOME``
laid out as the agents lay them out, imported into a real SQLite ledger, and
the figures are checked against totals worked out by hand below.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitroi.ledger import open_ledger
from gitroi.sessions import hash_lines, line_hash
from gitroi.sessions.claude_code import ClaudeCodeReader, encode_project_dir
from gitroi.sessions.codex import CodexReader, parse_patch
from gitroi.sessions.importer import import_sessions
from gitroi.sessions.store import list_sessions, log_files
from tests.conftest import SAMPLES

SID = "4d5611e5-241a-462a-8d15-5122611a9569"
SAMPLE_CWD = "/home/USER/projects/spotter-worktrees/spotter-dov"
CODEX_SID = "019c8bfe-ec25-79e0-97d7-bda6a9c575ff"
CODEX_NAME = f"rollout-2026-02-23T20-34-25-{CODEX_SID}.jsonl"


def claude_lines() -> list[bytes]:
    return (SAMPLES / "claude-code-sample.jsonl").read_bytes().splitlines(keepends=True)


def codex_lines() -> list[bytes]:
    return (SAMPLES / "codex-sample.jsonl").read_bytes().splitlines(keepends=True)


class Env:
    """A temporary machine: Claude and Codex roots, a ledger, an import function."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.claude = tmp / "claude-config"
        self.codex = tmp / "codex-home"
        self.env = {"HOME": str(tmp / "home"), "CLAUDE_CONFIG_DIR": str(self.claude),
                    "CODEX_HOME": str(self.codex)}
        self.db_path = tmp / "ledger.db"
        self.db = open_ledger(self.db_path)

    def project(self, cwd: str = SAMPLE_CWD) -> Path:
        d = self.claude / "projects" / encode_project_dir(cwd)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def main_file(self, cwd: str = SAMPLE_CWD) -> Path:
        return self.project(cwd) / f"{SID}.jsonl"

    def sub_file(self, cwd: str = SAMPLE_CWD) -> Path:
        d = self.project(cwd) / SID / "subagents"
        d.mkdir(parents=True, exist_ok=True)
        return d / "agent-a2898e3.jsonl"

    def place_claude(self) -> None:
        lines = claude_lines()
        self.main_file().write_bytes(b"".join(lines[:16]))  # sample lines 1-16: the main transcript
        self.sub_file().write_bytes(lines[16])               # sample line 17: the subagent file

    def codex_file(self, name: str = CODEX_NAME, sub: str = "sessions") -> Path:
        d = self.codex / sub / "2026" / "02" / "23"
        d.mkdir(parents=True, exist_ok=True)
        return d / name

    def place_codex(self) -> Path:
        p = self.codex_file()
        shutil.copy(SAMPLES / "codex-sample.jsonl", p)
        return p

    def run(self, **kw: Any) -> Any:
        kw.setdefault("all_sessions", True)
        return import_sessions(self.db, env=self.env, **kw)

    def sessions(self) -> dict[str, dict[str, Any]]:
        return {s["session_id"]: s for s in list_sessions(self.db)}

    def events(self) -> list[tuple[Any, ...]]:
        return self.db.execute(
            "SELECT session_key, event_id, model, input, output, cache_write, cache_write_1h, "
            "cache_read, reasoning FROM usage_events ORDER BY session_key, event_id").fetchall()

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        out = {}
        for t, order in (("sessions", "key"), ("usage_events", "session_key, event_id"),
                         ("edits", "session_key, edit_id"), ("log_files", "path"),
                         ("import_problems", "path, line")):
            cols = "*" if t != "import_problems" else "path, line, reason"
            out[t] = self.db.execute(f"SELECT {cols} FROM {t} ORDER BY {order}").fetchall()
        return out


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


class Counting:
    """Wraps a reader, recording every read (path name, offset) and optionally failing."""

    def __init__(self, inner: Any, fail_after: int | None = None) -> None:
        self.inner = inner
        self.agent = inner.agent
        self.reads: list[tuple[str, int]] = []
        self.fail_after = fail_after

    def __getattr__(self, name: str) -> Any:   # discover_scoped, peek_cwd
        return getattr(self.inner, name)

    def roots(self, env: Any, home: Path) -> list[Path]:
        return list(self.inner.roots(env, home))

    def discover(self, roots: Any) -> Any:
        return self.inner.discover(roots)

    def read(self, path: Path, offset: int, state: Any) -> Any:
        if self.fail_after is not None and len(self.reads) >= self.fail_after:
            raise KeyboardInterrupt  # the process is killed here
        self.reads.append((path.name, offset))
        return self.inner.read(path, offset, state)


# ---------------------------------------------------------------------------------------- Claude


def test_claude_sample_exact_totals_and_dedupe(env: Env) -> None:
    env.place_claude()
    summary = env.run()
    assert summary.problems == []
    s = env.sessions()[SID]
    assert (s["agent"], s["cwd"], s["git_branch"]) == ("claude-code", SAMPLE_CWD, "spotter-dov")
    # Hand working (sample line numbers):
    # * msg_01PdWv… / req_011CY4TRH… on lines 4, 5, 6 (text, thinking, tool_use blocks), each with
    #   the same usage: input 3, cache_creation 15005 (all 5m), cache_read 11442, output 9 -> once.
    # * msg_01TE6Y… on lines 8 (placeholder output 1) and 9 (final output 254): keep the larger
    #   total: input 1, cache_creation 829, cache_read 89823, output 254.
    # * msg_016xcK… (claude-sonnet-4-5-20250929): the subagent file's line 17 and its mirror in the
    #   parent's progress line 14 (data.message), same usage: input 3, cache_creation 13522,
    #   cache_read 0, output 3 -> once.
    # opus:   input 3+1 = 4, output 9+254 = 263, cache_write 15005+829 = 15834,
    #         cache_read 11442+89823 = 101265, responses 2
    # sonnet: input 3, output 3, cache_write 13522, cache_read 0, responses 1
    opus = s["models"]["claude-opus-4-6"]
    sonnet = s["models"]["claude-sonnet-4-5-20250929"]
    assert {k: opus[k] for k in ("input", "output", "cache_write", "cache_read", "reasoning", "responses")} == {
        "input": 4, "output": 263, "cache_write": 15834, "cache_read": 101265, "reasoning": 0, "responses": 2}
    assert {k: sonnet[k] for k in ("input", "output", "cache_write", "cache_read", "responses")} == {
        "input": 3, "output": 3, "cache_write": 13522, "cache_read": 0, "responses": 1}
    # tokens = 4+263+15834+101265 + 3+3+13522+0 = 117366 + 13528 = 130894
    assert s["tokens"] == 130894
    # cost, claude-opus-4-6 (in 5e-6, 5m write 6.25e-6, read 5e-7, out 2.5e-5):
    #   4*5e-6 + 15834*6.25e-6 + 101265*5e-7 + 263*2.5e-5 = 0.00002+0.0989625+0.0506325+0.006575 = 0.15619
    # claude-sonnet-4-5-20250929 (in 3e-6, write 3.75e-6, out 1.5e-5):
    #   3*3e-6 + 13522*3.75e-6 + 3*1.5e-5 = 0.000009+0.0507075+0.000045 = 0.0507615
    assert opus["cost_usd"] == pytest.approx(0.15619, abs=1e-6)
    assert sonnet["cost_usd"] == pytest.approx(0.0507615, abs=1e-6)
    assert s["cost_usd"] == pytest.approx(0.15619 + 0.0507615, abs=2e-6)
    assert [(e[1], e[4]) for e in env.events()] == [
        ("msg_016xcKQRzQXv2gLKoiSyUZxc", 3), ("msg_01PdWvcjJ6E9BgscDveYt9YV", 9),
        ("msg_01TE6YCPDTN2RzozkPnUAzZn", 254)]
    assert s["started_at"] == "2026-02-12T16:02:23.545Z"   # line 2, the first record with a time
    assert s["ended_at"] == "2026-02-12T20:59:43.388Z"     # line 11, the Edit's result


def test_claude_sample_edits(env: Env) -> None:
    env.place_claude()
    env.run()
    rows = env.db.execute("SELECT edit_id, tool, path, line_hashes FROM edits ORDER BY edit_id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("toolu_01XK4qdtUEnYETQtLrNKXJBr", "Write",
         f"{SAMPLE_CWD}/lib/spotter_web/live/transcript_computers.ex"),
        ("toolu_01YaU88ZyBTK1uC9mp51CgGM", "Edit",
         f"{SAMPLE_CWD}/lib/spotter/services/waiting_summary/slice_builder.ex"),
    ]
    # The Edit (line 9) wrote new_string = 3 comment/attribute lines, a blank line and the
    # unchanged "@default_budget 4000"; its result (line 11) has structuredPatch '+' lines for the
    # first four only, and that is what landed: the patch version replaces the tool_use one.
    assert rows[1][3].split() == [
        line_hash("  # MapSet is opaque by design; dialyzer warns about passing it through recursive calls"),
        line_hash("  @dialyzer {:nowarn_function, interleave_indices: 7}"),
        line_hash("  @dialyzer {:nowarn_function, pick_next: 2}"),
        line_hash(""),
    ]
    # The Write (result line 13, type "create", empty patch): the hashes of its content.
    content = json.loads(claude_lines()[12])["toolUseResult"]["content"]
    assert rows[0][3].split() == list(hash_lines(content))
    assert rows[0][3].split()[0] == line_hash("defmodule SpotterWeb.Live.TranscriptComputers do")


def test_claude_edit_tools_from_tool_use(tmp_path: Path) -> None:
    """Edit, MultiEdit, Write and NotebookEdit tool_use inputs without a result line yet."""
    blocks = [
        {"type": "tool_use", "id": "t1", "name": "Edit", "input": {"file_path": "/r/a.py", "old_string": "x", "new_string": "a = 1\nb = 2"}},
        {"type": "tool_use", "id": "t2", "name": "MultiEdit", "input": {"file_path": "/r/b.py", "edits": [{"old_string": "q", "new_string": "c = 3"}, {"old_string": "r", "new_string": "d = 4\n"}]}},
        {"type": "tool_use", "id": "t3", "name": "Write", "input": {"file_path": "/r/c.py", "content": "e = 5\n"}},
        {"type": "tool_use", "id": "t4", "name": "NotebookEdit", "input": {"notebook_path": "/r/n.ipynb", "new_source": "f = 6"}},
        {"type": "tool_use", "id": "t5", "name": "Read", "input": {"file_path": "/r/d.py"}},
    ]
    rec = {"type": "assistant", "sessionId": "s1", "cwd": "/r", "timestamp": "2026-03-01T10:00:00.000Z",
           "requestId": "req_1", "message": {"id": "msg_1", "model": "claude-opus-4-6", "content": blocks,
                                            "usage": {"input_tokens": 1, "output_tokens": 2}}}
    p = tmp_path / "s1.jsonl"
    p.write_text(json.dumps(rec) + "\n")
    res = ClaudeCodeReader().read(p, 0, {})
    got = {e.edit_id: (e.tool, e.path, e.line_hashes) for _, e in res.edits}
    assert got == {
        "t1": ("Edit", "/r/a.py", (line_hash("a = 1"), line_hash("b = 2"))),
        "t2": ("MultiEdit", "/r/b.py", (line_hash("c = 3"), line_hash("d = 4"))),
        "t3": ("Write", "/r/c.py", (line_hash("e = 5"),)),
        "t4": ("NotebookEdit", "/r/n.ipynb", (line_hash("f = 6"),)),
    }


def test_claude_synthetic_skipped_and_cache_tiers(tmp_path: Path) -> None:
    def line(mid: str, model: str, usage: dict[str, Any]) -> str:
        return json.dumps({"type": "assistant", "sessionId": "s", "cwd": "/r",
                           "timestamp": "2026-03-01T10:00:00.000Z", "requestId": "req_" + mid,
                           "message": {"id": mid, "model": model, "content": [], "usage": usage}})

    p = tmp_path / "s.jsonl"
    p.write_text(line("m1", "<synthetic>", {"input_tokens": 100}) + "\n"
                 + line("m2", "claude-opus-4-6", {"input_tokens": 10, "cache_creation_input_tokens": 300,
                                                  "cache_creation": {"ephemeral_5m_input_tokens": 100,
                                                                     "ephemeral_1h_input_tokens": 200},
                                                  "output_tokens": 5, "speed": "fast"}) + "\n")
    res = ClaudeCodeReader().read(p, 0, {})
    assert [(e.event_id, e.cache_write, e.cache_write_1h, e.speed) for _, e in res.events] == [
        ("m2", 300, 200, "fast")]
    # priced with the 1h tier and the fast multiplier, and again the same by a reprice
    db = open_ledger(tmp_path / "l.db")
    project = tmp_path / "cfg" / "projects" / "-r"
    project.mkdir(parents=True)
    shutil.copy(p, project / "s.jsonl")
    import_sessions(db, all_sessions=True, env={"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg"), "HOME": str(tmp_path)})
    # (10*5e-6 + 100*6.25e-6 + 200*1e-5 + 5*2.5e-5) * 6 = (0.00005+0.000625+0.002+0.000125)*6 = 0.0168
    assert db.execute("SELECT cost_usd, speed FROM usage_events").fetchone() == (pytest.approx(0.0168), "fast")
    from gitroi.sessions.pricing import PriceTable
    from gitroi.sessions.store import reprice

    assert reprice(db, PriceTable.load(env={}, home=tmp_path).cost) == (1, 0)
    assert db.execute("SELECT cost_usd FROM usage_events").fetchone()[0] == pytest.approx(0.0168)


def test_claude_max_total_copy_kept_across_incremental_reads(env: Env) -> None:
    lines = claude_lines()
    main = env.main_file()
    main.write_bytes(b"".join(lines[:8]))    # up to the placeholder copy (output_tokens 1)
    env.run()
    ev = {e[1]: e for e in env.events()}
    assert ev["msg_01TE6YCPDTN2RzozkPnUAzZn"][4] == 1
    with main.open("ab") as fh:
        fh.write(b"".join(lines[8:16]))      # the final copy (output_tokens 254) and the rest
    env.run()
    ev = {e[1]: e for e in env.events()}
    assert ev["msg_01TE6YCPDTN2RzozkPnUAzZn"][4] == 254
    # and a smaller copy arriving later (another file) does not replace the larger one
    other = env.project() / "other.jsonl"
    other.write_bytes(lines[7])
    env.run()
    ev = {e[1]: e for e in env.events()}
    assert ev["msg_01TE6YCPDTN2RzozkPnUAzZn"][4] == 254


# ----------------------------------------------------------------------------------------- Codex


def test_codex_sample_exact_totals(env: Env) -> None:
    env.place_codex()
    summary = env.run()
    assert summary.problems == []
    s = env.sessions()[CODEX_SID]
    assert (s["agent"], s["cwd"], s["git_branch"]) == ("codex", "/redacted/path/ea96e59ed9", "main")
    # Hand working: token_count lines with info (18, 21, 27, 30, 31); total_token_usage
    # (input, cached, output, reasoning):
    #   18: (42772, 3456, 204, 124)      -> delta from 0
    #   21: same as 18 (re-emitted after turn_context 20) -> skipped
    #   27: (86990, 46336, 300, 141)     -> delta (44218, 42880, 96, 17)
    #   30: same as 27 -> skipped
    #   31: (298373, 238848, 1123, 483)  -> delta (211383, 192512, 823, 342)
    # normalised per delta: input = input - cached, cache_read = cached, output includes reasoning
    #   18: 39316 / 3456 / 204 / 124;  27: 1338 / 42880 / 96 / 17;  31: 18871 / 192512 / 823 / 342
    # sum: input 59525 (= 298373 - 238848), cache_read 238848, output 1123, reasoning 483
    assert [(e[1], e[3], e[7], e[4], e[8]) for e in env.events()] == [
        ("t298373-238848-1123-483", 18871, 192512, 823, 342),
        ("t42772-3456-204-124", 39316, 3456, 204, 124),
        ("t86990-46336-300-141", 1338, 42880, 96, 17),
    ]
    m = s["models"]["gpt-5.3-codex"]
    assert (m["input"], m["cache_read"], m["output"], m["reasoning"], m["cache_write"], m["responses"]) == (
        59525, 238848, 1123, 483, 0, 3)
    assert s["tokens"] == 299496   # = the final total_tokens of line 31
    # cost (gpt-5.3-codex: in 1.75e-6, cached 1.75e-7, out 1.4e-5):
    #   59525*1.75e-6 + 238848*1.75e-7 + 1123*1.4e-5 = 0.10416875 + 0.0417984 + 0.015722 = 0.16168915
    assert s["cost_usd"] == pytest.approx(0.16168915, abs=1e-6)
    # Lines 33-34: an apply_patch call whose input the sample redacted: no patch, so no edit.
    assert s["edits"] == 0


def test_codex_incremental_reads_carry_prev_total(env: Env) -> None:
    lines = codex_lines()
    p = env.codex_file()
    for cut in (5, 18, 21, 27, 31, 34):      # read the file in six pieces
        p.write_bytes(b"".join(lines[:cut]))
        env.run()
    one_pass = Env(env.tmp / "again")
    one_pass.place_codex()
    one_pass.run()
    assert env.events() == one_pass.events()
    assert log_files(env.db)[str(p)].offset == p.stat().st_size


def test_codex_apply_patch_edits(env: Env) -> None:
    patch = ("*** Begin Patch\n*** Add File: src/new.py\n+def f():\n+    return 1\n"
             "*** Update File: src/old.py\n*** Move to: src/moved.py\n@@ def g():\n-    x = 1\n+    x = 2\n"
             " keep\n*** Delete File: src/gone.py\n*** End Patch")
    heredoc = json.dumps({"command": ["bash", "-lc", "apply_patch <<'EOF'\n*** Begin Patch\n"
                                      "*** Update File: /abs/z.py\n@@\n+z = 26\n*** End Patch\nEOF\n"]})
    recs = [
        {"timestamp": "2026-03-01T10:00:00.000Z", "type": "session_meta",
         "payload": {"id": "sess-1", "timestamp": "2026-03-01T10:00:00.000Z", "cwd": "/work/repo"}},
        {"timestamp": "2026-03-01T10:00:01.000Z", "type": "response_item",
         "payload": {"type": "custom_tool_call", "name": "apply_patch", "call_id": "call_A", "input": patch}},
        {"timestamp": "2026-03-01T10:00:02.000Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "call_id": "call_B", "arguments": heredoc}},
    ]
    p = env.codex_file("rollout-2026-03-01T10-00-00-sess-1.jsonl")
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    env.run()
    rows = env.db.execute("SELECT edit_id, tool, path, line_hashes FROM edits ORDER BY edit_id").fetchall()
    assert rows == [
        ("call_A#0", "apply_patch", "/work/repo/src/new.py", f"{line_hash('def f():')} {line_hash('return 1')}"),
        ("call_A#1", "apply_patch", "/work/repo/src/moved.py", line_hash("x = 2")),
        ("call_B#0", "apply_patch", "/abs/z.py", line_hash("z = 26")),
    ]
    assert parse_patch("*** Begin Patch\n*** Delete File: a\n*** End Patch") == []


def _tc(ts: str, inp: int, cached: int, out: int) -> dict[str, Any]:
    u = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
         "reasoning_output_tokens": 0, "total_tokens": inp + out}
    return {"timestamp": ts, "type": "event_msg",
            "payload": {"type": "token_count", "info": {"total_token_usage": u, "last_token_usage": u}}}


def test_codex_fork_replay_is_baseline_only(env: Env) -> None:
    recs = [
        {"timestamp": "2026-03-02T09:00:00.100Z", "type": "session_meta",
         "payload": {"id": "child", "timestamp": "2026-03-02T09:00:00.000Z", "cwd": "/w",
                     "forked_from_id": "parent"}},
        {"timestamp": "2026-03-02T09:00:00.100Z", "type": "session_meta",
         "payload": {"id": "parent", "timestamp": "2026-03-01T08:00:00.000Z", "cwd": "/w"}},
        {"timestamp": "2026-03-02T09:00:00.200Z", "type": "turn_context", "payload": {"model": "gpt-5.3-codex"}},
        _tc("2026-03-02T09:00:00.300Z", 1000, 800, 50),      # replayed parent history
        _tc("2026-03-02T09:00:00.400Z", 3000, 2000, 120),    # replayed parent history
        _tc("2026-03-02T09:00:07.000Z", 3500, 2300, 150),    # the child's own first response
        _tc("2026-03-02T09:00:07.500Z", 3500, 2300, 150),    # re-emitted
    ]
    p = env.codex_file("rollout-2026-03-02T09-00-00-child.jsonl")
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    env.run()
    # only the child's delta: input (3500-3000) - (2300-2000) = 200, cached 300, output 30
    assert [(e[0], e[3], e[7], e[4]) for e in env.events()] == [("codex:child", 200, 300, 30)]
    assert env.db.execute("SELECT parent_key FROM sessions").fetchone()[0] == "codex:parent"


def test_codex_archived_copy_of_active_rollout_ignored(env: Env) -> None:
    env.place_codex()
    arch = env.codex / "archived_sessions"
    arch.mkdir(parents=True)
    shutil.copy(SAMPLES / "codex-sample.jsonl", arch / CODEX_NAME)
    lone = arch / "rollout-2026-01-01T00-00-00-0199aaaa-0000-7000-8000-000000000001.jsonl"
    lone.write_text(json.dumps({"timestamp": "2026-01-01T00:00:00.000Z", "type": "session_meta",
                                "payload": {"id": "0199aaaa-0000-7000-8000-000000000001", "cwd": "/w"}}) + "\n"
                    + json.dumps(_tc("2026-01-01T00:00:05.000Z", 10, 0, 1)) + "\n")
    summary = env.run()
    assert summary.files_seen == 2
    assert env.sessions()[CODEX_SID]["tokens"] == 299496
    assert env.sessions()["0199aaaa-0000-7000-8000-000000000001"]["tokens"] == 11


# ----------------------------------------------------------------------------------- incremental


def test_incremental_reads_only_new_bytes(env: Env) -> None:
    lines = claude_lines()
    main = env.main_file()
    main.write_bytes(b"".join(lines[:6]))
    reader = Counting(ClaudeCodeReader())
    env.run(readers=[reader])
    first = main.stat().st_size
    assert reader.reads == [(main.name, 0)]
    assert log_files(env.db)[str(main)].offset == first
    with main.open("ab") as fh:
        fh.write(b"".join(lines[6:16]))
    summary = env.run(readers=[reader])
    assert reader.reads[1:] == [(main.name, first)]          # read from the old end, not from 0
    assert summary.bytes_read == main.stat().st_size - first
    assert log_files(env.db)[str(main)].offset == main.stat().st_size
    summary = env.run(readers=[reader])
    assert len(reader.reads) == 2 and summary.files_unchanged == 1   # unchanged: not opened
    # a partial last line (the agent is writing) is left for next time
    with main.open("ab") as fh:
        fh.write(lines[16][:40])
    env.run(readers=[reader])
    assert log_files(env.db)[str(main)].offset == main.stat().st_size - 40
    clean = Env(env.tmp / "clean")
    clean.main_file().write_bytes(b"".join(lines[:16]))
    clean.run()
    assert env.events() == clean.events()


def test_replaced_or_shrunk_file_is_read_again_without_double_counting(env: Env) -> None:
    env.place_claude()
    env.run()
    before = env.events()
    main = env.main_file()
    lines = claude_lines()
    # rotated: a new inode with the first lines only (shrunk below the offset)
    main.unlink()
    main.write_bytes(b"".join(lines[:9]))
    reader = Counting(ClaudeCodeReader())
    env.run(readers=[reader])
    assert reader.reads == [(main.name, 0)]
    assert env.events() == before                  # same ids: upserts, nothing added twice
    # same size, different first bytes (rewritten in place): read from 0 again
    data = bytearray(main.read_bytes())
    data[2:12] = b"parentUuiX"
    main.write_bytes(bytes(data))
    os.utime(main, (1, 1))
    env.run(readers=[reader])
    assert reader.reads[-1] == (main.name, 0)
    assert env.events() == before


def test_killed_import_then_rerun_equals_clean_run(env: Env) -> None:
    env.place_claude()
    env.place_codex()
    claude = Counting(ClaudeCodeReader(), fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        env.run(readers=[claude, CodexReader()])
    assert len(log_files(env.db)) == 1             # the first file's transaction is complete
    env.run(readers=[ClaudeCodeReader(), CodexReader()])
    clean = Env(env.tmp / "clean")
    clean.place_claude()
    clean.place_codex()
    clean.run(readers=[ClaudeCodeReader(), CodexReader()])
    got, want = env.dump(), clean.dump()
    for table in ("sessions", "log_files"):        # paths differ by the temp dir only
        got[table] = [tuple(str(v).replace(str(env.tmp), "T") for v in r) for r in got[table]]
        want[table] = [tuple(str(v).replace(str(clean.tmp), "T") for v in r) for r in want[table]]
    assert got["sessions"] == want["sessions"]
    assert got["usage_events"] == want["usage_events"]
    assert got["edits"] == want["edits"]
    # path, agent, size, offset, head hash, reader state (dev, inode and mtime are the files' own)
    assert [r[:2] + r[4:7] + r[8:] for r in got["log_files"]] == [r[:2] + r[4:7] + r[8:] for r in want["log_files"]]


# ------------------------------------------------------------------------------------- bad input


def test_bad_input_is_skipped_counted_and_named(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = claude_lines()
    main = env.main_file()
    truncated = lines[3][:-40] + b"\n"                                       # line 2
    not_utf8 = lines[7].replace(b"claude-opus-4-6", b"claude-\xff\xfe-4-6")  # line 3
    rec = json.loads(lines[8])
    del rec["message"]["id"]
    del rec["requestId"]
    missing = json.dumps(rec).encode() + b"\n"                               # line 4
    main.write_bytes(lines[1] + truncated + not_utf8 + missing + lines[10])
    codex = env.codex_file()
    cl = codex_lines()
    bad_type = b'{"timestamp":"2026-02-23T19:34:40.000Z","type":"telemetry_blob","payload":{}}\n'
    no_totals = b'{"timestamp":"2026-02-23T19:34:41.000Z","type":"event_msg","payload":{"type":"token_count","info":{"model_context_window":1}}}\n'
    codex.write_bytes(b"".join(cl[:18]) + bad_type + no_totals + b"".join(cl[18:]))
    unreadable = env.project("/elsewhere/locked")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if str(path) == str(unreadable):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    summary = env.run()
    got = sorted((Path(p.path).name, p.line, p.reason) for p in summary.problems)
    assert got == sorted([
        (main.name, 2, "truncated or malformed JSON"),
        (main.name, 3, "not UTF-8"),
        (main.name, 4, "missing field message.id"),
        (codex.name, 19, "unknown record type 'telemetry_blob'"),
        (codex.name, 20, "missing field info.total_token_usage"),
        (unreadable.name, 0, "unreadable directory: Permission denied"),
    ])
    line = summary.problem_line()
    assert line is not None and "\n" not in line
    assert f"{main}:2,3,4" in line and f"{codex}:19,20" in line and str(unreadable) in line
    stored = env.db.execute("SELECT count(*) FROM import_problems").fetchone()[0]
    assert stored == 6
    # what could be read still was: the Codex totals are intact, nothing imported is lost
    assert env.sessions()[CODEX_SID]["tokens"] == 299496
    assert env.sessions()[SID]["edits"] == 1          # the Edit's result (line 5)


def test_missing_model_and_json_errors_in_codex(env: Env) -> None:
    p = env.codex_file("rollout-2026-03-03T00-00-00-x.jsonl")
    p.write_bytes(b'{"timestamp":"2026-03-03T00:00:00.000Z","type":"session_meta","payload":{"id":"x","cwd":"/w"}}\n'
                  b'{"timestamp":"2026-03-03T00:00:01.000Z","type":"event_msg","payload":{"type":"token_count", BROKEN}\n'
                  + json.dumps(_tc("2026-03-03T00:00:02.000Z", 100, 0, 10)).encode() + b"\n")
    summary = env.run()
    assert [(p.line, p.reason) for p in summary.problems] == [(2, "malformed JSON")]
    # no turn_context: the model falls back to gpt-5, as ccusage does
    assert list(env.sessions()["x"]["models"]) == ["gpt-5"]


# ------------------------------------------------------------------------------------------ scope


def test_default_scope_is_the_repository_work_trees(env: Env, repo: Any) -> None:
    from gitroi.git import Repo

    repo.commit({"a.py": "x\n"}, "init")
    wt = repo.path.parent / "wt"
    repo.git("worktree", "add", "-q", str(wt), "-b", "side")
    inside, linked, outside = str(repo.path / "sub"), str(wt), str(repo.path) + "-other"
    lines = claude_lines()
    for i, cwd in enumerate((inside, linked, outside)):
        env.main_file(cwd).with_name(f"s{i}.jsonl").write_bytes(
            b"".join(lines[:16]).replace(SAMPLE_CWD.encode(), cwd.encode())
            .replace(SID.encode(), f"sess-{i}".encode()))
    # an unrelated project, never even listed: its name cannot match a work tree
    unrelated = env.project("/somewhere/else") / "u.jsonl"
    unrelated.write_bytes(lines[3])
    cx = env.codex_file()
    cx.write_bytes(b"".join(codex_lines()).replace(b"/redacted/path/ea96e59ed9", outside.encode()))
    claude = Counting(ClaudeCodeReader())
    codex = Counting(CodexReader())
    summary = import_sessions(env.db, repo=Repo.discover(repo.path), env=env.env, readers=[claude, codex])
    assert sorted(env.sessions()) == ["sess-0", "sess-1"]
    # s2's project dir passes the name test (the repo's path is a prefix of "<repo>-other"), so it
    # is peeked at (the cwd of its first lines) and never read; the Codex rollout likewise
    assert sorted(n for n, _ in claude.reads) == ["s0.jsonl", "s1.jsonl"]
    assert codex.reads == []
    assert summary.files_out_of_scope == 2
    # next time: nothing opened at all
    summary = import_sessions(env.db, repo=Repo.discover(repo.path), env=env.env, readers=[claude, codex])
    assert len(claude.reads) == 2 and codex.reads == []
    assert (summary.files_unchanged, summary.files_out_of_scope) == (2, 2)
    # --all takes everything, reading the out-of-scope files from the start
    env.run(readers=[claude, codex])
    assert sorted(env.sessions()) == [CODEX_SID, SID, "sess-0", "sess-1", "sess-2"]


# ---------------------------------------------------------------------------------------- privacy

_META_KEYS = {"sessionId", "uuid", "parentUuid", "logicalParentUuid", "cwd", "gitBranch", "version",
              "type", "timestamp", "requestId", "id", "model", "file_path", "filePath", "tool_use_id",
              "toolUseID", "parentToolUseID", "agentId", "slug", "userType", "role", "stop_reason",
              "service_tier", "inference_geo", "subtype", "name", "messageId", "operation",
              "sourceToolAssistantUUID", "level", "permissionMode", "call_id", "turn_id", "branch",
              "commit_hash", "originator", "cli_version", "source", "model_provider", "status",
              "approval_policy", "personality", "mode", "effort", "reasoning_effort", "limit_id",
              "plan_type", "backupFileName", "trigger", "hookName", "hookEvent", "writable_roots",
              "speed", "repository_url"}


def _text_values(v: Any, key: str | None, out: set[str]) -> None:
    if isinstance(v, dict):
        for k, x in v.items():
            _text_values(x, k, out)
    elif isinstance(v, list):
        for x in v:
            _text_values(x, key, out)
    elif isinstance(v, str) and key not in _META_KEYS and len(v.strip()) >= 12 and not v.startswith("/"):
        out.add(v)


def test_no_sample_text_lands_in_the_ledger(env: Env) -> None:
    env.place_claude()
    env.place_codex()
    env.run()
    env.db.conn.close()
    blob = b"".join(p.read_bytes() for p in env.tmp.iterdir() if p.name.startswith("ledger.db"))
    texts: set[str] = set()
    for raw in claude_lines() + codex_lines():
        _text_values(json.loads(raw), None, texts)
    assert len(texts) > 40
    leaked = [t for t in texts if t.encode() in blob or t[:24].encode() in blob]
    assert leaked == []


# ---------------------------------------------------------------------------------------- pricing


def test_unknown_model_cost_null_and_one_warning(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    lines = claude_lines()
    main = env.main_file()
    main.write_bytes(b"".join(lines[:16]).replace(b"claude-opus-4-6", b"claude-mystery-9"))
    with caplog.at_level(logging.WARNING, logger="gitroi"):
        env.run()
    s = env.sessions()[SID]
    assert s["models"]["claude-mystery-9"]["cost_usd"] is None
    assert s["models"]["claude-mystery-9"]["responses"] == 2
    assert s["cost_usd"] is None
    warnings = [r.getMessage() for r in caplog.records if "claude-mystery-9" in r.getMessage()]
    assert len(warnings) == 1 and "no price for model 'claude-mystery-9'" in warnings[0]
    nulls = env.db.execute("SELECT count(*) FROM usage_events WHERE cost_usd IS NULL").fetchone()[0]
    assert nulls == 2


def test_since_skips_old_files_without_forgetting_them(env: Env) -> None:
    env.place_claude()
    env.place_codex()
    for p in (env.main_file(), env.sub_file()):
        os.utime(p, (1_700_000_000, 1_700_000_000))          # 2023-11-14
    done: list[tuple[int, int]] = []
    summary = env.run(since="2024-01-01T00:00:00Z", progress=lambda d, t: done.append((d, t)))
    assert sorted(env.sessions()) == [CODEX_SID]
    size = env.codex_file(CODEX_NAME).stat().st_size
    assert done == [(size, size)] and summary.bytes_read == size
    env.run()                                                  # without --since: read now
    assert sorted(env.sessions()) == [CODEX_SID, SID]
