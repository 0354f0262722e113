"""The package, the CLI entry points and the ledger open as promised."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitroi.errors import GitroiError
from gitroi.git import discover
from gitroi.ledger import open_ledger
from tests.conftest import GitRepo, run_gitroi


def test_python_m_gitroi_version(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "gitroi", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.startswith("gitroi, version ")


def test_ledger_default_is_common_git_dir_shared_by_worktrees(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.txt": "a\n"})
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", str(wt), "-b", "side")
    main_paths = discover(repo.path)
    wt_paths = discover(wt)
    assert wt_paths.git_dir != main_paths.git_dir
    assert wt_paths.default_ledger == main_paths.default_ledger == repo.path / ".git" / "gitroi" / "ledger.db"


def test_outside_repository_needs_db(tmp_path: Path) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()
    with pytest.raises(GitroiError) as err:
        discover(outside)
    assert str(outside) in str(err.value)


def test_ledger_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    db = open_ledger(path)
    tables = set(db.table_names())
    assert {"sessions", "usage_events", "edits", "commits", "line_outcomes"} <= tables
    db.conn.close()
    db2 = open_ledger(path)
    assert set(db2.table_names()) == tables
    rows = db2.execute("select count(*) from _sqlite_migrations").fetchone()
    assert rows[0] >= 1


def test_corrupt_ledger_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(GitroiError) as err:
        open_ledger(path)
    assert str(path) in str(err.value)
    assert "rebuild" in str(err.value)


def test_outside_repository_error_names_path_and_hint(tmp_path: Path) -> None:
    """A user error is one `Error:` line naming the place, a hint, exit 1; no traceback."""
    proc = run_gitroi("sessions", "list", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert proc.stderr == (f"Error: {tmp_path} is not inside a git repository, so there is no "
                           "default ledger\nhint: cd into a repository or name one: gitroi -C "
                           "PATH/TO/REPO ...; to read an existing ledger file instead: gitroi --db "
                           "LEDGER.db ...\n")
    assert proc.stdout == ""


def test_db_option_works_outside_a_repository(tmp_path: Path) -> None:
    proc = run_gitroi("--db", str(tmp_path / "l.db"), "sessions", "list", "--json", cwd=tmp_path)
    assert proc.stdout.strip() == "[]"
    assert (tmp_path / "l.db").exists()
