"""The HTML report in headless Chromium: every chart drawn, no console message, no network."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gitroi.ledger import memory_ledger
from gitroi.report.figures import chart_data
from gitroi.report.html import render_html
from tests.conftest import GitRepo, run_gitroi
from tests.report_scenario import ROOT, fill

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHARTS = ("chart-cohort", "chart-per-line", "chart-agent", "chart-model", "chart-prs",
          "chart-paths", "chart-symbols")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=90)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("empty", [False, True])
def test_html_renders_in_chromium(tmp_path: Path, empty: bool) -> None:
    db = memory_ledger()
    if not empty:
        fill(db)
    page = tmp_path / "report.html"
    page.write_text(render_html(chart_data(db, roots=[ROOT], repo_name="golden")))
    proc = _chromium(tmp_path, "--dump-dom", page.as_uri())
    dom = proc.stdout
    assert 'data-charts-ready="1"' in dom, proc.stderr[-2000:]
    for cid in CHARTS:
        m = re.search(rf'<div class="chart" id="{cid}"[^>]*data-rendered="1"[^>]*>(.*?)</div>', dom, re.S)
        assert m, f"{cid} was not drawn"
        if not empty:
            assert "<svg" in m.group(1), f"{cid} has no SVG"
    if not empty:
        assert dom.count("<rect") >= 10 and dom.count("<polyline") >= 3
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console == []
    if not empty:
        shot = tmp_path / "shot.png"
        _chromium(tmp_path, "--hide-scrollbars", "--window-size=1280,1400",
                  f"--screenshot={shot}", page.as_uri())
        assert shot.exists() and shot.stat().st_size > 20_000


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_html_from_the_real_pipeline(repo: GitRepo, tmp_path: Path) -> None:
    """`gitroi report --format html` on a real repository (PRs, churn) renders every chart."""
    from tests.test_report_e2e import build

    build(repo)
    page = tmp_path / "real.html"
    run_gitroi("report", "--format", "html", "--by", "pr", "-o", str(page), cwd=repo.path)
    proc = _chromium(tmp_path, "--dump-dom", page.as_uri())
    dom = proc.stdout
    assert 'data-charts-ready="1"' in dom
    assert dom.count('data-rendered="1"') == len(CHARTS)
    assert "#1 Add b" in dom          # the PR with the most review churn is charted
    assert [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln] == []
