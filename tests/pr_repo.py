"""A pull request scripted in a real repository, with notes whose every figure is known.

main:     base ── other        (``other`` adds other.txt after the PR branched)
feature:   └── c1 ── c2 ── c3
  c1  claude-code session s1 writes util.py: add() and sub(), 6 lines, all AI
      claude-opus-4-6: input 1000, output 500, cache_write 2000, cache_read 10000
      -> 13,500 tokens, $0.25
  c2  codex session s2 replaces sub() by mul(): 2 AI lines (5-6), c1's lines 5-6 churned
      gpt-5-codex: input 3000, output 700 (200 reasoning), cache_read 6000
      -> 9,700 tokens, $0.05
  c3  a person adds README.md (1 line, no note)

Hand-worked PR figures: 3 commits, 2 attributed; tokens 23,200; cost $0.30;
lines added 6 + 2 + 1 = 9; AI lines 6 + 2 = 8; reaching the head: c1's
lines 1-4 and c2's 5-6 = 6; churned: c1's 5-6 = 2; review churn 2/8 = 0.25;
tokens per surviving line 23,200 / 6 = 3,866.67.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitroi.attribution.notes import Note, SessionShare, write_note
from gitroi.git import Repo
from tests.conftest import SAMPLES, GitRepo

UTIL_V1 = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
UTIL_V2 = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"

S1 = SessionShare.from_models(
    "claude-code", "s1",
    {"claude-opus-4-6": {"input": 1000, "output": 500, "cache_write": 2000, "cache_read": 10000,
                         "reasoning": 0, "responses": 4, "cost_usd": 0.25}},
    since="2026-01-01T00:00:00.000Z", until="2026-01-01T00:02:00.000Z")
S2 = SessionShare.from_models(
    "codex", "s2",
    {"gpt-5-codex": {"input": 3000, "output": 700, "cache_write": 0, "cache_read": 6000,
                     "reasoning": 200, "responses": 2, "cost_usd": 0.05}},
    since="2026-01-01T00:02:00.000Z", until="2026-01-01T00:03:00.000Z")


def note(repo: GitRepo, sha: str, session: SessionShare, ranges: dict[str, list[list[int]]],
         lines_added: int) -> None:
    write_note(Repo.discover(repo.path), sha,
               Note.build(attribution="line", sessions=[session], lines_added=lines_added,
                          ai_ranges=ranges))


def build(repo: GitRepo) -> dict[str, str]:
    """The history above, on branches main and feature; returns the commits by name."""
    shas: dict[str, str] = {}
    shas["base"] = repo.commit({"app.py": "def main():\n    return 0\n"}, "base")
    repo.git("checkout", "-q", "-b", "feature")
    shas["c1"] = repo.commit({"util.py": UTIL_V1}, "add util")
    note(repo, shas["c1"], S1, {"util.py": [[1, 6]]}, 6)
    shas["c2"] = repo.commit({"util.py": UTIL_V2}, "mul instead of sub")
    note(repo, shas["c2"], S2, {"util.py": [[5, 6]]}, 2)
    shas["c3"] = repo.commit({"README.md": "# util\n"}, "readme")
    repo.git("checkout", "-q", "main")
    shas["other"] = repo.commit({"other.txt": "unrelated\n"}, "other")
    return shas


def checkout_test_merge(repo: GitRepo, head: str) -> str:
    """Detach at a merge of ``head`` into main, as actions/checkout leaves a PR's work tree."""
    repo.git("checkout", "-q", "--detach", "main")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "-m", f"Merge {head} into main", head,
             env={"GIT_AUTHOR_DATE": "2026-01-02T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-02T00:00:00Z"})
    return repo.git("rev-parse", "HEAD")


def payload(name: str, dest: Path, edit: dict[str, Any]) -> Path:
    """The real webhook payload ``name`` with dotted-path fields replaced, written to ``dest``."""
    data = json.loads((SAMPLES / "github" / name).read_text())
    for dotted, value in edit.items():
        node = data
        keys = dotted.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    dest.write_text(json.dumps(data))
    return dest
