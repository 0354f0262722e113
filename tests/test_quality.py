"""ruff and mypy (strict on gitroi/) stay clean: the suite fails the day they do not.

Versions are pinned in pyproject's ``dev`` extra (which the ``test`` extra
includes), so a new linter release cannot turn CI red on code that did not
change. Without the linters the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

_IN_CI = bool(os.environ.get("CI"))  # read at import: the isolated_env fixture clears CI


def _tool(name: str) -> list[str]:
    if shutil.which(name, path=str(ROOT / ".venv" / "bin")) is None and \
            subprocess.run([sys.executable, "-m", name, "--version"], capture_output=True).returncode:
        message = f"{name} is not installed (pip install -e '.[test]', or '.[dev]')"
        if _IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return [sys.executable, "-m", name]


def test_ruff_clean() -> None:
    proc = subprocess.run([*_tool("ruff"), "check", "gitroi", "tests", "benchmarks", "action", "scripts"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_clean() -> None:
    proc = subprocess.run([*_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
