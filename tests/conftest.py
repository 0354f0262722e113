"""Shared fixtures: an isolated environment and real git repositories in tmp_path.

Every test runs with HOME, XDG dirs and the agents' config roots pointed into
its own temporary folder, with ``GITHUB_*``/``GITROI_*`` cleared, so nothing
leaks in from the machine and nothing the test writes leaks out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = FIXTURES / "samples"          # copies of real agent logs and GitHub payloads
TOOLS = ROOT / "tests" / "tools"
_CORPORA_DIR = os.environ.get("GITROI_CORPORA")  # read before isolated_env clears GITROI_*


def corpus(name: str) -> Path:
    """A git bundle of a real repository: carried under tests/fixtures/corpora when small,
    else looked for in ``$GITROI_CORPORA``; skips the test, saying why, when absent."""
    carried = FIXTURES / "corpora" / f"{name}.bundle"
    if carried.is_file():
        return carried
    folder = _CORPORA_DIR
    if folder and (Path(folder) / f"{name}.bundle").is_file():
        return Path(folder) / f"{name}.bundle"
    pytest.skip(f"corpus {name}.bundle is not carried in tests/fixtures/corpora and "
                "$GITROI_CORPORA does not hold it")

_CLEAR_PREFIXES = ("GITHUB_", "GITROI_", "GIT_", "INPUT_", "RUNNER_")
_CLEAR_NAMES = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_DIR", "OPENCODE_DATA_DIR", "CI")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and git config; no GitHub/gitroi/agent variables from outside."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(_CLEAR_PREFIXES) or name in _CLEAR_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test Person\n\temail = person@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # The post-commit hook's 2 s deadline is for real stalls; on a loaded CI machine a healthy
    # worker may pass it and say so on stderr (tests of the deadline set their own).
    monkeypatch.setenv("GITROI_HOOK_DEADLINE", "60")
    # The warm hook server would outlive each test by its idle time (minutes): off, but in
    # tests/test_hooks_server.py, which turns it on and stops it.
    monkeypatch.setenv("GITROI_HOOK_SERVER", "0")
    return home


class GitRepo:
    """A real repository in a temporary folder, scripted from the test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tick = 0

    def git(self, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True,
            env={**os.environ, **(env or {})},
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout.strip()

    def write(self, rel: str, text: str | bytes) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
        return p

    def commit(
        self,
        files: Mapping[str, str | bytes | None] | None = None,
        message: str = "change",
        *,
        date: str | None = None,
        author: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Write (or delete, with None) files, commit them all, return the new sha.

        Without ``date`` each commit is one minute after the previous one, from
        2026-01-01T00:00:00Z, so histories are reproducible.
        """
        for rel, text in (files or {}).items():
            if text is None:
                self.git("rm", "-q", "--", rel)
            else:
                self.write(rel, text)
                self.git("add", "--", rel)
        self._tick += 1
        when = date or f"2026-01-01T{self._tick // 60:02d}:{self._tick % 60:02d}:00Z"
        e = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, **(env or {})}
        args = ["commit", "-q", "--allow-empty", "-m", message]
        if author:
            args += ["--author", author]
        self.git(*args, env=e)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An empty repository on branch main with a fixed identity and no template hooks."""
    path = tmp_path / "repo"
    path.mkdir()
    tmpl = tmp_path / "empty-template"
    tmpl.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", f"--template={tmpl}", str(path)], check=True)
    return GitRepo(path)


def run_gitroi(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
               input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real ``gitroi`` CLI in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "gitroi", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, input=input,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"gitroi {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def gitroi() -> Iterator[object]:
    yield run_gitroi
