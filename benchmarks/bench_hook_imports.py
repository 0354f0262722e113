"""Benchmark: where the post-commit hook process spends its CPU time, module by module.

``python -X importtime`` measures wall time, which a loaded machine (other
jobs, load average 20 on two cores) inflates tenfold and at random; this
measures CPU time (``time.process_time``) instead, which load moves much
less.  In a temporary repository with ``gitroi install`` done and a Claude
Code session that edits a file before each commit, each round makes a commit
with ``--no-verify`` and then runs the hook's work in a fresh interpreter
started as the installed hook starts it (``python -S``, gitroi's folder put
on ``sys.path``; ``GITROI_HOOK_FOREGROUND=1``: no worker, so one process does
it all) under
a small import profiler: every module's load, its own CPU time ("self",
without the modules it imported) and with them ("cum").  Rounds are
interleaved with two bare interpreters, ``python -c pass`` and
``python -S -c pass`` (without the ``site`` module), for the start-up cost.

Prints medians over the rounds: the interpreter's start-up, the hook
process's whole CPU time (start-up included; git's children are apart,
bench_hook.py counts them), the sum of every import's self time, and the
modules that cost most.  Bytecode is written, as in a normal installation.

``--against DIR`` interleaves a second series that imports gitroi from
another source tree (DIR instead of this one on ``sys.path``, e.g. from
``git archive main | tar -x -C DIR``; a tree whose hooks predate ``python -S``
is run as ``python -m`` ran it, ``site`` included), so a change is measured
before and after in the same run.

Usage: ``python benchmarks/bench_hook_imports.py [--rounds 15] [--top 25] [--against DIR]``
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchenv import isolated_env  # noqa: E402

from tests.test_attribution_claude_log import Transcript  # noqa: E402

# Run in the measured interpreter: wraps importlib's module loading to record CPU time per
# module, runs the hook module as ``-m`` would, and writes the figures when the process
# leaves (the hook leaves through os._exit).
PROFILER = r'''
import os, sys, time  # json only when writing: it loads re, enum, which the hook counts
import importlib._bootstrap as bootstrap

out = sys.argv.pop(1)
lib = sys.argv.pop(1)  # where gitroi is, as the installed hook passes it
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if p and p != here] + [lib]
load = bootstrap._load_unlocked
stack = []
rec = {}

def timed(spec):
    t0 = time.process_time()
    stack.append(0.0)
    try:
        return load(spec)
    finally:
        inner = stack.pop()
        cum = time.process_time() - t0
        rec[spec.name] = (cum - inner, cum)
        if stack:
            stack[-1] += cum

bootstrap._load_unlocked = timed

def dump():
    rec["(process)"] = (time.process_time(), time.process_time())
    import json
    with open(out, "w") as f:
        json.dump(rec, f)

real_exit = os._exit

def leave(code):
    dump()
    real_exit(code)

os._exit = leave
sys.argv = ["-c", "post-commit"]
try:
    try:
        from gitroi.attribution.hookrun import boot
    except ImportError:  # a tree from before `python -S` hooks: as `python -m` ran them
        import runpy
        import site

        del sys.modules["gitroi.attribution.hookrun"]
        site.main()
        runpy.run_module("gitroi.attribution.hookrun", run_name="__main__", alter_sys=True)
    else:
        boot()
finally:
    dump()
'''


def cpu_of(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or proc.stderr.strip():
        raise SystemExit(f"{' '.join(cmd)} failed or warned:\n{proc.stdout}\n{proc.stderr}")
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def report(label: str, runs: list[dict[str, list[float]]], top: int, notes: int) -> None:
    ms = 1000.0

    def med(name: str, i: int) -> float:
        return statistics.median(r[name][i] if name in r else 0.0 for r in runs)

    print(f"[{label}] hook process (GITROI_HOOK_FOREGROUND=1, profiled, git children apart): "
          f"median {med('(process)', 0) * ms:.1f} ms CPU over {len(runs)} commits "
          f"({notes} notes written in all)")
    names = {k for r in runs for k in r if k != "(process)"}
    total = sum(med(k, 0) for k in names)
    print(f"[{label}] imports: {len(names)} modules, {total * ms:.1f} ms CPU (sum of medians of "
          "self)")
    rows = sorted(((med(k, 0), med(k, 1), k) for k in names), reverse=True)
    print("  self ms    cum ms  module")
    for own, cum, name in rows[:top]:
        print(f"  {own * ms:7.2f}  {cum * ms:8.2f}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--against", type=Path, help="a second gitroi source tree, interleaved")
    args = ap.parse_args()
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="gitroi-bench-hook-imports-"))
    try:
        # every hook process measured here does its own work: no warm hook server is left
        env = {**isolated_env(tmp, tmp), "GITROI_HOOK_SERVER": "0"}
        repo = tmp / "repo"
        subprocess.run(["git", "init", "-q", str(repo)], env=env, check=True)
        app = repo / "app.py"
        app.write_text("import os\n\n\ndef main():\n    pass\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "base"], cwd=repo, env=env, check=True)
        subprocess.run([py, "-m", "gitroi", "install"], cwd=repo, env=env, check=True,
                       capture_output=True)
        transcript = Transcript(tmp / "claude", repo)
        profiler = tmp / "profile_hook.py"
        profiler.write_text(PROFILER)
        clock = time.time()
        series: dict[str, list[dict[str, list[float]]]] = {"this tree": []}
        if args.against:
            series[f"{args.against}"] = []
        bare: dict[str, list[float]] = {"python -c pass": [], "python -S -c pass": []}
        for n in range(args.rounds + 2):  # two warm-up rounds: bytecode written, ledger made
            clock += 2
            ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(clock - 1))
            old = "    pass" if n == 0 else f"    return {n - 1}"
            transcript.edit(ts, f"msg_{n}", f"toolu_{n}", app, old,
                            f"    value_{n} = os.environ.get('V{n}', '{n}')\n    return {n}",
                            input=3, output=120, cache_write=800, cache_read=40000)
            date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock))
            e = {**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
            subprocess.run(["git", "add", "-A"], cwd=repo, env=e, check=True)
            subprocess.run(["git", "commit", "-q", "--no-verify", "-m", f"c{n}"], cwd=repo,
                           env=e, check=True)
            order = list(series) if n % 2 else list(series)[::-1]
            for which in order:
                out = tmp / f"run-{n}.json"
                lib = str(args.against) if which != "this tree" else str(ROOT)
                if which != order[0]:  # the second series needs a commit of its own
                    with (repo / "people.txt").open("a") as f:
                        f.write(f"a person's line {n}\n")
                    subprocess.run(["git", "add", "-A"], cwd=repo, env=e, check=True)
                    subprocess.run(["git", "commit", "-q", "--no-verify", "-m", f"c{n} again"],
                                   cwd=repo, env=e, check=True)
                cpu_of([py, "-S", str(profiler), str(out), lib], repo,
                       {**e, "GITROI_HOOK_FOREGROUND": "1"})
                if n >= 2:
                    series[which].append({k: list(v)
                                          for k, v in json.loads(out.read_text()).items()})
            if n < 2:
                continue
            bare["python -c pass"].append(cpu_of([py, "-c", "pass"], repo, env))
            bare["python -S -c pass"].append(cpu_of([py, "-S", "-c", "pass"], repo, env))
        notes = subprocess.run(["git", "notes", "--ref=gitroi", "list"], cwd=repo, env=env,
                               capture_output=True, text=True).stdout.split()
        ms = 1000.0

        for what, xs in bare.items():
            print(f"{what}: median {statistics.median(xs) * ms:.1f} ms CPU")
        for label, runs in series.items():
            report(label, runs, args.top, len(notes) // 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
