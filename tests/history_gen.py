"""A generated history with the shapes that break line accounting, built with the real git CLI.

Seeded, so a failure replays exactly.  Branches fork from main, edit,
move and reformat lines, delete and restore files, cherry-pick commits onto
another branch (a rebased duplicate that is later merged beside its
original) and merge back with ``-X theirs`` (so some merges resolve
conflicts and differ from every parent).  About a third of the commits carry
an agent trailer.  The tests check every commit against ``git log --numstat``
and compare runs (hash seeds, incremental against full).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.conftest import GitRepo

AI_TRAILER = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"
_WORDS = ("alpha", "beta", "gamma", "delta", "total", "count", "value", "result", "items", "index")


def _line(rng: random.Random) -> str:
    a, b, c = rng.choice(_WORDS), rng.choice(_WORDS), rng.randrange(1000)
    return rng.choice((f"    {a}_{c} = compute_{b}({a}, {c})",
                       f"    if {a}_{c} > {c}:",
                       f"        return {b}_{a} + {c}",
                       f"# note about {a} {b} {c}",
                       "",
                       f"def {a}_{b}_{c}(x):"))


@dataclass
class Generated:
    """What the generator made: every commit sha in order and the AI ones."""

    commits: list[str] = field(default_factory=list)
    ai: list[str] = field(default_factory=list)
    main_tips: list[str] = field(default_factory=list)


class HistoryGen:
    """Scripted random edits on a :class:`GitRepo`, on branch main and short-lived branches."""

    def __init__(self, repo: GitRepo, seed: int) -> None:
        self.repo = repo
        self.rng = random.Random(seed)
        self.out = Generated()
        self.n = 0

    # ------------------------------------------------------------------ files

    def _files(self) -> list[str]:
        return sorted(p for p in self.repo.git("ls-files").splitlines() if p)

    def _read(self, path: str) -> list[str]:
        return (self.repo.path / path).read_text().split("\n")[:-1]

    def _write(self, path: str, lines: list[str]) -> None:
        self.repo.write(path, "".join(x + "\n" for x in lines))
        self.repo.git("add", "--", path)

    def _commit(self, what: str) -> str:
        self.n += 1
        ai = self.rng.random() < 0.35
        when = f"2026-01-{1 + self.n // 100:02d}T{(self.n // 60) % 24:02d}:{self.n % 60:02d}:00Z"
        env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        self.repo.git("commit", "-q", "--allow-empty", "-m", what + (AI_TRAILER if ai else ""), env=env)
        sha = self.repo.git("rev-parse", "HEAD")
        self.out.commits.append(sha)
        if ai:
            self.out.ai.append(sha)
        return sha

    # ------------------------------------------------------------------ edits

    def edit(self) -> str:
        rng = self.rng
        files = self._files()
        op = rng.random()
        if not files or op < 0.15:
            path = f"src/m{rng.randrange(12)}.py"
            self._write(path, [_line(rng) for _ in range(rng.randrange(5, 40))])
            return self._commit(f"add {path}")
        path = rng.choice(files)
        lines = self._read(path)
        if op < 0.22 and len(files) > 1:
            self.repo.git("rm", "-q", "--", path)
            return self._commit(f"delete {path}")
        if op < 0.30:
            # Restore a file as an older commit had it (a later copy of old lines).
            old = rng.choice(self.out.commits)
            ls = self.repo.git("ls-tree", "-r", "--name-only", old).splitlines()
            if ls:
                src = rng.choice(ls)
                self.repo.git("checkout", old, "--", src)
                return self._commit(f"restore {src}")
        if op < 0.40 and len(lines) > 6:
            # Move a block to another (maybe new) file.
            a = rng.randrange(len(lines) - 4)
            block = lines[a:a + rng.randrange(3, 6)]
            del lines[a:a + len(block)]
            self._write(path, lines)
            dest = rng.choice([f for f in files if f != path] or [f"src/moved{rng.randrange(5)}.py"])
            target = self._read(dest) if (self.repo.path / dest).exists() else []
            at = rng.randrange(len(target) + 1)
            self._write(dest, target[:at] + block + target[at:])
            return self._commit(f"move lines {path} -> {dest}")
        if op < 0.48 and lines:
            # Reformat: re-indent a run of lines.
            a = rng.randrange(len(lines))
            for i in range(a, min(len(lines), a + 6)):
                lines[i] = ("  " + lines[i]) if lines[i] else lines[i]
            self._write(path, lines)
            return self._commit(f"reformat {path}")
        if op < 0.53 and len(lines) > 3:
            # Duplicate a block inside the file (a copy).
            a = rng.randrange(len(lines) - 2)
            lines = lines + lines[a:a + 3]
            self._write(path, lines)
            return self._commit(f"copy lines in {path}")
        for _ in range(rng.randrange(1, 4)):
            r = rng.random()
            if r < 0.4 or not lines:
                at = rng.randrange(len(lines) + 1)
                lines[at:at] = [_line(rng) for _ in range(rng.randrange(1, 8))]
            elif r < 0.7:
                a = rng.randrange(len(lines))
                del lines[a:a + rng.randrange(1, 5)]
            else:
                a = rng.randrange(len(lines))
                lines[a] = _line(rng)
        self._write(path, lines)
        return self._commit(f"edit {path}")

    def merge(self, branch: str) -> None:
        when = f"2026-01-{1 + self.n // 100:02d}T{(self.n // 60) % 24:02d}:{self.n % 60:02d}:30Z"
        env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        msg = f"merge {branch}" + (AI_TRAILER if self.rng.random() < 0.3 else "")
        self.repo.git("merge", "-q", "--no-ff", "-X", "theirs", "-m", msg, branch, env=env, check=False)
        if self.repo.git("ls-files", "-u"):
            # A conflict -X theirs cannot settle (delete/modify): keep what the work tree has.
            self.repo.git("add", "-A")
            self.repo.git("commit", "-q", "--no-edit", env=env)
        sha = self.repo.git("rev-parse", "HEAD")
        self.out.commits.append(sha)
        if "Co-Authored-By" in self.repo.git("log", "-1", "--format=%B"):
            self.out.ai.append(sha)

    def run(self, rounds: int) -> Generated:
        """``rounds`` of: a few commits on main, a branch with a few commits (sometimes
        a cherry-pick of one of main's commits, or main's cherry-picked onto it), merged."""
        rng = self.rng
        for _ in range(3):
            self.edit()
        for _ in range(rounds):
            branch = f"topic{len(self.out.main_tips)}"
            fork = rng.choice(self.out.main_tips[-3:] or [self.repo.git("rev-parse", "main")])
            self.repo.git("branch", branch, fork)
            for _ in range(rng.randrange(1, 4)):
                self.edit()
            main_new = self.repo.git("rev-parse", "HEAD")
            self.repo.git("checkout", "-q", branch)
            for _ in range(rng.randrange(1, 4)):
                self.edit()
            if rng.random() < 0.5 and main_new != fork:
                # A rebased duplicate: main's newest commit applied again on the branch.
                when = f"2026-01-{1 + self.n // 100:02d}T{(self.n // 60) % 24:02d}:{self.n % 60:02d}:45Z"
                proc = self.repo.git("cherry-pick", "--allow-empty", "-X", "theirs", main_new, check=False,
                                     env={"GIT_COMMITTER_DATE": when})
                if self.repo.git("ls-files", "-u") or "error" in proc:
                    self.repo.git("cherry-pick", "--abort", check=False)
                else:
                    sha = self.repo.git("rev-parse", "HEAD")
                    self.out.commits.append(sha)
                    if main_new in self.out.ai:
                        self.out.ai.append(sha)
            self.repo.git("checkout", "-q", "main")
            self.merge(branch)
            self.out.main_tips.append(self.repo.git("rev-parse", "main"))
        return self.out
