"""The hook's view of its repository, read from the files under ``.git`` without running git.

git runs a hook at the top of the work tree; each ``git rev-parse`` a hook
ran would cost a process start (a few ms) on every commit.  Everything here
answers None when unsure, and the caller then asks git.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from gitroi.git import Repo


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def fast_git_dirs(cwd: str) -> tuple[str, str] | None:
    """(git dir, common dir) of the work tree at ``cwd`` without running git (hooks run at
    the top of the work tree); None when unsure (the caller then asks git)."""
    env_dir = os.environ.get("GIT_DIR")
    if env_dir:
        git_dir = os.path.abspath(os.path.join(cwd, env_dir))
    else:
        dot = os.path.join(cwd, ".git")
        if os.path.isdir(dot):
            git_dir = dot
        elif os.path.isfile(dot):
            text = read_text(dot) or ""
            if not text.startswith("gitdir:"):
                return None
            git_dir = os.path.abspath(os.path.join(cwd, text[len("gitdir:"):].strip()))
        else:
            return None
    if not os.path.isfile(os.path.join(git_dir, "HEAD")):
        return None
    common = read_text(os.path.join(git_dir, "commondir"))
    common_dir = os.path.abspath(os.path.join(git_dir, common)) if common else git_dir
    return git_dir, common_dir


def discover_repo(cwd: str) -> Repo:
    """The repository whose hook runs at ``cwd``, as :meth:`gitroi.git.Repo.discover` finds it.

    git runs a hook at the top of the work tree, so when ``cwd/.git`` is there
    the paths are read from it (no ``git rev-parse``: the hook counts each
    subprocess); the git directory named by ``GIT_DIR`` (set in a linked work
    tree) must be the same one, else git is asked as before.
    """
    from gitroi.git import Repo, RepoPaths

    saved = os.environ.pop("GIT_DIR", None)
    try:
        dirs = fast_git_dirs(cwd)
    finally:
        if saved is not None:
            os.environ["GIT_DIR"] = saved
    if dirs is not None:
        git_dir, common_dir = (os.path.realpath(d) for d in dirs)
        if saved is None or os.path.realpath(os.path.join(cwd, saved)) == git_dir:
            from pathlib import Path

            return Repo(RepoPaths(workdir=Path(os.path.realpath(cwd)), git_dir=Path(git_dir),
                                  common_dir=Path(common_dir)))
    return Repo.discover(cwd)


def fast_head(git_dir: str, common_dir: str) -> str | None:
    """The commit HEAD points at, read from the ref files; None when it needs git to tell."""
    head = read_text(os.path.join(git_dir, "HEAD")) or ""
    if not head.startswith("ref:"):
        return head if len(head) in (40, 64) else None
    ref = head[4:].strip()
    for base in (git_dir, common_dir):
        value = read_text(os.path.join(base, ref))
        if value and len(value) in (40, 64):
            return value
    packed = read_text(os.path.join(common_dir, "packed-refs")) or ""
    for line in packed.splitlines():
        parts = line.split(" ", 1)
        if len(parts) == 2 and parts[1] == ref:
            return parts[0]
    return None


def picked_commit(git_dir: str) -> tuple[bool, str | None]:
    """(whether a rebase is picking, so post-rewrite will map its picks; the commit a
    cherry-pick copies, from ``CHERRY_PICK_HEAD``, or None), read without git."""
    picked = read_text(os.path.join(git_dir, "CHERRY_PICK_HEAD"))
    if picked is not None and (os.path.isdir(os.path.join(git_dir, "rebase-merge"))
                               or os.path.isdir(os.path.join(git_dir, "rebase-apply"))):
        return True, None
    return False, picked or None
