"""The default post-commit mode: the work runs in a detached child, the commit returns at once.

A failure in the child cannot reach the commit that started it; it becomes
the one warning line of the next commit.  An amend's post-rewrite and a
notes push wait for the child (a per-repository lock), so nothing races.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.conftest import GitRepo, run_gitroi

TRAILER = "\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>"


def commit(repo: GitRepo, message: str, text: str, *, env: dict[str, str] | None = None,
           amend: bool = False) -> subprocess.CompletedProcess[str]:
    repo.write("a.py", text)
    repo.git("add", "a.py")
    args = ["git", "commit", "-q", "-m", message] + (["--amend"] if amend else [])
    return subprocess.run(args, cwd=repo.path, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def wait_for(pred: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the background hook")


def note(repo: GitRepo, rev: str = "HEAD") -> dict[str, object] | None:
    proc = subprocess.run(["git", "notes", "--ref=gitroi", "show", rev], cwd=repo.path,
                          capture_output=True, text=True)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def _idle(repo: GitRepo) -> bool:
    """The hook lock is free: no background hook is running."""
    import fcntl

    path = repo.path / ".git" / "gitroi" / "hook.lock"
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_commit_returns_before_the_note_is_written_then_it_appears(repo: GitRepo) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    proc = commit(repo, "agent" + TRAILER, "x = 1\ny = 2\n")
    assert (proc.returncode, proc.stderr) == (0, "")
    wait_for(lambda: note(repo) is not None and _idle(repo))
    d = note(repo)
    assert d is not None and d["attribution"] == "commit" and d["lines_added"] == 2

    # amend straight away: post-rewrite waits for the amend's own post-commit child
    proc = commit(repo, "agent, amended" + TRAILER, "x = 1\ny = 2\nz = 3\n", amend=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    wait_for(lambda: _idle(repo) and note(repo) is not None)
    d = note(repo)
    assert d is not None
    assert (d["attribution"], d["lines_added"], d["ai_ranges"]) == ("commit", 3, {"a.py": [[1, 3]]})


def test_a_background_failure_is_the_next_commits_warning(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    site = tmp_path / "site-extra"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        "class Boom:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'gitroi.attribution.attribute':\n"
        "            raise ZeroDivisionError('simulated bug')\n"
        "sys.meta_path.insert(0, Boom())\n")
    crash = {"PYTHONPATH": str(site)}
    deferred = repo.path / ".git" / "gitroi" / "hook-warnings.log"
    proc = commit(repo, "one" + TRAILER, "x = 1\n", env=crash)
    assert (proc.returncode, proc.stderr) == (0, "")
    first = repo.git("rev-parse", "HEAD")
    wait_for(lambda: deferred.exists() and _idle(repo))
    proc = commit(repo, "two" + TRAILER, "x = 2\n", env=crash)
    assert proc.returncode == 0
    assert proc.stderr == (f"gitroi: warning: post-commit of {first[:12]} (in the background): "
                           "internal error (ZeroDivisionError: simulated bug); please report it "
                           f"(run `gitroi attribute --since {time.strftime('%Y-%m-%d', time.gmtime())}`"
                           " to catch up)\n")
    second = repo.git("rev-parse", "HEAD")
    wait_for(lambda: deferred.exists() and _idle(repo))
    proc = commit(repo, "three" + TRAILER, "x = 3\n")  # healthy again
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"gitroi: warning: post-commit of {second[:12]} (in the background): ")
    wait_for(lambda: _idle(repo) and note(repo) is not None)
    assert not deferred.exists()
    assert note(repo, second) is None  # what failed is caught up by `gitroi attribute`


def test_several_deferred_warnings_make_one_line(tmp_path: Path) -> None:
    from gitroi.attribution import hookwarn

    hookwarn.defer(str(tmp_path), "gitroi: warning: post-commit of a (in the background): x")
    hookwarn.defer(str(tmp_path), "gitroi: warning: post-commit of b (in the background): y")
    assert hookwarn.take_deferred(str(tmp_path)) == \
        "gitroi: warning: post-commit of b (in the background): y [and 1 earlier warning(s)]"
    assert hookwarn.take_deferred(str(tmp_path)) is None


def test_rebase_picks_do_not_fork(repo: GitRepo) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    for i in range(3):
        commit(repo, f"c{i}" + TRAILER, f"x = {i + 1}\n")
    wait_for(lambda: _idle(repo) and note(repo) is not None)
    olds = [repo.git("rev-parse", f"HEAD~{i}") for i in range(3)]
    proc = subprocess.run(["git", "rebase", "-q", "--force-rebase", "HEAD~3"], cwd=repo.path,
                          capture_output=True, text=True,
                          env={**os.environ, "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z"})
    assert (proc.returncode, proc.stderr) == (0, "")
    wait_for(lambda: _idle(repo))
    for i in range(3):
        new = repo.git("rev-parse", f"HEAD~{i}")
        assert new != olds[i]
        assert note(repo, new) == {**(note(repo, olds[i]) or {}), "source": note(repo, new)["source"]}  # type: ignore[index]


def test_linked_worktree_commit_in_the_background(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    run_gitroi("install", cwd=wt)
    (wt / "a.py").write_text("x = 0\ny = 1\n")
    subprocess.run(["git", "add", "a.py"], cwd=wt, check=True)
    proc = subprocess.run(["git", "commit", "-q", "-m", "in the worktree" + TRAILER], cwd=wt,
                          capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=wt, capture_output=True,
                         text=True).stdout.strip()
    wait_for(lambda: _idle(repo) and note(repo, sha) is not None)
    d = note(repo, sha)
    assert d is not None and (d["attribution"], d["ai_ranges"]) == ("commit", {"a.py": [[2, 2]]})
    assert (repo.path / ".git" / "gitroi" / "ledger.db").is_file()  # the shared ledger


def test_failure_before_the_fork_is_still_one_line(repo: GitRepo) -> None:
    """The foreground half can fail too (here: the state directory is a file)."""
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    (repo.path / ".git" / "gitroi").write_text("not a directory")
    proc = commit(repo, "agent" + TRAILER, "x = 1\n")
    assert proc.returncode == 0
    [line] = proc.stderr.splitlines()
    assert line.startswith("gitroi: warning: post-commit: ")
    assert repo.git("log", "-1", "--format=%s") == "agent"
