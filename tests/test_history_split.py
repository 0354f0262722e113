"""iter_history's diff split between two git processes gives the one-process answer, in order."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import gitroi.attribution.history as history
from gitroi.git import Repo
from tests.conftest import corpus


def test_two_halves_read_like_one_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dst = tmp_path / "cca"
    subprocess.run(["git", "clone", "-q", str(corpus("claude-code-action")), str(dst)], check=True)
    repo = Repo.discover(dst)
    shas = repo.git_text("rev-list", "HEAD").split()
    spawned: list[list[str]] = []
    real = history._Later.__init__

    def later(self: history._Later, *a: object, **k: object) -> None:
        spawned.append(list(a[0]))  # type: ignore[arg-type]
        real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(history._Later, "__init__", later)
    monkeypatch.setattr(history, "SPLIT_COMMITS", 10**9)
    whole = [(hc.meta.sha, hc.meta.parents, hc.lines_added) for hc in history.iter_history(repo, ["HEAD"], only=shas)]
    assert not spawned
    monkeypatch.setattr(history, "SPLIT_COMMITS", 100)
    split = [(hc.meta.sha, hc.meta.parents, hc.lines_added) for hc in history.iter_history(repo, ["HEAD"], only=shas)]
    assert len(spawned) == 1
    assert split == whole and len(whole) == len(shas) == 763
    # and both are git's own numstat figures (non-merges; merges count their own lines)
    numstat = subprocess.run(["git", "log", "--numstat", "--no-merges", "-M", "--format=%x01%H"], cwd=dst,
                             capture_output=True, text=True, check=True).stdout
    want = {}
    for chunk in numstat.split("\x01")[1:]:
        head, *rows = chunk.strip("\n").split("\n")
        want[head] = sum(int(r.split("\t")[0]) for r in rows if r[:1].isdigit())
    assert {s: n for s, p, n in split if len(p) < 2} == want
