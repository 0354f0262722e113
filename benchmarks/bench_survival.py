"""Benchmark: the survival analysis on AI-heavy histories, against plain git, in one run.

    .venv/bin/python benchmarks/bench_survival.py [--repeat 3] [--commits 18000] [--only NAME ...]

Corpora, each cloned into a temporary folder:

* ``click`` (3,329 commits, no AI commit) and ``claude-code-action`` (763
  commits, 179 with Claude trailers): bundles from ``$GITROI_CORPORA``, else
  ``../shared/corpora``; claude-code-action falls back to the copy carried in
  ``tests/fixtures/corpora``;
* ``aiheavy-18k``: a generated history (``tests/aiheavy.py``: about
  18,000 commits, 30% written by Claude, Python/TypeScript/Go, merges, moves,
  reformats, reverts), built once with ``git fast-import`` from a fixed seed
  and cached under ``~/.cache/gitroi/bench``.

Per corpus, medians of ``--repeat`` runs (wall clock; the CLI as a user runs
it, ``python -m gitroi``, byte code cached as after ``pip install``):

* floor: ``git log -p -U0 -M --reverse`` of the branch (every diff read once);
* cold: ``gitroi analyze`` with no ledger and no state (``.git/gitroi`` removed);
* pure: the same with ``GITROI_PURE=1`` (the pure-Python replay, docs/speedups.md),
  when the optional C extension is built (else cold is already pure Python);
* again: ``gitroi analyze`` after one more (AI) commit on the analysed branch;
* report: ``gitroi report`` on a cold repository (it analyses first) against cold;
* blame-all: ``git blame -w -M -C`` of every text file at the tip, 2 processes
  (on large histories a seeded sample of ``--blame-sample`` files, scaled up by
  the file count, and said so), run once;
* peak RSS of the cold ``gitroi analyze`` (the kernel's figure for the process
  and the children it waited for: the largest one, not a sum).

The machine may be shared: the load average is printed, and every ratio is
between figures of the same run.  ``--profile NAME`` prints cProfile's top
entries of one in-process cold analysis of that corpus instead.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.aiheavy import AI_TRAILER, cached  # noqa: E402

TARGETS = {  # corpus -> cold/floor target, again/floor target
    "click": (2.0, 1.5),
    "claude-code-action": (3.0, 1.5),
    "aiheavy-18k": (2.5, 0.25),
}


def corpora_dir() -> Path | None:
    env = os.environ.get("GITROI_CORPORA")
    for d in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "corpora"]:
        if d.is_dir():
            return d
    return None


def source_of(name: str, commits: int, seed: int) -> Path | None:
    if name == "aiheavy-18k":
        return cached(commits, seed)
    d = corpora_dir()
    if d is not None and (d / f"{name}.bundle").exists():
        return d / f"{name}.bundle"
    carried = ROOT / "tests" / "fixtures" / "corpora" / f"{name}.bundle"
    return carried if carried.exists() else None


SRC: Path = ROOT


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ, **extra)
    e["PYTHONPATH"] = str(SRC)  # the gitroi to measure (--src), ahead of the installed one
    e.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what an installed gitroi pays: cached byte code
    e.pop("GITROI_DB", None)
    return e


def run_timed(cmd: list[str], cwd: Path, quiet: bool = True,
              extra_env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one command (``os.wait4``)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env(**(extra_env or {})), stdout=subprocess.DEVNULL if quiet else None,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}: {err.decode(errors='replace')[-2000:]}")
    return took, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Figures:
    name: str
    commits: int = 0
    ai_commits: int = 0
    tip_lines: int = 0
    files: int = 0
    floor: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    cold_cpu: list[float] = field(default_factory=list)
    pure: list[float] = field(default_factory=list)
    pure_cpu: list[float] = field(default_factory=list)
    again: list[float] = field(default_factory=list)
    report: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    blame: float = 0.0
    blame_note: str = ""
    load_before: str = ""
    load_after: str = ""


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def bench(name: str, source: Path, repeat: int, blame_sample: int, tmp: Path) -> Figures:
    fig = Figures(name, load_before=load())
    clone = tmp / name
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
    git(clone, "config", "user.email", "bench@example.com")
    git(clone, "config", "user.name", "Bench")
    branch = git(clone, "symbolic-ref", "--short", "HEAD").strip()
    tip = git(clone, "rev-parse", "HEAD").strip()
    fig.commits = int(git(clone, "rev-list", "--count", "HEAD"))
    fig.ai_commits = int(git(clone, "rev-list", "--count", "-i", "--grep=co-authored-by: claude",
                             "--grep=generated with \\[claude", "HEAD"))
    text_files = [ln.split(":", 1)[1] for ln in git(clone, "grep", "-I", "--name-only", "-e", "", "HEAD")
                  .splitlines()]
    fig.files = len(text_files)
    fig.tip_lines = sum(int(x.split()[0]) for x in git(
        clone, "diff", "--numstat", "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "HEAD").splitlines()
        if x[:1].isdigit())
    py = sys.executable
    gdir = clone / ".git" / "gitroi"
    analyze = [py, "-m", "gitroi", "analyze", "-b", branch]
    report = [py, "-m", "gitroi", "report", "--branch", branch]
    run_timed([py, "-c", "import gitroi.cli, gitroi.survival.analyze, gitroi.survival.parse"], clone)  # byte code
    compiled = subprocess.run([py, "-c", "import gitroi.speedups as s; print(s.C is not None)"], cwd=clone,
                              env=env(), capture_output=True, text=True, check=True).stdout.strip() == "True"
    target = next((f for f in text_files if f.endswith((".py", ".ts", ".go", ".md"))), text_files[0])
    genv = dict(env(), GIT_COMMITTER_DATE="2030-01-01T00:00:00Z", GIT_AUTHOR_DATE="2030-01-01T00:00:00Z")
    for _ in range(repeat):
        w, c, _ = run_timed(["git", "log", "-p", "-U0", "-M", "--reverse", branch], clone)
        fig.floor.append(w)
        fig.floor_cpu.append(c)
        git(clone, "reset", "-q", "--hard", tip)
        shutil.rmtree(gdir, ignore_errors=True)
        w, c, rss = run_timed(analyze, clone)
        fig.cold.append(w)
        fig.cold_cpu.append(c)
        fig.rss.append(rss)
        if compiled:  # the same, on the pure-Python fallback (docs/speedups.md), in the same run
            shutil.rmtree(gdir, ignore_errors=True)
            w, c, _ = run_timed(analyze, clone, extra_env={"GITROI_PURE": "1"})
            fig.pure.append(w)
            fig.pure_cpu.append(c)
        with (clone / target).open("a") as fh:
            fh.write("\n// one more line written by an agent\n")
        subprocess.run(["git", "commit", "-q", "-am", "one more" + AI_TRAILER], cwd=clone, env=genv, check=True)
        fig.again.append(run_timed(analyze, clone)[0])
        git(clone, "reset", "-q", "--hard", tip)
        shutil.rmtree(gdir, ignore_errors=True)
        fig.report.append(run_timed(report, clone)[0])
    # blame-all, 2 processes; sampled on large histories.
    files = text_files
    if blame_sample and len(files) > blame_sample:
        files = sorted(random.Random(1).sample(text_files, blame_sample))
        fig.blame_note = f"sampled {len(files)} of {len(text_files)} files, scaled up by the file count"

    def blame(f: str) -> None:
        subprocess.run(["git", "blame", "-w", "-M", "-C", branch, "--", f], cwd=clone,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    t = time.perf_counter()
    with ThreadPoolExecutor(2) as ex:
        list(ex.map(blame, files))
    fig.blame = (time.perf_counter() - t) * len(text_files) / len(files)
    fig.load_after = load()
    return fig


def show(fig: Figures) -> None:
    floor, cold, again, rep = med(fig.floor), med(fig.cold), med(fig.again), med(fig.report)
    tc, ta = TARGETS.get(fig.name, (float("nan"), float("nan")))
    print(f"== {fig.name}: {fig.commits} commits ({fig.ai_commits} with Claude trailers), "
          f"{fig.files} text files, {fig.tip_lines} lines at the tip")
    print(f"   load average before {fig.load_before}, after {fig.load_after}")
    print(f"   floor   git log -p -U0 -M --reverse       {floor:8.3f} s                                  "
          f"cpu {med(fig.floor_cpu):.2f} s   runs {_runs(fig.floor)}")
    print(f"   cold    gitroi analyze                    {cold:8.3f} s   {cold / floor:5.2f}x floor "
          f"(target <= {tc}x)   cpu {med(fig.cold_cpu):.2f} s = {med(fig.cold_cpu) / med(fig.floor_cpu):.2f}x   runs {_runs(fig.cold)}")
    if fig.pure:
        pure = med(fig.pure)
        print(f"   pure    cold, GITROI_PURE=1               {pure:8.3f} s   {pure / floor:5.2f}x floor "
              f"(pure/compiled {pure / cold:.2f}x)  cpu {med(fig.pure_cpu):.2f} s = {med(fig.pure_cpu) / med(fig.floor_cpu):.2f}x   "
              f"runs {_runs(fig.pure)}")
    print(f"   again   after one more commit             {again:8.3f} s   {again / floor:5.2f}x floor "
          f"(target <= {ta}x)   runs {_runs(fig.again)}")
    print(f"   report  gitroi report, cold               {rep:8.3f} s   {rep / cold:5.2f}x cold analyze "
          f"(target <= 1.3x)   runs {_runs(fig.report)}")
    print(f"   blame   git blame -w -M -C, all files, 2p {fig.blame:8.3f} s   {fig.blame / cold:5.1f}x cold analyze "
          f"(target >= 20x at scale){'   ' + fig.blame_note if fig.blame_note else ''}")
    print(f"   peak RSS of cold analyze                  {max(fig.rss):8.1f} MB  (target <= 300 MB on 18k commits)")


def _runs(xs: list[float]) -> str:
    return "/".join(f"{x:.2f}" for x in xs)


def profile(name: str, source: Path, tmp: Path, top: int) -> None:
    import cProfile
    import pstats

    clone = tmp / name
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
    branch = git(clone, "symbolic-ref", "--short", "HEAD").strip()
    from gitroi.git import Repo
    from gitroi.ledger import open_ledger
    from gitroi.survival.analyze import analyze

    repo = Repo.discover(clone)
    db = open_ledger(clone / ".git" / "gitroi" / "ledger.db")
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    analyze(repo, db, branch=branch)
    prof.disable()
    print(f"== profile of a cold analysis of {name} in-process: {time.perf_counter() - t:.2f} s (with cProfile)")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--commits", type=int, default=18000, help="size of the generated history")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", nargs="*", default=["click", "claude-code-action", "aiheavy-18k"])
    ap.add_argument("--src", type=Path, default=ROOT, help="the gitroi source tree to measure (PYTHONPATH)")
    ap.add_argument("--blame-sample", type=int, default=200,
                    help="blame at most this many files (seeded sample), scaled up; 0 for all")
    ap.add_argument("--profile", metavar="NAME", help="print a cProfile of one cold analysis of NAME instead")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    global SRC
    SRC = args.src.resolve()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if args.profile:
            src = source_of(args.profile, args.commits, args.seed)
            if src is None:
                raise SystemExit(f"no corpus {args.profile}")
            profile(args.profile, src, tmp, args.top)
            return
        print(f"gitroi survival benchmark, {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, "
              f"{os.cpu_count()} cores, medians of {args.repeat}, gitroi from {SRC}; {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
        for name in args.only:
            src = source_of(name, args.commits, args.seed)
            if src is None:
                print(f"== {name}: skipped (no bundle; set GITROI_CORPORA)")
                continue
            show(bench(name, src, args.repeat, args.blame_sample, tmp))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
