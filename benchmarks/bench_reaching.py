"""Benchmark: the two engines of "does this line reach the PR's head", on real merged PRs.

For each of the last N first-parent merges of a repository (a merged PR:
second parent = its head, merge base with the first parent = its base), every
line the PR's commits added (``report.prs._added_lines``, the -U1 read the
PR figures use) is asked both ways:

* ``reaching``: ``git blame -w -M -C MERGE_BASE..HEAD`` (the PR comment's and
  the report's merged-PR engine);
* ``replay_reaching``: the survival replay on the same range (the engine of
  every other survival figure).

Prints how many PRs get the same set, the lines each engine finds at the
head, the lines only one of them finds, and each engine's total time (the
two alternate per PR, so load hits both alike).  docs/action.md cites the
figures.

Usage: ``python benchmarks/bench_reaching.py [REPO_OR_BUNDLE] [--merges 80]``
(default: claude-code-action from ``$GITROI_CORPORA`` or ``../shared/corpora``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _corpus(name: str) -> Path:
    for base in (os.environ.get("GITROI_CORPORA"), str(ROOT.parent / "shared" / "corpora"),
                 str(ROOT / "tests" / "fixtures" / "corpora")):
        if base and (Path(base) / f"{name}.bundle").exists():
            return Path(base) / f"{name}.bundle"
    raise SystemExit(f"no {name}.bundle: set GITROI_CORPORA")


def main() -> None:
    from gitroi.git import Repo
    from gitroi.report.prs import _added_lines
    from gitroi.survival.reaching import reaching, replay_reaching

    ap = argparse.ArgumentParser()
    ap.add_argument("repo", nargs="?")
    ap.add_argument("--merges", type=int, default=80)
    args = ap.parse_args()
    src = Path(args.repo) if args.repo else _corpus("claude-code-action")
    name = src.name
    with tempfile.TemporaryDirectory() as tmp:
        if src.suffix == ".bundle":
            subprocess.run(["git", "clone", "-q", str(src), f"{tmp}/r"], check=True)
            src = Path(f"{tmp}/r")
        repo = Repo.discover(src)
        merges = [ln.split()[1:3] for ln in repo.git_text(
            "log", "--merges", "--first-parent", "--format=%H %P").splitlines()][: args.merges]
        prs = same = lines = by_blame = by_replay = only_blame = only_replay = 0
        t_blame = t_replay = 0.0
        for base, head in merges:
            mb = repo.git_text("merge-base", base, head)
            added = _added_lines(repo, head, mb)
            keys = {(c, p, n) for c, ps in added.items() for p, ns in ps.items() for n in ns}
            if not keys:
                continue
            t = time.perf_counter()
            a = reaching(repo, mb, head, keys)
            t_blame += time.perf_counter() - t
            t = time.perf_counter()
            b = replay_reaching(repo, mb, head, keys)
            t_replay += time.perf_counter() - t
            prs += 1
            same += a == b
            lines += len(keys)
            by_blame += len(a)
            by_replay += len(b)
            only_blame += len(a - b)
            only_replay += len(b - a)
    print(f"{name}: {prs} merged PRs with added lines (of the last {len(merges)} merges)")
    print(f"  same reaching set       {same} of {prs}")
    print(f"  lines added             {lines:,}")
    print(f"  reaching the head       blame {by_blame:,}  replay {by_replay:,}")
    print(f"  found by one only       blame {only_blame:,}  replay {only_replay:,}")
    print(f"  time                    blame {t_blame:.2f} s  replay {t_replay:.2f} s")


if __name__ == "__main__":
    main()
