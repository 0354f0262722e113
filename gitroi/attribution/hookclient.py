"""The post-commit hook's first move: hand the commit to a warm hook server when one is there.

Most of a cold hook process's time is not the work but getting Python ready
to do it (the interpreter, ~90 modules, the ledger's schema: docs/hooks.md,
"The hook's own start-up").  So the first hook that does the work itself
leaves a server behind (:mod:`gitroi.attribution.hookserver`, forked from the
hook process once its work is done, modules loaded), listening on
``.git/gitroi/hook.sock``; the next hooks send it their commit and wait for
its answer, up to the same deadline as the hook's own work.  This module is
what they run before anything else: it imports only what the hook process
already has (``os``, ``sys``, ``marshal``, ``_socket``), and it answers False
(do the work here) whenever the server is not there, not the same gitroi and
Python, or does not answer in time to take the commit.

The exchange on the socket (one connection per commit)::

    hook   -> server   <length: 4 bytes><marshal: cwd, environment, umask, identity>
    server -> hook     "ok\\n" (it takes the commit) or "no <why>\\n" (it is leaving);
                       nothing within ANSWER_S (busy, stopped): the hook works itself
    hook   -> server   "go\\n" (still within the deadline; else the hook closes, and works)
    server -> hook     "sha <commit>\\n" ... "done\\n" <what the hook prints on stderr>

``GITROI_HOOK_SERVER=0`` turns the server off (each hook works in its own
process); ``GITROI_HOOK_FOREGROUND=1`` does too.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from typing import Any

#: The socket, in ``.git/gitroi`` of the common git dir.
SOCKET = "hook.sock"
#: Longest socket path the kernel takes (``sun_path`` is 108 bytes on Linux, 104 on macOS).
MAX_PATH = 100
#: How long a hook waits for the server to take its commit ("ok") before working itself.
ANSWER_S = 0.5


def enabled() -> bool:
    """The server may be used and started: not ``GITROI_HOOK_SERVER=0``, not
    ``GITROI_HOOK_FOREGROUND=1``, and this system has Unix sockets and ``fork``."""
    off = ("0", "false", "no", "off")
    if os.environ.get("GITROI_HOOK_SERVER", "").strip().lower() in off:
        return False
    if os.environ.get("GITROI_HOOK_FOREGROUND", "").strip().lower() in ("1", "true", "yes"):
        return False
    return hasattr(os, "fork") and hasattr(__import__("_socket"), "AF_UNIX")


def socket_path(common_dir: str) -> str | None:
    path = os.path.join(common_dir, "gitroi", SOCKET)
    return path if len(os.fsencode(path)) <= MAX_PATH else None


def identity(env: dict[str, str] | Any) -> list[str]:
    """What a server must share with a hook to do its work as the hook's own process would:
    the interpreter, the boot script, gitroi's folder and the variables that change how
    Python starts (``PYTHONPATH``: a ``sitecustomize``, other modules)."""
    import gitroi

    here = os.path.dirname(os.path.abspath(gitroi.__file__))
    py = sorted(f"{k}={v}" for k, v in env.items() if k.startswith("PYTHON"))
    return [sys.executable, os.path.realpath(sys.argv[0]) if sys.argv else "", here, *py]


def waiter_pipe() -> int | None:
    """The pipe the installed ``post-commit`` script waits on (``GITROI_HOOK_PIPE``: its
    descriptor number), made non-inheritable; None when the hook was started otherwise
    (``python -m gitroi.attribution.hookrun``, ``gitroi hook-impl``: a forked worker then)."""
    value = os.environ.pop("GITROI_HOOK_PIPE", None)
    if not value:
        return None
    import stat

    try:
        fd = int(value)
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return None
        os.set_inheritable(fd, False)
    except (ValueError, OSError):
        return None
    return fd


#: Past this the hook returns to git and the work goes on in the background
#: (env GITROI_HOOK_DEADLINE, in seconds): the client's and the hook process's own limit.
DEADLINE_S = 2.0


def env_seconds(name: str, default: float) -> float:
    """A time limit from the environment variable ``name``; ``default`` when unset or not a number."""
    try:
        return max(0.0, float(os.environ.get(name) or default))
    except ValueError:
        return default


def deadline() -> float:
    return env_seconds("GITROI_HOOK_DEADLINE", DEADLINE_S)


def served(pipe: int) -> bool:
    """Have the warm server do this commit's work; True when it took the commit (done, or
    going on past the deadline: then this says so), False when this process must do it.

    Raises :class:`~gitroi.attribution.hookwarn.HookWarning` when the server
    took the commit and stopped without finishing it (killed): the warning line
    says which commit has no note.
    """
    if not enabled():
        return False
    from gitroi.attribution.fastgit import fast_git_dirs

    cwd = os.getcwd()
    dirs = fast_git_dirs(cwd)
    path = socket_path(dirs[1]) if dirs else None
    if path is None:
        return False
    import _socket
    import marshal
    import time

    end = time.monotonic() + deadline()
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
            mask = os.umask(0o22)
            os.umask(mask)
            env = dict(os.environ)
            request = marshal.dumps({"v": 1, "cwd": cwd, "env": env, "umask": mask,
                                     "identity": identity(env)})
            sock.sendall(len(request).to_bytes(4, "big") + request)
            # an idle server answers in a millisecond; one busy with another work tree's
            # commit, or stopped (SIGSTOP), must not hold this one up: it works itself
            answer = _line(sock, min(end, time.monotonic() + ANSWER_S))
        except OSError:
            return False  # no server, or it left as this connected
        if answer != b"ok":
            return False  # "no ...": a server of another gitroi or Python, or leaving
        try:
            sock.sendall(b"go\n")
        except OSError:
            return False
        return _relay(sock, pipe, end)
    finally:
        sock.close()


def _line(sock: Any, end: float) -> bytes:
    """One line from the server, within the deadline (OSError past it, or at its end)."""
    import time

    data = b""
    while not data.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the hook server did not answer in time")
        sock.settimeout(left)
        block = sock.recv(1)
        if not block:
            raise ConnectionResetError("the hook server closed the connection")
        data += block
    return data[:-1]


def _relay(sock: Any, pipe: int, end: float) -> bool:
    """Pass the server's words on: the commit to the script's pipe, then what to print."""
    import time

    buf = b""
    sha = ""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            block = sock.recv(65536)
        except TimeoutError:
            break
        except OSError:
            block = b""
        if not block:
            from gitroi.attribution.hookwarn import HookWarning

            raise HookWarning(f"the work was killed (the gitroi hook server stopped): commit "
                              f"{sha or 'HEAD'} has no note",
                              catch_up=f"gitroi attribute {sha or 'HEAD'}")
        buf += block
        while not sha and b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b"sha "):
                sha = line[4:].decode()
                write_all(pipe, line + b"\n")
        if buf.startswith(b"done\n"):
            while True:  # the rest, to the end
                sock.settimeout(max(0.05, end - time.monotonic()))
                try:
                    block = sock.recv(65536)
                except OSError:
                    block = b""
                if not block:
                    break
                buf += block
            sys.stderr.write(buf[5:].decode("utf-8", "replace"))
            return True
    sys.stderr.write(f"gitroi: post-commit: attributing {sha or 'HEAD'} goes on in the "
                     f"background (over {deadline():g} s); `gitroi show` waits for it\n")
    return True


def write_all(fd: int, data: bytes) -> None:
    """All of ``data`` to ``fd`` (a pipe takes part of a large write at a time)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
