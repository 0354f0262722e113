"""Benchmark: full survival analysis of a real history against two baselines, in one run.

    .venv/bin/python benchmarks/bench_survival.py [BUNDLE_OR_REPO]

Default input: ``../shared/corpora/click.bundle`` (3,329 commits), cloned into a
temporary folder.  Times, each the best of ``--repeat`` runs:

* floor: ``git log -p -U0 -M --reverse`` over the same history (every diff read once);
* blame-all: ``git blame --line-porcelain`` of every text file at the tip, one
  file after the other (what blame-based tools pay to learn survival at one point);
* full analysis: ``gitroi.survival.analyze`` on a fresh ledger, split into the
  attribution load (markers and notes into the ledger, H3's ``ensure_ledger``,
  without line counts: what the first analysis of a repository pays on top)
  and the analysis proper (replay, tree-sitter classification, ledger writes);
* re-analysis after one new commit.

Prints the figures, the ratios against the targets of issue 4, and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gitroi.git import Repo  # noqa: E402
from gitroi.ledger import open_ledger  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process and its finished children (git)."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def timed(fn: object, repeat: int) -> tuple[float, float]:
    """Best wall time and the CPU time of that run (the machine may be shared)."""
    best, best_cpu = float("inf"), 0.0
    for _ in range(repeat):
        c = cpu()
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        took = time.perf_counter() - t
        if took < best:
            best, best_cpu = took, cpu() - c
    return best, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source", nargs="?", default=str(ROOT.parent / "shared" / "corpora" / "click.bundle"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ai-all", action="store_true",
                    help="also time a run where every commit counts as an AI commit (worst case for "
                         "tree-sitter: every AI line classified at its origin blob, reformat checks on "
                         "every hunk that removes lines)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", args.source, str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "config", "user.email", "bench@example.com"], check=True)
        subprocess.run(["git", "-C", str(clone), "config", "user.name", "Bench"], check=True)
        count = subprocess.run(["git", "-C", str(clone), "rev-list", "--count", "HEAD"], capture_output=True,
                               text=True, check=True).stdout.strip()

        def floor() -> None:
            subprocess.run(["git", "log", "-p", "-U0", "-M", "--reverse"], cwd=clone,
                           stdout=subprocess.DEVNULL, check=True)

        text_files = [ln.split(":", 1)[1] for ln in subprocess.run(
            ["git", "grep", "-I", "--name-only", "-e", "", "HEAD"], cwd=clone, capture_output=True,
            text=True).stdout.splitlines()]

        def blame_all() -> None:
            for f in text_files:
                subprocess.run(["git", "blame", "--line-porcelain", "HEAD", "--", f], cwd=clone,
                               stdout=subprocess.DEVNULL, check=True)

        from gitroi.survival import analyze as analyze_mod

        repo = Repo.discover(clone)
        branch = repo.git_text("symbolic-ref", "--short", "HEAD")
        t_floor, c_floor = timed(floor, args.repeat)
        t_blame, c_blame = timed(blame_all, 1)
        # Attribution load once (it is incremental; later runs cost ~nothing).
        db = open_ledger(Path(tmp) / "warm.db")
        t = time.perf_counter()
        analyze_mod._load_attribution(repo, db, "HEAD")
        t_attr = time.perf_counter() - t
        holder: dict[str, object] = {}

        def full() -> None:
            analyze_mod._state_path(repo, branch).unlink(missing_ok=True)
            db.execute("DELETE FROM analyses")
            holder["result"] = analyze_mod.analyze(repo, db, branch=branch)

        best_full, c_full = timed(full, args.repeat)
        result = holder["result"]
        assert isinstance(result, analyze_mod.AnalysisResult)
        t_ai_all = c_ai_all = 0.0
        ai_stats: dict[str, object] = {}
        if args.ai_all:
            from gitroi.survival.replay import Attribution

            every = subprocess.run(["git", "rev-list", "HEAD"], cwd=clone, capture_output=True, text=True,
                                   check=True).stdout.split()
            fake = Attribution(kinds=dict.fromkeys(every, "commit"))
            real_load = analyze_mod._load_attribution
            analyze_mod._load_attribution = lambda *a, **k: fake  # type: ignore[assignment]
            t_ai_all, c_ai_all = timed(full, 1)
            analyze_mod._load_attribution = real_load  # type: ignore[assignment]
            r = holder["result"]
            assert isinstance(r, analyze_mod.AnalysisResult)
            ai_stats = r.stats
            full()  # back to the real attribution for the re-analysis below
        # Re-analysis after one new commit.
        target = clone / text_files[0]
        with target.open("a") as fh:
            fh.write("\n# one more line\n")
        subprocess.run(["git", "-C", str(clone), "commit", "-q", "-am", "one more"], check=True)
        t = time.perf_counter()
        again = analyze_mod.analyze(repo, db, branch=branch)
        t_again = time.perf_counter() - t
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tip_lines = result.stats.get("tip_lines", 0)

    print(f"repository: {Path(args.source).name}, {count} commits, {tip_lines} lines at the tip, "
          f"{len(text_files)} text files")
    print(f"floor  git log -p -U0 -M --reverse       {t_floor:7.3f} s  (cpu {c_floor:.3f} s)")
    print(f"blame  git blame --line-porcelain, all   {t_blame:7.3f} s  (cpu {c_blame:.3f} s)")
    print(f"gitroi attribution load (no counts)      {t_attr:7.3f} s  (once; incremental afterwards)")
    print(f"gitroi full analysis (tree-sitter on)    {best_full:7.3f} s  (cpu {c_full:.3f} s, "
          f"{result.commits_replayed} commits, {result.stats.get('token_checks', 0)} token checks)")
    if args.ai_all:
        print(f"gitroi full analysis, every commit AI   {t_ai_all:7.3f} s  (cpu {c_ai_all:.3f} s, "
              f"{ai_stats.get('token_checks', 0)} token checks; tree-sitter on tip files and rework blobs)")
    print(f"gitroi re-analysis after one commit      {t_again:7.3f} s  ({again.mode}, "
          f"{again.commits_replayed} commit)")
    print(f"peak RSS of this process                 {peak_mb:7.1f} MB")
    print(f"ratio full/floor    {best_full / t_floor:5.2f}x  (target <= 2.5x)")
    print(f"ratio blame/full    {t_blame / best_full:5.2f}x  (target >= 2x)")
    print(f"cpu ratios          full/floor {c_full / c_floor:5.2f}x, blame/full {c_blame / c_full:5.2f}x")
    print(f"re-analysis         {t_again:5.3f} s  (target < 0.5 s)")


if __name__ == "__main__":
    main()
