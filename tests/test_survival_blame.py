"""Cross-checks against ``git blame -w -M -C``: generated histories and a real repository."""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.ledger.survival import summary
from gitroi.survival.analyze import analyze
from tests.conftest import GitRepo, corpus


def blame_counts(path: Path, rev: str, files: list[str]) -> Counter[str]:
    """Lines at ``rev`` per origin commit, by ``git blame -w -M -C --porcelain`` (4 at a time)."""

    def one(f: str) -> Counter[str]:
        out = subprocess.run(["git", "blame", "-w", "-M", "-C", "--porcelain", rev, "--", f],
                             cwd=path, capture_output=True, check=True).stdout
        cnt: Counter[str] = Counter()
        for line in out.split(b"\n"):
            parts = line.split(b" ")
            # Group headers: "<sha> <orig line> <final line> <lines in group>".
            if len(parts) == 4 and len(parts[0]) == 40 and not line.startswith(b"\t"):
                cnt[parts[0].decode()] += int(parts[3])
        return cnt

    total: Counter[str] = Counter()
    with ThreadPoolExecutor(4) as ex:
        for c in ex.map(one, files):
            total.update(c)
    return total


def ours_surviving(db_path: Path) -> Counter[str]:
    db = open_ledger(db_path)
    return Counter({sha: n for sha, n in db.execute(
        "SELECT commit_sha, SUM(lines) FROM line_outcomes WHERE outcome = 'surviving' GROUP BY commit_sha")})


class History:
    """Random edits of unique lines (no reformatting) over a few files, with moves and a merge."""

    def __init__(self, repo: GitRepo, seed: int) -> None:
        self.repo = repo
        self.rnd = random.Random(seed)
        self.files: dict[str, list[str]] = {f"f{i}.txt": [] for i in range(3)}
        self.uid = 0

    def line(self) -> str:
        self.uid += 1
        words = " ".join(self.rnd.choice(["alpha", "beta", "gamma", "delta", "omega"]) for _ in range(5))
        return f"entry number {self.uid:05d} {words} {self.rnd.randrange(10**8):08d}"

    def edit(self) -> None:
        rnd = self.rnd
        for _ in range(rnd.randint(1, 3)):
            name = rnd.choice(sorted(self.files))
            lines = self.files[name]
            op = rnd.choice(["insert", "insert", "delete", "modify", "move"]) if lines else "insert"
            pos = rnd.randint(0, len(lines))
            if op == "insert":
                lines[pos:pos] = [self.line() for _ in range(rnd.randint(1, 5))]
            elif op == "delete":
                n = rnd.randint(1, 3)
                del lines[pos:pos + n]
            elif op == "modify":
                n = rnd.randint(1, 3)
                lines[pos:pos + n] = [self.line() for _ in range(min(n, len(lines) - pos) or 1)]
            else:
                n = rnd.randint(2, 5)
                block = lines[pos:pos + n]
                del lines[pos:pos + n]
                dest = self.files[rnd.choice(sorted(self.files))]
                at = rnd.randint(0, len(dest))
                dest[at:at] = block

    def commit(self, i: int, files: list[str] | None = None) -> str:
        content = {n: "".join(x + "\n" for x in ls) for n, ls in self.files.items()
                   if files is None or n in files}
        return self.repo.commit(content, f"c{i}", date=f"2026-01-{1 + i // 24:02d}T{i % 24:02d}:00:00Z")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_history_matches_blame(repo: GitRepo, tmp_path: Path, seed: int) -> None:
    h = History(repo, seed)
    for i in range(30):
        h.edit()
        h.commit(i)
    # A side branch that adds its own file, merged back without conflict.
    repo.git("checkout", "-q", "-b", "side")
    side_lines = [h.line() for _ in range(4)]
    repo.commit({"side.txt": "".join(x + "\n" for x in side_lines)}, "side", date="2026-01-03T00:00:00Z")
    repo.git("checkout", "-q", "main")
    h.edit()
    h.commit(40)
    repo.git("merge", "-q", "--no-ff", "side", "-m", "merge")
    for i in range(41, 46):
        h.edit()
        h.commit(i)
    db_path = tmp_path / "ledger.db"
    analyze(Repo.discover(repo.path), open_ledger(db_path), branch="main")
    files = repo.git("ls-tree", "-r", "--name-only", "main").split()
    expected = blame_counts(repo.path, "main", files)
    got = ours_surviving(db_path)
    assert sum(expected.values()) == sum(len(v) for v in h.files.values()) + 4
    assert got == expected


def test_real_repository_agrees_with_blame_and_numstat(tmp_path: Path) -> None:
    """claude-code-action: 763 commits, 179 with Claude trailers, attributed from markers alone."""
    clone = tmp_path / "cca"
    subprocess.run(["git", "clone", "-q", str(corpus("claude-code-action")), str(clone)], check=True)
    db_path = tmp_path / "ledger.db"
    t0 = time.perf_counter()
    res = analyze(Repo.discover(clone), open_ledger(db_path))
    took = time.perf_counter() - t0
    data = summary(open_ledger(db_path))
    ai = {c["commit"]: c for c in data["commits"]}
    assert len(ai) == 179 and res.commits_replayed == 763
    assert res.stats["inconsistencies"] == 0
    text_lines = sum(int(ln.rsplit(":", 1)[1]) for ln in subprocess.run(
        ["git", "grep", "-I", "-c", "", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.splitlines())
    assert res.stats["tip_lines"] == text_lines
    tip = data["tip"]
    # Lines added by AI commits: exactly what `git log --numstat` says, commit by commit.
    numstat: Counter[str] = Counter()
    cur = ""
    for ln in subprocess.run(["git", "log", "--numstat", "--format=C %H", tip], cwd=clone,
                             capture_output=True, text=True, check=True).stdout.splitlines():
        if ln.startswith("C "):
            cur = ln[2:]
        elif ln.strip() and ln.split("\t")[0] != "-":
            numstat[cur] += int(ln.split("\t")[0])
    assert {s: c["lines_added"] for s, c in ai.items()} == {s: numstat[s] for s in ai}
    # Surviving AI lines: within 2% of blame -w -M -C at the tip.
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", tip], cwd=clone, capture_output=True,
                           text=True, check=True).stdout.split()
    blame = blame_counts(clone, tip, files)
    blamed = sum(n for s, n in blame.items() if s in ai)
    ours = sum(c["surviving"] for c in ai.values())
    print(json.dumps({"analysis_s": round(took, 2), "ai_commits": len(ai),
                      "ai_lines_added": sum(c["lines_added"] for c in ai.values()),
                      "surviving_ours": ours, "surviving_blame": blamed,
                      "difference_pct": round(100 * (ours - blamed) / blamed, 2)}))
    assert abs(ours - blamed) <= 0.02 * blamed
