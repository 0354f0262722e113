"""A generated AI-heavy history, written with ``git fast-import``: deterministic for a seed.

Used by ``benchmarks/bench_survival.py`` (about 18,000 commits, cached on disk)
and by the tests that compare the optimised survival path with a reference
(a few hundred commits).  What it holds, so the analysis meets every case it
handles on real histories:

* Python, TypeScript and Go files made of functions (a header, then blocks);
* about 30% of commits written by an agent, marked as Claude Code marks
  them (``Co-Authored-By: Claude <noreply@anthropic.com>`` and its footer);
* edits inside functions, functions added and deleted, new files;
* renames (``-M``), functions moved to another file in one commit;
* reformats: whitespace-only re-indents and reflows of a call over several
  lines (with a magic trailing comma, so only the token check sees it);
* reverts (``This reverts commit <sha>``, sha read back with ``get-mark``);
* side branches merged with ``--no-ff``, some with an edit in the merge itself.

The same ``(commits, seed)`` always gives the same commits, shas included
(fixed author, dates and content).
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

AI_TRAILER = "\n\n\U0001f916 Generated with [Claude Code](https://claude.ai/code)\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n"
WORDS = ("alpha", "beta", "gamma", "delta", "value", "count", "total", "items", "index", "result", "name",
         "config", "buffer", "offset", "limit", "record", "parent", "child", "token", "cache", "score")
CALLS = ("compute", "normalise", "lookup", "merge_into", "validate", "render", "parse_row", "fetch_all")
T0 = 1_672_531_200  # 2023-01-01 00:00 UTC


def _w(rng: random.Random) -> str:
    return rng.choice(WORDS)


def _expr(rng: random.Random) -> str:
    k = rng.random()
    if k < 0.4:
        return f"{_w(rng)} + {rng.randint(1, 99)}"
    if k < 0.7:
        return f"{rng.choice(CALLS)}({_w(rng)}, {_w(rng)}, {rng.randint(0, 9)})"
    return f"{_w(rng)} * {_w(rng)} - {rng.randint(1, 9)}"


def _block(lang: str, rng: random.Random, n: int) -> list[str]:
    """One function of about ``n`` body lines in ``lang``."""
    name = f"{_w(rng)}_{rng.randint(0, 99999)}"
    body: list[str] = []
    if lang == "py":
        out = [f"def {name}({_w(rng)}, {_w(rng)}):", f'    """Return the {_w(rng)} of {_w(rng)}."""']
        for _ in range(n):
            r = rng.random()
            if r < 0.15:
                body += [f"    if {_w(rng)} > {rng.randint(0, 50)}:", f"        {_w(rng)} = {_expr(rng)}"]
            elif r < 0.25:
                body.append(f"    # {_w(rng)} {_w(rng)} {_w(rng)}")
            else:
                body.append(f"    {_w(rng)} = {_expr(rng)}")
        return out + body + [f"    return {_w(rng)}", ""]
    if lang == "ts":
        out = [f"export function {name}({_w(rng)}: number, {_w(rng)}: string): number {{"]
        for _ in range(n):
            r = rng.random()
            if r < 0.15:
                body += [f"  if ({_w(rng)} > {rng.randint(0, 50)}) {{", f"    {_w(rng)} = {_expr(rng)};", "  }"]
            elif r < 0.25:
                body.append(f"  // {_w(rng)} {_w(rng)} {_w(rng)}")
            else:
                body.append(f"  const {_w(rng)}{rng.randint(0, 9)} = {_expr(rng)};")
        return out + body + [f"  return {_w(rng)};", "}", ""]
    out = [f"func {name.title().replace('_', '')}({_w(rng)} int, {_w(rng)} string) int {{"]
    for _ in range(n):
        r = rng.random()
        if r < 0.15:
            body += [f"\tif {_w(rng)} > {rng.randint(0, 50)} {{", f"\t\t{_w(rng)} = {_expr(rng)}", "\t}"]
        elif r < 0.25:
            body.append(f"\t// {_w(rng)} {_w(rng)} {_w(rng)}")
        else:
            body.append(f"\t{_w(rng)}{rng.randint(0, 9)} := {_expr(rng)}")
    return out + body + [f"\treturn {_w(rng)}", "}", ""]


def _header(lang: str, rng: random.Random, path: str) -> list[str]:
    if lang == "py":
        return [f'"""The {_w(rng)} module."""', "", "import os", f"from pkg import {_w(rng)}", ""]
    if lang == "ts":
        return [f"import {{ {_w(rng)} }} from './{_w(rng)}';", ""]
    return [f"package {path.split('/')[-2] if '/' in path else 'main'}", "", 'import "fmt"', ""]


@dataclass
class _File:
    lang: str
    header: list[str]
    blocks: list[list[str]] = field(default_factory=list)

    def text(self) -> bytes:
        lines = list(self.header)
        for b in self.blocks:
            lines.extend(b)
        return ("\n".join(lines) + "\n").encode()


@dataclass
class _Branch:
    files: dict[str, _File]
    mark: int
    reserved: set[str] = field(default_factory=set)   # side branch: the only paths it may touch
    commits: int = 0


def _copy_files(files: dict[str, _File]) -> dict[str, _File]:
    return {p: _File(f.lang, list(f.header), [list(b) for b in f.blocks]) for p, f in files.items()}


class _Writer:
    def __init__(self, stream: IO[bytes], answers: IO[bytes]) -> None:
        self.out = stream
        self.answers = answers
        self.mark = 0

    def commit(self, ref: str, when: int, message: str, parents: list[int],
               changes: dict[str, bytes | None]) -> int:
        self.mark += 1
        msg = message.encode()
        w = self.out.write
        w(f"commit {ref}\nmark :{self.mark}\n".encode())
        who = b"Dev One <dev@example.com>" if "Claude" not in message else b"Dev Two <two@example.com>"
        w(b"author " + who + f" {when} +0000\n".encode())
        w(b"committer " + who + f" {when} +0000\n".encode())
        w(f"data {len(msg)}\n".encode() + msg + b"\n")
        if parents:
            w(f"from :{parents[0]}\n".encode())
            for p in parents[1:]:
                w(f"merge :{p}\n".encode())
        for path in sorted(changes):
            data = changes[path]
            if data is None:
                w(f"D {path}\n".encode())
            else:
                w(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        w(b"\n")
        return self.mark

    def sha(self, mark: int) -> str:
        self.out.write(f"get-mark :{mark}\n".encode())
        self.out.flush()
        return self.answers.readline().decode().strip()


def generate(dest: Path, commits: int, *, seed: int = 1, ai_share: float = 0.3) -> Path:
    """Write a bare repository at ``dest`` holding ``commits`` commits on ``main`` (merges included)."""
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(dest)], check=True)
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done", "--cat-blob-fd=1"], cwd=dest,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    w = _Writer(proc.stdin, proc.stdout)
    main = _Branch({}, 0)
    side: _Branch | None = None
    when = T0
    made = 0
    recent: list[tuple[int, str, dict[str, _File | None], dict[str, bytes | None]]] = []
    dirs = ("core", "api", "util", "web", "cli", "store", "net", "auth")
    exts = ("py", "ts", "go")

    def new_path(files: dict[str, _File], lang: str) -> str:
        while True:
            p = f"{rng.choice(dirs)}/{rng.choice(dirs)}/{_w(rng)}_{rng.randint(0, 9999)}.{lang}"
            if p not in files:
                return p

    def one_commit(br: _Branch, ref: str, ai: bool) -> None:
        nonlocal when, made
        files = br.files
        if br is side:
            allowed = sorted(p for p in br.reserved if p in files)
        elif side is not None:
            allowed = [p for p in files if p not in side.reserved]
        else:
            allowed = list(files)
        before: dict[str, _File | None] = {}

        def touch(p: str) -> _File:
            if p not in before:
                f = files.get(p)
                before[p] = None if f is None else _copy_files({p: f})[p]
            return files[p]

        scale = 2 if ai else 1  # agents write more per commit
        r = rng.random()
        if not allowed or r < 0.08 or len(files) < 12:
            lang = rng.choice(exts)
            p = new_path(files, lang)
            before[p] = None
            f = files[p] = _File(lang, _header(lang, rng, p))
            for _ in range(rng.randint(2, 5) * scale):
                f.blocks.append(_block(lang, rng, rng.randint(3, 14)))
            if br is side:
                br.reserved.add(p)
            subject = f"add {p}"
        elif r < 0.40:
            p = rng.choice(allowed)
            f = touch(p)
            if f.blocks:
                b = rng.choice(f.blocks)
                i = rng.randrange(1, max(2, len(b) - 2))
                k = rng.randint(1, 3)
                b[i:i + k] = _block(f.lang, rng, k)[1:1 + k]
            subject = f"fix {_w(rng)} in {p}"
        elif r < 0.62:
            p = rng.choice(allowed)
            f = touch(p)
            f.blocks.insert(rng.randint(0, len(f.blocks)), _block(f.lang, rng, rng.randint(3, 12) * scale))
            subject = f"add a {_w(rng)} helper to {p}"
        elif r < 0.70:
            p = rng.choice(allowed)
            f = touch(p)
            if len(f.blocks) > 1:
                del f.blocks[rng.randrange(len(f.blocks))]
            subject = f"drop dead code in {p}"
        elif r < 0.76 and br is main:
            p = rng.choice(allowed)
            q = new_path(files, p.rsplit(".", 1)[1])
            touch(p)
            before[q] = None
            files[q] = files.pop(p)
            if rng.random() < 0.5 and files[q].blocks:
                b = rng.choice(files[q].blocks)
                b.insert(1, _block(files[q].lang, rng, 1)[1])
            subject = f"move {p} to {q}"
        elif r < 0.82 and br is main:
            p = rng.choice(allowed)
            lang = files[p].lang
            same = [q for q in rng.sample(allowed, min(40, len(allowed))) if q != p and files[q].lang == lang]
            if same and files[p].blocks:
                q = same[0]
                b = touch(p).blocks.pop(rng.randrange(len(files[p].blocks)))
                touch(q).blocks.insert(rng.randint(0, len(files[q].blocks)), b)
                subject = f"move a function from {p} to {q}"
            else:
                subject = f"touch {p}"
                touch(p).header.append(f"# {_w(rng)}" if lang == "py" else f"// {_w(rng)}")
        elif r < 0.90:
            p = rng.choice(allowed)
            f = touch(p)
            if f.blocks:
                b = rng.choice(f.blocks)
                if f.lang != "py" and rng.random() < 0.5:
                    # Re-indent: tabs <-> spaces, whitespace only.
                    b[:] = [ln.replace("\t", "    ") if "\t" in ln else ln.replace("  ", "\t") for ln in b]
                else:
                    # Reflow a call over several lines with a magic trailing comma.
                    for i, ln in enumerate(b):
                        if "(" in ln and ln.rstrip(";").endswith(")") and "def " not in ln \
                                and "function" not in ln and "func " not in ln and "if " not in ln:
                            head, _, args = ln.rstrip(";").partition("(")
                            ind = ln[: len(ln) - len(ln.lstrip())]
                            parts = [a.strip() for a in args[:-1].split(",")]
                            end = ");" if ln.endswith(";") else ")"
                            b[i:i + 1] = [head + "("] + [f"{ind}    {a}," for a in parts] + [ind + end]
                            break
            subject = f"format {p}"
        else:
            p = rng.choice(allowed)
            f = touch(p)
            f.blocks.append(_block(f.lang, rng, rng.randint(2, 6) * scale))
            subject = f"extend {p}"
        changes: dict[str, bytes | None] = {}
        for p, old in before.items():
            data = files[p].text() if p in files else None
            if data != (old.text() if old is not None else None):
                changes[p] = data
        if not changes:
            return
        when += rng.randint(600, 9000)
        message = subject + (AI_TRAILER if ai else "\n")
        br.mark = w.commit(ref, when, message, [br.mark] if br.mark else [], changes)
        br.commits += 1
        made += 1
        if br is main:
            recent.append((br.mark, subject, {p: before[p] for p in changes}, changes))
            del recent[:-40]

    def revert() -> bool:
        nonlocal when, made
        if not recent:
            return False
        mark, subject, old, new = recent[rng.randrange(len(recent))]
        files = main.files
        current = {p: files[p].text() if p in files else None for p in new}
        if current != new or any(p in (side.reserved if side else ()) for p in new):
            return False
        sha = w.sha(mark)
        changes: dict[str, bytes | None] = {}
        for p, f in old.items():
            if f is None:
                files.pop(p, None)
                changes[p] = None
            else:
                files[p] = _copy_files({p: f})[p]
                changes[p] = f.text()
        when += rng.randint(600, 9000)
        msg = f'Revert "{subject}"\n\nThis reverts commit {sha}.\n'
        main.mark = w.commit("refs/heads/main", when, msg, [main.mark], changes)
        made += 1
        recent.clear()
        return True

    while made < commits:
        if side is None and made > 30 and rng.random() < 0.07:
            side = _Branch(_copy_files(main.files), main.mark)
            pool = sorted(side.files)
            side.reserved = set(rng.sample(pool, min(len(pool), rng.randint(1, 3))))
        if side is not None and rng.random() < 0.45:
            one_commit(side, "refs/heads/side", rng.random() < ai_share)
            if side.commits >= rng.randint(2, 6):
                # Merge: main's tree plus what the side branch did to its files.
                changes: dict[str, bytes | None] = {}
                for p in sorted(side.reserved):
                    if p in side.files:
                        main.files[p] = _copy_files({p: side.files[p]})[p]
                        changes[p] = main.files[p].text()
                    else:
                        main.files.pop(p, None)
                        changes[p] = None
                if rng.random() < 0.3:
                    live = [p for p in sorted(side.reserved) if p in main.files and main.files[p].blocks]
                    if live:
                        f = main.files[live[0]]
                        f.blocks[0].insert(1, _block(f.lang, rng, 1)[1])
                        changes[live[0]] = f.text()
                when += rng.randint(600, 9000)
                main.mark = w.commit("refs/heads/main", when, "Merge branch 'side'\n", [main.mark, side.mark],
                                     changes)
                made += 1
                side = None
            continue
        if rng.random() < 0.01 and revert():
            continue
        one_commit(main, "refs/heads/main", rng.random() < ai_share)
    w.out.write(b"done\n")
    w.out.close()
    proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "update-ref", "-d", "refs/heads/side"], cwd=dest, check=False)
    subprocess.run(["git", "repack", "-adq", "--window=10", "--depth=50"], cwd=dest, check=True)
    return dest


def cached(commits: int, seed: int = 1, cache: Path | None = None) -> Path:
    """The generated history for ``(commits, seed)``, built once under ``cache`` (default ~/.cache/gitroi)."""
    base = cache or Path.home() / ".cache" / "gitroi" / "bench"
    dest = base / f"aiheavy-{commits}-s{seed}.git"
    if (dest / "refs" / "heads" / "main").exists() or (dest / "packed-refs").exists():
        return dest
    tmp = base / f".aiheavy-{commits}-s{seed}.tmp"
    subprocess.run(["rm", "-rf", str(tmp)], check=True)
    base.mkdir(parents=True, exist_ok=True)
    generate(tmp, commits, seed=seed)
    tmp.rename(dest)
    return dest
