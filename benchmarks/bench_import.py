"""Benchmark: importing 200 MB of Claude Code and Codex logs, against a bare ``json.loads`` pass.

Builds, in a temporary directory, realistic logs synthesised from the line
shapes of the real samples in ``../shared/samples`` (Claude Code: progress
lines, prompts, one line per content block with repeated usage, large Read
results, Edit results with a structuredPatch, subagent mirrors; Codex: turn
contexts, reasoning, shell calls with large outputs, re-emitted token counts,
apply_patch calls), then times in the same run:

* ``bare``: ``json.loads`` of every line of every file (the floor a parser
  that looks at every line pays);
* ``first``: a first ``import_sessions(--all)`` into a fresh ledger;
* ``reimport``: the import after 1 MB is appended across two files;
* ``nochange``: an import with nothing new (the post-commit hook's case).

Targets (issue 2): first import within 3x of the bare parse; re-import under
0.2 s.  Usage: ``python benchmarks/bench_import.py [--mb 200] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "fixtures" / "samples"  # carried copies (source notes beside them)
sys.path.insert(0, str(ROOT))

WORDS = tuple(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "def", "return", "class", "import", "self", "value", "result"])


def text(rng: random.Random, n: int) -> str:
    out: list[str] = []
    size = 0
    while size < n:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class ClaudeGen:
    """Claude Code transcripts built from the sample's line shapes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        lines = [json.loads(x) for x in (SAMPLES / "claude-code-sample.jsonl").read_text().splitlines()]
        self.t = {i + 1: rec for i, rec in enumerate(lines)}
        self.n = 0

    def session(self, cwd: str, sid: str, target: int) -> str:
        rng, t = self.rng, self.t
        out: list[str] = []
        size = 0
        minute = 0
        while size < target:
            self.n += 1
            minute += 1
            ts = f"2026-03-{1 + (minute // 1440) % 28:02d}T{(minute // 60) % 24:02d}:{minute % 60:02d}:00.000Z"

            def base(rec: dict[str, Any], ts: str = ts) -> dict[str, Any]:
                r = copy.deepcopy(rec)
                for k in ("cwd",):
                    if k in r:
                        r[k] = cwd
                if "sessionId" in r:
                    r["sessionId"] = sid
                if "timestamp" in r:
                    r["timestamp"] = ts
                if "uuid" in r:
                    r["uuid"] = f"u-{self.n}-{rng.random()}"
                return r

            recs: list[dict[str, Any]] = []
            recs.append(base(t[2]))                                  # hook progress
            p = base(t[3])
            p["message"]["content"] = text(rng, 600)                 # the prompt
            recs.append(p)
            mid, req = f"msg_{self.n:010d}A", f"req_{self.n:010d}A"
            usage = {"input_tokens": rng.randint(1, 9), "cache_creation_input_tokens": rng.randint(100, 20000),
                     "cache_read_input_tokens": rng.randint(1000, 150000),
                     "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                     "output_tokens": rng.randint(10, 900), "service_tier": "standard"}
            usage["cache_creation"]["ephemeral_5m_input_tokens"] = usage["cache_creation_input_tokens"]
            for tpl in (4, 5, 6):                                    # one line per content block
                a = base(t[tpl])
                a["message"]["id"], a["requestId"] = mid, req
                a["message"]["usage"] = dict(usage)
                blk = a["message"]["content"][0]
                if blk.get("type") == "thinking":
                    blk["thinking"] = text(rng, 2500)
                elif blk.get("type") == "text":
                    blk["text"] = text(rng, 400)
                recs.append(a)
            r = base(t[13])                                          # a large Read result
            r["toolUseResult"] = {"type": "text", "file": {"filePath": f"{cwd}/src/m{self.n % 50}.py",
                                                           "content": text(rng, 9000), "numLines": 200}}
            r["message"]["content"][0]["content"] = r["toolUseResult"]["file"]["content"]
            recs.append(r)
            mid, req = f"msg_{self.n:010d}B", f"req_{self.n:010d}B"
            for tpl, out_tok in ((8, 1), (9, rng.randint(50, 800))):  # placeholder, then final
                a = base(t[tpl])
                a["message"]["id"], a["requestId"] = mid, req
                a["message"]["usage"] = dict(a["message"]["usage"], output_tokens=out_tok)
                if tpl == 9:
                    inp = a["message"]["content"][0]["input"]
                    inp["file_path"] = f"{cwd}/src/m{self.n % 50}.py"
                    inp["new_string"] = text(rng, 300)
                    a["message"]["content"][0]["id"] = f"toolu_{self.n:010d}"
                recs.append(a)
            e = base(t[11])                                          # the Edit's result
            e["message"]["content"][0]["tool_use_id"] = f"toolu_{self.n:010d}"
            e["toolUseResult"]["originalFile"] = text(rng, 3000)
            recs.append(e)
            if self.n % 5 == 0:                                      # a subagent mirror
                m = base(t[14])
                m["data"]["message"]["message"]["id"] = f"msg_{self.n:010d}S"
                m["data"]["message"]["requestId"] = f"req_{self.n:010d}S"
                recs.append(m)
            recs.append(base(t[15]))
            for rec in recs:
                s = dumps(rec)
                out.append(s)
                size += len(s) + 1
        return "\n".join(out) + "\n"


class CodexGen:
    """Codex rollouts built from the sample's line shapes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines = [json.loads(x) for x in (SAMPLES / "codex-sample.jsonl").read_text().splitlines()]

    def rollout(self, cwd: str, sid: str, target: int) -> str:
        rng, t = self.rng, self.lines
        meta = copy.deepcopy(t[0])
        meta["payload"]["id"] = sid
        meta["payload"]["cwd"] = cwd
        out = [dumps(meta)]
        size = len(out[0])
        tot = [0, 0, 0, 0]
        turn = 0
        while size < target:
            turn += 1
            ts = f"2026-03-05T{(turn // 3600) % 24:02d}:{(turn // 60) % 60:02d}:{turn % 60:02d}.000Z"
            recs: list[dict[str, Any]] = []
            tc = copy.deepcopy(t[10])
            tc["payload"]["cwd"] = cwd
            recs.append(tc)
            um = copy.deepcopy(t[9])
            um["payload"]["message"] = text(rng, 500)
            recs.append(um)
            rs = copy.deepcopy(t[13])
            rs["payload"]["summary"][0]["text"] = text(rng, 800)
            recs.append(rs)
            fc = copy.deepcopy(t[16])
            fc["payload"]["name"] = "shell"
            fc["payload"]["arguments"] = dumps({"command": ["bash", "-lc", "rg -n value src"]})
            recs.append(fc)
            fo = copy.deepcopy(t[18])
            fo["payload"]["output"] = text(rng, 7000)
            recs.append(fo)
            d = [rng.randint(20000, 60000), 0, rng.randint(50, 600), 0]
            d[1] = rng.randint(0, d[0])
            d[3] = rng.randint(0, d[2])
            tot = [a + b for a, b in zip(tot, d, strict=True)]
            tk = copy.deepcopy(t[17])
            u = {"input_tokens": tot[0], "cached_input_tokens": tot[1], "output_tokens": tot[2],
                 "reasoning_output_tokens": tot[3], "total_tokens": tot[0] + tot[2]}
            tk["payload"]["info"]["total_token_usage"] = u
            recs += [tk, copy.deepcopy(tk)]                  # the re-emitted snapshot
            patch = "*** Begin Patch\n*** Update File: src/a.py\n@@\n" + "".join(
                f"+{x}\n" for x in text(rng, 900).splitlines()) + "*** End Patch"
            ap = copy.deepcopy(t[32])
            ap["payload"]["input"] = patch
            ap["payload"]["call_id"] = f"call_{turn}"
            recs.append(ap)
            recs.append(copy.deepcopy(t[33]))
            am = copy.deepcopy(t[14])
            am["payload"]["message"] = text(rng, 300)
            recs.append(am)
            for rec in recs:
                rec["timestamp"] = ts
                s = dumps(rec)
                out.append(s)
                size += len(s) + 1
        return "\n".join(out) + "\n"


def build(root: Path, mb: float) -> tuple[list[Path], Path, Path]:
    rng = random.Random(42)
    cg, xg = ClaudeGen(rng), CodexGen(rng)
    claude_bytes = int(mb * 0.7 * 1e6)
    codex_bytes = int(mb * 0.3 * 1e6)
    files: list[Path] = []
    per = 1_400_000
    for i in range(max(1, claude_bytes // per)):
        cwd = f"/home/dev/projects/proj{i % 12}"
        d = root / "claude" / "projects" / cwd.replace("/", "-")
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"00000000-0000-4000-8000-{i:012d}.jsonl"
        p.write_text(cg.session(cwd, p.stem, per))
        files.append(p)
    per = 1_500_000
    for i in range(max(1, codex_bytes // per)):
        d = root / "codex" / "sessions" / "2026" / "03" / f"{1 + i % 28:02d}"
        d.mkdir(parents=True, exist_ok=True)
        sid = f"019c0000-0000-7000-8000-{i:012d}"
        p = d / f"rollout-2026-03-05T00-00-00-{sid}.jsonl"
        p.write_text(xg.rollout(f"/home/dev/projects/proj{i % 12}", sid, per))
        files.append(p)
    claude_tail = cg.session("/home/dev/projects/proj0", files[0].stem, 500_000)
    codex_tail = "\n".join(xg.rollout("/home/dev/projects/proj0", "x", 500_000).splitlines()[1:]) + "\n"
    tails = root / "tails"
    tails.mkdir()
    (tails / "claude").write_text(claude_tail)
    (tails / "codex").write_text(codex_tail)
    return files, tails / "claude", tails / "codex"


def bare_parse(files: list[Path]) -> int:
    n = 0
    for p in files:
        with p.open("rb") as fh:
            for line in fh:
                json.loads(line)
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=200.0)
    ap.add_argument("--keep", type=Path, help="build the logs here and keep them")
    args = ap.parse_args()
    from gitroi.ledger import open_ledger
    from gitroi.sessions.importer import import_sessions

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="gitroi-bench-import-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        files, claude_tail, codex_tail = build(tmp, args.mb)
        total = sum(p.stat().st_size for p in files)
        print(f"built {len(files)} files, {total / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
        env = {"HOME": str(tmp / "home"), "CLAUDE_CONFIG_DIR": str(tmp / "claude"),
               "CODEX_HOME": str(tmp / "codex")}

        t0 = time.perf_counter()
        lines = bare_parse(files)
        bare = time.perf_counter() - t0

        db = open_ledger(tmp / "ledger.db")
        t0 = time.perf_counter()
        s1 = import_sessions(db, all_sessions=True, env=env)
        first = time.perf_counter() - t0

        t0 = time.perf_counter()
        s0 = import_sessions(db, all_sessions=True, env=env)
        nochange = time.perf_counter() - t0

        claude_file = files[0]
        codex_file = next(p for p in files if p.name.startswith("rollout-"))
        with claude_file.open("ab") as fh:
            fh.write(claude_tail.read_bytes())
        with codex_file.open("ab") as fh:
            fh.write(codex_tail.read_bytes())
        appended = claude_tail.stat().st_size + codex_tail.stat().st_size
        t0 = time.perf_counter()
        s2 = import_sessions(db, all_sessions=True, env=env)
        reimport = time.perf_counter() - t0

        # the post-commit hook's case: a repository none of these sessions worked in
        hook_db = open_ledger(tmp / "hook.db")
        scope = ["/home/dev/projects/elsewhere"]
        t0 = time.perf_counter()
        import_sessions(hook_db, scopes=scope, env=env)
        hook_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        import_sessions(hook_db, scopes=scope, env=env)
        hook_again = time.perf_counter() - t0

        mb = total / 1e6
        print(f"lines: {lines}; sessions {s1.sessions}, responses {s1.events}, edits {s1.edits}, "
              f"problems {len(s1.problems)}")
        print(f"bare json.loads pass : {bare:6.2f} s  {mb / bare:6.1f} MB/s")
        print(f"first import         : {first:6.2f} s  {mb / first:6.1f} MB/s  ratio to bare {first / bare:.2f}x"
              f"  (target <= 3x)")
        print(f"re-import, +{appended / 1e6:.2f} MB  : {reimport:6.3f} s  read {s2.bytes_read / 1e6:.2f} MB "
              f"from {s2.files_read} files  (target < 0.2 s)")
        print(f"re-import, no change : {nochange:6.3f} s  ({s0.files_unchanged} files stat-ed, "
              f"{s0.files_read} read)")
        print(f"unrelated repository : first {hook_first:.3f} s (project dirs skipped by name, rollouts "
              f"peeked), then {hook_again:.3f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
