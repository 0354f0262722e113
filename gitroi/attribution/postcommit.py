"""The post-commit hook: attribute the new commit, or carry a cherry-picked commit's note over.

A cherry-pick carries the picked commit's note over (``CHERRY_PICK_HEAD``
exists while its post-commit runs), and the picks of a rebase are left to
post-rewrite, which sees them all at once.  The work runs in a forked,
detached child so the commit returns at once (:func:`post_commit_background`);
a failure there becomes the warning line of the next commit.
``GITROI_HOOK_FOREGROUND=1`` does it all before returning.
"""

from __future__ import annotations

import contextlib
import os
import sys

from gitroi.attribution.fastgit import discover_repo, fast_git_dirs, fast_head, picked_commit
from gitroi.attribution.hooklock import LOCK_WAIT_S, acquire, open_lock
from gitroi.attribution.hookwarn import HookWarning, defer, take_deferred, warning_line
from gitroi.attribution.lazymodules import defer_inspect, defer_sqlite_utils

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from gitroi.git import Repo

# How long the hook waits for a ledger another gitroi holds before giving up.
HOOK_BUSY_TIMEOUT_MS = 1000
# In the background nobody waits: give a busy ledger (a long `gitroi report`) more time.
BACKGROUND_BUSY_TIMEOUT_MS = 15000
_busy_timeout_ms = HOOK_BUSY_TIMEOUT_MS


def ledger_path(repo: Repo) -> str:
    """The ledger the CLI would use: ``GITROI_DB``, else the common git dir's."""
    return os.environ.get("GITROI_DB") or str(repo.paths.default_ledger)


def post_commit(repo: Repo, *, sha: str | None = None, picked: str | None = None,
                checked: bool = False) -> None:
    """Attribute the new commit, or carry a cherry-picked commit's note over.

    ``checked`` means the caller (the foreground half of a background run)
    already read HEAD, ``CHERRY_PICK_HEAD`` and the rebase state, which may be
    gone by the time this runs.
    """
    if not checked:
        git_dir = str(repo.paths.git_dir)
        sha = fast_head(git_dir, str(repo.paths.common_dir)) or repo.head()
        rebasing, picked = picked_commit(git_dir)
        if rebasing:
            return  # post-rewrite maps every pick of the rebase once it ends
    if sha is None:
        return
    if picked:
        from gitroi.attribution.rewrite import remap

        if remap(repo, [picked], sha) is not None:
            return
    defer_sqlite_utils()
    from gitroi.attribution.attribute import attribute_commit
    from gitroi.attribution.commits import CommitRead
    from gitroi.ledger.fast import open_fast

    read = CommitRead(repo, sha)  # git prepares the diff while the session logs are read
    try:
        db = open_fast(ledger_path(repo), busy_timeout_ms=_busy_timeout_ms)
        try:
            problems = import_logs(repo, db)
            attribute_commit(repo, db, sha, import_logs=False, read=read)
        finally:
            db.conn.close()
    finally:
        read.close()
    if problems:
        # The commit is attributed from what could be read; say what could not.
        raise HookWarning(problems)


def import_logs(repo: Repo, db: object) -> str | None:
    """Read this repository's new session log bytes (the importer's stat-only path when
    nothing changed); returns the one-line summary of what could not be read, if anything."""
    from gitroi.sessions.importer import import_sessions

    summary = import_sessions(db, repo=repo)  # type: ignore[arg-type]
    line = summary.problem_line()
    return line.removeprefix("gitroi: ") if line else None


def foreground() -> bool:
    """``GITROI_HOOK_FOREGROUND=1``: do the post-commit work before returning to git."""
    return os.environ.get("GITROI_HOOK_FOREGROUND", "").strip().lower() in ("1", "true", "yes")


def post_commit_background() -> bool:
    """Return to git at once and attribute in a forked child (False: run in the foreground).

    The foreground half reads, without git, what may change once git moves on
    (HEAD, ``CHERRY_PICK_HEAD``, the rebase state), prints the warning a
    previous background run left, and forks.  The child detaches from git's
    terminal and pipes, waits for the repository's hook lock, does the work,
    and leaves any failure as a warning line for the next commit to print.
    """
    cwd = os.getcwd()
    dirs = fast_git_dirs(cwd)
    if dirs is None:
        return False
    git_dir, common_dir = dirs
    sha = fast_head(git_dir, common_dir)
    if sha is None:
        return False
    state = os.path.join(common_dir, "gitroi")
    pending = take_deferred(state)
    if pending:
        sys.stderr.write(pending + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    rebasing, picked = picked_commit(git_dir)
    if rebasing:
        return True  # a rebase's pick: post-rewrite maps them all at the end
    # Take the lock before forking when it is free, so the child holds it from the first
    # instant (the lock belongs to the open file, which the child inherits): whoever waits
    # for this commit's hook (an amend's post-rewrite, a notes push, a script) cannot slip
    # in before the child starts.  When another hook holds it, the child waits instead.
    lock_fd = open_lock(state)
    held = acquire(lock_fd, None, wait=False)
    if os.fork() != 0:
        # the parent: back to git now, without the interpreter's teardown
        os._exit(0)
    # the child: never returns
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        # give git the CPU to finish the commit first: the user waits for it, not for us
        os.nice(10)
        import time

        time.sleep(0.05)
        import io

        sys.stderr = io.StringIO()
        global _busy_timeout_ms
        _busy_timeout_ms = BACKGROUND_BUSY_TIMEOUT_MS
        if not held:
            acquire(lock_fd, LOCK_WAIT_S * 4)
        defer_inspect()
        post_commit(discover_repo(cwd), sha=sha, picked=picked, checked=True)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            defer(state, warning_line(f"post-commit of {sha[:12]} (in the background)", exc))
    finally:
        os._exit(0)
