"""Hook work in flight, queued or killed: one small job file per piece of work.

A hook writes its job file BEFORE the work starts and removes it once the
work is done, so whatever stops it half-way (``kill -9``, a closed laptop, the
OOM killer, a power cut) leaves the file behind, and nothing is lost without a
word: the next commit says so, the next gitroi command redoes the work
(:mod:`gitroi.attribution.catchup`), ``gitroi doctor`` lists it.  A hook that
cannot get the repository's hook lock within about a second writes the same
file as *queued* (no process) and returns; the next run does the work.

Where: ``.git/gitroi/pending/`` of the common git dir.  When that cannot be
written (a read-only or full ``.git/gitroi``), ``.git/gitroi-pending-*`` in the
git dir itself (git just wrote the commit there); when neither can, the hook
says so on stderr at once.  A job file is a few hundred bytes of text::

    gitroi-job 1
    post-commit <pid> <unix time> <process start, in clock ticks since boot>
    <sha> [<picked sha>]
    <free text: post-rewrite's "old new" lines>

``pid`` 0 means queued.  A job whose process is gone was killed.  This module
imports only ``os`` and ``time``: the hooks count milliseconds
(docs/hooks.md, docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from collections.abc import Iterator

MAGIC = "gitroi-job 1"
FALLBACK_PREFIX = "gitroi-pending-"
#: A job older than this whose pid still exists is taken for a reused pid: killed.
STALE_S = 3600.0


class Job:
    """One job file: which hook, which process (0: queued), which commit, what input."""

    __slots__ = ("args", "data", "hook", "path", "pid", "started", "ticks")

    def __init__(self, path: str, hook: str, pid: int, started: float, args: list[str],
                 data: str, ticks: str = "") -> None:
        self.path = path
        self.hook = hook
        self.pid = pid
        self.started = started
        self.args = args
        self.data = data
        self.ticks = ticks  # the process's start time (Linux), so a reused pid is not "alive"

    @property
    def sha(self) -> str:
        return self.args[0] if self.args else ""

    def state(self) -> str:
        """``running`` (its process is alive), ``queued`` (no process yet) or ``killed``."""
        if self.pid == 0:
            return "queued"
        if _alive(self.pid) and _now() - self.started < STALE_S and (
                not self.ticks or _ticks(self.pid) in ("", self.ticks)) and not _zombie(self.pid):
            return "running"
        return "killed"

    def commits(self) -> list[str]:
        """Every commit this job would give a note: the new commit, or a rewrite's new ones."""
        out = [self.sha] if self.sha else []
        for line in self.data.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1] not in out:
                out.append(parts[1])
        return out

    def message(self) -> str:
        """What the user is told about a job that was killed (or queued and never done)."""
        short = self.sha[:12]
        if self.hook == "ledger":
            return ("the ledger is behind the notes (it could not be written at commit time); "
                    "run `gitroi report` to catch it up")
        if self.hook == "post-rewrite":
            return (f"the notes of the {len(self.commits())} commit(s) rewritten by "
                    f"`git {self.args[1] if len(self.args) > 1 else 'rebase'}` were not "
                    f"carried over: the post-rewrite hook was "
                    f"{'killed' if self.state() == 'killed' else 'queued'}; run `gitroi "
                    f"attribute` to catch up")
        why = "killed" if self.state() == "killed" else "queued and has not run yet"
        return (f"commit {short} has no note: the post-commit hook was {why}; "
                f"run `gitroi attribute {short}`")


def _now() -> float:
    import time

    return time.time()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    except OSError:
        return False
    return True


def _zombie(pid: int) -> bool:
    """Process ``pid`` has ended and waits to be reaped (Linux ``/proc``): a hook server or
    worker killed after its hook returned is nobody's child, and until the system reaps it
    a signal 0 still finds it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] in (b"Z", b"X")


def _ticks(pid: int) -> str:
    """When process ``pid`` started, in clock ticks since boot (Linux ``/proc``; "" elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return ""
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else ""


def job_dirs(common_dir: str) -> list[str]:
    """Where job files may be, in order: ``.git/gitroi/pending``, then the git dir itself."""
    return [os.path.join(common_dir, "gitroi", "pending"), common_dir]


def _render(hook: str, pid: int, started: float, args: list[str], data: str) -> str:
    ticks = (_ticks(pid) or "-") if pid else "-"
    return f"{MAGIC}\n{hook} {pid} {started:.3f} {ticks}\n{' '.join(args)}\n{data}"


def begin(common_dir: str, hook: str, args: list[str], data: str = "", *,
          pid: int | None = None) -> str | None:
    """Write the job file before the work starts; returns its path (None: nowhere writable,
    and the caller must say so at once).  ``pid=0`` queues the work for the next run."""
    pid = os.getpid() if pid is None else pid
    started = _now()
    text = _render(hook, pid, started, args, data).encode("utf-8")
    name = f"{hook}-{args[0] if args else 'x'}-{os.getpid()}-{int(started * 1000)}.job"
    for i, where in enumerate(job_dirs(common_dir)):
        path = os.path.join(where, name if i == 0 else FALLBACK_PREFIX + name)
        try:
            if i == 0:
                os.makedirs(where, exist_ok=True)
            _write_atomic(path, text)
            return path
        except OSError:
            continue
    return None


def _write_atomic(path: str, data: bytes) -> None:
    """Write ``path`` whole or not at all (a job file half-written is worse than none)."""
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def claim(job: Job, pid: int | None = None) -> bool:
    """Make ``job`` this process's (a forked child taking over, or a catch-up redoing it)."""
    try:
        _write_atomic(job.path, _render(job.hook, os.getpid() if pid is None else pid, _now(),
                                        job.args, job.data).encode("utf-8"))
    except OSError:
        return False
    job.pid = os.getpid() if pid is None else pid
    return True


def finish(path: str | None) -> None:
    """The work is done: remove its job file."""
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)


def read_job(path: str) -> Job | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    lines = text.split("\n", 3)
    if len(lines) < 3 or lines[0] != MAGIC:
        return None
    head = lines[1].split()
    if len(head) not in (3, 4):
        return None
    try:
        pid, started = int(head[1]), float(head[2])
    except ValueError:
        return None
    ticks = head[3] if len(head) == 4 and head[3] != "-" else ""
    return Job(path, head[0], pid, started, lines[2].split(), lines[3] if len(lines) > 3 else "",
               ticks)


def jobs(common_dir: str) -> list[Job]:
    """Every job file of the repository, oldest first."""
    found: list[Job] = []
    for i, where in enumerate(job_dirs(common_dir)):
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            if not name.endswith(".job") or (i == 1 and not name.startswith(FALLBACK_PREFIX)):
                continue
            job = read_job(os.path.join(where, name))
            if job is not None:
                found.append(job)
    found.sort(key=lambda j: j.started)
    return found


def iter_unfinished(common_dir: str) -> Iterator[Job]:
    """Jobs nobody is doing: queued, or left by a killed hook."""
    for job in jobs(common_dir):
        if job.state() != "running":
            yield job


def wait_for(common_dir: str, commits: list[str] | None, timeout: float) -> bool:
    """Wait, at most ``timeout`` seconds, until no running job concerns ``commits`` (None:
    any job).  True when none is left running."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        busy = [j for j in jobs(common_dir) if j.state() == "running"
                and (commits is None or set(j.commits()) & set(commits))]
        if not busy:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
