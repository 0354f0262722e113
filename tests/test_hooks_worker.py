"""The default post-commit mode: the installed script waits on the pipe of a hook process that
does the work itself, up to a deadline, so the note is there when `git commit` returns.

A failure of the work is the one warning line of this commit, and the job
stays queued for the next gitroi command.  Past the deadline the process lets
go of git and goes on, `gitroi show` waits for it, and what it has to say
waits for the next commit.  An amend's post-rewrite finds the note already
written.  (``python -m gitroi.attribution.hookrun`` and ``gitroi hook-impl``
fork a worker instead: nothing waits on their pipe.)
"""

from __future__ import annotations

import json
import os
import subprocess
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


def test_the_note_is_written_when_the_commit_returns(repo: GitRepo) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    proc = commit(repo, "agent" + TRAILER, "x = 1\ny = 2\n")
    assert (proc.returncode, proc.stderr) == (0, "")
    d = note(repo)  # no waiting: the work is done
    assert d is not None and d["attribution"] == "commit" and d["lines_added"] == 2
    assert not list((repo.path / ".git" / "gitroi" / "pending").glob("*.job"))

    # amend straight away: the amend's own post-commit is done before post-rewrite starts
    proc = commit(repo, "agent, amended" + TRAILER, "x = 1\ny = 2\nz = 3\n", amend=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    d = note(repo)
    assert d is not None
    assert (d["attribution"], d["lines_added"], d["ai_ranges"]) == ("commit", 3, {"a.py": [[1, 3]]})


SLOW = ("import time, gitroi.attribution.notes as n\n"
        "_real = n.write_note\n"
        "def write_note(*a, **k):\n"
        "    time.sleep(2.5)\n"
        "    return _real(*a, **k)\n"
        "n.write_note = write_note\n")


def _site(tmp_path: Path, name: str, text: str) -> dict[str, str]:
    site = tmp_path / name
    site.mkdir()
    (site / "sitecustomize.py").write_text(text)
    return {"PYTHONPATH": str(site)}


def test_the_hook_process_does_the_work_without_forking(repo: GitRepo, tmp_path: Path) -> None:
    """The installed script waits on the hook process's pipe: no worker is forked (a fork would
    raise here), and the hook's job file named the process that did the work."""
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    seen = tmp_path / "seen"
    env = _site(tmp_path, "site-nofork", (
        "import os\n"
        "def fork():\n"
        "    raise AssertionError('the hook forked')\n"
        "os.fork = fork\n"
        "import gitroi.attribution.pending as p\n"
        "_real = p.finish\n"
        "def finish(path):\n"
        "    if path:\n"
        "        with open(os.environ['SEEN'], 'a') as f:\n"
        "            f.write(f'{p.read_job(path).pid} {os.getpid()}\\n')\n"
        "    return _real(path)\n"
        "p.finish = finish\n"))
    proc = commit(repo, "agent" + TRAILER, "x = 1\n", env={**env, "SEEN": str(seen)})
    assert (proc.returncode, proc.stderr) == (0, "")
    d = note(repo)
    assert d is not None and d["attribution"] == "commit"
    [(job_pid, worker_pid)] = [line.split() for line in seen.read_text().splitlines()]
    assert job_pid == worker_pid


def test_past_the_deadline_the_worker_goes_on_and_show_waits(repo: GitRepo,
                                                              tmp_path: Path) -> None:
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    env = {**_site(tmp_path, "site-slow", SLOW), "GITROI_HOOK_DEADLINE": "0.2"}
    proc = commit(repo, "agent" + TRAILER, "x = 1\n", env=env)
    sha = repo.git("rev-parse", "HEAD")
    assert proc.returncode == 0
    # one line, and nothing from the shell about the waiting subshell it was told to stop
    assert proc.stderr == (f"gitroi: post-commit: attributing {sha[:12]} goes on in the "
                           "background (over 0.2 s); `gitroi show` waits for it\n")
    assert note(repo) is None  # not yet: the hook did not wait for the slow work
    from gitroi.attribution import pending

    [job] = pending.jobs(str(repo.path / ".git"))
    assert job.state() == "running"  # the hook's own process, still at work
    shown = json.loads(run_gitroi("show", "HEAD", "--json", cwd=repo.path).stdout)
    assert (shown["attribution"], shown["source"]) == ("commit", "note")
    assert shown == json.loads(run_gitroi("show", "HEAD", "--json", cwd=repo.path).stdout)


def test_a_failure_is_this_commits_warning_and_the_next_command_redoes_it(
        repo: GitRepo, tmp_path: Path) -> None:
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
    proc = commit(repo, "one" + TRAILER, "x = 1\n", env=crash)
    first = repo.git("rev-parse", "HEAD")
    assert proc.returncode == 0
    assert proc.stderr == (f"gitroi: warning: post-commit of {first[:12]}: internal error "
                           "(ZeroDivisionError: simulated bug); please report it "
                           f"(run `gitroi attribute {first[:12]}` to catch up)\n")
    assert note(repo, first) is None
    jobs = list((repo.path / ".git" / "gitroi" / "pending").glob("*.job"))
    assert len(jobs) == 1  # queued for the next gitroi command
    proc = commit(repo, "two" + TRAILER, "x = 2\n")  # healthy again: nothing more to say
    assert proc.stderr == ""
    second = repo.git("rev-parse", "HEAD")
    assert note(repo, second) is not None
    # the next gitroi command does what failed
    out = run_gitroi("show", first[:12], "--json", cwd=repo.path)
    assert json.loads(out.stdout)["source"] == "note"
    assert note(repo, first) is not None
    assert not list((repo.path / ".git" / "gitroi" / "pending").glob("*.job"))


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
    assert note(repo) is not None
    olds = [repo.git("rev-parse", f"HEAD~{i}") for i in range(3)]
    proc = subprocess.run(["git", "rebase", "-q", "--force-rebase", "HEAD~3"], cwd=repo.path,
                          capture_output=True, text=True,
                          env={**os.environ, "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z"})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert _idle(repo)
    for i in range(3):
        new = repo.git("rev-parse", f"HEAD~{i}")
        assert new != olds[i]
        assert note(repo, new) == {**(note(repo, olds[i]) or {}), "source": note(repo, new)["source"]}  # type: ignore[index]


def test_linked_worktree_commit(repo: GitRepo, tmp_path: Path) -> None:
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
    d = note(repo, sha)
    assert d is not None and (d["attribution"], d["ai_ranges"]) == ("commit", {"a.py": [[2, 2]]})
    assert (repo.path / ".git" / "gitroi" / "ledger.db").is_file()  # the shared ledger


def test_no_state_directory_still_gives_the_note(repo: GitRepo) -> None:
    """``.git/gitroi`` is a file: no ledger, no job file there; the note is written all the same
    (from a ledger made in memory) and the one warning line says why the ledger is behind."""
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    (repo.path / ".git" / "gitroi").write_text("not a directory")
    proc = commit(repo, "agent" + TRAILER, "x = 1\n")
    assert proc.returncode == 0
    [line] = proc.stderr.splitlines()
    assert line.startswith("gitroi: warning: post-commit of ")
    assert "the note is written" in line
    assert repo.git("log", "-1", "--format=%s") == "agent"
    assert note(repo) is not None


def test_job_states(tmp_path: Path) -> None:
    """A job file names its process: alive is running, gone (or a reused pid) is killed, 0 is
    queued; a half-written file is never read as a job."""
    from gitroi.attribution import pending

    mine = pending.begin(str(tmp_path), "post-commit", ["a" * 40])
    queued = pending.begin(str(tmp_path), "post-commit", ["b" * 40], pid=0)
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = pending.begin(str(tmp_path), "post-commit", ["c" * 40], pid=dead.pid)
    assert mine and queued and gone
    states = {j.sha[0]: j.state() for j in pending.jobs(str(tmp_path))}
    assert states == {"a": "running", "b": "queued", "c": "killed"}
    [me] = [j for j in pending.jobs(str(tmp_path)) if j.sha[0] == "a"]
    me.ticks = "1"  # another process that got this pid after a reboot
    assert me.state() == "killed"
    (tmp_path / "gitroi" / "pending" / "torn.job").write_text("gitroi-job 1\npost-comm")
    assert len(pending.jobs(str(tmp_path))) == 3
    pending.finish(mine)
    assert [j.sha[0] for j in pending.iter_unfinished(str(tmp_path))] == ["b", "c"]
    assert pending.wait_for(str(tmp_path), None, 0.1)


def test_a_warning_past_the_deadline_is_said_by_the_next_commit(repo: GitRepo,
                                                                tmp_path: Path) -> None:
    """Work that fails after git has returned cannot print: its warning waits in the
    warnings log, and the next commit says it (and redoes the work)."""
    repo.commit({"a.py": "x = 0\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    env = {**_site(tmp_path, "site-late", (
        "import time, gitroi.attribution.notes as n\n"
        "def write_note(*a, **k):\n"
        "    time.sleep(1.0)\n"
        "    raise ZeroDivisionError('a late bug')\n"
        "n.write_note = write_note\n")), "GITROI_HOOK_DEADLINE": "0.2"}
    proc = commit(repo, "one" + TRAILER, "x = 1\n", env=env)
    first = repo.git("rev-parse", "HEAD")
    assert proc.returncode == 0 and "goes on in the background" in proc.stderr
    from gitroi.attribution import pending

    assert pending.wait_for(str(repo.path / ".git"), None, 30)
    proc = commit(repo, "two" + TRAILER, "x = 2\n")
    assert proc.stderr == (f"gitroi: warning: post-commit of {first[:12]}: internal error "
                           "(ZeroDivisionError: a late bug); please report it (run `gitroi "
                           f"attribute {first[:12]}` to catch up)\n")
    # and, the failed work being queued again, did it before its own
    assert note(repo) is not None and note(repo, first) is not None
