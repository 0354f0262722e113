"""The warm hook server: a post-commit hook process that stays, its modules loaded, to do the
next commits' work (docs/hooks.md, "A warm process").

A hook process spends most of its time getting ready (the interpreter,
~90 modules, the compiled-once cache), not on the work.  The first
post-commit hook that works in its own process forks this server once its
work is done (the fork copies a process whose modules are loaded; git waits
for neither), and the server listens on ``.git/gitroi/hook.sock`` (mode
0600, same user only) until it has been idle for :data:`IDLE_S` seconds
(``GITROI_HOOK_SERVER_IDLE``); ``hook.sock.pid`` names it.  A later hook process
(:mod:`gitroi.attribution.hookclient`) sends it its working directory and
environment; the server does the commit's work exactly as the hook's own
process would (the same :func:`gitroi.attribution.postcommit.hook`, in that
environment and directory), one commit at a time, and sends back what the
hook prints.  Everything the hook promises still holds:

* the job file names the server while it works, so a killed server leaves
  the job for the next commit or gitroi command, and the waiting hook says
  the work was killed; past the deadline the hook returns to git and
  ``gitroi show`` waits for the server as for any hook process;
* no lock and no transaction is held between commits: the hook lock is
  taken and released for each, and the ledger's connection, kept open from
  one commit to the next (its schema parsed once), is opened again when the
  ledger file is another one (moved aside, deleted, rebuilt);
* a server refuses (and leaves) when the hook comes from another
  interpreter, boot script, gitroi folder or ``PYTHON*`` environment (a
  ``sitecustomize`` of its own), or when one of gitroi's modules it loaded
  has changed on disk: the hook then works itself and leaves a new server.

``gitroi uninstall`` stops it (:func:`stop`).
"""

from __future__ import annotations

import contextlib
import os
import sys

from gitroi.attribution.hookclient import env_seconds, identity, socket_path

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from typing import Any

#: A server with no commit to do for this long leaves (env ``GITROI_HOOK_SERVER_IDLE``, s).
IDLE_S = 600.0
#: How long the server waits for a connected hook's request and its "go".
TALK_S = 5.0
#: How often an idle server checks that its socket is still its own.
LOOK_S = 5.0


def idle() -> float:
    return env_seconds("GITROI_HOOK_SERVER_IDLE", IDLE_S)


def start(common_dir: str) -> None:
    """Start the server from this hook process, whose work is done; returns at once in the hook.

    The socket is bound and listening before the fork (a commit right after
    this one finds it; ``hook.sock.pid`` names the server a moment later); the server
    lets go of everything git and the hook script wait on (standard streams,
    the script's pipe, any other descriptor) before anything else, and leaves
    git's session.
    """
    path = socket_path(common_dir)
    if path is None or not os.path.isdir(os.path.dirname(path)):
        return
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}"
    try:
        old = os.umask(0o177)  # the socket: this user only
        try:
            sock.bind(tmp)
        finally:
            os.umask(old)
        sock.listen(16)
        os.replace(tmp, path)  # a server left by a racing hook is replaced, and idles out
        pid = os.fork()
    except OSError:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    if pid:
        sock.close()
        return
    code = 0
    try:
        fd = sock.fileno()
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        os.closerange(3, fd)  # the script's pipe, and anything git passed down
        os.closerange(fd + 1, 1024)
        os.setsid()
        _serve(path, fd)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _serve(path: str, fd: int) -> None:
    import gc
    import socket  # here, not in the hook: the server is off git's path

    from gitroi.attribution import compilecache, hooktrace, postcommit

    postcommit.KEEP_LEDGER = True
    hooktrace.reset()
    gc.freeze()  # what is loaded stays; the collector looks at each commit's objects only
    gc.enable()
    mine = identity(os.environ)
    code = _snapshot()
    sock = socket.socket(fileno=fd)
    inode = os.stat(path).st_ino
    os.chdir("/")
    import time

    last = time.monotonic()
    try:
        while True:
            # wake up now and then: a server whose socket another one took over (two hooks
            # racing to leave a server) or whose repository is gone leaves at once
            left = idle() - (time.monotonic() - last)
            if left <= 0 or not _still_ours(path, inode):
                break
            _name_me(path)
            sock.settimeout(min(left, LOOK_S))
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            last = time.monotonic()
            try:
                if not _handle(conn, mine, code):
                    break
            except OSError:
                pass
            finally:
                conn.close()
                last = time.monotonic()
                with contextlib.suppress(OSError):
                    os.chdir("/")
    finally:
        sock.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == inode:
                os.unlink(path)
                os.unlink(f"{path}.pid")
        compilecache.save()


def _name_me(path: str) -> None:
    """``hook.sock.pid`` names this process (written by the server itself, once it knows
    the socket is its own: of two servers racing, the one left names itself)."""
    me = f"{os.getpid()}\n"
    try:
        with open(f"{path}.pid", encoding="ascii") as f:
            if f.read() == me:
                return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        tmp = f"{path}.pid.{os.getpid()}"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(me)
        os.replace(tmp, f"{path}.pid")


def _still_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _snapshot() -> dict[str, int]:
    """The modification time of every gitroi module this process loaded."""
    out: dict[str, int] = {}
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if (name == "gitroi" or name.startswith("gitroi.")) and where:
            with contextlib.suppress(OSError):
                out[where] = os.stat(where).st_mtime_ns
    return out


def _changed(code: dict[str, int]) -> bool:
    for where, mtime in code.items():
        try:
            if os.stat(where).st_mtime_ns != mtime:
                return True
        except OSError:
            return True
    return False


def _same_user(conn: Any) -> bool:
    """The connecting process runs as this one's user (Linux tells; elsewhere the socket's
    mode, 0600, is the check)."""
    import socket

    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    creds = conn.getsockopt(socket.SOL_SOCKET, option, 12)
    return int.from_bytes(creds[4:8], sys.byteorder) == os.getuid()


def _read(conn: Any, n: int) -> bytes:
    data = b""
    while len(data) < n:
        block = conn.recv(n - len(data))
        if not block:
            raise ConnectionResetError("the hook left")
        data += block
    return data


def _handle(conn: Any, mine: list[str], code: dict[str, int]) -> bool:
    """One hook's request; False when the server should leave."""
    import marshal

    conn.settimeout(TALK_S)
    if not _same_user(conn):
        return True
    size = int.from_bytes(_read(conn, 4), "big")
    if size > 16 * 1024 * 1024:
        return True
    request = marshal.loads(_read(conn, size))
    if not isinstance(request, dict):
        return True
    if request.get("stop"):
        conn.sendall(b"no stopping\n")
        return False
    why = ("another gitroi or Python" if request.get("identity") != mine
           else "gitroi changed" if _changed(code) else None)
    if why:
        conn.sendall(b"no " + why.encode() + b"\n")
        return False
    conn.sendall(b"ok\n")
    if _read(conn, 3) != b"go\n":
        return True  # the hook gave up waiting: it does the work itself
    conn.settimeout(None)
    text = _work(request, conn.fileno())
    try:
        conn.sendall(b"done\n" + text.encode("utf-8", "replace"))
    except OSError:
        _defer(request, text)  # the hook has gone (past its deadline)
    return True


def _work(request: dict[str, Any], fd: int) -> str:
    """The commit's work as the hook's own process does it, in the hook's environment and
    directory; returns what the hook prints."""
    import io
    import time

    from gitroi.attribution import hooktrace
    from gitroi.attribution.hookwarn import warning_line
    from gitroi.attribution.postcommit import hook

    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    time.tzset()
    hooktrace.reset()
    hooktrace.mark("served")
    captured = io.StringIO()
    saved = sys.stderr
    sys.stderr = captured
    try:
        hook(fd, served=True)
        text = captured.getvalue()
    except BaseException as exc:  # as hookrun.main: a failure is the one line
        text = warning_line("post-commit", exc) + "\n"
    finally:
        sys.stderr = saved
        hooktrace.flush()
    return text


def _defer(request: dict[str, Any], text: str) -> None:
    from gitroi.attribution.fastgit import fast_git_dirs
    from gitroi.attribution.postcommit import defer_warnings

    dirs = fast_git_dirs(request["cwd"])
    if dirs is not None:
        defer_warnings(dirs[1], text.splitlines())


def server_pid(common_dir: str) -> int | None:
    """The process id of the repository's server, from ``hook.sock.pid`` (None: none there)."""
    path = socket_path(common_dir)
    try:
        with open(f"{path}.pid", encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError, TypeError):
        return None


def stop(common_dir: str) -> bool:
    """Ask the repository's server to leave (``gitroi uninstall``); True when one was there."""
    import _socket
    import marshal

    path = socket_path(common_dir)
    if path is None or not os.path.exists(path):
        return False
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(TALK_S)
        sock.connect(path)
        request = marshal.dumps({"v": 1, "stop": True})
        sock.sendall(len(request).to_bytes(4, "big") + request)
        sock.recv(64)
        return True
    except OSError:
        for stale in (path, f"{path}.pid"):  # nobody listens: a server killed before it
            with contextlib.suppress(OSError):  # could clean up
                os.unlink(stale)
        return False
    finally:
        sock.close()
