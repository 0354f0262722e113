"""The post-commit hook: attribute the new commit before ``git commit`` returns.

A cherry-pick carries the picked commit's note over (``CHERRY_PICK_HEAD``
exists while its post-commit runs), and the picks of a rebase are left to
post-rewrite, which sees them all at once.

Three promises (docs/hooks.md, docs/reliability.md):

* **The work is done when the commit is.**  :func:`hook` forks a worker
  and waits for it; in the common case it finishes in a few tens of
  milliseconds and ``gitroi show HEAD`` right after the commit sees the
  note.  Only past :data:`gitroi.attribution.hookclient.DEADLINE_S` (a first import of a huge log, a busy
  disk) does the hook return to git and leave the worker running; its job
  file (:mod:`gitroi.attribution.pending`) then tells ``gitroi show`` and
  ``report`` to wait for it.
* **The note first.**  The note is the source of truth and git alone writes
  it: the ledger's new rows stay in one open transaction until the note is
  written, and when the ledger cannot be written at all (locked past half a
  second, read-only, full, corrupt) the note is decided on a copy of the
  ledger in memory and written anyway; the ledger catches up from the notes
  on the next gitroi command.
* **Nothing lost without a word.**  A job file is written before the work
  starts and removed after it: a killed worker leaves it, and the next
  commit, the next gitroi command and ``gitroi doctor`` say so (the next
  command also redoes the work).
"""

from __future__ import annotations

import contextlib
import os
import sys

from gitroi.attribution import compilecache, hooktrace, pending
from gitroi.attribution.fastgit import discover_repo, fast_git_dirs, fast_head, picked_commit
from gitroi.attribution.hookclient import deadline, write_all
from gitroi.attribution.hooklock import LOCK_WAIT_S, hook_lock
from gitroi.attribution.hooktrace import mark
from gitroi.attribution.hookwarn import HookWarning, defer, take_deferred, warning_line
from gitroi.attribution.lazymodules import prepare_hook_process

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from typing import Any

    from gitroi.attribution.attribute import Decided
    from gitroi.attribution.commits import CommitRead
    from gitroi.git import Repo

# How long the hook waits for a ledger another gitroi holds; past it the note is decided on
# a copy of the ledger and written anyway (the ledger catches up on the next gitroi command).
HOOK_BUSY_TIMEOUT_MS = 500


def ledger_path(repo: Repo) -> str:
    """The ledger the CLI would use: ``GITROI_DB``, else the common git dir's."""
    return os.environ.get("GITROI_DB") or str(repo.paths.default_ledger)


def foreground() -> bool:
    """``GITROI_HOOK_FOREGROUND=1``: no worker and no deadline, the work in the hook's process."""
    return os.environ.get("GITROI_HOOK_FOREGROUND", "").strip().lower() in ("1", "true", "yes")


# --- the hook --------------------------------------------------------------------------------


def hook(pipe: int | None = None, *, served: bool = False) -> None:
    """What ``post-commit`` runs: read what git may change next, record the job, do the work.

    ``pipe``: the installed script's (:func:`gitroi.attribution.hookclient.waiter_pipe`), or
    the hook's connection when a warm server does the work (``served``); the commit is
    named there first.  Raises on failure (:func:`gitroi.attribution.hookrun.main` prints
    the warning line).
    """
    cwd = os.getcwd()
    dirs = fast_git_dirs(cwd)
    repo = None
    if dirs is None:
        repo = discover_repo(cwd)
        dirs = (str(repo.paths.git_dir), str(repo.paths.common_dir))
    git_dir, common_dir = dirs
    sha = fast_head(git_dir, common_dir)
    if sha is None:
        repo = repo or discover_repo(cwd)
        sha = repo.head()
    if sha is None:
        return
    state = os.path.join(common_dir, "gitroi")
    left = take_deferred(state) or take_deferred(common_dir)
    if left:
        sys.stderr.write(left + "\n")
    rebasing, picked = picked_commit(git_dir)
    if rebasing:
        return  # a rebase's pick: post-rewrite maps them all once the rebase ends
    args = [sha, picked] if picked else [sha]
    job = pending.begin(common_dir, "post-commit", args)
    if job is None:
        sys.stderr.write(f"gitroi: warning: post-commit: cannot record the work on commit "
                         f"{sha[:12]} under {state} (read-only or full); if this hook is "
                         f"stopped, run `gitroi attribute {sha[:12]}`\n")
    if pipe is not None:
        write_all(pipe, f"sha {sha[:12]}\n".encode())  # the script names it if this is killed
    sys.stderr.flush()
    sys.stdout.flush()
    mark("job recorded")
    if foreground() or not hasattr(os, "fork"):
        prepare_hook_process()
        out: list[str] = []
        try:
            work(cwd, common_dir, sha, picked, job, out)
        finally:
            sys.stderr.write("".join(line + "\n" for line in out))
        return
    if pipe is not None:
        _work_watched(cwd, common_dir, sha, picked, job, pipe, served=served)
    else:
        _fork_and_wait(cwd, common_dir, sha, picked, job)


class _Deadline:
    """The deadline of work done in the hook's own process, while the ``sh`` script waits on
    its pipe (and the pipe's end of a subshell waiting for this process's exit status).

    In the common case the work ends first and nothing happens.  Past the
    deadline a thread says that the work goes on in the background, lets go of
    everything git and the script wait on (the pipe, stdin, stdout, stderr: all
    /dev/null from then on), leaves git's session and stops the subshell that
    waits for this process, so ``git commit`` returns; the work goes on in this
    process, which still holds the job file (``gitroi show`` waits for it) and
    the ledger's locks.  A lock decides which of the two comes first.
    """

    def __init__(self, pipe: int, sha: str, limit: float) -> None:
        import _thread

        self.pipe, self.sha, self.limit = pipe, sha, limit
        self.lock = _thread.allocate_lock()
        self.gone = False
        self.over = False
        self.waiter = os.getppid()  # the script's subshell, in `wait` for this process

    def start(self) -> None:
        import _thread

        _thread.start_new_thread(self._watch, ())

    def _watch(self) -> None:
        import time

        time.sleep(self.limit)
        with self.lock:
            if self.over:
                return
            self.gone = True
            with contextlib.suppress(BaseException):  # no traceback on git's stderr
                self._let_go()

    def _let_go(self) -> None:
        said = sys.stderr.getvalue() if hasattr(sys.stderr, "getvalue") else ""
        line = (f"gitroi: post-commit: attributing {self.sha[:12]} goes on in the background "
                f"(over {self.limit:g} s); `gitroi show` waits for it\n")
        write_all(2, (said + line).encode("utf-8", "replace"))
        write_all(self.pipe, b"background\n")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2, self.pipe):
            os.dup2(null, fd)
        os.close(null)
        with contextlib.suppress(OSError):
            os.setsid()  # no SIGHUP when git's terminal closes
        if self.waiter > 1 and os.getppid() == self.waiter:
            os.kill(self.waiter, __import__("_signal").SIGPIPE)

    def finish(self) -> bool:
        """The work is over: False when the deadline came first (git has returned)."""
        with self.lock:
            self.over = True
            return not self.gone


def _work_watched(cwd: str, common_dir: str, sha: str, picked: str | None, job: str | None,
                  pipe: int, *, served: bool = False) -> None:
    """Do :func:`work` in this process, the installed script waiting on ``pipe``; past the
    deadline git returns and the work goes on here.  ``served``: this process is a warm hook
    server (:mod:`gitroi.attribution.hookserver`), and the hook it works for watches the
    deadline.

    No fork: the worker process cost ~3 ms a commit (its creation, and the
    pages of the parent it wrote to), and SQLite's locks belong to the process
    that takes them, so the work cannot move to another process half-way.
    """
    watch = _Deadline(pipe, sha, deadline())
    if not served:
        watch.start()
    prepare_hook_process()
    out = _work_said(cwd, common_dir, sha, picked, job)
    if watch.finish():
        sys.stderr.write("".join(line + "\n" for line in out))
    else:
        defer_warnings(common_dir, out)


def _work_said(cwd: str, common_dir: str, sha: str, picked: str | None, job: str | None) -> list[str]:
    """:func:`work`, and what it has to say: its lines, or a warning naming the failure
    and the command that catches up (a hook never fails a commit)."""
    out: list[str] = []
    try:
        work(cwd, common_dir, sha, picked, job, out)
    except BaseException as exc:
        out.append(warning_line(f"post-commit of {sha[:12]}", exc,
                                catch_up=f"gitroi attribute {sha[:12]}"))
    return out


def _fork_and_wait(cwd: str, common_dir: str, sha: str, picked: str | None,
                   job: str | None) -> None:
    """Do :func:`work` in a forked worker; wait for it up to the deadline.

    The worker is detached from git's terminal and pipes from its first
    instant (git waits for the hook's output to close), so it can outlive the
    hook.  What it has to say comes back through a pipe; when the hook has
    gone, its warnings go to ``.git/gitroi/hook-warnings.log`` for the next
    commit (its work, if unfinished, stays in its job file).
    """
    import select

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 0
        try:
            os.close(r)
            hooktrace.forked()
            mark("forked")
            prepare_hook_process()
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            import io

            sys.stderr = io.StringIO()
            if job is not None:
                claimed = pending.read_job(job)
                if claimed is not None:
                    pending.claim(claimed)
            _report(w, common_dir, _work_said(cwd, common_dir, sha, picked, job))
        except BaseException:
            code = 1
        finally:
            hooktrace.flush()
            compilecache.save()
            os._exit(code)
    os.close(w)
    limit = deadline()
    import time

    end = time.monotonic() + limit
    chunks: list[bytes] = []
    done = False
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            break
        data = os.read(r, 65536)
        if not data:
            done = True
            break
        chunks.append(data)
    os.close(r)
    mark("worker done")
    if chunks:
        sys.stderr.write(b"".join(chunks).decode("utf-8", "replace"))
    if not done:
        sys.stderr.write(f"gitroi: post-commit: attributing {sha[:12]} goes on in the "
                         f"background (over {limit:g} s); `gitroi show` waits for it\n")
        return
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        raise HookWarning(f"the work was killed (signal {os.WTERMSIG(status)}): commit "
                          f"{sha[:12]} has no note", catch_up=f"gitroi attribute {sha[:12]}")


def _report(w: int, common_dir: str, out: list[str]) -> None:
    """The worker's last word, through the pipe; when the hook has gone (past the deadline),
    its warnings are left in the warnings log for the next commit."""
    if not out:
        return
    try:
        write_all(w, "".join(line + "\n" for line in out).encode("utf-8", "replace"))
        return
    except OSError:
        pass
    defer_warnings(common_dir, out)


def defer_warnings(common_dir: str, out: list[str]) -> None:
    """Warnings of work that went on in the background, for the next commit to say."""
    for line in out:
        if not line.startswith("gitroi: warning: "):
            continue
        for where in (os.path.join(common_dir, "gitroi"), common_dir):
            try:
                defer(where, line)
                break
            except OSError:
                continue


def work(cwd: str, common_dir: str, sha: str, picked: str | None, job: str | None,
         out: list[str]) -> None:
    """Attribute ``sha`` under the repository's hook lock; queue it when the lock stays taken.

    Work an earlier hook left (killed, or queued) is done first, in order, so
    token slices split exactly as they would have; ``out`` gets what to tell
    the user about it.
    """
    repo = discover_repo(cwd)
    with hook_lock(os.path.join(common_dir, "gitroi"), timeout=LOCK_WAIT_S) as lock:
        if not lock.held:
            # another hook works on this repository (a commit in another work tree): the next
            # gitroi command, or the next commit, does this one (docs/reliability.md)
            found = pending.read_job(job) if job else None
            if found is None or not pending.claim(found, pid=0):
                raise HookWarning(f"another gitroi hook kept the lock past {LOCK_WAIT_S:g} s "
                                  f"and the work could not be queued: commit {sha[:12]} has "
                                  "no note", catch_up=f"gitroi attribute {sha[:12]}")
            return
        mark("locked")
        earlier = [j for j in pending.iter_unfinished(common_dir) if j.path != job]
        if earlier:
            _catch_up(repo, earlier, out)
        try:
            post_commit(repo, sha, picked)
        except HookWarning:
            pending.finish(job)  # the note is written; the warning says what else went wrong
            raise
        except BaseException:
            _requeue(job)  # the next gitroi command tries again
            raise
    pending.finish(job)
    mark("job finished")


def _catch_up(repo: Repo, jobs: list[pending.Job], out: list[str]) -> None:
    """Redo what earlier hooks left, before this commit's own work (rare: a killed hook, a
    queued one, a ledger left behind)."""
    import sqlite3

    from gitroi.attribution.catchup import redo_one
    from gitroi.errors import GitroiError
    from gitroi.ledger.fast import open_fast

    try:
        db = open_fast(ledger_path(repo), busy_timeout_ms=HOOK_BUSY_TIMEOUT_MS)
    except (GitroiError, OSError, sqlite3.Error):
        return  # the ledger is out of reach: the next gitroi command does it
    try:
        for j in jobs:
            killed, told = j.state() == "killed", j.message()
            if not pending.claim(j):
                continue
            said = redo_one(repo, db, j, killed=killed, told=told)
            if said:
                out.append(said)
    finally:
        db.conn.close()


def _requeue(job: str | None) -> None:
    found = pending.read_job(job) if job else None
    if found is not None:
        pending.claim(found, pid=0)


# --- the work --------------------------------------------------------------------------------


def post_commit(repo: Repo, sha: str, picked: str | None = None, *,
                busy_timeout_ms: int = HOOK_BUSY_TIMEOUT_MS) -> None:
    """Attribute the new commit, or carry a cherry-picked commit's note over; note first."""
    if picked:
        from gitroi.attribution.rewrite import remap

        if remap(repo, [picked], sha) is not None:
            return
    from gitroi.attribution.commits import CommitRead

    read = CommitRead(repo, sha)  # git prepares the diff while the session logs are read
    mark("started git log")
    try:
        problems = _attribute(repo, sha, read, busy_timeout_ms)
    finally:
        read.close()
    if problems:
        # The commit is attributed from what could be read; say what could not.
        raise HookWarning(problems)


def _attribute(repo: Repo, sha: str, read: CommitRead, busy_timeout_ms: int) -> str | None:
    """The note first, then the ledger rows, in one ledger transaction left open until the note
    is written.  Returns the import's problem line, if any."""
    import sqlite3

    from gitroi.errors import GitroiError
    path = ledger_path(repo)
    noted = False
    trouble: BaseException | None = None
    problems: str | None = None
    try:
        db = _open_ledger(path, busy_timeout_ms)
    except (GitroiError, OSError, sqlite3.Error) as exc:
        db, trouble = None, exc
    if db is not None:
        try:
            mark("opened the ledger")
            with db.atomic():  # nothing reaches the ledger file before the note is in git
                problems = import_logs(repo, db)
                mark("read the session logs")
                decided = _decide(repo, db, sha, read)
                mark("decided")
                _write_note(repo, decided)
                noted = True
                mark("wrote the note")
                _write_rows(db, decided)
                mark("wrote the rows")
        except _NoteFailed as failed:
            raise failed.cause from None
        except (GitroiError, OSError, sqlite3.Error) as exc:
            trouble = exc
        finally:
            _close_ledger(path, db, keep=trouble is None)
            mark("committed the ledger")
    if trouble is None:
        return problems
    if not noted:
        problems = _note_from_copy(repo, sha, read, path)
    _ledger_behind(repo)
    if _worth_saying(trouble):
        from gitroi.attribution.hookwarn import describe

        why = describe(trouble)
        if _disk_full(path) and "disk is full" not in why:
            why = f"the disk is full: {why}"  # SQLite may say only "disk I/O error"
        raise HookWarning(f"the ledger {path} could not be written ({why}); the "
                          "note is written and the ledger catches up on the next gitroi command",
                          catch_up="gitroi report") from trouble
    return problems


#: In a warm hook server (:mod:`gitroi.attribution.hookserver` sets it): the ledger's
#: connection is kept from one commit to the next, which saves opening it and SQLite's
#: parsing of its schema (~2.5 ms a commit).
KEEP_LEDGER = False
_kept: dict[str, tuple[tuple[int, int], Any]] = {}


def _open_ledger(path: str, busy_timeout_ms: int) -> Any:
    """The ledger's fast handle: the kept one while ``path`` is still the file it was opened
    on (same device and inode: a ledger moved aside, deleted or rebuilt is another file, and
    the open connection keeps the old inode from being reused), else a new one."""
    from gitroi.ledger.fast import open_fast

    kept = _kept.pop(path, None)
    if kept is not None:
        (dev, ino), db = kept
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) == (dev, ino):
                return db
        except OSError:
            pass
        db.conn.close()
    return open_fast(path, busy_timeout_ms=busy_timeout_ms)


def _close_ledger(path: str, db: Any, *, keep: bool) -> None:
    """Close the connection (no transaction is open by now), or keep it for the next commit
    in a warm hook server when all went well."""
    from gitroi.ledger.fast import FastLedger

    if keep and KEEP_LEDGER and isinstance(db, FastLedger) and not db.conn.in_transaction:
        try:
            st = os.stat(path)
        except OSError:
            pass
        else:
            _kept[path] = ((st.st_dev, st.st_ino), db)
            return
    db.conn.close()


class _NoteFailed(Exception):
    """git could not write the note: nothing the ledger can make up for."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _decide(repo: Repo, db: Any, sha: str, read: CommitRead) -> Decided:
    from gitroi.attribution.attribute import decide_commit

    return decide_commit(repo, db, sha, read=read)


def _write_note(repo: Repo, decided: Decided) -> None:
    """git alone writes the note, merged with the one already there (docs/notes.md)."""
    from gitroi.attribution.notes import write_note

    if decided.note is None:
        return
    try:
        decided.written = write_note(repo, decided.meta.sha, decided.note,
                                     existing=decided.old_note)
    except Exception as exc:
        raise _NoteFailed(exc) from exc


def _write_rows(db: Any, decided: Decided) -> None:
    if decided.written is None:
        return
    from gitroi.attribution.records import record_from_note
    from gitroi.ledger.commits import write_commits

    write_commits(db, [record_from_note(decided.meta, decided.counted(decided.written),
                                        lines_added=decided.added.count)])


def _note_from_copy(repo: Repo, sha: str, read: CommitRead, path: str) -> str | None:
    """Decide the note on a copy of the ledger in memory and write it; the ledger is untouched."""
    db = scratch_ledger(repo, path)
    try:
        problems = import_logs(repo, db)
        decided = _decide(repo, db, sha, read)
        try:
            _write_note(repo, decided)
        except _NoteFailed as failed:
            raise failed.cause from None
    finally:
        db.conn.close()
    return problems


def scratch_ledger(repo: Repo, path: str) -> Any:
    """A copy of the ledger in memory, read while another process holds its write lock, from a
    read-only directory, or from a full disk; when it cannot be read at all, an empty ledger
    filled from the notes (so token slices still start where the last commit's ended)."""
    import sqlite3
    from urllib.parse import quote

    from gitroi.ledger.fast import FastLedger

    mem = sqlite3.connect(":memory:")
    for params in ("mode=ro", "mode=ro&immutable=1"):
        try:
            src = sqlite3.connect(f"file:{quote(path)}?{params}", uri=True, timeout=0.2)
            try:
                src.backup(mem)
                mem.execute("SELECT name FROM _sqlite_migrations LIMIT 1").fetchall()
                return FastLedger(mem)
            finally:
                src.close()
        except sqlite3.Error:
            continue
    mem.close()
    from gitroi.attribution.rebuild import ensure_ledger
    from gitroi.ledger import memory_ledger

    fresh = memory_ledger()
    ensure_ledger(repo, fresh, lines=False)
    return fresh


def _ledger_behind(repo: Repo) -> None:
    """Leave a queued job so the next gitroi command brings the ledger up to the notes."""
    common = str(repo.paths.common_dir)
    if not any(j.hook == "ledger" for j in pending.jobs(common)):
        pending.begin(common, "ledger", ["-"], pid=0)


def _disk_full(path: str) -> bool:
    """Less than 64 KiB left for unprivileged writes where the ledger lives."""
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _worth_saying(exc: BaseException) -> bool:
    """A locked ledger is routine (another gitroi is working) and is caught up silently; a
    full disk, a read-only or corrupt ledger needs the user."""
    text = str(exc).lower() + " " + str(getattr(exc, "__cause__", "") or "").lower()
    return "locked" not in text and "busy" not in text


def import_logs(repo: Repo, db: Any) -> str | None:
    """Read this repository's new session log bytes (the importer's stat-only path when
    nothing changed); returns the one-line summary of what could not be read, if anything."""
    from pathlib import Path

    from gitroi.sessions.importer import import_sessions
    from gitroi.sessions.registry import readers

    # only the readers whose logs may be here: the others' modules are not even imported
    home = Path(os.environ.get("HOME") or Path.home())
    summary = import_sessions(db, repo=repo, readers=readers(present=(os.environ, home)))
    line = summary.problem_line()
    return line.removeprefix("gitroi: ") if line else None
