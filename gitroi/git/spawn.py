"""Running git with ``os.posix_spawnp`` and pipes, without the ``subprocess`` module.

Every git call of gitroi goes through :func:`gitroi.git.run_git` and
:func:`gitroi.git.start_git`, which use this module.  ``subprocess`` costs
the post-commit hook ~4 ms to import (with ``selectors``, ``threading``,
``signal`` and ``locale``), about what each of its two git commands costs to
run; what the hook needs of it is small: start git with its stdin, stdout
and stderr on pipes, feed it input, read both outputs, reap it.

What ``subprocess`` would do and this does too: the signals Python ignores
(SIGPIPE, SIGXFSZ) are reset to their defaults in git; no other descriptor
leaks into it (Python's descriptors are not inheritable); a missing git
raises FileNotFoundError; a git killed by a signal has the negative signal
number as its exit code.  The working directory is given to git as
``-C DIR`` (``posix_spawn`` has no ``cwd`` before Python 3.13); messages
name the command without it.  Where there is no ``posix_spawnp`` (Windows),
``subprocess`` does the work.
"""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2 ms
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

AVAILABLE = hasattr(os, "posix_spawnp") and hasattr(os, "POSIX_SPAWN_DUP2")


class GitResult:
    """A finished git: the fields of ``subprocess.CompletedProcess`` gitroi reads."""

    __slots__ = ("args", "returncode", "stderr", "stdout")

    def __init__(self, args: list[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self) -> str:
        return (f"GitResult(args={self.args!r}, returncode={self.returncode}, "
                f"stdout={self.stdout[:60]!r}, stderr={self.stderr[:60]!r})")


class Started:
    """A git started with :func:`start`; :meth:`finish` feeds its input, reads its output and
    reaps it (call it even when the result is not wanted)."""

    def __init__(self, args: list[str], pid: int, out: int, err: int, feed: int | None,
                 data: bytes) -> None:
        self.args = args
        self._pid = pid
        self._out, self._err, self._feed, self._data = out, err, feed, data
        self._result: GitResult | None = None

    def finish(self) -> GitResult:
        if self._result is None:
            try:
                out, err = _communicate(self._out, self._err, self._feed, self._data)
            finally:
                _, status = os.waitpid(self._pid, 0)
            self._result = GitResult(self.args, os.waitstatus_to_exitcode(status), out, err)
        return self._result


def _default_signals() -> tuple[int, ...]:
    """The signals Python ignores at start-up, which git must get with their default action
    (``_signal`` is loaded at start-up; ``signal`` would cost ~0.5 ms of enums)."""
    sig = __import__("_signal")
    return tuple(getattr(sig, n) for n in ("SIGPIPE", "SIGXFSZ") if hasattr(sig, n))


def _above_stdio(fd: int) -> int:
    """``fd`` moved to a number above 2, so that giving it to git as 0, 1 or 2 never lands on
    itself (which would leave it close-on-exec); the moved descriptor is not inheritable."""
    low = []
    while fd <= 2:
        low.append(fd)
        fd = os.dup(fd)
    for x in low:
        os.close(x)
    return fd


def start(args: Sequence[str], *, cwd: str | Path | None, env: Mapping[str, str],
          input: bytes | None = None) -> Started:
    """Start ``git ARGS`` (``args`` without the leading ``git``) with its three standard
    streams on pipes (stdin /dev/null without ``input``)."""
    argv = ["git", *(["-C", os.fspath(cwd)] if cwd is not None else []), *args]
    shown = ["git", *args]
    mine: list[int] = []  # the parent's ends, closed on failure
    theirs: list[int] = []  # git's ends, closed once git has them
    try:
        out_r, out_w = os.pipe()
        mine.append(out_r)
        theirs.append(out_w)
        err_r, err_w = os.pipe()
        mine.append(err_r)
        theirs.append(err_w)
        feed: int | None = None
        if input is None:
            in_fd = os.open(os.devnull, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        else:
            in_fd, feed = os.pipe()
            mine.append(feed)
        theirs.append(in_fd)
        theirs[:] = [_above_stdio(fd) for fd in theirs]
        out_w, err_w, in_fd = theirs
        pid = os.posix_spawnp("git", argv, env,
                              file_actions=[(os.POSIX_SPAWN_DUP2, in_fd, 0),
                                            (os.POSIX_SPAWN_DUP2, out_w, 1),
                                            (os.POSIX_SPAWN_DUP2, err_w, 2)],
                              setsigdef=_default_signals())
    except BaseException:
        for fd in mine:
            _close(fd)
        raise
    finally:
        for fd in theirs:
            _close(fd)
    if feed is not None:
        os.set_blocking(feed, False)
    return Started(shown, pid, out_r, err_r, feed, input or b"")


def run(args: Sequence[str], *, cwd: str | Path | None, env: Mapping[str, str],
        input: bytes | None = None) -> GitResult:
    """Run ``git ARGS`` to the end: :func:`start`, then :meth:`Started.finish`."""
    return start(args, cwd=cwd, env=env, input=input).finish()


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _communicate(out: int, err: int, feed: int | None, data: bytes) -> tuple[bytes, bytes]:
    """Write ``data`` to ``feed`` (then close it) while reading ``out`` and ``err`` to their
    ends, without either side waiting on the other."""
    import select

    chunks: dict[int, list[bytes]] = {out: [], err: []}
    view = memoryview(data)
    poller = select.poll()
    for fd in (out, err):
        poller.register(fd, select.POLLIN)
    open_fds = {out, err}
    if feed is not None:
        if view:
            poller.register(feed, select.POLLOUT)
            open_fds.add(feed)
        else:
            _close(feed)
    try:
        while open_fds:
            try:
                events = poller.poll()
            except InterruptedError:  # pragma: no cover - retried by Python itself (PEP 475)
                continue
            for fd, _ in events:
                if fd == feed:
                    try:
                        view = view[os.write(fd, view[:65536]):]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        view = view[len(view):]  # git stopped reading: what it said tells why
                    if not view:
                        poller.unregister(fd)
                        open_fds.discard(fd)
                        _close(fd)
                    continue
                block = os.read(fd, 65536)
                if block:
                    chunks[fd].append(block)
                else:
                    poller.unregister(fd)
                    open_fds.discard(fd)
    finally:
        for fd in (out, err, *([feed] if feed is not None and feed in open_fds else [])):
            _close(fd)
    return b"".join(chunks[out]), b"".join(chunks[err])

