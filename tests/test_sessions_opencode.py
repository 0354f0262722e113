"""OpenCode reader: a real SQLite store with OpenCode's schema, and its legacy JSON files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gitroi.sessions import hash_lines
from gitroi.sessions.opencode import READER, patch_additions
from tests.session_ledger import Ledger

SECRET = "SECRET-OPENCODE-TEXT"
T0 = 1767261600000  # 2026-01-01T10:00:00Z

# As drizzle creates them (packages/opencode/src/session/session.sql.ts, project.sql.ts).
SCHEMA = """
CREATE TABLE project (id text PRIMARY KEY NOT NULL, worktree text NOT NULL, vcs text, name text,
  time_created integer NOT NULL, time_updated integer NOT NULL);
CREATE TABLE session (id text PRIMARY KEY NOT NULL, project_id text NOT NULL, workspace_id text, parent_id text,
  slug text NOT NULL, directory text NOT NULL, path text, title text NOT NULL, version text NOT NULL, share_url text,
  summary_additions integer, summary_deletions integer, summary_files integer, summary_diffs text,
  cost real DEFAULT 0 NOT NULL, tokens_input integer DEFAULT 0 NOT NULL, tokens_output integer DEFAULT 0 NOT NULL,
  revert text, permission text, agent text, model text,
  time_created integer NOT NULL, time_updated integer NOT NULL, time_compacting integer, time_archived integer,
  FOREIGN KEY (project_id) REFERENCES project(id) ON DELETE cascade);
CREATE TABLE message (id text PRIMARY KEY NOT NULL, session_id text NOT NULL,
  time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL,
  FOREIGN KEY (session_id) REFERENCES session(id) ON DELETE cascade);
CREATE INDEX message_session_time_created_id_idx ON message (session_id, time_created, id);
CREATE TABLE part (id text PRIMARY KEY NOT NULL, message_id text NOT NULL, session_id text NOT NULL,
  time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL,
  FOREIGN KEY (message_id) REFERENCES message(id) ON DELETE cascade);
CREATE INDEX part_message_id_id_idx ON part (message_id, id);
CREATE INDEX part_session_idx ON part (session_id);
"""


def assistant(t: int, model: str, provider: str, repo: str, *, inp: int, out: int, reasoning: int = 0,
              read: int = 0, write: int = 0, cost: float = 0.0, total: int | None = None) -> dict[str, Any]:
    tokens: dict[str, Any] = {"input": inp, "output": out, "reasoning": reasoning, "cache": {"read": read, "write": write}}
    if total is not None:
        tokens["total"] = total
    return {"role": "assistant", "time": {"created": t, "completed": t + 4000}, "parentID": "msg_u1",
            "modelID": model, "providerID": provider, "mode": "build", "agent": "build",
            "path": {"cwd": repo, "root": repo}, "cost": cost, "tokens": tokens, "finish": "tool-calls"}


def tool(name: str, status: str, t: int, **inp: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"status": status, "input": inp, "time": {"start": t, "end": t + 50}}
    if status == "completed":
        state.update({"output": SECRET, "title": "a.py", "metadata": {"diff": SECRET}})
    return {"type": "tool", "callID": f"toolu_{t}", "tool": name, "state": state}


class Store:
    def __init__(self, path: Path, repo: str) -> None:
        self.path = path
        self.repo = repo
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.executescript(SCHEMA)
        self.conn.execute("INSERT INTO project VALUES ('prj1', ?, 'git', NULL, ?, ?)", (repo, T0, T0))
        self.conn.commit()

    def session(self, sid: str, t: int, parent: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, time_created, time_updated)"
            " VALUES (?, 'prj1', ?, 'slug', ?, ?, '1.0.0', ?, ?)", (sid, parent, self.repo, SECRET, t, t))
        self.conn.commit()

    def message(self, mid: str, sid: str, t: int, data: dict[str, Any] | str, updated: int | None = None) -> None:
        body = data if isinstance(data, str) else json.dumps(data)
        self.conn.execute("INSERT OR REPLACE INTO message VALUES (?, ?, ?, ?, ?)", (mid, sid, t, updated or t, body))
        self.conn.commit()

    def part(self, pid: str, mid: str, sid: str, t: int, data: dict[str, Any]) -> None:
        self.conn.execute("INSERT OR REPLACE INTO part VALUES (?, ?, ?, ?, ?, ?)", (pid, mid, sid, t, t, json.dumps(data)))
        self.conn.commit()


def build(root: Path, repo: str) -> Store:
    root.mkdir(parents=True, exist_ok=True)
    s = Store(root / "opencode.db", repo)
    s.session("ses_A", T0)
    s.session("ses_B", T0 + 60000, parent="ses_A")
    s.message("msg_u1", "ses_A", T0 + 1000, {"role": "user", "time": {"created": T0 + 1000}, "agent": "build",
                                             "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4-5"}})
    s.part("prt_t1", "msg_u1", "ses_A", T0 + 1000, {"type": "text", "text": SECRET})
    s.message("msg_a2", "ses_A", T0 + 5000, assistant(T0 + 5000, "claude-sonnet-4-5", "anthropic", repo,
                                                      inp=1200, out=300, read=5000, write=800, cost=0.0123),
              updated=T0 + 9000)
    s.part("prt_e1", "msg_a2", "ses_A", T0 + 6000,
           tool("edit", "completed", T0 + 6000, filePath=f"{repo}/a.py", oldString=SECRET, newString="a = 1\nb = 2"))
    s.part("prt_e2", "msg_a2", "ses_A", T0 + 6100,
           tool("edit", "error", T0 + 6100, filePath=f"{repo}/a.py", oldString="x", newString="nope"))
    s.part("prt_r1", "msg_a2", "ses_A", T0 + 6200, tool("read", "completed", T0 + 6200, filePath=f"{repo}/a.py"))
    s.part("prt_w1", "msg_a2", "ses_A", T0 + 6300,
           tool("write", "completed", T0 + 6300, filePath=f"{repo}/b.py", content="def g():\n    return 1\n"))
    # OpenAI: total = input + cache + output, so reasoning is already inside output
    s.message("msg_a3", "ses_A", T0 + 20000, assistant(T0 + 20000, "gpt-5", "openai", repo, inp=400, out=250,
                                                       reasoning=100, read=1000, total=1650, cost=0.002))
    s.part("prt_m1", "msg_a3", "ses_A", T0 + 21000,
           tool("multiedit", "completed", T0 + 21000, filePath=f"{repo}/c.py",
                edits=[{"oldString": "1", "newString": "one = 1"}, {"oldString": "2", "newString": "two = 2"}]))
    # no total: reasoning reported apart, added to output
    s.message("msg_b1", "ses_B", T0 + 61000, assistant(T0 + 61000, "claude-haiku-4-5", "anthropic", repo,
                                                       inp=100, out=50, reasoning=20))
    s.part("prt_p1", "msg_b1", "ses_B", T0 + 62000, tool(
        "apply_patch", "completed", T0 + 62000,
        patchText="*** Begin Patch\n*** Update File: d.py\n@@ def h():\n-    return 0\n+    return 42\n"
                  "*** Add File: e.py\n+E = 1\n*** Delete File: f.py\n*** End Patch"))
    # in progress: nothing spent yet
    s.message("msg_a4", "ses_A", T0 + 30000, assistant(T0 + 30000, "claude-sonnet-4-5", "anthropic", repo, inp=0, out=0))
    return s


def test_database_usage_edits_and_sessions(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    data_dir = isolated_env / ".local" / "share" / "opencode"
    store = build(data_dir, repo)
    (data_dir / "opencode.db-journal-not-a-db").write_text("x")
    assert READER.roots({"XDG_DATA_HOME": str(isolated_env / ".local" / "share")}, isolated_env) == [data_dir]
    assert READER.roots({"OPENCODE_DATA_DIR": "/od"}, isolated_env) == [Path("/od")]
    assert list(READER.discover([data_dir])) == [store.path]
    assert READER.watermarked(store.path) and not READER.watermarked(data_dir / "storage" / "message" / "s" / "m.json")
    r = READER.read(store.path, 0, {})  # while OpenCode still holds the database open (WAL)
    assert r.problems == []
    ev = {e.event_id: e for _, e in r.events}
    assert sorted(ev) == ["msg_a2", "msg_a3", "msg_b1"]
    a2, a3, b1 = ev["msg_a2"], ev["msg_a3"], ev["msg_b1"]
    assert (a2.input, a2.cache_write, a2.cache_read, a2.output, a2.reasoning, a2.logged_cost_usd) == (
        1200, 800, 5000, 300, 0, 0.0123)
    assert (a3.input, a3.cache_read, a3.output, a3.reasoning, a3.model) == (400, 1000, 250, 100, "gpt-5")
    assert (b1.output, b1.reasoning, b1.logged_cost_usd) == (70, 20, 0.0)
    assert a2.ts == "2026-01-01T10:00:05.000Z"
    assert sum(e.tokens for e in ev.values()) == 7300 + 1650 + 170
    edits = {e.edit_id: e for _, e in r.edits}
    assert sorted(edits) == ["prt_e1", "prt_m1", "prt_p1:0", "prt_p1:1", "prt_w1"]
    assert edits["prt_e1"].line_hashes == hash_lines("a = 1\nb = 2")
    assert (edits["prt_e1"].path, edits["prt_e1"].tool, edits["prt_e1"].ts) == (
        f"{repo}/a.py", "edit", "2026-01-01T10:00:06.050Z")
    assert edits["prt_m1"].line_hashes == hash_lines("one = 1\ntwo = 2")
    assert (edits["prt_p1:0"].path, edits["prt_p1:0"].line_hashes) == ("d.py", hash_lines("    return 42"))
    assert (edits["prt_p1:1"].path, edits["prt_p1:1"].line_hashes) == ("e.py", hash_lines("E = 1"))
    a, b = r.sessions["opencode:ses_A"], r.sessions["opencode:ses_B"]
    assert (a.cwd, a.started_at, a.ended_at, a.parent_id) == (
        repo, "2026-01-01T10:00:00.000Z", "2026-01-01T10:00:21.050Z", None)
    assert (b.cwd, b.parent_id) == (repo, "ses_A")
    assert SECRET not in repr(r) and SECRET not in json.dumps(r.state)
    store.conn.close()


def test_incremental_watermark_equals_one_pass(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    store = build(tmp_path / "oc", repo)
    led = Ledger()
    r1 = READER.read(store.path, 0, {})
    led.apply(r1)
    assert (r1.state["msg_wm"], r1.state["msg_at_wm"]) == (T0 + 61000, ["msg_b1"])
    # nothing new: nothing comes back (and the database is not even opened)
    r2 = READER.read(store.path, r1.offset, r1.state)
    assert (r2.events, r2.edits, r2.sessions, r2.state) == ([], [], {}, r1.state)
    r2 = READER.read(store.path, r1.offset, {k: v for k, v in r1.state.items() if k != "sig"})
    assert (r2.events, r2.edits, r2.sessions) == ([], [], {})
    # a row written later in the same millisecond as the watermark is not missed
    store.message("msg_b2", "ses_B", T0 + 61000, assistant(T0 + 61000, "claude-haiku-4-5", "anthropic", repo,
                                                           inp=1, out=1))
    r2 = READER.read(store.path, r2.offset, r2.state)
    assert [e.event_id for _, e in r2.events] == ["msg_b2"]
    led.apply(r2)
    # the in-progress message completes (row updated in place), and a new one arrives
    store.message("msg_a4", "ses_A", T0 + 30000, assistant(T0 + 30000, "claude-sonnet-4-5", "anthropic", repo,
                                                           inp=10, out=5, read=100), updated=T0 + 90000)
    store.message("msg_a5", "ses_A", T0 + 95000, assistant(T0 + 95000, "claude-sonnet-4-5", "anthropic", repo,
                                                           inp=20, out=6))
    store.part("prt_w2", "msg_a5", "ses_A", T0 + 96000,
               tool("write", "completed", T0 + 96000, filePath=f"{repo}/g.py", content="G = 7\n"))
    r3 = READER.read(store.path, r2.offset, r2.state)
    assert sorted(e.event_id for _, e in r3.events) == ["msg_a4", "msg_a5"]
    assert [e.edit_id for _, e in r3.edits] == ["prt_w2"]
    assert r3.sessions["opencode:ses_A"].ended_at == "2026-01-01T10:01:36.050Z"
    led.apply(r3)
    one = Ledger()
    one.apply(READER.read(store.path, 0, {}))
    assert led.events == one.events and led.edits == one.edits
    store.conn.close()


def test_bad_rows_and_bad_database(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    store = build(tmp_path / "oc", repo)
    store.message("msg_bad", "ses_A", T0 + 40000, '{"role": "assistant", "tokens": {"inp')
    bad_tokens = assistant(T0 + 41000, "m", "p", repo, inp=1, out=1)
    bad_tokens["tokens"]["input"] = "many"
    store.message("msg_badtok", "ses_A", T0 + 41000, bad_tokens)
    r = READER.read(store.path, 0, {})
    # a database row's problem names the row by its rowid (the "line" of a table)
    assert [(p.line, p.reason) for p in r.problems] == [
        (6, "message msg_bad: malformed JSON"), (7, "message msg_badtok: not a number: str")]
    assert sorted(e.event_id for _, e in r.events) == ["msg_a2", "msg_a3", "msg_b1"]
    store.conn.close()
    junk = tmp_path / "junk" / "opencode.db"
    junk.parent.mkdir()
    junk.write_bytes(b"this is not sqlite at all" * 100)
    bad = READER.read(junk, 0, {})
    assert len(bad.problems) == 1 and bad.problems[0].path == str(junk)
    assert bad.problems[0].reason.startswith("cannot read OpenCode database")
    other = tmp_path / "other" / "opencode.db"
    other.parent.mkdir()
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert [p.reason for p in READER.read(other, 0, {}).problems] == [
        "no message(id, session_id, data) table: not an OpenCode database?"]


def write_json(path: Path, obj: dict[str, Any] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=2))
    return path


def test_json_storage_fallback_and_database_wins(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    old_repo = str(tmp_path / "old")
    data_dir = tmp_path / "oc"
    store = build(data_dir, repo)
    st = data_dir / "storage"
    write_json(st / "session" / "prj0" / "ses_C.json", {
        "id": "ses_C", "projectID": "prj0", "directory": old_repo, "title": SECRET, "version": "0.9.0",
        "time": {"created": T0 - 86400000, "updated": T0 - 86000000}})
    m1 = write_json(st / "message" / "ses_C" / "msg_c1.json", {
        "id": "msg_c1", "sessionID": "ses_C", **assistant(T0 - 86300000, "claude-sonnet-4-5", "anthropic", old_repo,
                                                          inp=7, out=3, read=11, write=13, cost=0.5)})
    p1 = write_json(st / "part" / "msg_c1" / "prt_c1.json", {
        "id": "prt_c1", "sessionID": "ses_C", "messageID": "msg_c1",
        **tool("write", "completed", T0 - 86200000, filePath=f"{old_repo}/z.py", content="Z = 26\n")})
    # migrated copies of database rows: the database wins, the files are skipped
    dup_m = write_json(st / "message" / "ses_A" / "msg_a2.json", {
        "id": "msg_a2", "sessionID": "ses_A", **assistant(T0 + 5000, "x", "y", repo, inp=999999, out=1)})
    dup_p = write_json(st / "part" / "msg_a2" / "prt_e1.json", {
        "id": "prt_e1", "sessionID": "ses_A", "messageID": "msg_a2",
        **tool("edit", "completed", T0, filePath="/elsewhere.py", oldString="", newString="other")})
    user = write_json(st / "message" / "ses_C" / "msg_c0.json", {"id": "msg_c0", "sessionID": "ses_C", "role": "user",
                                                                 "time": {"created": T0 - 86350000}})
    broken = write_json(st / "message" / "ses_C" / "msg_c2.json", '{"id": "msg_c2", "sessio')
    found = list(READER.discover([data_dir]))
    assert found == [store.path, dup_m, user, m1, broken, dup_p, p1]
    r = READER.read(m1, 0, {})
    assert r.offset == m1.stat().st_size
    assert [(e.event_id, e.input, e.output, e.cache_read, e.cache_write, e.logged_cost_usd) for _, e in r.events] == [
        ("msg_c1", 7, 3, 11, 13, 0.5)]
    info = r.sessions["opencode:ses_C"]
    assert (info.cwd, info.started_at) == (old_repo, "2025-12-31T10:00:00.000Z")
    rp = READER.read(p1, 0, {})
    assert [(k, e.edit_id, e.path, e.line_hashes) for k, e in rp.edits] == [
        ("opencode:ses_C", "prt_c1", f"{old_repo}/z.py", hash_lines("Z = 26"))]
    for dup in (dup_m, dup_p):
        d = READER.read(dup, 0, {})
        assert (d.events, d.edits, d.problems) == ([], [], [])
    assert READER.read(user, 0, {}).sessions == {}
    b = READER.read(broken, 0, {})
    assert ([(p.path, p.line, p.reason) for p in b.problems], b.offset) == ([(str(broken), 0, "message: malformed JSON")], 0)
    store.conn.close()


def test_patch_additions() -> None:
    patch = ("*** Begin Patch\n*** Update File: src/a.py\n*** Move to: src/b.py\n@@ class A:\n"
             " ctx\n-old\n+new1\n+new2\n*** End of File\n*** Add File: c.txt\n+hello\n*** End Patch\n")
    assert patch_additions(patch) == [("src/b.py", "new1\nnew2"), ("c.txt", "hello")]


def test_end_to_end_import_and_list(isolated_env: Path, repo: Any) -> None:
    from tests.conftest import run_gitroi

    repo.commit({"a.py": "x = 0\n"}, "init")
    root = str(repo.path)
    store = build(isolated_env / ".local" / "share" / "opencode", root)
    store.conn.execute("INSERT INTO session (id, project_id, slug, directory, title, version, time_created,"
                       " time_updated) VALUES ('ses_X', 'prj1', 's', '/elsewhere', 't', '1', ?, ?)", (T0, T0))
    store.message("msg_x1", "ses_X", T0 + 70000, assistant(T0 + 70000, "gpt-5", "openai", "/elsewhere", inp=5, out=5))
    out = run_gitroi("sessions", "import", cwd=repo.path).stdout
    assert out.startswith("Imported 3 responses and 5 edits of 2 sessions from 1 log file")
    rows = {r["session_id"]: r for r in json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path).stdout)}
    assert sorted(rows) == ["ses_A", "ses_B"]
    a, b = rows["ses_A"], rows["ses_B"]
    assert (a["agent"], a["cwd"], a["started_at"], b["parent"]) == ("opencode", root, "2026-01-01T10:00:00.000Z", "ses_A")
    sonnet = a["models"]["claude-sonnet-4-5"]
    assert {k: sonnet[k] for k in ("input", "output", "cache_write", "cache_read", "reasoning", "responses")} == {
        "input": 1200, "output": 300, "cache_write": 800, "cache_read": 5000, "reasoning": 0, "responses": 1}
    assert (a["tokens"], b["tokens"]) == (8950, 170)
    # priced by gitroi: sonnet 3e-6/3.75e-6/3e-7/1.5e-5, gpt-5 1.25e-6/1.25e-7/1e-5, haiku 1e-6/5e-6
    assert sonnet["cost_usd"] == pytest.approx(0.0126, abs=1e-6)
    assert a["cost_usd"] == pytest.approx(0.015725, abs=1e-6)
    assert b["cost_usd"] == pytest.approx(0.00045, abs=1e-6)
    ledger = b"".join(p.read_bytes() for p in (repo.path / ".git" / "gitroi").glob("ledger.db*"))
    assert SECRET.encode() not in ledger
    # OpenCode keeps running: rows land in its -wal file, the main file does not change.
    size, mtime = store.path.stat().st_size, store.path.stat().st_mtime_ns
    store.message("msg_x2", "ses_X", T0 + 80000, assistant(T0 + 80000, "gpt-5", "openai", "/elsewhere", inp=5, out=5))
    run_gitroi("sessions", "import", cwd=repo.path)  # only another repository's session changed
    store.message("msg_a5", "ses_A", T0 + 95000, assistant(T0 + 95000, "claude-sonnet-4-5", "anthropic", root,
                                                           inp=20, out=6))
    assert (store.path.stat().st_size, store.path.stat().st_mtime_ns) == (size, mtime)
    run_gitroi("sessions", "import", cwd=repo.path)
    rows = {r["session_id"]: r for r in json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path).stdout)}
    assert rows["ses_A"]["tokens"] == 8950 + 26 and sorted(rows) == ["ses_A", "ses_B"]
    store.conn.close()


def test_end_to_end_attribution(isolated_env: Path, repo: Any) -> None:
    from tests.conftest import run_gitroi

    repo.commit({"a.py": "x = 0\n"}, "init", date="2026-01-01T09:00:00Z")
    root = str(repo.path)
    store = build(isolated_env / ".local" / "share" / "opencode", root)
    repo.commit({"a.py": "a = 1\nb = 2\n", "b.py": "def g():\n    return 1\n", "d.py": "def h():\n    return 42\n"},
                "feat", date="2026-01-01T10:05:00Z")
    run_gitroi("attribute", cwd=repo.path)
    note = json.loads(run_gitroi("show", "HEAD", "--json", cwd=repo.path).stdout)
    assert (note["attribution"], note["agents"], note["lines_added"], note["ai_lines"]) == (
        "line", ["opencode"], 6, 5)
    assert note["ai_ranges"] == {"a.py": [[1, 2]], "b.py": [[1, 2]], "d.py": [[2, 2]]}
    assert note["tokens"] == 8950 + 170
    store.conn.close()
