"""git run without `subprocess` (gitroi/git/spawn.py), through run_git and start_git: output,
errors, input of any size, the working directory, signals, a missing git."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gitroi.errors import GitroiError
from gitroi.git import run_git, start_git
from gitroi.git.spawn import GitResult
from tests.conftest import GitRepo


def test_output_error_and_exit_code(repo: GitRepo) -> None:
    repo.commit({"a.py": "x\n"}, "one")
    proc = run_git(["rev-parse", "HEAD"], cwd=repo.path)
    assert isinstance(proc, GitResult)
    assert (proc.returncode, proc.stdout.decode().strip(), proc.stderr) == (
        0, repo.git("rev-parse", "HEAD"), b"")
    bad = run_git(["rev-parse", "--verify", "no-such-branch"], cwd=repo.path, check=False)
    assert bad.returncode == 128 and b"fatal" in bad.stderr and bad.stdout == b""
    with pytest.raises(GitroiError, match=r"^`git rev-parse --verify no-such-branch` failed "
                                          r"with exit code 128: fatal"):
        run_git(["rev-parse", "--verify", "no-such-branch"], cwd=repo.path)


def test_the_working_directory_is_git_s(repo: GitRepo) -> None:
    repo.commit({"sub/a.py": "x\n"}, "one")
    top = run_git(["rev-parse", "--show-toplevel"], cwd=repo.path / "sub").stdout
    assert top.decode().strip() == str(repo.path.resolve())
    prefix = run_git(["rev-parse", "--show-prefix"], cwd=repo.path / "sub").stdout
    assert prefix.decode().strip() == "sub/"


def test_large_input_and_output_at_once(repo: GitRepo) -> None:
    """20,000 lines (0.8 MB) in and as many out while git is still reading: neither side waits on the
    other (a blocking write of the whole input would hang here)."""
    repo.commit({"a.py": "x\n"}, "one")
    head = repo.git("rev-parse", "HEAD")
    lines = f"{head}\n".encode() * 20_000
    proc = run_git(["cat-file", "--batch-check"], cwd=repo.path, input=lines)
    out = proc.stdout.decode().splitlines()
    assert len(out) == 20_000 and set(out) == {f"{head} commit {len(repo.git('cat-file', 'commit', head)) + 1}"}


def test_empty_input_and_stdin_closed(repo: GitRepo) -> None:
    repo.commit({"a.py": "x\n"}, "one")
    assert run_git(["hash-object", "--stdin"], cwd=repo.path, input=b"").stdout.strip() == (
        b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
    # no input: stdin is /dev/null, so a command reading it sees the end at once
    assert run_git(["hash-object", "--stdin"], cwd=repo.path).stdout.strip() == (
        b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")


def test_started_git_runs_while_the_caller_works(repo: GitRepo) -> None:
    repo.commit({"a.py": "x\n"}, "one")
    wait = start_git(["log", "-1", "--format=%s"], cwd=repo.path)
    assert wait() == b"one\n"
    assert wait() == b"one\n"  # reaped once, answered again
    failing = start_git(["log", "no-such-branch"], cwd=repo.path)
    with pytest.raises(GitroiError, match="failed with exit code 128"):
        failing()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_git_gets_the_signals_python_ignores_back(repo: GitRepo) -> None:
    """Python ignores SIGPIPE; a git that inherited that would go on writing into a closed
    pipe.  git's children show git's own signal dispositions (SigIgn in /proc)."""
    repo.commit({"a.py": "x\n"}, "one")
    out = run_git(["-c", "alias.status-of-sh=!grep SigIgn /proc/self/status", "status-of-sh"],
                  cwd=repo.path).stdout.decode()
    ignored = int(out.split()[1], 16)
    assert not ignored & (1 << (13 - 1))  # SIGPIPE


def test_no_descriptor_leaks_into_git(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "x\n"}, "one")
    keep = open(tmp_path / "held-open.txt", "w")  # noqa: SIM115 - open across the call
    try:
        out = run_git(["-c", "alias.fds=!ls -l /proc/$$/fd", "fds"], cwd=repo.path,
                      check=False).stdout.decode()
    finally:
        keep.close()
    if not out:
        pytest.skip("no /proc")
    assert "held-open.txt" not in out


def test_missing_git_says_so(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GitroiError, match="git is not installed or not on PATH"):
        run_git(["--version"])
    with pytest.raises(GitroiError, match="git is not installed or not on PATH"):
        start_git(["--version"])


def test_the_standard_streams_may_be_closed(tmp_path: Path) -> None:
    """With the caller's stdin, stdout and stderr closed, the pipes take numbers 0-2: they are
    moved above 2 before git gets them as its own 0, 1 and 2."""
    import subprocess

    code = ("import os\n"
            "for fd in (0, 1, 2):\n"
            "    os.close(fd)\n"
            "from gitroi.git import run_git\n"
            "p = run_git(['hash-object', '--stdin'], input=b'abc')\n"
            f"open({str(tmp_path / 'out')!r}, 'wb').write(p.stdout)\n")
    proc = subprocess.run([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                          capture_output=False, cwd=tmp_path, env=dict(os.environ))
    assert proc.returncode == 0
    assert (tmp_path / "out").read_bytes().strip() == b"f2ba8f84ab5c1bce84a7b441cb1959cfc7093b7f"
