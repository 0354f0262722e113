"""The warm hook server (gitroi/attribution/hookserver.py), through real ``git commit`` with the
installed hooks: the first commit's hook process does the work and leaves a server; the next
commits' hooks hand their commit to it.  Same notes and ledger rows as without it, the work
complete when git returns, a killed server caught up by the next commit, a server of another
environment or an idle one gone, ``gitroi uninstall`` stopping it.

The suite turns the server off (tests/conftest.py); these tests turn it on, with a short idle
time, and stop every server they started.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitroi.attribution.hookserver import server_pid, stop
from tests import test_hooks_faults as faults
from tests.conftest import GitRepo, run_gitroi
from tests.test_hooks_faults import dump, jobs, ledger, story

TRAILER = "\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>"

# Loaded by the hook process (PYTHONPATH), so by the server forked from it: writes
# "<pid of the job's process> <pid doing the work>" as each commit's job finishes, and
# SIGKILLs the process deciding a note when the commit's environment asks for it.
WATCH = '''
import os
import gitroi.attribution.pending as _p
import gitroi.attribution.attribute as _a
_finish = _p.finish
def finish(path):
    if path and os.environ.get("SEEN"):
        with open(os.environ["SEEN"], "a") as f:
            f.write(f"{_p.read_job(path).pid} {os.getpid()}\\n")
    return _finish(path)
_p.finish = finish
_decide = _a.decide_commit
def decide_commit(*a, **k):
    if os.environ.get("KILL_SERVED"):
        os.kill(os.getpid(), 9)
    return _decide(*a, **k)
_a.decide_commit = decide_commit
'''


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """The ledger of the fault suite's story run without faults and without a server."""
    return faults.clean.__wrapped__(tmp_path_factory)  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(autouse=True)
def server_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("GITROI_HOOK_SERVER", "1")
    monkeypatch.setenv("GITROI_HOOK_SERVER_IDLE", "30")  # gone soon even if a test fails
    yield
    for sock in tmp_path.rglob("hook.sock"):
        common = str(sock.parent.parent)
        pid = server_pid(common)
        stop(common)
        if pid:
            _gone(pid)


def _server(common: str, other_than: int | None = None, timeout: float = 15.0) -> int | None:
    """The server's pid once it has named itself (it does so a moment after the commit that
    started it returned)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid = server_pid(common)
        if pid is not None and pid != other_than:
            return pid
        time.sleep(0.02)
    return None


def _alive(pid: int) -> bool:
    """Process ``pid`` runs (a server that left and waits to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] not in (b"Z", b"X")


def _gone(pid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)
    return True


def _site(tmp_path: Path, name: str = "site-watch", text: str = WATCH) -> str:
    site = tmp_path / name
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(text)
    return str(site)


def _seen(path: Path) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in (line.split() for line in path.read_text().splitlines())]


def note(repo: GitRepo, rev: str = "HEAD") -> dict[str, Any] | None:
    proc = subprocess.run(["git", "notes", "--ref=gitroi", "show", rev], cwd=repo.path,
                          capture_output=True, text=True)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def test_the_server_does_the_next_commits_with_the_same_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean: dict[str, list[Any]]) -> None:
    seen = tmp_path / "seen"
    env = {"PYTHONPATH": _site(tmp_path), "SEEN": str(seen)}
    repo, procs = story(tmp_path, monkeypatch, {0: env, 1: env, 2: env})
    assert [(p.returncode, p.stderr) for p in procs] == [(0, "")] * 3
    common = str(repo.path / ".git")
    server = _server(common)
    assert server is not None and (repo.path / ".git" / "gitroi" / "hook.sock").exists()
    first, second, third = _seen(seen)
    assert first[0] == first[1] != server  # the first hook's own process did the work
    assert second == third == (server, server)  # the server did the next two, job and all
    assert not jobs(repo)
    run_gitroi("report", cwd=repo.path)
    assert dump(ledger(repo)) == clean


def test_a_killed_server_is_said_and_caught_up_by_the_next_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean: dict[str, list[Any]]) -> None:
    env = {"PYTHONPATH": _site(tmp_path)}
    repo, procs = story(tmp_path, monkeypatch, {0: env, 1: {**env, "KILL_SERVED": "1"}, 2: env})
    second = repo.git("rev-parse", "HEAD~1")
    assert procs[1].returncode == 0
    assert procs[1].stderr == (f"gitroi: warning: post-commit: the work was killed (the gitroi "
                               f"hook server stopped): commit {second[:12]} has no note (run "
                               f"`gitroi attribute {second[:12]}` to catch up)\n")
    # the next commit finds no server (its socket left behind), works itself, redoes the
    # killed commit first, and leaves a new server
    assert procs[2].stderr == (f"gitroi: commit {second[:12]} had no note (its post-commit hook "
                               "was killed); attributed it now\n")
    assert _server(str(repo.path / ".git")) is not None
    assert not jobs(repo)
    run_gitroi("report", cwd=repo.path)
    assert dump(ledger(repo)) == clean


def _commit(repo: GitRepo, message: str, text: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    repo.write("a.py", text)
    repo.git("add", "a.py")
    return subprocess.run(["git", "commit", "-q", "-m", message + TRAILER], cwd=repo.path,
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def _served(repo: GitRepo, env: dict[str, str] | None = None) -> tuple[str, int]:
    """A repository with the hooks installed, whose first hooked commit left a server: its
    common dir and the server's pid."""
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    assert _commit(repo, "one", "x = 1\n", env).stderr == ""
    common = str(repo.path / ".git")
    pid = _server(common)
    assert pid is not None
    return common, pid


def test_a_server_of_another_environment_leaves_for_a_new_one(repo: GitRepo,
                                                             tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    a = {"PYTHONPATH": _site(tmp_path, "a"), "SEEN": str(seen)}
    b = {"PYTHONPATH": _site(tmp_path, "b"), "SEEN": str(seen)}
    common, old = _served(repo, a)
    assert _commit(repo, "two", "x = 2\n", b).stderr == ""  # another sitecustomize
    assert _gone(old)
    new = _server(common, other_than=old)
    assert new is not None and new != old
    assert _commit(repo, "three", "x = 3\n", b).stderr == ""
    assert [w for _, w in _seen(seen)][1:] == [_seen(seen)[1][1], new]
    assert _seen(seen)[1][1] not in (old, new)  # "two": the hook's own process
    assert note(repo) is not None and note(repo, "HEAD~1") is not None


def test_the_work_is_complete_when_git_returns_and_an_idle_server_leaves(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITROI_HOOK_SERVER_IDLE", "3")
    common, pid = _served(repo)
    proc = _commit(repo, "two", "x = 1\ny = 2\n")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert server_pid(common) == pid  # served
    d = note(repo)  # no waiting: the work is done
    assert d is not None and (d["attribution"], d["lines_added"]) == ("commit", 1)
    assert not list((repo.path / ".git" / "gitroi" / "pending").glob("*.job"))
    assert _gone(pid, timeout=20)  # idle for 3 s: gone, and its socket with it
    assert not (repo.path / ".git" / "gitroi" / "hook.sock").exists()
    assert server_pid(common) is None


SLOW = ("import os, time, gitroi.attribution.notes as n\n"
        "_real = n.write_note\n"
        "def write_note(*a, **k):\n"
        "    if os.environ.get('SLOW'):\n"
        "        time.sleep(2.5)\n"
        "    return _real(*a, **k)\n"
        "n.write_note = write_note\n")


def test_past_the_deadline_the_server_goes_on_and_show_waits(repo: GitRepo,
                                                              tmp_path: Path) -> None:
    env = {"PYTHONPATH": _site(tmp_path, "slow", SLOW)}
    _, pid = _served(repo, env)  # the first commit: the suite's deadline, 60 s
    proc = _commit(repo, "two", "x = 2\n", {**env, "SLOW": "1", "GITROI_HOOK_DEADLINE": "0.5"})
    sha = repo.git("rev-parse", "HEAD")
    assert proc.returncode == 0
    assert proc.stderr == (f"gitroi: post-commit: attributing {sha[:12]} goes on in the "
                           "background (over 0.5 s); `gitroi show` waits for it\n")
    assert note(repo) is None  # not yet
    [job] = jobs(repo)
    assert (job.name.startswith("post-commit-"), job.read_text().split()[3]) == (True, str(pid))
    shown = json.loads(run_gitroi("show", "HEAD", "--json", cwd=repo.path).stdout)
    assert (shown["attribution"], shown["source"]) == ("commit", "note")


def test_uninstall_stops_the_server(repo: GitRepo) -> None:
    _, pid = _served(repo)
    run_gitroi("uninstall", cwd=repo.path)
    assert _gone(pid)
    assert not (repo.path / ".git" / "gitroi" / "hook.sock").exists()


def test_a_ledger_deleted_between_commits_is_not_written_through_the_kept_connection(
        repo: GitRepo) -> None:
    """The server keeps the ledger's connection from one commit to the next; a ledger deleted
    (or moved aside, rebuilt) in between is another file: the commit's rows go to the new
    one, not to the deleted inode the old connection still holds."""
    import sqlite3

    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    common = str(repo.path / ".git")
    assert _commit(repo, "one", "x = 1\n").stderr == ""
    assert _commit(repo, "two", "x = 2\n").stderr == ""  # served: the connection is kept
    pid = _server(common)
    db = repo.path / ".git" / "gitroi" / "ledger.db"
    for extra in ("", "-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    assert _commit(repo, "three", "x = 3\n").stderr == ""
    assert server_pid(common) == pid  # served again
    head = repo.git("rev-parse", "HEAD")
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT sha, attribution FROM commits").fetchall()
    finally:
        conn.close()
    assert (head, "commit") in rows


def test_concurrent_commits_in_two_worktrees_share_one_server(repo: GitRepo,
                                                              tmp_path: Path) -> None:
    """Commits started at the same instant in two work trees, three times: every commit gets
    its note, the shared ledger has every row, and of the servers the first round may leave
    (both hooks worked themselves) one is left."""
    import sqlite3

    common = str(repo.path / ".git")
    made = faults.commits_in_two_worktrees(repo, tmp_path, rounds=3)
    for sha in made:  # a hook that waited past a second for the lock queued its work
        shown = json.loads(run_gitroi("show", sha, "--json", cwd=repo.path).stdout)
        assert shown["source"] == "note", sha
    conn = sqlite3.connect(repo.path / ".git" / "gitroi" / "ledger.db")
    try:
        rows = {r[0] for r in conn.execute("SELECT sha FROM commits")}
    finally:
        conn.close()
    assert set(made) <= rows
    assert not jobs(repo)
    pid = _server(common)
    assert pid is not None
    # of the servers the first round may have left, the one whose socket was taken over
    # leaves within ~5 s (it checks), and only the named one stays
    hooks = subprocess.run(["pgrep", "-f", "hookboot.py post-commit"], capture_output=True,
                           text=True).stdout.split()
    mine = [int(h) for h in hooks if _of_this_test(int(h))]
    end = time.monotonic() + 15
    while len(mine) > 1 and time.monotonic() < end:
        time.sleep(0.2)
        mine = [h for h in mine if _alive(h)]
    assert mine == [pid]


def _of_this_test(pid: int) -> bool:
    """Process ``pid`` is a hook server started in this test: at /, with this test's HOME."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
        return os.readlink(f"/proc/{pid}/cwd") == "/" and \
            b"HOME=" + os.fsencode(os.environ["HOME"]) in env
    except OSError:
        return False


def test_an_amend_served_then_rewritten(repo: GitRepo) -> None:
    """An amend's post-commit is served, its post-rewrite (a hook process of its own) then
    finds the note written and carries it over, as without the server."""
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    assert _commit(repo, "agent", "x = 1\ny = 2\n").stderr == ""
    pid = _server(str(repo.path / ".git"))
    repo.write("a.py", "x = 1\ny = 2\nz = 3\n")
    repo.git("add", "a.py")
    proc = subprocess.run(["git", "commit", "-q", "--amend", "-m", "agent, amended" + TRAILER],
                          cwd=repo.path, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert server_pid(str(repo.path / ".git")) == pid
    d = note(repo)
    assert d is not None
    assert (d["attribution"], d["lines_added"], d["ai_ranges"]) == ("commit", 3, {"a.py": [[1, 3]]})


def test_a_stopped_server_does_not_hold_a_commit_up(repo: GitRepo) -> None:
    """A server that does not answer (stopped here with SIGSTOP; busy with another work
    tree's commit) is waited for half a second, not the deadline (60 s in the suite): the
    hook works itself and leaves a new server; the old one, let go, finds its socket taken
    over and leaves."""
    import signal

    common, old = _served(repo)
    os.kill(old, signal.SIGSTOP)
    try:
        start = time.monotonic()
        proc = _commit(repo, "two", "x = 2\n")
        took = time.monotonic() - start
        assert (proc.returncode, proc.stderr) == (0, "")
        assert took < 20
        assert note(repo) is not None
        new = _server(common, other_than=old)
        assert new is not None
    finally:
        os.kill(old, signal.SIGCONT)
    assert _gone(old, timeout=20)
    assert _alive(new) and server_pid(common) == new
