"""Gemini CLI reader: logs built the way chatRecordingService.ts writes them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gitroi.sessions import ReadResult, hash_lines
from gitroi.sessions.gemini import READER, usage_from_tokens
from tests.session_ledger import Ledger

SID = "3f2a9c1e-5b7d-4e21-9a0c-7f1e2d3c4b5a"
KEY = f"gemini-cli:{SID}"
SECRET = "SECRET-PROMPT-TEXT"


def _msg(mid: str, typ: str, ts: str, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": mid, "timestamp": ts, "type": typ,
                           "content": [{"text": f"{SECRET} {mid}"}]}
    rec.update(extra)
    return rec


def _tokens(inp: int, out: int, cached: int, thoughts: int = 0, tool: int = 0) -> dict[str, int]:
    return {"input": inp, "output": out, "cached": cached, "thoughts": thoughts, "tool": tool,
            "total": inp + out + thoughts + tool}


def _call(cid: str, name: str, status: str, ts: str, **args: Any) -> dict[str, Any]:
    return {"id": cid, "name": name, "args": args, "status": status, "timestamp": ts,
            "result": [{"functionResponse": {"id": cid, "response": {"output": SECRET}}}],
            "displayName": name, "description": "", "renderOutputAsMarkdown": False}


def session_records(repo: str) -> list[dict[str, Any]]:
    """A session as the service appends it: every update re-appends the whole message."""
    g1 = _msg("g1", "gemini", "2026-03-02T10:00:05.000Z", model="gemini-2.5-pro",
              thoughts=[{"subject": "plan", "description": SECRET, "timestamp": "2026-03-02T10:00:04Z"}],
              tokens=None)
    g1_tok = {**g1, "tokens": _tokens(1000, 200, 600, thoughts=50)}
    g1_calls = {**g1_tok, "toolCalls": [_call("call-r1", "replace", "success", "2026-03-02T10:00:06.000Z",
                                              file_path=f"{repo}/a.py", old_string="x = 0",
                                              new_string="x = 1\n    y = 2\n", instruction=SECRET)]}
    g2 = _msg("g2", "gemini", "2026-03-02T10:01:05.000Z", model="gemini-2.5-pro",
              tokens=_tokens(2000, 100, 1500, tool=10),
              toolCalls=[_call("call-w0", "write_file", "error", "2026-03-02T10:01:06.000Z",
                               file_path=f"{repo}/b.py", content="never\n"),
                         _call("call-w1", "write_file", "success", "2026-03-02T10:01:07.000Z",
                               file_path=f"{repo}/b.py", content="def f():\n    return 3\n")])
    g3 = _msg("g3", "gemini", "2026-03-02T10:02:05.000Z", model="gemini-2.5-pro",
              tokens=_tokens(3000, 300, 0),
              toolCalls=[_call("call-r3", "replace", "success", "2026-03-02T10:02:06.000Z",
                               file_path=f"{repo}/c.py", old_string="a", new_string="rewound\n")])
    g4 = _msg("g4", "gemini", "2026-03-02T10:03:05.000Z", model="gemini-2.5-flash",
              tokens=_tokens(500, 40, 0, thoughts=7))
    return [
        {"sessionId": SID, "projectHash": hashlib.sha256(repo.encode()).hexdigest(),
         "startTime": "2026-03-02T10:00:00.000Z", "lastUpdated": "2026-03-02T10:00:00.000Z", "kind": "main"},
        _msg("u1", "user", "2026-03-02T10:00:01.000Z"),
        {"$set": {"lastUpdated": "2026-03-02T10:00:01.000Z"}},
        g1, {"$set": {"lastUpdated": "2026-03-02T10:00:05.000Z"}},
        g1_tok, g1_calls,
        _msg("i1", "info", "2026-03-02T10:00:30.000Z"),
        _msg("u2", "user", "2026-03-02T10:01:00.000Z"),
        g2,
        _msg("u3", "user", "2026-03-02T10:02:00.000Z"),
        g3,
        {"$rewindTo": "u3"},
        _msg("u4", "user", "2026-03-02T10:03:00.000Z"),
        g4,
        {"$set": {"lastUpdated": "2026-03-02T10:03:06.000Z"}},
    ]


def write_home(home: Path, repo: str, records: list[dict[str, Any]], *, slug: str = "myproj") -> Path:
    gem = home / ".gemini"
    (gem / "tmp" / slug / "chats").mkdir(parents=True)
    (gem / "projects.json").write_text(json.dumps({"projects": {repo: slug}}, indent=2))
    (gem / "tmp" / slug / ".project_root").write_text(repo)
    path = gem / "tmp" / slug / "chats" / f"session-2026-03-02T10-00-{SID[:8]}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def read_all(path: Path) -> tuple[Ledger, ReadResult]:
    led = Ledger()
    r = READER.read(path, 0, {})
    led.apply(r)
    return led, r


def totals(led: Ledger) -> dict[str, int]:
    out = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0, "reasoning": 0, "tokens": 0}
    for ev in led.events.values():
        out["input"] += ev.input
        out["output"] += ev.output
        out["cache_read"] += ev.cache_read
        out["cache_write"] += ev.cache_write
        out["reasoning"] += ev.reasoning
        out["tokens"] += ev.tokens
    return out


def test_usage_normalisation() -> None:
    # input includes cached; thoughts and tool are apart; the four counts add up to total.
    assert usage_from_tokens(_tokens(1000, 200, 600, thoughts=50)) == (400, 600, 250, 50)
    assert usage_from_tokens(_tokens(2000, 100, 1500, tool=10)) == (510, 1500, 100, 0)
    # an old record whose total shows input excluded cached
    old = {"input": 400, "output": 200, "cached": 600, "thoughts": 0, "tool": 0, "total": 1200}
    assert usage_from_tokens(old) == (400, 600, 200, 0)


def test_one_pass_totals_dedupe_rewind_and_edits(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    path = write_home(isolated_env, repo, session_records(repo))
    assert list(READER.discover(READER.roots({}, isolated_env))) == [path]
    assert READER.peek_cwd(path) == repo
    led, r = read_all(path)
    assert r.problems == []
    assert r.offset == path.stat().st_size
    # g1 appears three times (last copy wins), g3 was rewound, user/info messages carry no usage
    assert sorted(e for _, e in led.events) == ["g1", "g2", "g4"]
    assert totals(led) == {"input": 400 + 510 + 500, "output": 250 + 100 + 47, "cache_read": 600 + 1500,
                           "cache_write": 0, "reasoning": 57, "tokens": 1250 + 2110 + 547}
    assert led.events[(KEY, "g4")].model == "gemini-2.5-flash"
    assert led.events[(KEY, "g1")].ts == "2026-03-02T10:00:05.000Z"
    # replace + the successful write_file; not the failed call, not the rewound one
    assert sorted(e for _, e in led.edits) == ["call-r1", "call-w1"]
    r1 = led.edits[(KEY, "call-r1")]
    assert (r1.path, r1.tool, r1.ts) == (f"{repo}/a.py", "replace", "2026-03-02T10:00:06.000Z")
    assert r1.line_hashes == hash_lines("x = 1\ny = 2")
    assert led.edits[(KEY, "call-w1")].line_hashes == hash_lines("def f():\n    return 3\n")
    info = r.sessions[KEY]
    assert (info.cwd, info.started_at, info.ended_at) == (repo, "2026-03-02T10:00:00.000Z", "2026-03-02T10:03:06.000Z")
    assert info.parent_id is None
    # privacy: nothing of the text survives in what the reader returns or keeps
    assert SECRET not in repr(r) and SECRET not in json.dumps(r.state)


def test_incremental_line_by_line_and_byte_splits_equal_one_pass(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    path = write_home(isolated_env, repo, session_records(repo))
    full = path.read_bytes()
    expected, _ = read_all(path)
    # several split patterns, including cuts in the middle of lines
    for step in (7, 31, 97, 500):
        led = Ledger()
        offset, state = 0, {}
        for cut in [*list(range(step, len(full), step)), len(full)]:
            path.write_bytes(full[:cut])
            r = READER.read(path, offset, state)
            assert not r.problems
            assert not (set(r.deleted_events) & {(k, e.event_id) for k, e in r.events})
            led.apply(r)
            offset, state = r.offset, json.loads(json.dumps(r.state))  # state survives JSON
        assert offset == len(full)
        assert led.events == expected.events and led.edits == expected.edits, step
    # and a re-read with nothing appended changes nothing
    again = READER.read(path, offset, state)
    assert (again.events, again.edits, again.deleted_events, again.offset) == ([], [], [], offset)


def test_rewind_after_import_deletes_imported_records(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    recs = session_records(repo)
    cut = recs.index({"$rewindTo": "u3"})
    path = write_home(isolated_env, repo, recs[:cut])
    led = Ledger()
    r1 = READER.read(path, 0, {})
    led.apply(r1)
    assert (KEY, "g3") in led.events and (KEY, "call-r3") in led.edits
    with path.open("a") as fh:
        fh.write(json.dumps(recs[cut]) + "\n")
    r2 = READER.read(path, r1.offset, r1.state)
    assert r2.deleted_events == [(KEY, "g3")] and r2.deleted_edits == [(KEY, "call-r3")]
    led.apply(r2)
    assert sorted(e for _, e in led.events) == ["g1", "g2"]


def test_rewind_to_unknown_id_clears_history_as_upstream_does(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    recs = [*session_records(repo)[:10], {"$rewindTo": "no-such-id"}]
    led, _ = read_all(write_home(isolated_env, repo, recs))
    assert led.events == {} and led.edits == {}


def test_checkpoint_replaces_history(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    recs = session_records(repo)
    g1_final = recs[6]
    summary = _msg("s1", "user", "2026-03-02T10:04:00.000Z")
    # chat compression: the history becomes u1, g1 (as last recorded) and a summary turn
    checkpoint = {"$set": {"messages": [recs[1], g1_final, summary], "lastUpdated": "2026-03-02T10:04:00.000Z"}}
    after = _msg("g5", "gemini", "2026-03-02T10:05:00.000Z", model="gemini-2.5-pro", tokens=_tokens(100, 10, 0))
    path = write_home(isolated_env, repo, [*recs, checkpoint, after])
    led, _r = read_all(path)
    assert sorted(e for _, e in led.events) == ["g1", "g5"]
    assert sorted(e for _, e in led.edits) == ["call-r1"]
    assert totals(led)["tokens"] == 1250 + 110
    # the same checkpoint arriving after an earlier import withdraws g2/g4 and b.py's write
    path2 = write_home(isolated_env / "second", repo, recs)
    led2 = Ledger()
    first = READER.read(path2, 0, {})
    led2.apply(first)
    with path2.open("a") as fh:
        fh.write(json.dumps(checkpoint) + "\n" + json.dumps(after) + "\n")
    second = READER.read(path2, first.offset, first.state)
    assert sorted(second.deleted_events) == [(KEY, "g2"), (KEY, "g4")]
    assert second.deleted_edits == [(KEY, "call-w1")]
    led2.apply(second)
    assert led2.events == led.events and led2.edits == led.edits
    # an empty messages list is not a checkpoint (upstream ignores it)
    led3, _ = read_all(write_home(isolated_env / "third", repo, [*recs, {"$set": {"messages": []}}]))
    assert sorted(e for _, e in led3.events) == ["g1", "g2", "g4"]


def test_malformed_lines_are_problems_with_line_numbers(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    recs = session_records(repo)
    path = write_home(isolated_env, repo, recs[:4])
    bad_tokens = _msg("gx", "gemini", "2026-03-02T10:00:09.000Z", model="m",
                      tokens={"input": "lots", "output": 1, "cached": 0, "total": 1})
    with path.open("ab") as fh:
        fh.write(b'{"id": "broken", "timest\n')          # line 5: truncated JSON
        fh.write(b'\xff\xfe not utf-8\n')                 # line 6
        fh.write(b'[1, 2, 3]\n')                          # line 7
        fh.write(b'{"foo": "bar"}\n')                     # line 8: unknown record
        fh.write(json.dumps(bad_tokens).encode() + b"\n")  # line 9
        fh.write(b"\n")                                    # blank: ignored
        for rec in recs[4:]:
            fh.write(json.dumps(rec).encode() + b"\n")
    led, r = read_all(path)
    assert [(p.line, p.reason) for p in r.problems] == [
        (5, "malformed JSON"), (6, "not UTF-8"), (7, "not a JSON object"),
        (8, "unknown record type"), (9, "bad tokens in message: not a number: str"),
    ]
    assert all(p.path == str(path) for p in r.problems)
    assert sorted(e for _, e in led.events) == ["g1", "g2", "g4"]
    # line numbers stay right across incremental reads
    cut = path.read_bytes().index(b"[1, 2, 3]")
    full = path.read_bytes()
    path.write_bytes(full[:cut])
    a = READER.read(path, 0, {})
    path.write_bytes(full)
    b = READER.read(path, a.offset, a.state)
    assert [p.line for p in a.problems + b.problems] == [5, 6, 7, 8, 9]


def test_subagent_legacy_json_and_hashed_project_dir(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    write_home(isolated_env, repo, session_records(repo))
    gem = isolated_env / ".gemini"
    # subagent file nested under the parent's full session id
    sub_id = "9c8b7a65-0000-4000-8000-000000000001"
    sub = gem / "tmp" / "myproj" / "chats" / SID / f"{sub_id}.jsonl"
    sub.parent.mkdir()
    sub.write_text("\n".join(json.dumps(x) for x in [
        {"sessionId": sub_id, "projectHash": "h", "startTime": "2026-03-02T10:00:10.000Z",
         "lastUpdated": "2026-03-02T10:00:10.000Z", "kind": "subagent", "directories": [repo]},
        _msg("sg1", "gemini", "2026-03-02T10:00:11.000Z", model="gemini-2.5-flash", tokens=_tokens(80, 8, 0)),
    ]) + "\n")
    # an older project: tmp/<sha256(root)>/chats/session-*.json, one object, no marker file
    old_root = str(tmp_path / "oldrepo")
    (gem / "projects.json").write_text(json.dumps({"projects": {repo: "myproj", old_root: "oldrepo"}}))
    hashed = gem / "tmp" / hashlib.sha256(old_root.encode()).hexdigest() / "chats"
    hashed.mkdir(parents=True)
    legacy = hashed / "session-2025-01-05T09-00-aaaabbbb.json"
    legacy_obj = {"sessionId": "aaaabbbb-1111", "projectHash": "x", "startTime": "2025-01-05T09:00:00.000Z",
                  "lastUpdated": "2025-01-05T09:05:00.000Z", "messages": [
                      _msg("l1", "gemini", "2025-01-05T09:01:00.000Z", model="gemini-2.5-pro",
                           tokens=_tokens(10, 1, 0)),
                      _msg("l1", "gemini", "2025-01-05T09:01:00.000Z", model="gemini-2.5-pro",
                           tokens=_tokens(20, 2, 5)),
                      _msg("l2", "gemini", "2025-01-05T09:02:00.000Z", model="gemini-2.5-pro",
                           tokens=_tokens(30, 3, 0))]}
    legacy.write_text(json.dumps(legacy_obj, indent=2))
    migrated = hashed / "session-2025-01-05T09-00-ccccdddd.json"
    migrated.write_text("{}")
    migrated.with_suffix(".jsonl").write_text("")
    found = list(READER.discover(READER.roots({}, isolated_env)))
    assert legacy in found and sub in found and migrated not in found
    assert READER.peek_cwd(legacy) == old_root
    s = READER.read(sub, 0, {})
    assert s.sessions[f"gemini-cli:{sub_id}"].parent_id == SID
    assert s.sessions[f"gemini-cli:{sub_id}"].cwd == repo
    lr = READER.read(legacy, 0, {})
    assert lr.offset == legacy.stat().st_size
    info = lr.sessions["gemini-cli:aaaabbbb-1111"]
    assert (info.cwd, info.started_at, info.ended_at) == (old_root, "2025-01-05T09:00:00.000Z", "2025-01-05T09:05:00.000Z")
    assert [(e.event_id, e.input, e.cache_read, e.output) for _, e in lr.events] == [("l1", 15, 5, 2), ("l2", 30, 0, 3)]
    # the legacy file is rewritten whole; a message that vanished is withdrawn
    legacy_obj["messages"] = legacy_obj["messages"][:2]
    legacy.write_text(json.dumps(legacy_obj))
    lr2 = READER.read(legacy, lr.offset, lr.state)
    assert lr2.deleted_events == [("gemini-cli:aaaabbbb-1111", "l2")]
    assert [e.event_id for _, e in lr2.events] == ["l1"]
    # a broken legacy file is one problem, line 0
    legacy.write_text('{"sessionId": ')
    assert [(p.line, p.reason) for p in READER.read(legacy, 0, {}).problems] == [(0, "not a Gemini CLI session object")]


def test_gemini_cli_home_root(isolated_env: Path) -> None:
    assert READER.roots({"GEMINI_CLI_HOME": "/x/y"}, isolated_env) == [Path("/x/y/.gemini")]
    assert READER.roots({}, isolated_env) == [isolated_env / ".gemini"]


def _ledger_bytes(repo_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (repo_path / ".git" / "gitroi").glob("ledger.db*"))


def test_end_to_end_import_and_list(isolated_env: Path, repo: Any) -> None:
    from tests.conftest import run_gitroi

    repo.commit({"a.py": "x = 0\n"}, "init")
    root = str(repo.path)
    path = write_home(isolated_env, root, session_records(root))
    out = run_gitroi("sessions", "import", cwd=repo.path).stdout
    assert out.startswith("Imported 3 responses and 2 edits of 1 session from 1 log file")
    rows = json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path).stdout)
    assert len(rows) == 1
    row = rows[0]
    assert (row["agent"], row["session_id"], row["cwd"]) == ("gemini-cli", SID, root)
    assert (row["started_at"], row["ended_at"]) == ("2026-03-02T10:00:00.000Z", "2026-03-02T10:03:06.000Z")
    pro, flash = row["models"]["gemini-2.5-pro"], row["models"]["gemini-2.5-flash"]
    assert {k: pro[k] for k in ("input", "output", "cache_write", "cache_read", "reasoning", "responses")} == {
        "input": 910, "output": 350, "cache_write": 0, "cache_read": 2100, "reasoning": 50, "responses": 2}
    assert {k: flash[k] for k in ("input", "output", "cache_read", "reasoning", "responses")} == {
        "input": 500, "output": 47, "cache_read": 0, "reasoning": 7, "responses": 1}
    assert row["tokens"] == 3907
    # gemini-2.5-pro: 1.25e-6 in, 1.25e-7 cached, 1e-5 out; flash: 3e-7 in, 2.5e-6 out
    assert pro["cost_usd"] == pytest.approx(0.0049, abs=1e-6)
    assert row["cost_usd"] == pytest.approx(0.0051675, abs=1e-6)
    assert SECRET.encode() not in _ledger_bytes(repo.path)
    # the user rewinds to u2 after the import: g2 and g4 (and b.py's write) are withdrawn
    with path.open("a") as fh:
        fh.write(json.dumps({"$rewindTo": "u2"}) + "\n")
    run_gitroi("sessions", "import", cwd=repo.path)
    row = json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path).stdout)[0]
    assert (row["tokens"], sorted(row["models"]), row["edits"]) == (1250, ["gemini-2.5-pro"], 1)


def test_end_to_end_attribution(isolated_env: Path, repo: Any) -> None:
    from tests.conftest import run_gitroi

    repo.commit({"a.py": "x = 0\n"}, "init", date="2026-03-02T09:00:00Z")
    root = str(repo.path)
    write_home(isolated_env, root, session_records(root))
    # the commit takes a.py as Gemini's replace left it and b.py as write_file wrote it, plus a human line
    repo.commit({"a.py": "x = 1\n    y = 2\n", "b.py": "def f():\n    return 3\nhuman = True\n"}, "feat",
                date="2026-03-02T10:05:00Z")
    run_gitroi("attribute", cwd=repo.path)
    note = json.loads(run_gitroi("show", "HEAD", "--json", cwd=repo.path).stdout)
    assert (note["attribution"], note["agents"], note["lines_added"], note["ai_lines"]) == (
        "line", ["gemini-cli"], 5, 4)
    assert note["ai_ranges"] == {"a.py": [[1, 2]], "b.py": [[1, 2]]}
    assert note["tokens"] == 3907


def test_odd_values_are_problems_not_crashes(isolated_env: Path, tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    recs = session_records(repo)[:2]
    odd = [
        '{"id": "o1", "timestamp": "2026-03-02T10:00:02Z", "type": "gemini", "tokens": {"input": Infinity}}',
        '{"id": "o2", "timestamp": "2026-03-02T10:00:03Z", "type": "gemini", "tokens": [1, 2]}',
        json.dumps(_msg("o3", "gemini", "2026-03-02T10:00:04Z", model="m", tokens=_tokens(10, 1, 0),
                        toolCalls=[{"name": {"x": 1}}, "call", {"name": "replace", "args": []},
                                   {"name": "write_file", "status": "success", "args": {"file_path": 7}}])),
        json.dumps(_msg("o4", "gemini", "not a time", model="m", tokens=_tokens(10, 1, 0))),
    ]
    path = write_home(isolated_env, repo, recs)
    with path.open("a") as fh:
        fh.write("\n".join(odd) + "\n")
    led, r = read_all(path)
    assert [(p.line, p.reason) for p in r.problems] == [
        (3, "bad tokens in message: not a finite number"), (4, "tokens is not an object"),
        (6, "message without a valid timestamp")]
    assert sorted(e for _, e in led.events) == ["o3"] and led.edits == {}
