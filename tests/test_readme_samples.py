"""README.md's sample outputs are what gitroi prints today: scripts/readme_samples.py
builds each scenario afresh, runs the real commands and compares (``--check``).
When a test here fails, run ``python scripts/readme_samples.py`` and commit README.md."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "readme_samples.py"


def _check(only: str) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check", "--only", only],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def test_shop_and_sessions_samples_match_readme() -> None:
    _check("shop,sessions")


def test_corpus_sample_matches_readme() -> None:
    _check("corpus")


def test_check_mode_catches_a_stale_sample() -> None:
    """--check must fail (and show the diff) when a block differs, without writing."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_samples", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    readme = (ROOT / "README.md").read_text()
    stale = readme.replace("$ gitroi sessions list\n", "$ gitroi sessions list\nstale line\n", 1)
    assert stale != readme
    assert mod.render(stale, ["sessions"]) == readme
    with pytest.raises(SystemExit, match="no <!-- sample:sessions --> block"):
        mod.render(readme.replace("<!-- sample:sessions -->", ""), ["sessions"])
