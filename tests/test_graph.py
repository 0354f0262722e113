"""gitroi.git.graph answers ``git rev-list --reverse --topo-order HEAD ^BASE`` like git itself.

A random commit graph (merges of two and three parents, criss-crosses, equal
dates) is written with ``git commit-tree``; every answer is compared
with git's, order included.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

from gitroi.git import Repo
from gitroi.git.graph import CommitGraph


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _random_dag(root: Path, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    _git(root, "init", "-q")
    tree = _git(root, "write-tree")
    shas: list[str] = []
    for i in range(n):
        k = 0 if not shas else rng.choice([1, 1, 1, 2, 2, 3])
        # mostly recent parents (branches), sometimes old ones (long-lived branches)
        pool = shas[-12:] if rng.random() < 0.8 else shas
        parents = list(dict.fromkeys(rng.choice(pool) for _ in range(k))) if shas else []
        # Committer dates never go back: with clock skew git's own range walk may
        # list a commit that base does reach (its date heuristics), where this is exact.
        when = 1_600_000_000 + i * 60 - (60 if rng.random() < 0.2 else 0)  # ties too
        env = {**os.environ, "GIT_COMMITTER_DATE": f"{when} +0000", "GIT_AUTHOR_DATE": f"{when} +0000",
               "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@e"}
        args = ["commit-tree", tree, "-m", f"c{i}"]
        for p in parents:
            args += ["-p", p]
        shas.append(_git(root, *args, env=env))
    _git(root, "update-ref", "refs/heads/main", shas[-1])
    return shas


def test_ranges_and_order_match_git(tmp_path: Path) -> None:
    shas = _random_dag(tmp_path, 100, seed=7)
    repo = Repo.discover(tmp_path)
    graph = CommitGraph.load(repo, ["main"])
    reachable = set(_git(tmp_path, "rev-list", "main").split())
    assert set(graph.parents) == reachable
    rng = random.Random(3)
    inside = sorted(reachable)
    pairs = [(rng.choice(inside), rng.choice(inside)) for _ in range(60)]
    # every merge's second-and-later parents against its first, as detect() asks
    for sha in inside:
        ps = graph.parents[sha]
        pairs += [(p, ps[0]) for p in ps[1:]]
    nonempty = 0
    for head, base in pairs:
        want = _git(tmp_path, "rev-list", "--reverse", "--topo-order", head, f"^{base}").split()
        assert graph.rev_list(head, base) == want, (head, base)
        nonempty += bool(want)
    assert nonempty > 30
    assert len(shas) == 100
