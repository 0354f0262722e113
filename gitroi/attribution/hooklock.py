"""The lock per repository that keeps the hooks' work in order (``.git/gitroi/hook.lock``).

An amend's post-rewrite waits for its own post-commit, a notes push for the
last commit's note, and commits made in quick succession are attributed in
order.  The lock is an ``flock`` on an open file, so it dies with its
process: a killed hook never leaves the repository locked.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from gitroi.git import Repo

# How long a hook waits for another gitroi hook of the same repository (the lock) before
# queueing its work instead (docs/reliability.md: no hook waits more than about a second).
LOCK_WAIT_S = 1.0
# Work nobody waits for (the background notes push, a gitroi command catching up) may wait longer.
BACKGROUND_LOCK_WAIT_S = 30.0


def state_dir(repo: Repo) -> str:
    """``.git/gitroi`` of the common git dir: the hooks' lock, warnings and push records."""
    return str(repo.paths.common_dir / "gitroi")


def open_lock(state_dir: str) -> int:
    """The lock file's descriptor: ``.git/gitroi/hook.lock``, else (``.git/gitroi`` read-only
    or full) ``.git/gitroi-hook.lock`` beside it; OSError when neither opens."""
    try:
        os.makedirs(state_dir, exist_ok=True)
        return os.open(os.path.join(state_dir, "hook.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return os.open(os.path.join(os.path.dirname(state_dir), "gitroi-hook.lock"),
                       os.O_RDWR | os.O_CREAT, 0o644)


def acquire(fd: int, timeout: float | None, *, wait: bool = True) -> bool:
    """flock ``fd``; with ``timeout``, give up after it (a stuck hook must not stop this one:
    the caller goes on unlocked).  ``wait=False`` tries once.  True when locked."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock, and no fork either (hooks run in the foreground)
        return True

    if timeout is None and wait:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    import time

    deadline = time.monotonic() + (timeout or 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if not wait or time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


class hook_lock:
    """An exclusive lock per repository, so hook work never interleaves: an amend's
    post-rewrite waits for its post-commit, a notes push for the last commit's note,
    commits made in quick succession are attributed in order."""

    def __init__(self, state_dir: str, timeout: float | None = None) -> None:
        self.path = os.path.join(state_dir, "hook.lock")
        self.timeout = timeout
        self.fd = -1
        #: False when another hook kept the lock past ``timeout``: the caller queues its work
        #: (:mod:`gitroi.attribution.pending`) rather than go on unlocked.
        self.held = False

    def __enter__(self) -> hook_lock:
        try:
            self.fd = open_lock(os.path.dirname(self.path))
        except OSError:
            self.held = True  # no lock file can be made anywhere: go on, unlocked
            return self
        self.held = acquire(self.fd, self.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the lock
            self.fd = -1
