"""Pull requests from git history alone: merge commits, squash merges and rebase merges.

GitHub leaves three shapes on the main branch, and each is recognisable
offline:

* **merge**: a merge commit whose subject is ``Merge pull request #N from
  owner/branch`` (its body's first line is the PR title).  The PR's commits
  are those reachable from the second parent and not from the first.
* **squash**: a single-parent commit whose subject ends ``(#N)``.  The commit
  itself is what reached the branch; the pre-squash commits are known only
  when ``refs/pull/N/head`` has been fetched.
* **rebase**: commits on the main branch whose ``git patch-id --stable``
  equals that of a commit of a fetched ``refs/pull/N/head`` (a rebase gives
  new shas but the same patches).

Review churn is the AI lines written in the PR's commits that did not reach
the merge.  It is read by blaming the PR head (the second parent, or the
fetched PR ref) with the PR comment's own test, :func:`gitroi.survival.reaching.reaching`
(``git blame -M -C`` with and without ``-w``): an AI line reached the merge when
the head still carries it, whitespace changes and moves included.  Without a
PR head (a squash whose ref was not fetched) the figure is 0 with a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitroi import timeutil
from gitroi.git import Repo
from gitroi.git.graph import CommitGraph
from gitroi.git.patch import parse_files
from gitroi.ranges import RangeSet
from gitroi.survival.reaching import Key

if TYPE_CHECKING:
    from sqlite_utils import Database

MERGE_RE = re.compile(r"^Merge pull request #(\d+) from (\S+)")
SQUASH_RE = re.compile(r"\(#(\d+)\)\s*$")
_PULL_REF = re.compile(r"^refs/(?:pull/(\d+)/head|remotes/[^/]+/(?:pr|pull)/(\d+)(?:/head)?)$")
NOT_FETCHED = ("pre-squash commits unknown: fetch them with "
               "git fetch origin '+refs/pull/*/head:refs/pull/*/head'")


@dataclass
class FoundPR:
    """A PR recognised in history, before its review figures are worked out."""

    number: int
    method: str                      # merge | squash | rebase
    merge_commit: str
    merged_at: str
    title: str
    head: str | None                 # the PR's head commit (second parent / fetched ref)
    base: str | None                 # the commit it merged into (first parent)
    head_ref: str = ""
    merged: list[str] = field(default_factory=list)      # commits on the branch
    originals: list[str] = field(default_factory=list)   # pre-squash/pre-rebase commits


def pull_refs(repo: Repo) -> dict[int, str]:
    """PR number -> head sha of every fetched PR ref (refs/pull/N/head, refs/remotes/*/pr/N)."""
    out: dict[int, str] = {}
    text = repo.git_text("for-each-ref", "--format=%(refname) %(objectname)",
                         "refs/pull/", "refs/remotes/")
    for line in text.splitlines():
        name, _, sha = line.partition(" ")
        m = _PULL_REF.match(name)
        if m:
            out[int(m.group(1) or m.group(2))] = sha
    return out


def _rev_list(repo: Repo, *args: str) -> list[str]:
    return repo.git_text("rev-list", "--reverse", "--topo-order", *args).split()


def detect(repo: Repo, branch: str, *, skip: Iterable[int] = ()) -> list[FoundPR]:
    """Every PR merged into ``branch`` that its history shows (``skip``: numbers already known)."""
    if repo.head() is None:
        return []
    skipped = set(skip)
    out = repo.git("log", "--first-parent", "--no-color",
                   "--format=%x01%H%x00%P%x00%cI%x00%s%x00%b", branch, "--")
    refs = pull_refs(repo)
    found: dict[int, FoundPR] = {}
    for chunk in out.split(b"\x01")[1:]:
        parts = chunk.decode("utf-8", "replace").split("\x00")
        if len(parts) < 5:
            continue
        sha, parents, when, subject, body = parts[0], parts[1].split(), parts[2], parts[3], parts[4]
        m = MERGE_RE.match(subject)
        if m and len(parents) >= 2:
            n = int(m.group(1))
            if n in found or n in skipped:
                continue
            title = next((ln.strip() for ln in body.splitlines() if ln.strip()), subject)
            found[n] = FoundPR(n, "merge", sha, timeutil.normalise(when), title,
                               head=parents[1], base=parents[0], head_ref=m.group(2))
            continue
        m = SQUASH_RE.search(subject)
        if m and len(parents) == 1:
            n = int(m.group(1))
            if n in found or n in skipped:
                continue
            title = subject[:m.start()].rstrip()
            found[n] = FoundPR(n, "squash", sha, timeutil.normalise(when), title,
                               head=refs.get(n), base=parents[0], merged=[sha])
    graph: CommitGraph | None = None
    for pr in found.values():
        if pr.method == "merge" and pr.head and pr.base:
            if graph is None:  # one read of the graph instead of a rev-list per PR
                graph = CommitGraph.load(repo, [branch])
            if pr.head in graph and pr.base in graph:
                pr.merged = graph.rev_list(pr.head, pr.base)
            else:
                pr.merged = _rev_list(repo, pr.head, f"^{pr.base}")
        elif pr.method == "squash" and pr.head and pr.base:
            pr.originals = [c for c in _rev_list(repo, "--no-merges", pr.head, f"^{pr.base}")
                            if c != pr.merge_commit]
    for n, head in sorted(refs.items()):
        if n in found or n in skipped:
            continue
        pr_rebase = _rebase_pr(repo, branch, n, head)
        if pr_rebase is not None:
            found[n] = pr_rebase
    return [found[n] for n in sorted(found)]


def _patch_ids(repo: Repo, *args: str) -> dict[str, str]:
    """commit sha -> stable patch id, for the commits ``git log -p ARGS`` lists."""
    patches = repo.git("log", "-p", "--no-color", "--no-merges", "--format=commit %H", *args, "--")
    if not patches.strip():
        return {}
    text = repo.git("patch-id", "--stable", input=patches).decode()
    out: dict[str, str] = {}
    for line in text.splitlines():
        pid, _, sha = line.partition(" ")
        out[sha] = pid
    return out


def _rebase_pr(repo: Repo, branch: str, number: int, head: str) -> FoundPR | None:
    """A fetched PR head whose commits' patches appear on ``branch`` under new shas."""
    originals = _rev_list(repo, "--no-merges", head, f"^{branch}")
    if not originals:
        return None
    mb = repo.git("merge-base", head, branch, check=False).decode().strip()
    if not mb:
        return None
    theirs = _patch_ids(repo, head, f"^{branch}")
    ours = _patch_ids(repo, "--first-parent", f"{mb}..{branch}")
    by_pid = {pid: sha for sha, pid in ours.items()}
    merged = [by_pid[theirs[c]] for c in originals if c in theirs and theirs[c] in by_pid]
    if not merged:
        return None
    order = _rev_list(repo, "--first-parent", f"{mb}..{branch}")
    pos = {s: i for i, s in enumerate(order)}
    merged.sort(key=lambda s: pos.get(s, -1))
    last = merged[-1]
    when, subject = repo.git_text("log", "-1", "--format=%cI%x00%s", last).split("\x00", 1)
    first = repo.git_text("log", "-1", "--format=%s", merged[0])
    return FoundPR(number, "rebase", last, timeutil.normalise(when), first or subject,
                   head=head, base=mb, merged=merged, originals=originals)


# --- review figures ------------------------------------------------------------------------------


def _added_lines(repo: Repo, head: str, base: str) -> dict[str, dict[str, list[int]]]:
    """sha -> path -> new-side line numbers each commit in base..head added (one log stream)."""
    # -U1 (context cut back out by parse_files), not -U0: at zero context git may pick
    # other added lines than numstat does (a changelog of blank lines), see attribution.
    out = repo.git("log", "-p", "-U1", "-M", "--no-color", "--no-ext-diff", "--src-prefix=a/",
                   "--dst-prefix=b/", "--no-merges", "--format=%x01%H", head, f"^{base}", "--")
    res: dict[str, dict[str, list[int]]] = {}
    added: dict[str, list[int]] = {}
    lines = iter(out.splitlines(keepends=True))
    line = next(lines, None)
    while line is not None:
        if line.startswith(b"\x01"):
            added = res[line[1:].rstrip().decode()] = {}
        elif line.startswith(b"diff --git "):
            files, line = parse_files(lines, line)
            for fd in files:
                if fd.new_path is not None:
                    for h in fd.hunks:
                        if h.nc:
                            added.setdefault(fd.new_path, []).extend(range(h.ns, h.ns + h.nc))
            continue
        line = next(lines, None)
    return res




def ai_keys(repo: Repo, db: Database, head: str, base: str) -> set[Key]:
    """(commit, path, line) of every AI line written by the commits in base..head."""
    from gitroi.ledger.prs import commit_ai, ranges_of

    added = _added_lines(repo, head, base)
    known = commit_ai(db, list(added))
    keys: set[Key] = set()
    for sha, paths in added.items():
        attr, ai = known.get(sha, ("none", 0))
        if attr in ("line", "manual"):
            # the claimed ranges tested against the lines the commit added, never expanded
            for path, rs in ranges_of(db, sha).items():
                claim = RangeSet(rs)
                keys.update((sha, path, n) for n in paths.get(path, ()) if n in claim)
        elif attr == "commit" or (attr not in ("none", "") and ai):
            for path, lines in paths.items():
                keys.update((sha, path, n) for n in lines)
    return keys


def reached(repo: Repo, keys: set[Key], head: str, base: str) -> int:
    """How many of ``keys`` the tree of ``head`` still carries: the PR comment's own test
    (:func:`gitroi.survival.reaching.reaching`, blame -M -C with and without -w), so a merged
    PR's review churn in the report and in its comment are one figure."""
    if not keys:
        return 0
    from gitroi.survival.reaching import reaching

    mb = repo.git("merge-base", head, base, check=False).decode().strip() or None
    return len(reaching(repo, mb, head, keys))


def review_figures(repo: Repo, db: Database, pr: FoundPR) -> dict[str, Any]:
    """ai_written, ai_merged, review_churn and a note for one PR."""
    from gitroi.ledger.prs import commit_ai

    if pr.head and pr.base:
        # Most PRs of an old history carry no AI work: skip their patches and blame.
        listed = [*pr.merged, *pr.originals]
        if listed and all(a in ("none", "") for a, _ in commit_ai(db, listed).values()):
            return {"ai_written": 0, "ai_merged": 0, "review_churn": 0, "note": None}
        keys = ai_keys(repo, db, pr.head, pr.base)
        merged = reached(repo, keys, pr.head, pr.base)
        return {"ai_written": len(keys), "ai_merged": merged,
                "review_churn": len(keys) - merged, "note": None}
    ai = sum(a for _, a in commit_ai(db, pr.merged).values())
    return {"ai_written": ai, "ai_merged": ai, "review_churn": 0, "note": NOT_FETCHED}


def _basis(db: Database, refs: dict[int, str]) -> dict[int, str]:
    """PR -> digest of what its review figures were computed from (commits' attribution, PR ref)."""
    import hashlib

    from gitroi.ledger.prs import pr_commit_sources

    out: dict[int, str] = {}
    for n, items in pr_commit_sources(db).items():
        h = hashlib.sha1(refs.get(n, "").encode())
        for sha, src, ai in items:
            h.update(f"{sha}:{src}:{ai};".encode())
        out[n] = h.hexdigest()
    return out


def _rebuild(repo: Repo, db: Database, n: int, refs: dict[int, str]) -> FoundPR | None:
    """A recorded PR as :func:`detect` would find it, to recompute its figures."""
    from gitroi.ledger.prs import pr_record

    rec = pr_record(db, n)
    if rec is None:
        return None
    merge = rec["merge_commit"]

    def rev(expr: str) -> str | None:
        out = repo.git("rev-parse", "--verify", "-q", expr, check=False).decode().strip()
        return out or None

    pr = FoundPR(n, rec["method"], merge, rec["merged_at"], rec["title"] or "", head=None,
                 base=None, head_ref=rec["head"] or "")
    if rec["method"] == "merge":
        pr.head, pr.base = rev(f"{merge}^2"), rev(f"{merge}^1")
        pr.merged = rec["merged"]
    elif rec["method"] == "squash":
        pr.head, pr.base, pr.merged = refs.get(n), rev(f"{merge}^1"), [merge]
        pr.head_ref = ""
        if pr.head and pr.base:
            pr.originals = [c for c in _rev_list(repo, "--no-merges", pr.head, f"^{pr.base}")
                            if c != merge]
    else:
        pr.head, pr.base = refs.get(n), rec["base"]
        pr.merged, pr.originals = rec["merged"], rec["originals"]
        pr.head_ref = ""
    return pr


def record(repo: Repo, db: Database, branch: str, *, refresh: bool = False,
           progress: Callable[[int, int], None] | None = None) -> int:
    """Find the PRs merged into ``branch`` and write them with their figures; returns how many.

    New PRs are found in history; a recorded PR is recomputed only when what
    its figures came from changed (its commits' attribution, e.g. after notes
    were fetched, or a newly fetched PR ref), so a re-run costs no git call per PR.
    """
    from gitroi.ledger.prs import known_prs, set_pr_bases, stored_pr_bases, write_prs

    refs = pull_refs(repo)
    known = {} if refresh else known_prs(db)
    prs = detect(repo, branch, skip=known)
    if known:
        current, stored = _basis(db, refs), stored_pr_bases(db)
        for n in sorted(known):
            if current.get(n) != stored.get(n):
                again = _rebuild(repo, db, n, refs)
                if again is not None:
                    prs.append(again)
    rows: list[dict[str, Any]] = []
    for i, pr in enumerate(prs):
        commits: list[tuple[str, int]] = [(c, 1) for c in pr.merged]
        commits += [(c, 0) for c in pr.originals if c not in set(pr.merged)]
        rows.append({"number": pr.number, "title": pr.title, "merged_at": pr.merged_at,
                     "merge_commit": pr.merge_commit, "method": pr.method,
                     "base": pr.base, "head": pr.head_ref or pr.head,
                     "commits": commits, "figures": review_figures(repo, db, pr)})
        if progress:
            progress(i + 1, len(prs))
    written = write_prs(db, rows)
    if rows:
        after = _basis(db, refs)
        set_pr_bases(db, {r["number"]: after.get(r["number"], "") for r in rows})
    return written


def head_refs(repo: Repo) -> Sequence[str]:
    """The fetched PR heads, for loading their (pre-squash) commits into the ledger."""
    return sorted(set(pull_refs(repo).values()))
