"""Agent logs are written by other programs (issue 10): an absurd number makes its line a problem.

One ``"output_tokens": 99999999999999999999999`` used to make every later ``gitroi
sessions import`` exit 3 (SQLite integer overflow, the file's offset never advancing).
Now that line is a problem naming file:line and why; the rest of the file and every
later line import.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitroi.ledger import open_ledger
from gitroi.sessions._fields import MAX_COUNT
from gitroi.sessions.claude_code import ClaudeCodeReader, encode_project_dir
from gitroi.sessions.importer import import_sessions
from tests.conftest import SAMPLES, GitRepo, run_gitroi

SID = "4d5611e5-241a-462a-8d15-5122611a9569"
CWD = "/home/USER/projects/spotter-worktrees/spotter-dov"
ABSURD = ["99999999999999999999999", "-5", "NaN", "Infinity", "1e400", "-0.5"]


def usage_line_numbers(lines: list[bytes]) -> list[int]:
    return [i for i, ln in enumerate(lines, 1) if b'"output_tokens":' in ln
            and b'"type":"assistant"' in ln.replace(b" ", b"")]


def poisoned(value: str) -> tuple[list[bytes], int]:
    lines = (SAMPLES / "claude-code-sample.jsonl").read_bytes().splitlines(keepends=True)[:16]
    n = usage_line_numbers(lines)[0]
    import re

    lines[n - 1] = re.sub(rb'"output_tokens":\s*\d+', b'"output_tokens": ' + value.encode(),
                          lines[n - 1], count=1)
    return lines, n


@pytest.mark.parametrize("value", ABSURD)
def test_an_absurd_count_is_that_line_s_problem_and_the_rest_imports(tmp_path: Path,
                                                                      value: str) -> None:
    lines, bad = poisoned(value)
    d = tmp_path / "claude" / "projects" / encode_project_dir(CWD)
    d.mkdir(parents=True)
    f = d / f"{SID}.jsonl"
    f.write_bytes(b"".join(lines))
    res = ClaudeCodeReader().read(f, 0, {})
    assert [p.line for p in res.problems if "absurd" in p.reason] == [bad], res.problems
    assert res.events, "the other lines still give their usage"
    assert all(0 <= getattr(e, k) <= MAX_COUNT for _, e in res.events
               for k in ("input", "output", "cache_write", "cache_read"))

    db = open_ledger(tmp_path / "l.db")
    env = {"HOME": str(tmp_path / "home"), "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    first = import_sessions(db, env=env, all_sessions=True)
    assert first.events == len(res.events)
    assert any(p.line == bad and str(f) == p.path for p in first.problems)
    said = first.problem_line() or ""
    assert f"{f}:{bad}" in said and "absurd value" in said
    # the next import is not stuck on that line: a new line after it imports
    good = next(ln for ln in lines if b'"output_tokens"' in ln and ln is not lines[bad - 1])
    f.write_bytes(b"".join(lines) + good.replace(b'"id":"msg_', b'"id":"msg_NEW'))
    again = import_sessions(db, env=env, all_sessions=True)
    assert again.files_read == 1
    n = db.execute("SELECT count(*) FROM usage_events").fetchone()[0]
    assert n == len(res.events) + 1
    recorded = db.execute("SELECT path, line, reason FROM import_problems").fetchall()
    assert (str(f), bad) in {(p, ln) for p, ln, _ in recorded}


def _claude(cwd: Path, mid: str, ts: str, output: str) -> str:
    usage = ('{"input_tokens":3,"output_tokens":' + output
             + ',"cache_read_input_tokens":0,"cache_creation_input_tokens":0}')
    msg = f'{{"id":"{mid}","model":"claude-opus-4-6","role":"assistant","content":[],"usage":{usage}}}'
    return (f'{{"type":"assistant","sessionId":"s-1","cwd":"{cwd}","timestamp":"{ts}",'
            f'"message":{msg}}}\n')


def test_report_and_doctor_name_the_line_and_imports_go_on(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base")
    cfg = tmp_path / "claude"
    d = cfg / "projects" / encode_project_dir(str(repo.path))
    d.mkdir(parents=True)
    log = d / "s-1.jsonl"
    log.write_text(_claude(repo.path, "m1", "2026-01-01T00:00:01.000Z", "7")
                   + _claude(repo.path, "m2", "2026-01-01T00:00:02.000Z", "99999999999999999999999")
                   + _claude(repo.path, "m3", "2026-01-01T00:00:03.000Z", "11"))
    env = {"CLAUDE_CONFIG_DIR": str(cfg)}
    rep = run_gitroi("report", cwd=repo.path, env=env)
    assert f"{log}:2" in rep.stderr and "absurd value" in rep.stderr
    for _ in range(2):   # was: exit 3 on every later import, forever
        run_gitroi("sessions", "import", cwd=repo.path, env=env)
    with log.open("a") as fh:
        fh.write(_claude(repo.path, "m4", "2026-01-01T00:00:04.000Z", "5"))
    run_gitroi("sessions", "import", cwd=repo.path, env=env)
    doc = json.loads(run_gitroi("doctor", "--json", cwd=repo.path, env=env).stdout)
    assert {"path": str(log), "line": 2} in [{k: p[k] for k in ("path", "line")}
                                              for p in doc["problems"]]
    db = open_ledger(repo.path / ".git" / "gitroi" / "ledger.db")
    outs = sorted(r[0] for r in db.execute("SELECT output FROM usage_events").fetchall())
    assert outs == [5, 7, 11]
