"""``gitroi verify``: the survival analysis checked against git's own tools, by any user.

Two audits of the analysed branch (docs/survival.md, "Checking the figures"):

* **Added lines, exactly.**  For every AI commit, the lines the replay counts
  as new in it, plus those it carried (moved or reformatted, keeping an older
  origin), plus those of files it skips (binary, over the size limit, left out
  of a partial clone; counted by path), must equal what ``git log --numstat
  -M`` says the commit added (for a merge: the lines new against every parent,
  its conflict resolutions, as ``git log --cc`` shows them).  Any difference
  is a bug and fails the check.
* **Surviving AI lines, within a tolerance.**  At the tip, ``git blame -w -M
  -C`` of a deterministic sample of files (those where AI lines may live;
  50 by default, every tip file with ``all_files``) gives each line its origin; the
  lines whose origin is an AI line are compared with what the replay keeps
  alive.  The two methods differ by design on copies and some reformats (see
  the docs), so the total may differ by up to ``tolerance`` (2%).

The core never prints; the CLI (``gitroi.cli.survival_cmds``) renders the
:class:`VerifyResult` as text or JSON (contract ``gitroi.verify/1``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitroi.errors import GitroiError
from gitroi.git import Repo, run_git
from gitroi.survival.codes import CSHIFT

if TYPE_CHECKING:
    from sqlite_utils import Database

SCHEMA = "gitroi.verify/1"
DEFAULT_SAMPLE = 50
DEFAULT_TOLERANCE = 0.02


@dataclass
class CommitCheck:
    """One AI commit: git's count of added lines against the replay's three parts."""

    commit: str
    numstat: int
    new: int
    carried: int
    skipped: int
    #: path -> (git's count, the replay's new + carried + skipped) for the paths that differ.
    paths: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def delta(self) -> int:
        return self.new + self.carried + self.skipped - self.numstat


@dataclass
class FileCheck:
    """One tip file: AI lines alive by the replay and by blame."""

    path: str
    replay: int
    blame: int

    @property
    def delta(self) -> int:
        return self.replay - self.blame


@dataclass
class VerifyResult:
    branch: str
    tip: str
    commits: list[CommitCheck]
    files: list[FileCheck]
    candidates: int
    tolerance: float
    sampled: bool
    partial: bool = False
    branch_note: str = ""

    @property
    def added_ok(self) -> bool:
        return all(c.delta == 0 for c in self.commits)

    @property
    def replay_surviving(self) -> int:
        return sum(f.replay for f in self.files)

    @property
    def blame_surviving(self) -> int:
        return sum(f.blame for f in self.files)

    @property
    def surviving_delta_share(self) -> float:
        """|replay - blame| / blame over the checked files (0 when both are 0)."""
        b = self.blame_surviving
        d = abs(self.replay_surviving - b)
        if b == 0:
            return 0.0 if d == 0 else 1.0
        return d / b

    @property
    def surviving_ok(self) -> bool:
        return self.surviving_delta_share <= self.tolerance

    @property
    def ok(self) -> bool:
        return self.added_ok and self.surviving_ok

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "branch": self.branch,
            "tip": self.tip,
            "branch_note": self.branch_note,
            "ok": self.ok,
            "partial": self.partial,
            "added": {
                "ok": self.added_ok,
                "ai_commits": len(self.commits),
                "mismatched": sum(1 for c in self.commits if c.delta),
                "numstat": sum(c.numstat for c in self.commits),
                "new": sum(c.new for c in self.commits),
                "carried": sum(c.carried for c in self.commits),
                "skipped": sum(c.skipped for c in self.commits),
                "mismatches": [
                    {"commit": c.commit, "numstat": c.numstat, "new": c.new, "carried": c.carried,
                     "skipped": c.skipped, "delta": c.delta,
                     "paths": [{"path": p, "numstat": a, "replay": b, "delta": b - a}
                               for p, (a, b) in sorted(c.paths.items())]}
                    for c in self.commits if c.delta],
            },
            "surviving": {
                "ok": self.surviving_ok,
                "files_checked": len(self.files),
                "candidate_files": self.candidates,
                "sampled": self.sampled,
                "replay": self.replay_surviving,
                "blame": self.blame_surviving,
                "delta": self.replay_surviving - self.blame_surviving,
                "delta_share": round(self.surviving_delta_share, 6),
                "tolerance": self.tolerance,
                "files": [{"path": f.path, "replay": f.replay, "blame": f.blame, "delta": f.delta}
                          for f in self.files],
            },
        }


def verify(repo: Repo, db: Database, *, branch: str | None = None, sample: int = DEFAULT_SAMPLE,
           all_files: bool = False, tolerance: float = DEFAULT_TOLERANCE, jobs: int = 2) -> VerifyResult:
    """Analyse ``branch`` (incrementally: a no-op when it is current) and audit the result."""
    from gitroi.ledger.survival import analysis_row, load_attribution
    from gitroi.survival.analyze import analyze

    res = analyze(repo, db, branch=branch)
    if res.tip is None or res.branch is None:
        raise GitroiError("nothing to verify: the repository has no commits")
    row = analysis_row(db, res.branch)
    st = _state(row)
    if st is None or st.tip != res.tip:
        raise GitroiError(f"the analysis state of {res.branch} could not be read",
                          hint="run `gitroi analyze` again, then `gitroi verify`")
    kinds, _agents, ranges, _sessions = load_attribution(db)
    ai_commits = [s for s in st.shas if s in kinds]
    commits = _check_added(repo, db, ai_commits, st)
    paths, candidates = _sample(repo, st, ai_commits, sample, all_files)
    files = _check_surviving(repo, st, res.tip, paths, kinds, ranges, jobs)
    return VerifyResult(branch=res.branch, tip=res.tip, commits=commits, files=files, candidates=candidates,
                        tolerance=tolerance, sampled=len(paths) < candidates,
                        partial=bool(res.stats.get("partial") or res.stats.get("unknown_origin_lines")),
                        branch_note=res.branch_note)


def _state(row: dict[str, Any] | None) -> Any:
    """The replay state the analysis saved (``analyze._load_state``: one reader of the snapshot)."""
    from gitroi.survival.analyze import _load_state

    if row is None or not row.get("state_path"):
        return None
    return _load_state(Path(row["state_path"]))  # None when missing or corrupt: the caller says what to run


# ---------------------------------------------------------------------------- added lines

def numstat_by_path(repo: Repo, shas: list[str]) -> dict[str, Counter[str]]:
    """{commit: {path: lines added}} for non-merge commits, from one ``git log --numstat -M -z``."""
    if not shas:
        return {}
    out = run_git(["-c", "core.quotepath=off", "log", "--numstat", "-M", "-z", "--format=%x01%H",
                   "--no-walk=unsorted", "--stdin"], cwd=repo.cwd,
                  input=("\n".join(shas) + "\n").encode()).stdout
    result: dict[str, Counter[str]] = {}
    for chunk in out.split(b"\x01")[1:]:
        head, _, body = chunk.partition(b"\0")
        per: Counter[str] = Counter()
        result[head.decode().strip()] = per
        fields = body.split(b"\0")
        i = 0
        while i < len(fields):
            f = fields[i].lstrip(b"\n")
            i += 1
            if not f:
                continue
            parts = f.split(b"\t")
            if len(parts) < 3:
                continue
            added = parts[0]
            path = parts[2]
            if not path:  # a rename: the old and the new path follow as two more fields
                path = fields[i + 1] if i + 1 < len(fields) else b""
                i += 2
            per[path.decode("utf-8", "surrogateescape")] += int(added) if added.isdigit() else 0
    return result


def _check_added(repo: Repo, db: Database, ai_commits: list[str], st: Any) -> list[CommitCheck]:
    from gitroi.attribution.history import merge_added

    if not ai_commits:
        return []
    marks = ",".join("?" * len(ai_commits))
    new: dict[str, Counter[str]] = {}
    carried: dict[str, Counter[str]] = {}
    for sha, path, n in db.execute(f"SELECT commit_sha, path, SUM(lines) FROM line_outcomes "
                                   f"WHERE commit_sha IN ({marks}) GROUP BY 1, 2", ai_commits).fetchall():
        new.setdefault(sha, Counter())[path] += int(n)
    for sha, path, n in db.execute(f"SELECT commit_sha, path, SUM(lines) FROM line_carried "
                                   f"WHERE commit_sha IN ({marks}) GROUP BY 1, 2", ai_commits).fetchall():
        carried.setdefault(sha, Counter())[path] += int(n)
    merges = set(run_git(["rev-list", "--no-walk=unsorted", "--min-parents=2", "--stdin"], cwd=repo.cwd,
                         input=("\n".join(ai_commits) + "\n").encode()).stdout.decode().split())
    plain = [s for s in ai_commits if s not in merges]
    by_path = numstat_by_path(repo, plain)
    own = merge_added(repo, sorted(merges), st.excluded) if merges else {}
    skipped_paths = {p for ps in st.skipped.values() for p in ps} | set(st.excluded)
    checks: list[CommitCheck] = []
    for sha in ai_commits:
        n_new = sum(new.get(sha, Counter()).values())
        n_car = sum(carried.get(sha, Counter()).values())
        if sha in merges:
            checks.append(CommitCheck(sha, own.get(sha, 0), n_new, n_car, 0))
            continue
        git_paths = by_path.get(sha, Counter())
        skipped = sum(n for p, n in git_paths.items() if p in skipped_paths)
        check = CommitCheck(sha, sum(git_paths.values()), n_new, n_car, skipped)
        if check.delta:
            mine = new.get(sha, Counter()) + carried.get(sha, Counter())
            for p in sorted(set(git_paths) | set(mine)):
                want = git_paths.get(p, 0)
                got = mine.get(p, 0) + (want if p in skipped_paths else 0)
                if want != got:
                    check.paths[p] = (want, got)
        checks.append(check)
    return checks


# ---------------------------------------------------------------------------- surviving lines

def _sample(repo: Repo, st: Any, ai: list[str], sample: int, all_files: bool) -> tuple[list[str], int]:
    """The tip files to blame, and how many could be.

    Candidates: every tip file the replay tracks with ``all_files``; else those
    holding lines of AI commits by the replay, plus those changed since the
    oldest AI commit (where blame may find copies of AI lines the replay gives
    to the copying commit).  The sample is the first ``sample`` in an order
    fixed by the SHA-1 of the path: the same files every run.
    """
    if all_files or not ai:
        cands = list(st.tip_files) if ai else []
    else:
        ai_idx = {st.sha_index[s] for s in ai}
        held = {p for p, lst in st.tip_files.items() if any((c >> CSHIFT) in ai_idx for c in lst)}
        first = min(ai, key=lambda s: st.sha_index[s])
        changed = run_git(["-c", "core.quotepath=off", "diff", "--name-only", "-z", "--no-renames", first,
                           st.tip], cwd=repo.cwd, check=False).stdout.decode("utf-8", "surrogateescape")
        cands = sorted(held | {p for p in changed.split("\0") if p in st.tip_files})
    cands.sort(key=lambda p: (hashlib.sha1(p.encode("utf-8", "surrogateescape")).hexdigest(), p))
    chosen = cands if all_files or sample <= 0 else cands[:sample]
    return sorted(chosen), len(cands)


def blame_origins(repo: Repo, tip: str, path: str) -> list[tuple[str, str, int]]:
    """Per line of ``path`` at ``tip``: (commit, path in that commit, line number there), by
    ``git blame -w -M -C --porcelain``."""
    out = run_git(["-c", "core.quotepath=off", "blame", "-w", "-M", "-C", "--porcelain", tip, "--", path],
                  cwd=repo.cwd, check=False)
    if out.returncode != 0:
        return []
    lines: list[tuple[str, str, int]] = []
    names: dict[str, str] = {}
    sha = ""
    orig = 0
    for raw in out.stdout.split(b"\n"):
        if not raw:
            continue
        if raw[:1] == b"\t":
            lines.append((sha, names.get(sha, path), orig))
            continue
        parts = raw.split(b" ")
        if len(parts[0]) == 40 and len(parts) >= 3 and parts[1].isdigit():
            sha = parts[0].decode()
            orig = int(parts[1])
        elif parts[0] == b"filename":
            names[sha] = raw[9:].decode("utf-8", "surrogateescape")
    return lines


def _check_surviving(repo: Repo, st: Any, tip: str, paths: list[str], kinds: dict[str, str],
                     ranges: dict[str, dict[str, list[tuple[int, int]]]], jobs: int) -> list[FileCheck]:
    def is_ai(sha: str, path: str, line: int) -> bool:
        r = ranges.get(sha)
        if r is not None:
            return any(a <= line <= b for a, b in r.get(path, ()))
        return kinds.get(sha) in ("commit", "manual")

    def one(path: str) -> FileCheck:
        replay = sum(1 for c in st.tip_files.get(path, ()) if c & 2 and c >> CSHIFT)
        blame = sum(1 for sha, p, n in blame_origins(repo, tip, path) if is_ai(sha, p, n))
        return FileCheck(path, replay, blame)

    with ThreadPoolExecutor(max(1, jobs)) as ex:
        return list(ex.map(one, paths))


__all__ = ["DEFAULT_SAMPLE", "DEFAULT_TOLERANCE", "SCHEMA", "CommitCheck", "FileCheck", "VerifyResult",
           "blame_origins", "numstat_by_path", "verify"]
