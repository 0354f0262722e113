"""The next gitroi command finishes what the hooks could not (docs/reliability.md).

A hook's job file (:mod:`gitroi.attribution.pending`) outlives the hook when
the hook was killed, when it queued its work because another hook held the
lock, or when the ledger could not be written (the note was, the ledger is
behind).  :func:`settle` is called by every command that opens the ledger,
and by ``gitroi show`` for the commit it shows: it waits, bounded, for work
still running, then redoes what nobody is doing, so the ledger ends as a
clean run would have left it and ``show`` never says "none" for a commit
whose hook has not finished.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gitroi.attribution import pending
from gitroi.attribution.hooklock import hook_lock, state_dir
from gitroi.attribution.hookwarn import HookWarning
from gitroi.errors import GitroiError
from gitroi.wording import plural

if TYPE_CHECKING:
    from gitroi.git import Repo

#: How long a command waits for a hook still running (a commit's worker past its deadline).
WAIT_S = 5.0


def settle(repo: Repo, db: Callable[[], Any], *, commits: list[str] | None = None,
           wait_s: float = WAIT_S) -> list[str]:
    """Wait up to ``wait_s`` for running hook work on ``commits`` (None: any), then redo the
    jobs nobody is doing (all of them when ``commits`` is None, else those on ``commits``
    and a ledger left behind).  ``db`` opens the ledger when there is work.  Returns the
    lines to tell the user (empty when nothing was pending: one directory listing)."""
    common = str(repo.paths.common_dir)
    if not pending.jobs(common):
        return []
    lines: list[str] = []
    if not pending.wait_for(common, commits, wait_s):
        lines.append(f"gitroi: warning: a gitroi hook is still working after {wait_s:g} s; "
                     "what it has not finished yet is not shown")
    todo = [j for j in pending.iter_unfinished(common)
            if commits is None or j.hook == "ledger" or set(j.commits()) & set(commits)]
    if not todo:
        return lines
    ledger = db()
    with hook_lock(state_dir(repo), timeout=wait_s) as lock:
        if not lock.held:
            return [*lines, "gitroi: warning: the gitroi hooks are busy; their unfinished "
                            "work is done by the next gitroi command"]
        for job in todo:
            fresh = pending.read_job(job.path)
            if fresh is None or fresh.state() == "running":
                continue  # done meanwhile, or taken by another process
            killed, told = fresh.state() == "killed", fresh.message()
            pending.claim(fresh)
            said = redo_one(repo, ledger, fresh, killed=killed, told=told)
            if said:
                lines.append(said)
    return lines


def redo_one(repo: Repo, db: Any, job: pending.Job, *, killed: bool, told: str) -> str | None:
    """Redo a job the caller has claimed (:func:`redo`); the line to tell the user, if any.

    ``killed`` and ``told`` are the job's state and description from before the
    claim.  A failure queues the job again for the next gitroi command.
    """
    try:
        redo(repo, db, job)
    except (GitroiError, HookWarning, OSError, sqlite3.Error) as exc:
        pending.claim(job, pid=0)
        text = exc.message if isinstance(exc, (GitroiError, HookWarning)) else str(exc)
        return f"gitroi: warning: {told}; doing it now failed: {text}"
    pending.finish(job.path)
    if killed and job.hook == "post-commit":
        return (f"gitroi: commit {job.sha[:12]} had no note (its post-commit hook was killed); "
                "attributed it now")
    if killed and job.hook == "post-rewrite":
        return (f"gitroi: the notes of {plural(len(job.commits()), 'rewritten commit')} had not "
                "been carried over (the post-rewrite hook was killed); carried over now")
    return None


def redo(repo: Repo, db: Any, job: pending.Job) -> None:
    """Do a job's work as the hook would have (notes first, then the ledger)."""
    from gitroi.attribution.rebuild import ensure_ledger

    if job.hook == "post-commit":
        from gitroi.attribution.attribute import attribute_commit

        picked = job.args[1] if len(job.args) > 1 else None
        if picked:
            from gitroi.attribution.rewrite import remap

            if remap(repo, [picked], job.sha) is not None:
                ensure_ledger(repo, db)
                return
        attribute_commit(repo, db, job.sha)
    elif job.hook == "post-rewrite":
        from gitroi.attribution.postrewrite import post_rewrite

        kind = job.args[1] if len(job.args) > 1 else ""
        post_rewrite(repo, "" if kind == "-" else kind, job.data)
        ensure_ledger(repo, db)
    elif job.hook == "ledger":
        from gitroi.sessions.importer import import_sessions

        import_sessions(db, repo=repo)
        ensure_ledger(repo, db)


def describe_jobs(repo: Repo) -> list[dict[str, str]]:
    """The unfinished hook jobs, for ``gitroi doctor``."""
    return [{"hook": j.hook, "commit": j.sha, "state": j.state(), "message": j.message()}
            for j in pending.jobs(str(repo.paths.common_dir)) if j.hook != "ledger"]
