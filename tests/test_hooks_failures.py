"""A hook never blocks or breaks a commit, amend, rebase or push.

Each failure mode is produced for real and driven through a real git command
with the hooks installed: a ledger locked by another process, a corrupt note,
an unreadable log directory, a full disk (SQLite's SQLITE_FULL, and git
failing with ENOSPC), gitroi itself crashing, a remote that refuses the notes.
Each must give exactly one `gitroi: warning:` line on stderr, exit 0, and the
commit (or push) must be made.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitroi.attribution import hookwarn, postrewrite
from gitroi.errors import GitroiError
from tests.conftest import GitRepo, run_gitroi

CLAUDE_TRAILER = "\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>"
TODAY = time.strftime("%Y-%m-%d", time.gmtime())
CATCH_UP = f"(run `gitroi attribute --since {TODAY}` to catch up)"


@pytest.fixture
def hooked(repo: GitRepo) -> GitRepo:
    repo.commit({"a.py": "x = 1\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    return repo


@pytest.fixture(autouse=True)
def hooks_in_foreground(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the result right after each git command: run post-commit before
    returning (test_hooks_background.py covers the default, backgrounded, mode)."""
    monkeypatch.setenv("GITROI_HOOK_FOREGROUND", "1")


def commit(repo: GitRepo, message: str, *, files: dict[str, str] | None = None,
           env: dict[str, str] | None = None, amend: bool = False) -> subprocess.CompletedProcess[str]:
    for rel, text in (files or {"a.py": f"x = {time.monotonic_ns()}\n"}).items():
        repo.write(rel, text)
        repo.git("add", rel)
    args = ["git", "commit", "-q", "-m", message] + (["--amend"] if amend else [])
    return subprocess.run(args, cwd=repo.path, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def one_warning(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gitroi: warning: ")
    return lines[0]


def note_text(repo: GitRepo, rev: str = "HEAD") -> str | None:
    proc = subprocess.run(["git", "notes", "--ref=gitroi", "show", rev], cwd=repo.path,
                          capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def subject(repo: GitRepo) -> str:
    return repo.git("log", "-1", "--format=%s")


def test_a_healthy_marker_commit_is_silent_and_noted(hooked: GitRepo) -> None:
    proc = commit(hooked, "agent work" + CLAUDE_TRAILER)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert '"attribution": "commit"' in (note_text(hooked) or "")


def test_gitroi_skip(hooked: GitRepo) -> None:
    proc = commit(hooked, "skipped" + CLAUDE_TRAILER, env={"GITROI_SKIP": "1"})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert note_text(hooked) is None
    # the module honours it too (for `gitroi hook-impl` and the pre-commit framework)
    out = subprocess.run([sys.executable, "-m", "gitroi.attribution.hookrun", "post-commit"],
                         cwd=hooked.path, capture_output=True, text=True,
                         env={**os.environ, "GITROI_SKIP": "1"})
    assert (out.returncode, out.stderr) == (0, "")


def _ledger_row(repo: GitRepo, sha: str) -> tuple[object, ...] | None:
    conn = sqlite3.connect(repo.path / ".git" / "gitroi" / "ledger.db")
    try:
        return conn.execute("SELECT attribution, source FROM commits WHERE sha = ?",
                            [sha]).fetchone()
    finally:
        conn.close()


def test_locked_ledger(hooked: GitRepo) -> None:
    """Another process holds the ledger's write lock: the note is written anyway (git alone),
    silently (a busy ledger is routine), within about a second; the next gitroi command
    brings the ledger up to the note."""
    commit(hooked, "creates the ledger")
    ledger = hooked.path / ".git" / "gitroi" / "ledger.db"
    assert ledger.is_file()
    holder = sqlite3.connect(ledger, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        start = time.monotonic()
        proc = commit(hooked, "while locked" + CLAUDE_TRAILER)
        took = time.monotonic() - start
        sha = hooked.git("rev-parse", "HEAD")
        assert '"attribution": "commit"' in (note_text(hooked) or "")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (proc.returncode, proc.stderr) == (0, "")
    assert subject(hooked) == "while locked"
    assert took < 3  # the hook gives up on the ledger after half a second; it never hangs
    assert _ledger_row(hooked, sha) is None  # behind, for now
    run_gitroi("report", cwd=hooked.path)
    assert _ledger_row(hooked, sha) == ("commit", "note")


def test_corrupt_note_on_amend(hooked: GitRepo) -> None:
    commit(hooked, "first")
    hooked.git("notes", "--ref=gitroi", "add", "-f", "-m", "{not json", "HEAD")
    old = hooked.git("rev-parse", "HEAD")
    proc = commit(hooked, "first, amended", amend=True)
    line = one_warning(proc)
    assert line.startswith(
        f"gitroi: warning: post-rewrite: could not carry the notes over to 1 of 1 rewritten "
        f"commit(s) ({hooked.git('rev-parse', 'HEAD')[:12]}): the gitroi note on commit "
        f"{old[:12]} is not valid JSON")
    assert subject(hooked) == "first, amended"


def test_corrupt_note_at_commit_time(hooked: GitRepo) -> None:
    """The same commit object made again (fixed dates) finds its old, corrupt note."""
    env = {"GIT_AUTHOR_DATE": "2026-03-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-03-01T00:00:00Z"}
    files = {"b.py": "y = 2\n"}
    commit(hooked, "again" + CLAUDE_TRAILER, files=files, env=env)
    sha = hooked.git("rev-parse", "HEAD")
    hooked.git("notes", "--ref=gitroi", "add", "-f", "-m", "[1, 2", sha)
    hooked.git("reset", "-q", "--hard", "HEAD~1")
    proc = commit(hooked, "again" + CLAUDE_TRAILER, files=files, env=env)
    assert hooked.git("rev-parse", "HEAD") == sha
    line = one_warning(proc)
    assert line.startswith(f"gitroi: warning: post-commit: the gitroi note on commit {sha[:12]} "
                           "is not valid JSON")
    assert line.endswith(CATCH_UP)


def test_unreadable_log_directory(hooked: GitRepo, tmp_path: Path) -> None:
    root = tmp_path / "claude"
    root.mkdir()
    projects = root / "projects"
    projects.write_text("not a directory")  # unreadable as a directory, even for root
    projects.chmod(0)
    proc = commit(hooked, "with a broken log dir" + CLAUDE_TRAILER,
                  env={"CLAUDE_CONFIG_DIR": str(root)})
    line = one_warning(proc)
    assert line == (f"gitroi: warning: post-commit: skipped 1 unreadable item in 1 file: "
                    f"{projects} (unreadable directory: Not a directory 1) {CATCH_UP}")
    # what could be read was still attributed
    assert '"attribution": "commit"' in (note_text(hooked) or "")


def _sitecustomize(tmp_path: Path, code: str) -> dict[str, str]:
    d = tmp_path / "site-extra"
    d.mkdir(exist_ok=True)
    (d / "sitecustomize.py").write_text(code)
    return {"PYTHONPATH": str(d)}


def test_full_disk_in_the_ledger(hooked: GitRepo, tmp_path: Path) -> None:
    """SQLite reports a full disk as SQLITE_FULL; a max_page_count of 1 produces exactly that
    when the first commit after `gitroi install` creates the ledger."""
    env = _sitecustomize(tmp_path, (
        "import sqlite3\n"
        "_connect = sqlite3.connect\n"
        "def connect(*a, **k):\n"
        "    conn = _connect(*a, **k)\n"
        "    if a and a[0] != ':memory:':  # the disk is full, not the memory\n"
        "        conn.execute('PRAGMA max_page_count = 1')\n"
        "    return conn\n"
        "sqlite3.connect = connect\n"))
    proc = commit(hooked, "disk full" + CLAUDE_TRAILER, env=env)
    line = one_warning(proc)
    ledger = hooked.path / ".git" / "gitroi" / "ledger.db"
    assert line == ("gitroi: warning: post-commit: the disk is full: the ledger "
                    f"{ledger} could not be written (the disk is full: cannot open the ledger "
                    f"{ledger}: database or disk is full); the note is written and the ledger "
                    "catches up on the next gitroi command (run `gitroi report` to catch up)")
    assert subject(hooked) == "disk full"
    assert '"attribution": "commit"' in (note_text(hooked) or "")  # the note is not lost


def test_full_disk_when_git_writes_the_note(hooked: GitRepo, tmp_path: Path) -> None:
    """git failing with ENOSPC while writing the note object (git's own message), injected
    where gitroi runs git: hooks run with git's exec-path first on PATH, so no wrapper there."""
    env = _sitecustomize(tmp_path, (
        "from gitroi.git import spawn\n"
        "_run = spawn.run\n"
        "def run(args, **k):\n"
        "    if list(args[:3]) == ['notes', '--ref=refs/notes/gitroi', 'add']:\n"
        "        return spawn.GitResult(['git', *args], 128, b'', b'error: unable to create '\n"
        "            b'temporary file: No space left on device\\nfatal: unable to write note object\\n')\n"
        "    return _run(args, **k)\n"
        "spawn.run = run\n"))
    proc = commit(hooked, "disk full" + CLAUDE_TRAILER, env=env)
    line = one_warning(proc)
    assert line.startswith("gitroi: warning: post-commit: `git notes --ref=refs/notes/gitroi add")
    assert "No space left on device fatal: unable to write note object" in line
    assert line.endswith(CATCH_UP)
    assert subject(hooked) == "disk full"
    assert note_text(hooked) is None


def test_gitroi_crashing(hooked: GitRepo, tmp_path: Path) -> None:
    env = _sitecustomize(tmp_path, (
        "import sys\n"
        "class Boom:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'gitroi.attribution.attribute':\n"
        "            raise ZeroDivisionError('division by zero (a simulated gitroi bug)')\n"
        "sys.meta_path.insert(0, Boom())\n"))
    proc = commit(hooked, "crash" + CLAUDE_TRAILER, env=env)
    line = one_warning(proc)
    assert line == ("gitroi: warning: post-commit: internal error (ZeroDivisionError: division by "
                    "zero (a simulated gitroi bug)); please report it " + CATCH_UP)
    assert subject(hooked) == "crash"
    # and a crash during an amend and a rebase
    proc = commit(hooked, "crash, amended", amend=True, env=env)
    assert proc.returncode == 0 and subject(hooked) == "crash, amended"
    rebase = subprocess.run(["git", "rebase", "-q", "--force-rebase", "HEAD~1"], cwd=hooked.path,
                            capture_output=True, text=True, env={**os.environ, **env})
    assert rebase.returncode == 0, rebase.stderr
    assert subject(hooked) == "crash, amended"


def test_push_never_fails_and_reports_a_refused_notes_push(hooked: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    # the remote refuses the notes ref (a server-side policy), but takes branches
    hook = bare / "hooks" / "update"
    hook.write_text('#!/bin/sh\ncase "$1" in refs/notes/*) echo "notes not allowed" >&2; exit 1;; esac\n')
    hook.chmod(0o755)
    hooked.git("remote", "add", "origin", str(bare))
    commit(hooked, "noted" + CLAUDE_TRAILER)
    fg = {"GITROI_HOOK_FOREGROUND": "1"}
    push = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=hooked.path,
                          capture_output=True, text=True, env={**os.environ, **fg})
    line = one_warning(push)
    assert line.startswith("gitroi: warning: pre-push: could not push refs/notes/gitroi to origin")
    assert line.endswith("(run `gitroi sync origin` to catch up)")
    assert subprocess.run(["git", "rev-parse", "main"], cwd=bare, capture_output=True,
                          text=True).stdout.strip() == hooked.git("rev-parse", "HEAD")

    # In the background (the default) the failure is reported by the next push, once.
    bg = {k: v for k, v in os.environ.items() if k != "GITROI_HOOK_FOREGROUND"}
    commit(hooked, "more" + CLAUDE_TRAILER)
    push = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=hooked.path,
                          capture_output=True, text=True, env=bg)
    assert (push.returncode, push.stderr) == (0, "")
    log = hooked.path / ".git" / "gitroi" / "push" / "origin.log"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "warning" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.1)
    commit(hooked, "again" + CLAUDE_TRAILER)
    push = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=hooked.path,
                          capture_output=True, text=True, env=bg)
    line = one_warning(push)
    assert line.startswith("gitroi: warning: pre-push: the last background push of "
                           "refs/notes/gitroi to origin failed: could not push")


def test_pushing_the_notes_ref_itself_does_not_recurse(hooked: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    hooked.git("remote", "add", "origin", str(bare))
    commit(hooked, "noted" + CLAUDE_TRAILER)
    push = subprocess.run(["git", "push", "-q", "origin", "refs/notes/gitroi"], cwd=hooked.path,
                          capture_output=True, text=True)
    assert (push.returncode, push.stderr) == (0, "")
    assert not (hooked.path / ".git" / "gitroi" / "push" / "origin.log").exists()


def test_describe_covers_every_kind_of_failure() -> None:
    assert hookwarn.describe(OSError(errno.ENOSPC, "No space left on device", "/x/ledger.db")) \
        == "the disk is full (no space left on device writing /x/ledger.db)"
    assert hookwarn.describe(GitroiError("bad\nthing", hint="do x")) == "bad thing"
    assert hookwarn.describe(sqlite3.OperationalError("database is locked")) == \
        "the ledger: database is locked"
    assert hookwarn.describe(KeyError("k")) == "internal error (KeyError: 'k'); please report it"
    assert hookwarn.describe(SystemExit(2)) == "exited early (code 2)"
    assert len(hookwarn.describe(ValueError("x" * 1000))) == 400
    assert postrewrite.parse_rewrite_pairs("a1 b1\na2 b1\na3 b3 extra\n\n") == \
        {"b1": ["a1", "a2"], "b3": ["a3"]}


def test_pre_push_through_the_pre_commit_framework(hooked: GitRepo, tmp_path: Path) -> None:
    """pre-commit passes no arguments and no stdin, only PRE_COMMIT_REMOTE_* variables."""
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    hooked.git("remote", "add", "origin", str(bare))
    commit(hooked, "noted" + CLAUDE_TRAILER)
    proc = run_gitroi("hook-impl", "pre-push", cwd=hooked.path, input="",
                      env={"PRE_COMMIT_REMOTE_NAME": "origin",
                           "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main"})
    assert proc.stderr == ""
    assert subprocess.run(["git", "rev-parse", "refs/notes/gitroi"], cwd=bare, capture_output=True,
                          text=True).stdout.strip() == hooked.git("rev-parse", "refs/notes/gitroi")
    # the notes ref itself as the pushed branch: nothing (no recursion)
    commit(hooked, "more" + CLAUDE_TRAILER)
    proc = run_gitroi("hook-impl", "pre-push", cwd=hooked.path, input="",
                      env={"PRE_COMMIT_REMOTE_NAME": "origin",
                           "PRE_COMMIT_REMOTE_BRANCH": "refs/notes/gitroi"})
    assert proc.stderr == ""
    assert subprocess.run(["git", "rev-parse", "refs/notes/gitroi"], cwd=bare, capture_output=True,
                          text=True).stdout.strip() != hooked.git("rev-parse", "refs/notes/gitroi")
