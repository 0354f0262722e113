"""Progress with counts on a terminal, nothing when piped (issue 9).

The unit tests drive :class:`gitroi.progress.Progress` with a fake clock; the
end-to-end tests run ``gitroi analyze`` with stderr on a real pseudo-terminal
(``pty.openpty``) and on a pipe.
"""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from gitroi.progress import Progress
from tests.conftest import GitRepo

CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_quick_stage_draws_nothing_a_long_one_draws_counts() -> None:
    out, clock = io.StringIO(), Clock()
    bar = Progress(out, enabled=True, delay=1.0, clock=clock)
    quick = bar.stage("reading commits", "commits")
    quick(5, 10)
    quick(10, 10)
    long = bar.stage("replaying history", "commits")
    assert out.getvalue() == ""           # the quick stage ended within a second
    long(10, 3329)
    clock.t += 1.5
    long(1664, 3329)
    assert out.getvalue() == "\r\x1b[Kreplaying history  [#########...........]  1,664/3,329 commits"
    clock.t += 0.01
    long(1700, 3329)                       # within the redraw interval: not drawn
    assert "1,700" not in out.getvalue()
    long(3329, 3329)                       # the last count is always drawn
    bar.finish()
    assert out.getvalue().endswith("[####################]  3,329/3,329 commits\n")


def test_scaled_units_and_counts_without_a_total() -> None:
    out, clock = io.StringIO(), Clock()
    bar = Progress(out, enabled=True, delay=0.0, clock=clock)
    bar.stage("reading commits", "commits")(3, 0)
    assert out.getvalue().endswith("reading commits  3 commits")
    bar.stage("reading agent logs", "MB", scale=1_000_000)(25_000_000, 50_000_000)
    bar.finish()
    assert "reading agent logs  [##########..........]  25/50 MB\n" in out.getvalue()


def test_not_a_terminal_writes_nothing() -> None:
    out, clock = io.StringIO(), Clock()
    bar = Progress(out, delay=0.0, clock=clock)     # StringIO is not a tty
    assert not bar.enabled
    counts = bar.stage("replaying history", "commits")
    clock.t += 5
    counts(1, 2)
    bar("finding pull requests")
    bar.finish()
    assert out.getvalue() == ""


def _history(repo: GitRepo, n: int = 6) -> None:
    for i in range(n):
        repo.commit({f"f{i}.py": f"def f{i}():\n    return {i}\n"}, f"add f{i}" + (CLAUDE if i % 2 else ""))


def _env() -> dict[str, str]:
    return {**os.environ, "GITROI_PROGRESS_DELAY": "0"}


def test_on_a_terminal_analyze_shows_a_bar_with_counts(repo: GitRepo) -> None:
    _history(repo)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "gitroi", "analyze"], cwd=repo.path,
                                stdout=subprocess.PIPE, stderr=slave, env=_env())
        os.close(slave)
        chunks = []
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                data = os.read(master, 4096)
            except OSError:      # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0
    shown = b"".join(chunks).decode()
    assert "replaying history  [####################]  6/6 commits" in shown
    assert b"6 commits replayed" in out


def test_piped_analyze_and_report_write_nothing_extra(repo: GitRepo, tmp_path: Path) -> None:
    _history(repo)
    for args in (["analyze"], ["report"]):
        proc = subprocess.run([sys.executable, "-m", "gitroi", *args], cwd=repo.path,
                              capture_output=True, text=True, env=_env())
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
