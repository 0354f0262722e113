"""Time gitroi's syntax layer on a real repository's tip: classify every file with a
grammar, tokenize every line, against tree-sitter's bare parse in the same run.

    .venv/bin/python benchmarks/bench_syntax.py [REPO]

REPO defaults to a clone of click.bundle (pallets/click, 3,329 commits) from
``$GITROI_CORPORA``, else ``../shared/corpora``, in a temporary folder; without
either, pass REPO (any clone with Python, JavaScript, Go, ... files).
The bare parse is the floor: classify adds one query run and the per-line arrays.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitroi.survival import parse

ROOT = Path(__file__).resolve().parents[1]
CORPORA = [Path(d) for d in (os.environ.get("GITROI_CORPORA"), ROOT.parent / "shared" / "corpora") if d]


def _bundle() -> Path:
    for folder in CORPORA:
        if (folder / "click.bundle").is_file():
            return folder / "click.bundle"
    raise SystemExit("bench_syntax: no click.bundle in " + " or ".join(str(d) for d in CORPORA)
                     + "; set GITROI_CORPORA to a folder holding it, or pass a repository: "
                     "bench_syntax.py REPO")


def _files(repo: Path, *, grammar: bool = True) -> list[tuple[str, bytes]]:
    names = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.split(b"\0")
    out = []
    for raw in names:
        name = raw.decode("utf-8", "surrogateescape")
        has_grammar = parse.language_for_path(name) is not None
        if name and has_grammar == grammar and (repo / name).is_file():
            out.append((name, (repo / name).read_bytes()))
    return out


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        if argv:
            repo = Path(argv[0])
        else:
            repo = Path(tmp) / "click"
            subprocess.run(["git", "clone", "-q", str(_bundle()), str(repo)], check=True)
        files = _files(repo)
        others = [(n, d) for n, d in _files(repo, grammar=False) if b"\0" not in d[:8192]]
    lines = sum(len(data.splitlines()) for _, data in files)
    languages = sorted({parse.language_for_path(name) or "" for name, _ in files})
    for language in languages:
        parse._load(language)  # grammar import and query compilation are not per file

    start = time.perf_counter()
    for name, data in files:
        loaded = parse._load(parse.language_for_path(name) or "")
        if loaded is not None:
            loaded.parser.parse(data)
    bare = time.perf_counter() - start

    parse.clear_cache()
    start = time.perf_counter()
    for name, data in files:
        parse.classify(name, data)
    classify = time.perf_counter() - start

    for name, data in files:
        parse.classify(name, data, cache_key=name)
    start = time.perf_counter()
    for name, data in files:
        parse.classify(name, data, cache_key=name)
    cached = time.perf_counter() - start

    start = time.perf_counter()
    for name, data in others:
        parse.classify(name, data)
    fallback = time.perf_counter() - start
    other_lines = sum(len(data.splitlines()) for _, data in others)

    texts = [(name, data.decode("utf-8", "surrogateescape").splitlines()) for name, data in files]
    start = time.perf_counter()
    for name, text in texts:
        parse.tokenize_lines(name, text)
    tokenize = time.perf_counter() - start

    print(f"{len(files)} files ({', '.join(languages)}), {lines} lines")
    print(f"tree-sitter parse only : {bare * 1000:7.1f} ms")
    print(f"classify               : {classify * 1000:7.1f} ms  "
          f"({classify / max(lines, 1) * 1e6:.1f} us/line, {classify / max(bare, 1e-9):.2f}x parse)")
    print(f"classify, cached again : {cached * 1000:7.1f} ms")
    print(f"classify, text fallback: {fallback * 1000:7.1f} ms  "
          f"({len(others)} other text files, {other_lines} lines)")
    print(f"tokenize_lines         : {tokenize * 1000:7.1f} ms  "
          f"({tokenize / max(lines, 1) * 1e6:.1f} us/line)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
