"""Time the organisation view: `gitroi export` and `gitroi org report` on DuckDB and Spark.

Dataset: 1,000 repositories x 2,000 commits with their sessions (defaults).  One
synthetic ledger of 2,000 commits is built the way ``bench_report.py`` builds
its ledgers (sessions and usage events, line outcomes by path and symbol, PRs);
``gitroi export`` is timed on it through the real path (ledger -> fact tables
-> Parquet -> pointer swap), which gives the export throughput.  The 1,000
repositories are then written by the export's own writer (``write_export``)
from that ledger's tables, each under its own name with its token and line
counts scaled by a per-repository factor, so no two repositories are alike.

Measured, each in a fresh process (so the figures include imports and, for
Spark, the JVM's start): the org report headline and the HTML page (every
chart's data) with DuckDB (targets: < 2 s and < 5 s) and with Spark
``local[*]``, plus ``--by repo``; and each process's peak RSS (Python's; for
Spark the JVM's too).

    .venv/bin/python benchmarks/bench_org.py [--repos 1000] [--commits 2000] [--no-spark]
        [--keep DIR [--regenerate]]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CHILD = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
from gitroi.org.report import compute
t1 = time.perf_counter()
src, engine, by, html = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
since, quick = sys.argv[5] or None, sys.argv[6] == "1"
data = compute(src, by=by, engine=engine, charts=html, since=since, use_summary=quick)
if html:
    from gitroi.org.html import render_org_html
    page = render_org_html(data)
    assert len(page) > 800_000, len(page)
wall = time.perf_counter() - t0
query = time.perf_counter() - t1
jvm = 0
for task in os.listdir("/proc/self/task"):
    try:
        kids = open(f"/proc/self/task/{task}/children").read().split()
    except OSError:
        kids = []
    for pid in kids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmHWM:"):
                    jvm = max(jvm, int(line.split()[1]))
        except OSError:
            pass
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
h = data["headline"]
print(json.dumps({"wall": wall, "query": query, "rss_kb": rss, "jvm_kb": jvm,
                  "ai_lines": h["ai_lines"], "rows": len(data["rows"]),
                  "check": [h["tokens"], h["ai_lines"], h["surviving"], h["merged_prs"],
                            h["commits"], h["exploration_tokens"], h["cost_usd"]]}))
"""


def run_child(src: str, engine: str, by: list[str], html: bool, since: str = "",
              quick: bool = True) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", CHILD, src, engine, json.dumps(by),
                           "1" if html else "0", since, "1" if quick else "0"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"org report ({engine}, {by}, html={html}) failed:\n{proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def scaled(tables: dict[str, object], name: str, factor: int, price: float
           ) -> dict[str, object]:
    """The template repository's tables under ``name``: counts times ``factor``, money times
    ``price`` (so repositories differ in cost per line too, as if their models did)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out: dict[str, object] = {}
    counts = {"tokens", "input", "cache_write", "cache_read", "output", "reasoning",
              "priced_tokens", "ai_lines", "surviving", "churned", "reverted", "deleted_later",
              "unanalysed", "carried", "ai_lines_line_level", "ai_lines_commit_level",
              "ai_written", "ai_merged", "review_churn", "pr_tokens", "exploration_tokens"}
    money = {"cost_usd", "pr_cost_usd", "exploration_cost_usd"}
    for t, tbl in tables.items():
        assert isinstance(tbl, pa.Table)
        cols = []
        for field in tbl.schema:
            col = tbl.column(field.name)
            if field.name == "repo":
                col = pa.array([name] * tbl.num_rows, pa.string())
            elif field.name == "pr_key":
                col = pc.binary_join_element_wise(name, pc.cast(tbl.column("pr"), pa.string()),
                                                  "#")
            elif field.name in counts:
                col = pc.multiply(col, factor)
            elif field.name in money:
                col = pc.multiply(col, price)
            cols.append(col)
        out[t] = pa.Table.from_arrays(cols, schema=tbl.schema)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the dataset here (and reuse it)")
    ap.add_argument("--regenerate", action="store_true", help="write the kept dataset again")
    args = ap.parse_args()
    from bench_report import build

    from gitroi.ledger import open_ledger
    from gitroi.org.dataset import SCHEMA_VERSION, open_store
    from gitroi.org.export import export, fact_tables, write_export
    from gitroi.report.figures import providers

    work = Path(tempfile.mkdtemp(prefix="gitroi-bench-org-"))
    dest = args.keep or work / "dest"
    try:
        ledger = work / "ledger.db"
        t = time.perf_counter()
        sizes = build(ledger, args.commits, max(1, args.commits // 20), args.commits * 40)
        print(f"template ledger: {sizes} built in {time.perf_counter() - t:.1f} s")
        db = open_ledger(ledger)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            done = export(db, str(work / "one"), "github.com/bench/template",
                          provider_of=providers())
            times.append(time.perf_counter() - t)
        best = min(times)
        print(f"gitroi export, {args.commits:,} commits: {best:.2f} s (best of 3) = "
              f"{args.commits / best:,.0f} commits/s; rows {done.rows}")
        tables = fact_tables(db, "template", roots=None, provider_of=providers())
        store = open_store(str(dest))
        first = dest / "repo=github.com%2Fbench%2Frepo-0000" / "_current.json"
        if args.regenerate or not first.exists() or json.loads(first.read_text()).get(
                "schema_version") != SCHEMA_VERSION:
            t = time.perf_counter()
            for i in range(args.repos):
                name = f"github.com/bench/repo-{i:04d}"
                factor = 1 + i % 7
                data = scaled(tables, name, factor, factor * (0.5 + (i % 11) / 10))
                write_export(store, name, data)  # type: ignore[arg-type]
            took = time.perf_counter() - t
            n = args.repos * args.commits
            print(f"wrote {args.repos:,} repositories ({n:,} commits) with the export's writer in "
                  f"{took:.1f} s: {n / took:,.0f} commits/s, {args.repos / took:.1f} repos/s")
        size = sum(f.stat().st_size for f in dest.rglob("*.parquet"))
        print(f"dataset: {dest} ({size / 1e6:.0f} MB of Parquet)")
        # The summary answers unbounded views; the fact tables the rest (and, forced, the
        # same headline: its figures must equal the summary's).
        everything = "2000-01-01T00:00:00.000Z"
        cases: list[tuple[str, list[str], bool, str, bool]] = [
            ("headline", [], False, "", True), ("HTML", [], True, "", True),
            ("--by repo", ["repo"], False, "", True),
            ("--by provider", ["provider"], False, "", True),
            ("headline facts", [], False, "", False),
            ("--since (facts)", [], False, everything, True)]
        engines = ["duckdb"] + ([] if args.no_spark or shutil.which("java") is None
                                else ["spark"])
        print("\norg report, each in a fresh process (imports and the JVM's start included); "
              "query = from gitroi.org.report imported to the JSON or page ready; "
              "RSS = peak of the Python process (+ the JVM's for Spark); DuckDB best of 2, "
              "Spark one run; targets with DuckDB: headline < 2 s, HTML < 5 s", flush=True)
        for engine in engines:
            checks: dict[str, list[Any]] = {}
            for label, by, html, since, quick in cases:
                n = 2 if engine == "duckdb" else 1  # a Spark run costs a JVM start
                try:
                    runs = [run_child(str(dest), engine, by, html, since, quick)
                            for _ in range(n)]
                except SystemExit as exc:
                    print(f"{engine:<7} {label:<14} failed: {str(exc).splitlines()[0]}", flush=True)
                    continue
                r = min(runs, key=lambda x: x["wall"])
                rss = f"{r['rss_kb'] / 1024:.0f} MB" + (f" + JVM {r['jvm_kb'] / 1024:.0f} MB"
                                                         if r["jvm_kb"] else "")
                print(f"{engine:<7} {label:<14} process {r['wall']:7.2f} s   query "
                      f"{r['query']:7.2f} s   RSS {rss}   (AI lines {r['ai_lines']:,.0f}, "
                      f"rows {r['rows']:,.0f})", flush=True)
                if not by:
                    checks[label] = r["check"]
            heads = list(checks.values())
            same = all(h[:-1] == heads[0][:-1] and abs(h[-1] - heads[0][-1]) < 1e-3 * max(
                1.0, abs(heads[0][-1])) for h in heads)
            print(f"{engine:<7} headline from the summary and from the fact tables: "
                  + ("the same" if same else f"DIFFERENT {checks}"), flush=True)
        print(f"cores: {os.cpu_count()}; load average at the end: "
              + " ".join(f"{x:.1f}" for x in os.getloadavg()), flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
