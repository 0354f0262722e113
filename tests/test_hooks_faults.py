"""Faults injected into real runs: kill -9 (of the hook's worker, of an import, of an analysis),
a ledger another process holds, a read-only ``.git/gitroi``, a full disk, concurrent commits
in two work trees.  The target in every case: nothing lost.  After the fault and the next
gitroi command, the ledger holds exactly what a clean run leaves (docs/reliability.md).

Real parts throughout: real ``git commit`` with the hooks installed, real SQLite, real
processes killed with SIGKILL; a read-only bind mount and a small tmpfs when the tests run
as root with mount rights (else ``chmod`` and SQLite's own "disk full", said in the skip).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo, run_gitroi
from tests.test_attribution_claude_log import Transcript

DATES = ["2026-02-12T16:00:30Z", "2026-02-12T16:05:30Z", "2026-02-12T16:10:30Z"]
BASE = "import os\n\n\ndef main():\n    return 0\n# end\n"
TRAILER = "\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>"

# Loaded by the hook process (PYTHONPATH): SIGKILL itself at one point of the work.
KILLER = '''
import os
_where = os.environ.get("GITROI_TEST_KILL", "")
def _die(*a, **k):
    os.kill(os.getpid(), 9)
if _where == "import":
    import gitroi.sessions.importer as _m
    _m.import_sessions = _die
elif _where == "decide":
    import gitroi.attribution.attribute as _m
    _m.decide_commit = _die
elif _where == "rows":
    import gitroi.ledger.commits as _m
    _m.write_commits = _die
elif _where == "import-file-2":
    import gitroi.sessions.store as _m
    _real = _m.write_file
    _n = [0]
    def _second(*a, **k):
        _n[0] += 1
        if _n[0] == 2:
            _die()
        return _real(*a, **k)
    _m.write_file = _second
elif _where == "survival-rows":
    import gitroi.ledger.survival as _m
    _m.write_results = _die
'''

TABLES = {  # what a commit's attribution puts in the ledger
    "commits": "SELECT sha, attribution, agents, lines_added, ai_lines, tokens, cost_usd, source, "
               "source_key FROM commits ORDER BY sha",
    "commit_sessions": "SELECT * FROM commit_sessions ORDER BY 1, 2",
    "ai_ranges": "SELECT * FROM ai_ranges ORDER BY 1, 2, 3",
}


def dump(db: Path, tables: dict[str, str] = TABLES, replace: dict[str, str] | None = None
         ) -> dict[str, list[Any]]:
    conn = sqlite3.connect(db)
    try:
        out = {name: [list(r) for r in conn.execute(sql)] for name, sql in tables.items()}
    finally:
        conn.close()
    text = json.dumps(out)
    for a, b in (replace or {}).items():
        text = text.replace(a, b)
    return json.loads(text)  # type: ignore[no-any-return]


def init(path: Path) -> GitRepo:
    path.mkdir(parents=True)
    tmpl = path.parent / f"{path.name}-template"
    tmpl.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", f"--template={tmpl}", str(path)], check=True)
    return GitRepo(path)


def killer_env(tmp: Path, where: str) -> dict[str, str]:
    site = tmp / "killer"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(KILLER)
    return {"PYTHONPATH": str(site), "GITROI_TEST_KILL": where}


def git_commit(repo: GitRepo, message: str, date: str, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    repo.git("add", "-A")
    return subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo.path,
                          capture_output=True, text=True,
                          env={**os.environ, **(env or {}), "GIT_AUTHOR_DATE": date,
                               "GIT_COMMITTER_DATE": date})


def story(tmp: Path, monkeypatch: pytest.MonkeyPatch, fault: dict[int, dict[str, str]] | None = None
          ) -> tuple[GitRepo, list[subprocess.CompletedProcess[str]]]:
    """Three agent commits (line-level, with tokens) made through the hooks; ``fault`` adds
    environment to the commit of that index."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp / "claude"))
    repo = init(tmp / "repo")
    repo.commit({"app.py": BASE}, "base", date="2026-02-12T15:00:00Z")
    run_gitroi("install", cwd=repo.path)
    t = Transcript(tmp / "claude", repo.path)
    procs = []
    for i, date in enumerate(DATES):
        t.edit(date.replace(":30Z", ":10.000Z"), f"msg_{i}", f"toolu_{i}", repo.path / "app.py",
               "# end", f"def f{i}(x):\n    return x * {i + 2}\n# end",
               input=3 + i, output=100 * (i + 1), cache_write=800, cache_read=4000 * (i + 1))
        procs.append(git_commit(repo, f"agent {i}", date, (fault or {}).get(i)))
    return repo, procs


def ledger(repo: GitRepo) -> Path:
    return repo.path / ".git" / "gitroi" / "ledger.db"


def show(repo: GitRepo, rev: str = "HEAD") -> dict[str, Any]:
    return json.loads(run_gitroi("show", rev, "--json", cwd=repo.path).stdout)  # type: ignore[no-any-return]


def jobs(repo: GitRepo) -> list[Path]:
    where = repo.path / ".git" / "gitroi" / "pending"
    return sorted(where.glob("*.job")) + sorted((repo.path / ".git").glob("gitroi-pending-*.job"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """The ledger of the story run without faults (what every faulty run must end equal to)."""
    from tests.conftest import isolated_env

    tmp = tmp_path_factory.mktemp("clean")
    mp = pytest.MonkeyPatch()
    try:
        isolated_env.__wrapped__(tmp_path_factory, mp)  # type: ignore[attr-defined]
        repo, procs = story(tmp, mp)
        assert all((p.returncode, p.stderr) == (0, "") for p in procs)
        run_gitroi("report", cwd=repo.path)
        rows = dump(ledger(repo))
    finally:
        mp.undo()
    assert len(rows["commits"]) == 4 and rows["commit_sessions"]
    assert [r[1] for r in rows["commits"]].count("line") == 3
    return rows


@pytest.mark.parametrize("where", ["import", "decide", "rows"])
def test_kill_9_during_the_hook(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                clean: dict[str, list[Any]]) -> None:
    """The worker of the second commit is SIGKILLed while importing, while deciding the note
    (before it is written), or after the note and before the ledger rows."""
    repo, procs = story(tmp_path, monkeypatch, {1: killer_env(tmp_path, where)})
    second = repo.git("rev-parse", "HEAD~1")
    # the commit is made; this commit's hook says the work was killed
    assert procs[1].returncode == 0
    assert procs[1].stderr == (f"gitroi: warning: post-commit: the work was killed (signal 9): "
                               f"commit {second[:12]} has no note (run `gitroi attribute "
                               f"{second[:12]}` to catch up)\n")
    # the next commit did the killed work first, in order, and said so
    assert procs[2].stderr == (f"gitroi: commit {second[:12]} had no note (its post-commit hook "
                               "was killed); attributed it now\n")
    assert not jobs(repo)
    assert show(repo, second)["attribution"] == "line"
    run_gitroi("report", cwd=repo.path)
    assert dump(ledger(repo)) == clean


def test_kill_9_of_the_last_hook_is_caught_up_by_the_next_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean: dict[str, list[Any]]) -> None:
    repo, procs = story(tmp_path, monkeypatch, {2: killer_env(tmp_path, "decide")})
    head = repo.git("rev-parse", "HEAD")
    assert "the work was killed (signal 9)" in procs[2].stderr
    [job] = jobs(repo)
    assert "post-commit" in job.name
    out = run_gitroi("doctor", cwd=repo.path)
    assert f"commit {head[:12]} has no note: the post-commit hook was killed; run `gitroi " \
           f"attribute {head[:12]}`" in out.stdout
    assert not jobs(repo)  # doctor opened the ledger, which finished the work
    assert show(repo)["attribution"] == "line"
    run_gitroi("report", cwd=repo.path)
    assert dump(ledger(repo)) == clean


def _logs(root: Path, cwd: Path, files: int = 6, lines: int = 120) -> None:
    """``files`` Claude Code sessions of ``lines`` responses each, in ``cwd``."""
    enc = "".join(c if c.isalnum() else "-" for c in str(cwd))
    where = root / "projects" / enc
    where.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        sid = f"00000000-0000-4000-8000-{f:012d}"
        with (where / f"{sid}.jsonl").open("w") as out:
            for n in range(lines):
                usage = {"input_tokens": 3 + n, "output_tokens": 10 + f,
                         "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000 + n}
                out.write(json.dumps({
                    "type": "assistant", "sessionId": sid, "cwd": str(cwd),
                    "timestamp": f"2026-02-1{f % 9}T10:{n // 60:02d}:{n % 60:02d}.000Z",
                    "uuid": f"u-{f}-{n}", "requestId": f"req-{f}-{n}",
                    "message": {"model": "claude-opus-4-6", "id": f"msg-{f}-{n}",
                                "type": "message", "role": "assistant",
                                "content": [{"type": "text", "text": "ok"}],
                                "usage": usage}}) + "\n")


SESSION_TABLES = {
    "sessions": "SELECT key, agent, session_id, started_at, ended_at FROM sessions ORDER BY key",
    "usage_events": "SELECT * FROM usage_events ORDER BY 1, 2",
    "log_files": "SELECT path, size, offset FROM log_files ORDER BY path",
}


def _popen_kill(args: list[str], cwd: Path, env: dict[str, str], after: float) -> int:
    proc = subprocess.Popen([sys.executable, "-m", "gitroi", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **env})
    time.sleep(after)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    return proc.wait()


def test_kill_9_during_import(repo: GitRepo, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`gitroi sessions import` killed between two files (deterministic) and at three moments
    of a real run (timer): running it again gives the ledger one clean import gives."""
    repo.commit({"a.py": "x\n"}, "base")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    _logs(tmp_path / "claude", repo.path)
    ref = tmp_path / "clean.db"
    run_gitroi("sessions", "import", cwd=repo.path, env={"GITROI_DB": str(ref)})
    expected = dump(ref, SESSION_TABLES)
    assert len(expected["usage_events"]) == 6 * 120
    cases = [("import-file-2", 0.0), ("", 0.3), ("", 0.6), ("", 0.9)]
    killed = 0
    for i, (where, after) in enumerate(cases):
        db = tmp_path / f"k{i}.db"
        env = {"GITROI_DB": str(db)}
        if where:
            proc = subprocess.run([sys.executable, "-m", "gitroi", "sessions", "import"],
                                  cwd=repo.path, capture_output=True, text=True,
                                  env={**os.environ, **env, **killer_env(tmp_path, where)})
            code = proc.returncode
        else:
            code = _popen_kill(["sessions", "import"], repo.path, env, after)
        killed += code == -9
        run_gitroi("sessions", "import", cwd=repo.path, env=env)
        assert dump(db, SESSION_TABLES) == expected, (where, after)
    assert killed >= 1  # at least the deterministic case really died mid-import


SURVIVAL_TABLES = {
    "line_outcomes": "SELECT * FROM line_outcomes ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
    "line_carried": "SELECT * FROM line_carried ORDER BY 1, 2, 3, 4",
}


def test_kill_9_during_analysis(repo: GitRepo, tmp_path: Path) -> None:
    """`gitroi analyze` killed before its rows are written (deterministic) and at two moments
    of a real run: running it again gives the rows of a clean analysis of a clone."""
    for i in range(12):
        files = {f"m{i % 3}.py": "".join(f"def f{i}_{j}():\n    return {j}\n" for j in range(8)),
                 f"n{i}.py": f"v = {i}\n"}
        if i % 4 == 3:
            files[f"n{i - 2}.py"] = None
        repo.commit(files, f"c{i}" + (TRAILER if i % 2 else ""))
    twin = tmp_path / "twin"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(twin)], check=True)
    run_gitroi("analyze", cwd=twin)
    expected = dump(twin / ".git" / "gitroi" / "ledger.db", SURVIVAL_TABLES)
    assert expected["line_outcomes"]
    proc = subprocess.run([sys.executable, "-m", "gitroi", "analyze"], cwd=repo.path,
                          capture_output=True, text=True,
                          env={**os.environ, **killer_env(tmp_path, "survival-rows")})
    assert proc.returncode == -9
    for after in (0.4, 0.8):
        _popen_kill(["analyze"], repo.path, {}, after)
    run_gitroi("analyze", cwd=repo.path)
    assert dump(ledger(repo), SURVIVAL_TABLES) == expected


def test_show_right_after_commit_equals_later(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """README's sequence: `git commit`, then `gitroi show HEAD` at once, gives the tokens and
    attribution it gives later (after any hook work and a report)."""
    repo, procs = story(tmp_path, monkeypatch)
    assert all((p.returncode, p.stderr) == (0, "") for p in procs)
    first = show(repo)
    assert first["attribution"] == "line" and first["tokens"] > 0
    run_gitroi("report", cwd=repo.path)
    time.sleep(0.5)
    assert show(repo) == first


def _can_mount() -> str | None:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "not root: a real read-only mount or small filesystem cannot be made"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return None if probe.returncode == 0 else "mount is not permitted here"


def _hooked_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GitRepo, Transcript]:
    """A repository with the hooks installed and a Claude Code transcript to edit through."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    repo = init(tmp_path / "repo")
    repo.commit({"app.py": BASE}, "base", date="2026-02-12T15:00:00Z")
    run_gitroi("install", cwd=repo.path)
    return repo, Transcript(tmp_path / "claude", repo.path)


def _agent_edit(t: Transcript, repo: GitRepo, i: int, date: str) -> None:
    """The agent's i-th edit of app.py, 20 s before the commit at ``date``."""
    t.edit(date.replace(":30Z", ":10.000Z"), f"msg_{i}", f"toolu_{i}", repo.path / "app.py",
           "# end", f"def f{i}(x):\n    return x * {i + 2}\n# end",
           input=3 + i, output=100 * (i + 1), cache_write=800, cache_read=4000 * (i + 1))


def _three_commits(repo: GitRepo, t: Transcript,
                   second: Callable[[int, dict[str, str]], subprocess.CompletedProcess[str]],
                   said: Callable[[subprocess.CompletedProcess[str], str], None]) -> None:
    """Three agent commits; the second made by ``second(i, env)`` under a fault, what it said
    checked by ``said(proc, sha)`` before the third commit (whose hook catches up first)."""
    for i, date in enumerate(DATES):
        _agent_edit(t, repo, i, date)
        if i != 1:
            proc = git_commit(repo, f"agent {i}", DATES[i])
            assert (proc.returncode, proc.stderr) == (0, "")
            continue
        repo.git("add", "-A")
        proc = second(i, {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        said(proc, repo.git("rev-parse", "HEAD"))


def test_read_only_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             clean: dict[str, list[Any]]) -> None:
    """``.git/gitroi`` read-only for the second commit (a read-only bind mount as root, else
    chmod): the note is written, the warning says the ledger is behind, the job is recorded
    in the git dir itself, and the next command catches the ledger up."""
    why_not = _can_mount()
    repo, t = _hooked_repo(tmp_path, monkeypatch)
    state = repo.path / ".git" / "gitroi"

    def second(i: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        if why_not is None:
            script = (f"mount --bind {state} {state} && mount -o remount,bind,ro {state} && "
                      f"git commit -q -m 'agent {i}'")
            return subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=repo.path,
                                  capture_output=True, text=True, env=env)
        state.chmod(0o555)
        (state / "ledger.db").chmod(0o444)
        try:
            return subprocess.run(["git", "commit", "-q", "-m", f"agent {i}"], cwd=repo.path,
                                  capture_output=True, text=True, env=env)
        finally:
            state.chmod(0o755)
            (state / "ledger.db").chmod(0o644)

    def said(proc: subprocess.CompletedProcess[str], sha: str) -> None:
        assert proc.returncode == 0
        [line] = proc.stderr.splitlines()
        assert line.startswith(f"gitroi: warning: post-commit of {sha[:12]}: the ledger ")
        assert "the note is written and the ledger catches up on the next gitroi command" in line
        assert list((repo.path / ".git").glob("gitroi-pending-ledger-*.job"))  # the fallback
        assert repo.git("notes", "--ref=gitroi", "show", "HEAD")  # the note is there

    _three_commits(repo, t, second, said)
    assert not jobs(repo)  # the third commit caught the ledger up first
    run_gitroi("report", cwd=repo.path)
    assert dump(ledger(repo)) == clean


def test_full_disk_under_the_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    clean: dict[str, list[Any]]) -> None:
    """A real full filesystem (a tmpfs filled up) under ``.git/gitroi`` for the second commit:
    the note is written (git's objects are elsewhere), the job is recorded in the git dir, the
    ledger catches up once there is space."""
    why_not = _can_mount()
    if why_not:
        pytest.skip(f"{why_not}; SQLite's own disk-full error is injected in "
                    "test_hooks_failures.py::test_full_disk_in_the_ledger")
    repo, t = _hooked_repo(tmp_path, monkeypatch)
    state = repo.path / ".git" / "gitroi"

    def second(i: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        size = sum(p.stat().st_size for p in state.rglob("*") if p.is_file()) + 256 * 1024
        copy = tmp_path / "state-copy"
        shutil.copytree(state, copy)
        script = (f"mount -t tmpfs -o size={size} tmpfs {state} && cp -a {copy}/. {state}/ && "
                  f"(dd if=/dev/zero of={state}/filler bs=4k 2>/dev/null; true) && "
                  f"git commit -q -m 'agent {i}'")
        return subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=repo.path,
                              capture_output=True, text=True, env=env)

    def said(proc: subprocess.CompletedProcess[str], sha: str) -> None:
        assert proc.returncode == 0, proc.stderr
        [line] = proc.stderr.splitlines()
        assert line.startswith(f"gitroi: warning: post-commit of {sha[:12]}: the ledger ")
        assert "could not be written (the disk is full" in line
        assert repo.git("notes", "--ref=gitroi", "show", "HEAD")  # the note is there

    _three_commits(repo, t, second, said)
    assert not jobs(repo)
    run_gitroi("report", cwd=repo.path)
    assert dump(ledger(repo)) == clean


def commits_in_two_worktrees(repo: GitRepo, tmp_path: Path, rounds: int) -> list[str]:
    """Hooks installed, a second work tree; ``rounds`` times a commit started at the same
    instant in each (both succeed, silently): the commits made."""
    repo.commit({"a.py": "x = 0\n"}, "base")
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    run_gitroi("install", cwd=repo.path)
    made: list[str] = []
    for r in range(rounds):
        procs = []
        for top, name in ((repo.path, "main"), (wt, "side")):
            (top / f"{name}.py").write_text(f"v = {r}\n")
            subprocess.run(["git", "add", "-A"], cwd=top, check=True)
            procs.append((top, subprocess.Popen(
                ["git", "commit", "-q", "-m", f"{name} {r}" + TRAILER], cwd=top,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        for top, p in procs:
            _, err = p.communicate(timeout=60)
            assert (p.returncode, err) == (0, "")
            made.append(subprocess.run(["git", "rev-parse", "HEAD"], cwd=top, capture_output=True,
                                       text=True).stdout.strip())
    return made


def test_concurrent_commits_in_two_worktrees(repo: GitRepo, tmp_path: Path) -> None:
    """Commits started at the same instant in two work trees of one repository, five times:
    every commit gets its note, and the shared ledger has every row."""
    made = commits_in_two_worktrees(repo, tmp_path, rounds=5)
    for sha in made:
        assert show(repo, sha)["source"] == "note", sha
    run_gitroi("report", cwd=repo.path)
    conn = sqlite3.connect(ledger(repo))
    rows = {r[0]: r[1] for r in conn.execute("SELECT sha, source FROM commits")}
    conn.close()
    assert all(rows.get(sha) == "note" for sha in made)
    assert not jobs(repo)


def test_a_held_hook_lock_queues_the_work_instead_of_waiting(repo: GitRepo) -> None:
    """Another gitroi hook holds the repository's hook lock (here: this test) while the user
    amends: neither the amend's post-commit nor its post-rewrite waits more than about a second
    (post-rewrite used to wait up to 30 s); both leave their work queued, and `gitroi show` of
    the new commit does it once the lock is free."""
    import fcntl

    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    repo.write("a.py", "x = 0\ny = 1\n")
    proc = git_commit(repo, "agent" + TRAILER, "2026-02-12T16:00:00Z")
    assert (proc.returncode, proc.stderr) == (0, "")
    lock = os.open(repo.path / ".git" / "gitroi" / "hook.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        repo.write("a.py", "x = 0\ny = 1\nz = 2\n")
        repo.git("add", "-A")
        start = time.monotonic()
        proc = subprocess.run(["git", "commit", "-q", "--amend", "-m", "agent, amended" + TRAILER],
                              cwd=repo.path, capture_output=True, text=True)
        took = time.monotonic() - start
        assert (proc.returncode, proc.stderr) == (0, "")
        assert took < 15, took  # two hooks, about a second each (30 s and more before)
        queued = [p.name for p in jobs(repo)]
        assert len(queued) == 2 and {n.split("-")[0] + "-" + n.split("-")[1] for n in queued} \
            == {"post-commit", "post-rewrite"}
    finally:
        os.close(lock)
    d = show(repo)
    assert (d["attribution"], d["lines_added"], d["ai_ranges"]) == ("commit", 2, {"a.py": [[2, 3]]})
    assert not jobs(repo)
