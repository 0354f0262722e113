"""``gitroi sessions import``, ``sessions list`` and ``doctor`` run as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitroi.sessions.claude_code import encode_project_dir
from tests.conftest import SAMPLES, run_gitroi

SID = "4d5611e5-241a-462a-8d15-5122611a9569"
SAMPLE_CWD = "/home/USER/projects/spotter-worktrees/spotter-dov"


def setup(tmp_path: Path, repo: Any, *, model: str | None = None, bad_line: bool = False) -> dict[str, str]:
    """The Claude sample as a session in ``repo``; the Codex sample in another directory."""
    repo.commit({"a.py": "x\n"}, "init")
    claude = tmp_path / "claude"
    proj = claude / "projects" / encode_project_dir(str(repo.path))
    proj.mkdir(parents=True)
    data = (SAMPLES / "claude-code-sample.jsonl").read_bytes().replace(SAMPLE_CWD.encode(), str(repo.path).encode())
    if model:
        data = data.replace(b"claude-opus-4-6", model.encode())
    if bad_line:
        data += b'{"type":"assistant","message":{"usage":\n'
    (proj / f"{SID}.jsonl").write_bytes(data)
    codex = tmp_path / "codex"
    d = codex / "sessions" / "2026" / "02" / "23"
    d.mkdir(parents=True)
    shutil.copy(SAMPLES / "codex-sample.jsonl", d / "rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl")
    return {"CLAUDE_CONFIG_DIR": str(claude), "CODEX_HOME": str(codex)}


def test_import_and_list_json(tmp_path: Path, repo: Any) -> None:
    env = setup(tmp_path, repo)
    out = run_gitroi("sessions", "import", cwd=repo.path, env=env)
    # 17 lines: 3 responses, 2 edits; the Codex rollout is outside the repository
    assert out.stdout.startswith("Imported 3 responses and 2 edits of 1 session from 1 log file")
    assert "1 outside this repository" in out.stdout
    assert out.stderr == ""
    again = run_gitroi("sessions", "import", cwd=repo.path, env=env)
    assert again.stdout.startswith("Imported 0 responses and 0 edits of 0 sessions from 0 log files")
    assert "1 unchanged, 1 outside" in again.stdout
    rows = json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path, env=env).stdout)
    assert len(rows) == 1
    s = rows[0]
    assert list(s)[:7] == ["agent", "session_id", "cwd", "git_branch", "started_at", "ended_at", "parent"]
    assert (s["agent"], s["session_id"], s["cwd"]) == ("claude-code", SID, str(repo.path))
    assert s["started_at"] == "2026-02-12T16:02:23.545Z" and s["ended_at"] == "2026-02-12T20:59:43.388Z"
    assert s["models"]["claude-opus-4-6"] == {
        "input": 4, "output": 263, "cache_write": 15834, "cache_read": 101265, "reasoning": 0,
        "responses": 2, "cost_usd": 0.15619}
    assert s["tokens"] == 130894
    assert s["cost_usd"] == round(0.15619 + 0.0507615, 6)
    # --all lists (and imports) the Codex session too
    run_gitroi("sessions", "import", "--all", cwd=repo.path, env=env)
    rows = json.loads(run_gitroi("sessions", "list", "--json", "--all", cwd=repo.path, env=env).stdout)
    assert [r["agent"] for r in rows] == ["claude-code", "codex"]
    assert rows[1]["tokens"] == 299496


def test_list_table_fits_80_columns(tmp_path: Path, repo: Any) -> None:
    env = setup(tmp_path, repo)
    run_gitroi("sessions", "import", "--all", cwd=repo.path, env=env)
    out = run_gitroi("sessions", "list", "--all", cwd=repo.path, env=env).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["AGENT", "SESSION", "STARTED", "MODELS", "TOKENS", "COST"]
    assert lines[1].startswith("claude-code 4d5611e5-2 2026-02-12 16:02 claude-opus-4-6,clau…")
    assert lines[1].endswith("130.9k     $0.21")
    assert lines[2].startswith("codex       019c8bfe-e 2026-02-23 11:42 gpt-5.3-codex")
    assert lines[-1] == "2 sessions, 430.4k tokens, $0.37"
    assert max(len(x) for x in lines) <= 80


def test_unknown_model_warning_problem_line_and_prices_option(tmp_path: Path, repo: Any) -> None:
    env = setup(tmp_path, repo, model="claude-mystery-9", bad_line=True)
    out = run_gitroi("sessions", "import", cwd=repo.path, env=env)
    err = out.stderr.splitlines()
    assert sum("no price for model 'claude-mystery-9'" in x for x in err) == 1
    summary = [x for x in err if x.startswith("gitroi: skipped")]
    proj = Path(env["CLAUDE_CONFIG_DIR"]) / "projects" / encode_project_dir(str(repo.path))
    assert summary == [f"gitroi: skipped 1 unreadable item in 1 file: {proj / (SID + '.jsonl')}:18 "
                       "(truncated or malformed JSON 1)"]
    rows = json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path, env=env).stdout)
    assert rows[0]["models"]["claude-mystery-9"]["cost_usd"] is None
    assert rows[0]["cost_usd"] is None
    # with a price for it, a fresh ledger prices it
    prices = tmp_path / "p.json"
    prices.write_text(json.dumps({"claude-mystery-9": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6,
                                                       "cache_creation_input_token_cost": 1e-6,
                                                       "cache_read_input_token_cost": 1e-6}}))
    db = tmp_path / "other.db"
    out = run_gitroi("--db", str(db), "--prices", str(prices), "sessions", "import", cwd=repo.path, env=env)
    assert "no price" not in out.stderr
    rows = json.loads(run_gitroi("--db", str(db), "sessions", "list", "--json", cwd=repo.path, env=env).stdout)
    # (4 + 263 + 15834 + 101265) tokens x 1e-6
    assert rows[0]["models"]["claude-mystery-9"]["cost_usd"] == round(117366e-6, 6)
    # the first ledger learns the price with --reprice
    out = run_gitroi("--prices", str(prices), "sessions", "import", "--reprice", cwd=repo.path, env=env)
    assert "Repriced 3 responses (0 without a price)." in out.stdout
    rows = json.loads(run_gitroi("sessions", "list", "--json", cwd=repo.path, env=env).stdout)
    assert rows[0]["models"]["claude-mystery-9"]["cost_usd"] == round(117366e-6, 6)
    assert rows[0]["cost_usd"] == pytest.approx(117366e-6 + 0.0507615, abs=2e-6)


def test_doctor_names_where_it_looked(tmp_path: Path, repo: Any) -> None:
    env = setup(tmp_path, repo, bad_line=True)
    out = run_gitroi("doctor", cwd=repo.path, env=env).stdout
    assert f"claude-code: looked in {env['CLAUDE_CONFIG_DIR']}/projects" in out
    assert "1 log file, 0 outside this repository; ledger: 1 session, 3 responses, 2 edits" in out
    assert f"codex: looked in {env['CODEX_HOME']}" in out
    assert "1 log file, 1 outside this repository; ledger: 0 sessions" in out
    assert f"{SID}.jsonl:18: truncated or malformed JSON" in out
    data = json.loads(run_gitroi("doctor", "--json", cwd=repo.path, env=env).stdout)
    assert {a["agent"] for a in data["agents"]} >= {"claude-code", "codex"}
    assert data["problems_total"] == 1


def test_outside_a_repository(tmp_path: Path) -> None:
    out = run_gitroi("sessions", "import", cwd=tmp_path, check=False)
    assert out.returncode == 1
    assert "pass --db PATH" in out.stderr or "--all" in out.stderr
