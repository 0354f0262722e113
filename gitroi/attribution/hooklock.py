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

# How long a hook waits for another gitroi hook of the same repository (the lock).
LOCK_WAIT_S = 30.0


def state_dir(repo: Repo) -> str:
    """``.git/gitroi`` of the common git dir: the hooks' lock, warnings and push records."""
    return str(repo.paths.common_dir / "gitroi")


def open_lock(state_dir: str) -> int:
    os.makedirs(state_dir, exist_ok=True)
    return os.open(os.path.join(state_dir, "hook.lock"), os.O_RDWR | os.O_CREAT, 0o644)


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

    def __enter__(self) -> hook_lock:
        self.fd = open_lock(os.path.dirname(self.path))
        acquire(self.fd, self.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the lock
            self.fd = -1
