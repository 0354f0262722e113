"""Which branch a command measures: one rule for analyze, survival, verify and report.

The repository's main branch is ``origin/HEAD``'s target (``origin/main``),
else a local ``main``, ``master`` or ``trunk``; ``-b/--branch`` overrides it
everywhere.  When both the remote-tracking branch and its local counterpart
exist, the one holding the other is measured: a local ``main`` behind
``origin/main`` (not pulled yet) gives ``origin/main``, one ahead of it
(commits not pushed yet) gives ``main``, and when they have diverged the local
one is measured and the choice said.  A detached HEAD does not change the
choice (CI checkouts are detached); it is said, with how to measure HEAD
instead (``-b HEAD``).  Every output names the branch and the tip commit it
measured (docs/survival.md, "Which branch").
"""

from __future__ import annotations

from dataclasses import dataclass

from gitroi.errors import GitroiError
from gitroi.git import Repo, run_git
from gitroi.wording import plural


@dataclass(frozen=True)
class Branch:
    """The branch a command measures, its tip, and why it was chosen when that is not plain."""

    name: str
    tip: str
    #: Sentences for the user ("" when the choice is the obvious one).
    note: str = ""
    detached: bool = False


def _rev(repo: Repo, ref: str) -> str:
    out = run_git(["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], cwd=repo.cwd, check=False)
    return out.stdout.decode().strip()


def _count(repo: Repo, a: str, b: str) -> int:
    out = run_git(["rev-list", "--count", f"{a}..{b}"], cwd=repo.cwd, check=False)
    text = out.stdout.decode().strip()
    return int(text) if text.isdigit() else 0


def _branches(repo: Repo) -> list[str]:
    out = run_git(["for-each-ref", "--format=%(refname:short)", "--count=12", "refs/heads", "refs/remotes"],
                  cwd=repo.cwd, check=False)
    return [b for b in out.stdout.decode().split() if not b.endswith("/HEAD")]


def resolve_branch(repo: Repo, branch: str | None = None) -> Branch | None:
    """The branch to measure and its tip; None in a repository without commits.

    ``branch`` given: that ref (any revision git knows), or a GitroiError
    listing the branches there are.
    """
    # HEAD is detached when it names no branch (an unborn HEAD still names one).
    if branch:
        tip = _rev(repo, branch)
        detached = run_git(["symbolic-ref", "-q", "HEAD"], cwd=repo.cwd, check=False).returncode != 0
        if not tip:
            if not _rev(repo, "HEAD") and not _branches(repo):
                return None
            names = _branches(repo)
            raise GitroiError(f"branch {branch!r} does not exist",
                              hint=("branches here: " + ", ".join(names) + " (pass one with --branch NAME)") if names
                              else "this repository has no branches yet")
        return Branch(branch, tip, detached=detached)
    head = _rev(repo, "HEAD")
    detached = bool(head) and run_git(["symbolic-ref", "-q", "HEAD"], cwd=repo.cwd,
                                      check=False).returncode != 0
    remote = run_git(["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"], cwd=repo.cwd,
                     check=False).stdout.decode().strip()
    local = ""
    if remote and "/" in remote:
        cand = remote.split("/", 1)[1]
        if _rev(repo, f"refs/heads/{cand}"):
            local = cand
    if not remote:
        for cand in ("main", "master", "trunk"):
            if _rev(repo, f"refs/heads/{cand}"):
                local = cand
                break
    name, note = _choose(repo, local, remote)
    if not name:
        if not head:
            return None
        name = "HEAD"
    tip = _rev(repo, name)
    if not tip:
        return None
    if detached and name != "HEAD":
        note = (note + " " if note else "") + (
            f"HEAD is detached at {head[:12]}; measuring {name} (pass -b HEAD to measure the checked-out commit).")
    elif detached:
        note = (note + " " if note else "") + f"HEAD is detached at {head[:12]} and there is no main branch; " \
            "measuring HEAD."
    return Branch(name, tip, note=note, detached=detached)


def _choose(repo: Repo, local: str, remote: str) -> tuple[str, str]:
    """Between a local branch and its remote-tracking one, the one holding the other."""
    if not (local and remote):
        return local or remote, ""
    lt, rt = _rev(repo, f"refs/heads/{local}"), _rev(repo, remote)
    if lt == rt:
        return local, ""
    if repo.is_ancestor(lt, rt):
        n = _count(repo, lt, rt)
        return remote, (f"local {local} is {plural(n, 'commit')} behind {remote}; measuring {remote} "
                        f"(`git pull` brings {local} up to date).")
    if repo.is_ancestor(rt, lt):
        n = _count(repo, rt, lt)
        return local, f"{local} is {plural(n, 'commit')} ahead of {remote} (not pushed); measuring {local}."
    return local, (f"{local} and {remote} have diverged; measuring {local} "
                   f"(pass -b {remote} to measure the remote one).")
