"""Carry a pull request's notes onto the commits its merge created on the main branch.

Teams merge three ways, and attribution must survive each (DESIGN.md, "Notes
travel"):

* **merge commit**: the PR's commits themselves become part of the main
  branch, notes included; nothing to write (``keep``).
* **squash merge**: one new commit holds the whole PR.  It gets the union of
  the PR commits' notes (sessions by agent and id, so tokens are counted once),
  with the AI line ranges re-mapped by content onto the lines the squash
  commit added (only AI lines that reach the PR head): :func:`gitroi.attribution.rewrite.remap`,
  the matcher post-rewrite uses too.
* **rebase merge**: one new commit per PR commit, same author, date and
  message.  Each is paired with its PR commit by ``git patch-id --stable``
  (then by author, author date and message when a changed context moved the
  patch id), and gets that commit's note re-mapped onto its own lines.

Notes are written with :func:`gitroi.attribution.notes.write_note`, which merges with a
note already there, so running this twice (the ``push`` event and the
``pull_request: closed`` event both fire for one merge) changes nothing the
second time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitroi.attribution.notes import read_note
from gitroi.errors import GitroiError
from gitroi.git import Repo, run_git
from gitroi.wording import plural

METHODS = ("auto", "merge", "squash", "rebase")
_SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)\s*$")
_MERGE_SUBJECT = re.compile(r"^Merge pull request #(\d+) ")
ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class Mapped:
    """One note written (or that would be written) onto a commit of the main branch."""

    target: str
    sources: tuple[str, ...]
    ai_lines: int
    tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.target, "from": list(self.sources), "ai_lines": self.ai_lines,
                "tokens": self.tokens}


@dataclass
class MergeMap:
    """What one merge mapping did; :meth:`to_dict` is the ``pr map-merge --json`` element."""

    method: str
    merge_commit: str
    pr: int | None = None
    pr_commits: list[str] = field(default_factory=list)
    mapped: list[Mapped] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"pr": self.pr, "method": self.method, "merge_commit": self.merge_commit,
                "pr_commits": self.pr_commits, "mapped": [m.to_dict() for m in self.mapped],
                "unmatched": self.unmatched, "message": self.message}


# --- git helpers ---------------------------------------------------------------------------


def has_commit(repo: Repo, rev: str) -> bool:
    """Whether ``rev`` names a commit here (``--end-of-options``: a rev like ``-x`` is no flag)."""
    return bool(repo.git("rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}",
                         check=False).strip())


def _sha(repo: Repo, rev: str, what: str) -> str:
    if rev.startswith("-"):
        raise GitroiError(f"{what} {rev!r} looks like an option, not a revision")
    out = repo.git("rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}",
                   check=False).decode().strip()
    if not out:
        raise GitroiError(f"{what} {rev} is not a commit in this repository",
                          hint="fetch it first (`git fetch origin <sha>`, or actions/checkout "
                               "with `fetch-depth: 0`)")
    return out


def _parents(repo: Repo, sha: str) -> list[str]:
    return repo.git("rev-list", "--parents", "-n", "1", sha).decode().split()[1:]


def patch_ids(repo: Repo, shas: Sequence[str]) -> dict[str, str]:
    """{commit: stable patch id} for commits that change something (one git call each way)."""
    if not shas:
        return {}
    diff = repo.git("show", "--no-color", "--no-ext-diff", "-p", "--first-parent",
                    "--format=commit %H", *shas)
    out = repo.git("patch-id", "--stable", input=diff).decode().split()
    return {out[i + 1]: out[i] for i in range(0, len(out) - 1, 2)}


def _identity(repo: Repo, shas: Sequence[str]) -> dict[str, str]:
    """{commit: author, author date and message}: what a rebase keeps when the patch changes."""
    if not shas:
        return {}
    out = repo.git("show", "-s", "--format=%H%x00%an <%ae> %at%x00%B%x01", *shas).decode(
        "utf-8", "replace")
    ident: dict[str, str] = {}
    for rec in out.split("\x01"):
        rec = rec.strip("\n")
        if rec:
            sha, who, body = rec.split("\x00", 2)
            ident[sha] = f"{who}\n{body.strip()}"
    return ident


# --- re-mapping notes ----------------------------------------------------------------------


def _apply(repo: Repo, target: str, sources: Sequence[str], out: MergeMap, *, write: bool,
           head: str | None = None, exclude: Sequence[str] = ()) -> None:
    """Give ``target`` the notes of ``sources`` re-mapped onto its own added lines.

    The one matcher of post-rewrite, :func:`gitroi.attribution.rewrite.remap` (a squash is
    the same problem as a ``rebase -i`` squash; it merges with a note the target
    already has).  For a squash, ``head`` is the PR head: only the AI lines that
    reach it count, so a line a later PR commit rewrote is not carried.  A dry
    run computes the same note without writing it.
    """
    from gitroi.attribution.rewrite import remap

    problems: list[str] = []
    note = remap(repo, list(sources), target, head=head, exclude=exclude, write=write,
                 problems=problems)
    for p in problems:  # a bad note (anyone can push notes) is left out, the others carried
        print(f"gitroi: warning: {p}", file=sys.stderr)
    if note is not None:
        out.mapped.append(Mapped(target, tuple(sources), note.ai_lines, note.tokens))


# --- the three methods ---------------------------------------------------------------------


def detect(repo: Repo, *, merge_commit: str, pr_head: str) -> tuple[str, list[str], list[str]]:
    """(method, PR commits oldest first, new commits on the main branch oldest first)."""
    if repo.is_ancestor(pr_head, merge_commit):
        return "merge", [], [merge_commit]
    pr_commits = repo.git("rev-list", "--reverse", "--topo-order", "--no-merges", pr_head,
                          f"^{merge_commit}").decode().split()
    if not pr_commits:
        return "merge", [], [merge_commit]
    chain = repo.git("rev-list", "--first-parent", f"--max-count={len(pr_commits)}",
                     merge_commit).decode().split()
    pids = patch_ids(repo, pr_commits + chain)
    idents = _identity(repo, pr_commits + chain)
    pr_keys = {pids.get(c) for c in pr_commits} - {None}
    pr_idents = {idents.get(c) for c in pr_commits} - {None}
    rebased: list[str] = []
    for c in chain:  # newest first, walking back while commits look like the PR's
        if pids.get(c) in pr_keys or idents.get(c) in pr_idents:
            rebased.append(c)
        else:
            break
    if len(rebased) > 1 or (rebased and len(pr_commits) == 1):
        return "rebase", pr_commits, list(reversed(rebased))
    return "squash", pr_commits, [merge_commit]


def map_merge(repo: Repo, *, merge_commit: str, pr_head: str, method: str = "auto",
              pr: int | None = None, write: bool = True) -> MergeMap:
    """Map the notes of the PR ending at ``pr_head`` onto what ``merge_commit`` brought."""
    if method not in METHODS:
        raise GitroiError(f"unknown merge method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    m_sha = _sha(repo, merge_commit, "merge commit")
    h_sha = _sha(repo, pr_head, "pull request head")
    found, pr_commits, new = detect(repo, merge_commit=m_sha, pr_head=h_sha)
    chosen = found if method == "auto" else method
    out = MergeMap(method=chosen, merge_commit=m_sha, pr=pr, pr_commits=pr_commits)
    if chosen == "merge" or not pr_commits:
        out.method = "merge"
        out.message = "merge commit: the pull request's commits and their notes are on the branch"
        return out
    if chosen == "squash" or found != "rebase":
        if chosen == "rebase":
            out.message = "asked for a rebase mapping but the commits do not match; mapped as a squash"
            out.method = "squash"
        _apply(repo, m_sha, pr_commits, out, write=write, head=h_sha, exclude=[m_sha])
        if not out.mapped:
            out.message = (f"squash: none of the {plural(len(pr_commits), 'commit')} has a gitroi note; "
                           "nothing to map")
        elif not out.message:
            out.message = f"squash: {plural(len(pr_commits), 'commit')} mapped onto {m_sha[:12]}"
        return out
    pids = patch_ids(repo, pr_commits + new)
    idents = _identity(repo, pr_commits + new)
    free = list(pr_commits)
    for target in new:
        match = next((p for p in free if pids.get(p) and pids.get(p) == pids.get(target)), None)
        if match is None:
            match = next((p for p in free if idents.get(p) == idents.get(target)), None)
        if match is None:
            out.unmatched.append(target)
            continue
        free.remove(match)
        _apply(repo, target, [match], out, write=write)
    out.message = (f"rebase: {len(new) - len(out.unmatched)} of {plural(len(new), 'commit')} paired by "
                   f"patch id, {plural(len(out.mapped), 'note')} carried over")
    return out


def pr_number_from_subject(subject: str) -> int | None:
    """``Title (#12)`` (squash) or ``Merge pull request #12 from …`` -> 12."""
    m = _SQUASH_SUBJECT.search(subject) or _MERGE_SUBJECT.match(subject)
    return int(m.group(1)) if m else None


def fetch_pr_head(repo: Repo, remote: str, number: int) -> str | None:
    """Fetch ``refs/pull/N/head`` (GitHub keeps it after the branch is deleted); its SHA or None."""
    local = f"refs/remotes/{remote}/pull/{number}/head"
    cwd = repo.paths.workdir or repo.paths.git_dir
    run_git(["fetch", "--quiet", "--no-tags", remote, f"+refs/pull/{number}/head:{local}"],
            cwd=cwd, check=False, env={"GIT_TERMINAL_PROMPT": "0"})
    out = repo.git("rev-parse", "-q", "--verify", local, check=False).decode().strip()
    return out or None


def new_commits(repo: Repo, before: str, after: str) -> list[str]:
    """First-parent commits a push added, oldest first (a new branch: just its tip)."""
    a = _sha(repo, after, "pushed commit")
    if not before or set(before) == {"0"} or not has_commit(repo, before):
        return [a]
    return repo.git("rev-list", "--reverse", "--first-parent", a, f"^{before}").decode().split()


def map_push(repo: Repo, *, before: str, after: str, remote: str = "origin",
             find_pr: Callable[[str], int | None] | None = None,
             write: bool = True) -> list[MergeMap]:
    """Map notes for every pull request a push to the main branch merged.

    Each new first-parent commit is looked at once: a merge commit keeps its
    notes; a commit that already has a note is left alone; otherwise its PR
    number comes from its subject (``(#N)``) or from ``find_pr(sha)`` (the
    caller asks GitHub, for rebase merges, whose commits name no PR), the PR's
    head is fetched from ``refs/pull/N/head`` and mapped.  Several new commits
    of one rebase merge are mapped once, together.
    """
    results: list[MergeMap] = []
    done: set[int] = set()
    commits = new_commits(repo, before, after)
    for sha in commits:
        if len(_parents(repo, sha)) > 1:
            subject = repo.git("show", "-s", "--format=%s", sha).decode("utf-8", "replace")
            results.append(MergeMap(method="merge", merge_commit=sha,
                                    pr=pr_number_from_subject(subject),
                                    message="merge commit: notes stay on the PR's commits"))
            continue
        if read_note(repo, sha) is not None:
            continue
        subject = repo.git("show", "-s", "--format=%s", sha).decode("utf-8", "replace")
        number = pr_number_from_subject(subject)
        if number is None and find_pr is not None:
            number = find_pr(sha)
        if number is None or number in done:
            continue
        head = fetch_pr_head(repo, remote, number)
        if head is None:
            results.append(MergeMap(method="unknown", merge_commit=sha, pr=number,
                                    message=f"refs/pull/{number}/head could not be fetched from {remote}"))
            continue
        # A rebase merge: this and the following new commits that match the PR's commits.
        pr_commits = repo.git("rev-list", "--no-merges", head, f"^{sha}").decode().split()
        rest = commits[commits.index(sha):]
        pids = patch_ids(repo, pr_commits + rest)
        idents = _identity(repo, pr_commits + rest)
        keys = {pids.get(c) for c in pr_commits} | {idents.get(c) for c in pr_commits}
        target = sha
        for later in rest:
            if pids.get(later) in keys or idents.get(later) in keys:
                target = later
            else:
                break
        results.append(map_merge(repo, merge_commit=target, pr_head=head, pr=number, write=write))
        done.add(number)
    return results


def ensure_commit(repo: Repo, remote: str, sha: str) -> bool:
    """Fetch ``sha`` from ``remote`` when it is not here (GitHub serves reachable commits by id)."""
    if has_commit(repo, sha):
        return True
    if not re.fullmatch(r"[0-9a-f]{7,40}", sha):
        return False
    cwd = repo.paths.workdir or repo.paths.git_dir
    run_git(["fetch", "--quiet", "--no-tags", remote, sha], cwd=cwd, check=False,
            env={"GIT_TERMINAL_PROMPT": "0"})
    return has_commit(repo, sha)


#: Who writes notes in CI when the runner has no git identity (actions/checkout sets none).
CI_IDENTITY = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


def ensure_identity(repo: Repo) -> bool:
    """Give git an identity for ``git notes add`` where none is configured; True if one was set.

    ``git notes`` makes a commit on ``refs/notes/gitroi`` and refuses to run
    without a committer ("unable to auto-detect email address"), which is the
    state of a fresh CI runner.  Only this process's environment changes.
    """
    cwd = repo.paths.workdir or repo.paths.git_dir
    if run_git(["var", "GIT_COMMITTER_IDENT"], cwd=cwd, check=False).returncode == 0 and \
            run_git(["var", "GIT_AUTHOR_IDENT"], cwd=cwd, check=False).returncode == 0:
        return False
    name, email = CI_IDENTITY
    for role in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{role}_NAME", name)
        os.environ.setdefault(f"GIT_{role}_EMAIL", email)
    return True


def map_merge_job(repo: Repo, *, merge_commit: str | None = None, pr_head: str | None = None,
                  number: int | None = None, before: str | None = None, after: str | None = None,
                  method: str = "auto", remote: str = "origin", push: bool = False,
                  write: bool = True,
                  find_pr: Callable[[str], int | None] | None = None) -> dict[str, Any]:
    """``gitroi pr map-merge``: one merge (commit + head) or a whole push, then push the notes.

    The push never raises: a read-only token (a fork's pull request, no
    ``contents: write``) comes back as ``{"ok": false, "message": ...}``.
    """
    from gitroi.attribution.notes import fetch_and_merge
    from gitroi.attribution.notes import push as push_notes

    if remote.startswith("-"):
        raise GitroiError(f"--remote {remote!r} looks like an option")
    if write:
        ensure_identity(repo)
        try:  # start from the remote's notes, so the push is a fast-forward
            fetch_and_merge(repo, remote)
        except GitroiError as exc:
            print(f"gitroi: warning: {exc.message}", file=sys.stderr)
    merges: list[MergeMap]
    if before is not None or after is not None:
        if not after:
            raise GitroiError("--before needs --after (the pushed tip)")
        merges = map_push(repo, before=before or "", after=after, remote=remote, write=write,
                          find_pr=find_pr)
    else:
        if not merge_commit:
            raise GitroiError("give --merge-commit (with --pr-head or --pr), or --before/--after")
        ensure_commit(repo, remote, merge_commit)
        head = pr_head
        if head is not None and not ensure_commit(repo, remote, head) and number is not None:
            head = fetch_pr_head(repo, remote, number) or head
        if head is None:
            if number is None:
                raise GitroiError("--merge-commit needs --pr-head or --pr")
            head = fetch_pr_head(repo, remote, number)
            if head is None:
                raise GitroiError(f"could not fetch refs/pull/{number}/head from {remote}",
                                  hint="pass --pr-head SHA")
        merges = [map_merge(repo, merge_commit=merge_commit, pr_head=head, method=method,
                            pr=number, write=write)]
    pushed: dict[str, Any] | None = None
    if push and any(m.mapped for m in merges):
        ok, message = push_notes(repo, remote)
        pushed = {"ok": ok, "message": message}
    return {"merges": [m.to_dict() for m in merges], "push": pushed}
