"""What the installed git hooks run: ``python -m gitroi.attribution.hookrun NAME [ARGS...]``.

Two promises shape this module (DESIGN.md, "Promises"):

* **A hook never blocks or breaks a commit, rebase or push.**  :func:`main`
  wraps everything: any failure at all (a GitroiError, a locked ledger, a
  corrupt note, an unreadable log, a full disk, a bug in gitroi) becomes
  exactly one line ``gitroi: warning: ... (run `...` to catch up)`` on
  stderr, and the exit code is always 0.  ``GITROI_SKIP=1`` skips gitroi.
* **Hooks are fast.**  This module imports only ``os`` and ``sys`` at the
  top; each hook imports what it uses when it runs, and never click,
  tree-sitter, pygit2 or github3 (``python -X importtime -m gitroi.attribution.hookrun``
  shows it).  The session importer reads no log it has already read.

Hooks:

``post-commit``
    attribute the new commit (:func:`gitroi.attribution.attribute.attribute_commit`);
    a cherry-pick instead carries the picked commit's note over
    (``CHERRY_PICK_HEAD`` exists while its post-commit runs), and the picks of
    a rebase are left to ``post-rewrite``, which sees them all at once.
    The work runs in a forked, detached child so the commit returns at once
    (Python's start-up plus a fork, ~35 ms here); a failure there becomes the
    warning line of the next commit.  ``GITROI_HOOK_FOREGROUND=1`` does it
    all before returning (the warning then comes with this commit).  A lock
    per repository keeps hook work in order (an amend's post-rewrite waits
    for its post-commit; the notes push waits for the last note).
``post-rewrite``
    carry notes over an amend or a rebase (stdin: ``old new [extra]`` lines),
    re-mapping AI line ranges onto the new commits (:mod:`gitroi.attribution.rewrite`).
``pre-push``
    push ``refs/notes/gitroi`` to the same remote, in a detached background
    process, so a slow or failing notes push never holds up or fails the
    user's push.  Pushing the notes ref itself does not recurse (the nested
    push uses ``--no-verify``, and a push of the notes ref is ignored).  A
    failure of the previous background push is reported as the warning line of
    the next push.
"""

from __future__ import annotations

import contextlib
import os
import sys

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from typing import NoReturn

    from gitroi.git import Repo

HOOKS = ("post-commit", "post-rewrite", "pre-push")
NOTES_REF = "refs/notes/gitroi"   # same as gitroi.attribution.notes.NOTES_REF, without importing it
# How long the hook waits for a ledger another gitroi holds before giving up.
HOOK_BUSY_TIMEOUT_MS = 1000
# In the background nobody waits: give a busy ledger (a long `gitroi report`) more time.
BACKGROUND_BUSY_TIMEOUT_MS = 15000
_busy_timeout_ms = HOOK_BUSY_TIMEOUT_MS
# How long the background notes push may take before it is abandoned.
PUSH_TIMEOUT_S = 60
# How long a hook waits for another gitroi hook of the same repository (the lock).
LOCK_WAIT_S = 30.0
DEFERRED = "hook-warnings.log"


class HookWarning(Exception):
    """A problem a hook reports as its one warning line (message already written for the user)."""

    def __init__(self, message: str, catch_up: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.catch_up = catch_up


def _today() -> str:
    import time

    return time.strftime("%Y-%m-%d", time.gmtime())


def catch_up_command(name: str) -> str:
    """The command that redoes what hook ``name`` could not do."""
    if name == "pre-push":
        return "gitroi sync"
    return f"gitroi attribute --since {_today()}"


def describe(exc: BaseException) -> str:
    """One line, written for the user, for any exception a hook may meet."""
    import errno

    from gitroi.errors import GitroiError

    if isinstance(exc, (HookWarning, GitroiError)):
        text = exc.message
        cause = exc.__cause__
        if (isinstance(cause, OSError) and cause.errno == errno.ENOSPC) or (
                type(cause).__module__ == "sqlite3" and "full" in str(cause)):
            text = f"the disk is full: {text}"
    elif isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" writing {exc.filename}" if exc.filename else ""
        text = f"the disk is full (no space left on device{where})"
    elif isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        text = f"{exc.strerror or exc}{where}"
    elif type(exc).__module__ == "sqlite3":
        text = (f"the disk is full (the ledger: {exc})" if "full" in str(exc)
                else f"the ledger: {exc}")
    elif isinstance(exc, KeyboardInterrupt):
        text = "interrupted"
    elif isinstance(exc, SystemExit):
        text = f"exited early (code {exc.code})"
    else:
        text = f"internal error ({type(exc).__name__}: {exc}); please report it"
    text = " ".join(str(text).split())
    return text if len(text) <= 400 else text[:397] + "..."


def warning_line(name: str, exc: BaseException) -> str:
    catch_up = exc.catch_up if isinstance(exc, HookWarning) and exc.catch_up else None
    return (f"gitroi: warning: {name}: {describe(exc)} "
            f"(run `{catch_up or catch_up_command(name)}` to catch up)")


def skipped() -> bool:
    return os.environ.get("GITROI_SKIP", "").strip().lower() in ("1", "true", "yes", "on")


def main(argv: list[str] | None = None) -> int:
    """Run one hook; always returns 0.  Anything gitroi prints besides the warning is kept
    for success only (a failure prints exactly one line)."""
    args = list(sys.argv[1:] if argv is None else argv)
    name = args[0] if args else "?"
    if skipped():
        return 0
    if name == "post-commit" and not foreground() and hasattr(os, "fork"):
        try:
            if post_commit_background():
                return 0
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                sys.stderr.write(warning_line(name, exc) + "\n")
                sys.stderr.flush()
            return 0
    real_stderr = sys.stderr
    import io

    captured = io.StringIO()
    sys.stderr = captured
    try:
        if name not in HOOKS and name != "push-notes":
            raise HookWarning(f"unknown hook {name!r} (gitroi has {', '.join(HOOKS)})")
        run(name, args[1:])
    except BaseException as exc:
        sys.stderr = real_stderr
        try:
            real_stderr.write(warning_line(name, exc) + "\n")
            if os.environ.get("GITROI_DEBUG"):
                import traceback

                traceback.print_exception(exc, file=real_stderr)
            real_stderr.flush()
        except BaseException:
            pass
        return 0
    finally:
        sys.stderr = real_stderr
    extra = captured.getvalue()
    if extra:
        try:
            real_stderr.write(extra)
            real_stderr.flush()
        except OSError:
            pass
    return 0


def run(name: str, args: list[str]) -> None:
    """Dispatch to one hook (raises on failure; :func:`main` turns that into the warning)."""
    defer_inspect()
    repo = discover_repo(os.getcwd())
    state = _state_dir(repo)
    if name == "post-commit":
        with hook_lock(state, timeout=LOCK_WAIT_S):
            post_commit(repo)
    elif name == "post-rewrite":
        kind = args[0] if args else os.environ.get("PRE_COMMIT_REWRITE_COMMAND", "")
        text = _read_stdin()
        # an amend's post-commit may still be attributing in the background: let it finish
        with hook_lock(state, timeout=LOCK_WAIT_S):
            post_rewrite(repo, kind, text)
    elif name == "pre-push":
        remote = args[0] if args else os.environ.get("PRE_COMMIT_REMOTE_NAME", "")
        pre_push(repo, remote, _read_stdin())
    elif name == "push-notes":
        push_notes(repo, args[0] if args else "origin")


def _read_stdin() -> str:
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return ""
        return sys.stdin.read()
    except (OSError, ValueError):
        return ""


# --- post-commit ---------------------------------------------------------------------------


def ledger_path(repo: Repo) -> str:
    """The ledger the CLI would use: ``GITROI_DB``, else the common git dir's."""
    return os.environ.get("GITROI_DB") or str(repo.paths.default_ledger)


def picked_commit(git_dir: str) -> tuple[bool, str | None]:
    """(whether a rebase is picking, so post-rewrite will map its picks; the commit a
    cherry-pick copies, from ``CHERRY_PICK_HEAD``, or None), read without git."""
    picked = _read(os.path.join(git_dir, "CHERRY_PICK_HEAD"))
    if picked is not None and (os.path.isdir(os.path.join(git_dir, "rebase-merge"))
                               or os.path.isdir(os.path.join(git_dir, "rebase-apply"))):
        return True, None
    return False, picked or None


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


def defer_sqlite_utils() -> None:
    """Make ``import sqlite_utils`` free until something really uses it (hook processes only).

    The ledger modules import ``Database`` from sqlite-utils for their type
    hints; the hook talks to the ledger through :class:`gitroi.ledger.fast.FastLedger`
    and needs the real package only on a first run (schema creation) or for an
    API the shortcut lacks.  This puts a stand-in module in ``sys.modules``:
    ``Database`` and ``Migrations`` are proxies that load the real package when
    called (or asked anything), any other attribute loads it at once, and
    submodules import normally.  Loading replaces the stand-in for good.
    """
    _stand_in("sqlite_utils", proxies=("Database", "Migrations"))


def defer_inspect() -> None:
    """Make ``import inspect`` free until something uses it (hook processes only).

    ``dataclasses`` imports ``inspect`` (with ``ast``, ``dis``, ``tokenize``:
    ~8 ms here) but calls it only to make a docstring for a dataclass that has
    none; gitroi's dataclasses all have one.  Any real use loads the module.
    """
    _stand_in("inspect")


def _stand_in(name: str, proxies: tuple[str, ...] = ()) -> None:
    """Put a stand-in for module ``name`` in ``sys.modules`` that imports the real one on the
    first use of an attribute (``proxies``: class names that wait until they are called)."""
    if name in sys.modules:
        return
    import importlib
    import importlib.util
    import types
    from typing import Any

    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    loaded: list[types.ModuleType] = []

    def load() -> Any:
        if not loaded:
            if isinstance(sys.modules.get(name), _Stub):
                del sys.modules[name]
            loaded.append(importlib.import_module(name))
        return loaded[0]

    class _Proxy(type):
        def __call__(cls, *a: Any, **k: Any) -> Any:
            return getattr(load(), cls.__name__)(*a, **k)

        def __getattr__(cls, attr: str) -> Any:
            return getattr(getattr(load(), cls.__name__), attr)

        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, getattr(load(), cls.__name__))

    class _Stub(types.ModuleType):
        def __getattr__(self, attr: str) -> Any:
            if attr in proxies:
                proxy = _Proxy(attr, (), {})
                setattr(self, attr, proxy)
                return proxy
            if attr.startswith("__"):
                raise AttributeError(attr)
            return getattr(load(), attr)

    stub = _Stub(name)
    if spec.submodule_search_locations is not None:
        stub.__path__ = list(spec.submodule_search_locations)
    stub.__spec__ = spec
    stub.__file__ = spec.origin
    sys.modules[name] = stub


# --- post-commit in the background ------------------------------------------------------------


def foreground() -> bool:
    """``GITROI_HOOK_FOREGROUND=1``: do the post-commit work before returning to git."""
    return os.environ.get("GITROI_HOOK_FOREGROUND", "").strip().lower() in ("1", "true", "yes")


def _read(path: str) -> str | None:
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
            text = _read(dot) or ""
            if not text.startswith("gitdir:"):
                return None
            git_dir = os.path.abspath(os.path.join(cwd, text[len("gitdir:"):].strip()))
        else:
            return None
    if not os.path.isfile(os.path.join(git_dir, "HEAD")):
        return None
    common = _read(os.path.join(git_dir, "commondir"))
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
    head = _read(os.path.join(git_dir, "HEAD")) or ""
    if not head.startswith("ref:"):
        return head if len(head) in (40, 64) else None
    ref = head[4:].strip()
    for base in (git_dir, common_dir):
        value = _read(os.path.join(base, ref))
        if value and len(value) in (40, 64):
            return value
    packed = _read(os.path.join(common_dir, "packed-refs")) or ""
    for line in packed.splitlines():
        parts = line.split(" ", 1)
        if len(parts) == 2 and parts[1] == ref:
            return parts[0]
    return None


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


def take_deferred(state_dir: str) -> str | None:
    """The warning a background run left (consumed: each is reported once), as one line."""
    path = os.path.join(state_dir, DEFERRED)
    text = _read(path)
    if text is None:
        return None
    with contextlib.suppress(OSError):
        os.unlink(path)
    lines = [ln for ln in text.splitlines() if ln.startswith("gitroi: warning: ")]
    if not lines:
        return None
    more = f" [and {len(lines) - 1} earlier warning(s)]" if len(lines) > 1 else ""
    return lines[-1] + more


def defer(state_dir: str, line: str) -> None:
    os.makedirs(state_dir, exist_ok=True)
    with open(os.path.join(state_dir, DEFERRED), "a", encoding="utf-8") as f:
        f.write(line + "\n")


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


# --- post-rewrite --------------------------------------------------------------------------


def parse_rewrite_pairs(text: str) -> dict[str, list[str]]:
    """git's post-rewrite input, grouped: {new sha: [old shas, in order]}.

    A squash or fixup in ``rebase -i`` maps several old commits to one new one.
    """
    groups: dict[str, list[str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            olds = groups.setdefault(parts[1], [])
            if parts[0] not in olds:
                olds.append(parts[0])
    return groups


def _pairs_from_reflog(repo: Repo, kind: str) -> dict[str, list[str]]:
    """The rewritten pairs when git's stdin list is missing (the pre-commit framework runs
    post-rewrite hooks without it): an amend is ``HEAD@{1} -> HEAD``; a rebase pairs the
    commits between the fork point and ``ORIG_HEAD`` with those up to HEAD by author,
    author date and subject."""
    def rev(name: str) -> str:
        return repo.git("rev-parse", "--verify", "-q", name, check=False).decode().strip()

    new = repo.head()
    if not new:
        return {}
    if kind == "amend":
        old = rev("HEAD@{1}")
        return {new: [old]} if old and old != new else {}
    if kind != "rebase":
        return {}
    orig = rev("ORIG_HEAD")
    base = repo.git("merge-base", orig, new, check=False).decode().strip() if orig else ""
    if not base or orig == new:
        return {}

    def keyed(rng: str) -> dict[str, str]:
        # a rebase keeps each commit's author, author date and subject (patch ids change
        # whenever the context lines do, so they are not used)
        out = repo.git("log", "--no-merges", "--format=%H%x00%an%x00%ae%x00%at%x00%s", rng,
                       check=False).decode("utf-8", "replace")
        return {f.split("\0", 1)[1]: f.split("\0", 1)[0] for f in out.splitlines() if "\0" in f}

    olds = keyed(f"{base}..{orig}")
    pairs: dict[str, list[str]] = {}
    for key, c in keyed(f"{base}..{new}").items():
        if key in olds and olds[key] != c:
            pairs[c] = [olds[key]]
    return pairs


def post_rewrite(repo: Repo, kind: str, stdin_text: str) -> None:
    from gitroi.attribution.notes import list_notes
    from gitroi.attribution.rewrite import remap
    from gitroi.errors import GitroiError

    groups = parse_rewrite_pairs(stdin_text) or _pairs_from_reflog(repo, kind)
    noted = list_notes(repo)  # one git call: a rebase of un-noted commits costs nothing more
    groups = {new: olds for new, olds in groups.items() if any(o in noted for o in olds)}
    failed: list[str] = []
    first: BaseException | None = None
    for new, olds in groups.items():
        try:
            remap(repo, olds, new)
        except (GitroiError, OSError, ValueError) as exc:
            failed.append(new)
            first = first or exc
    if first is not None:
        raise HookWarning(
            f"could not carry the notes over to {len(failed)} of {len(groups)} rewritten "
            f"commit(s) ({', '.join(s[:12] for s in failed[:3])}): {describe(first)}")


# --- pre-push ------------------------------------------------------------------------------


def _state_dir(repo: Repo) -> str:
    return str(repo.paths.common_dir / "gitroi")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "_"


def pre_push(repo: Repo, remote: str, stdin_text: str) -> None:
    """Start the notes push in the background; report the previous one's failure, if any."""
    if not remote:
        return
    lines = [ln.split() for ln in stdin_text.splitlines() if ln.strip()]
    remote_refs = {p[2] for p in lines if len(p) >= 4}
    if remote_refs and remote_refs <= {NOTES_REF}:
        return  # this push is the notes push itself: no recursion
    if os.environ.get("PRE_COMMIT_REMOTE_BRANCH") == NOTES_REF:
        return
    local = repo.git("rev-parse", "--verify", "-q", NOTES_REF, check=False).decode().strip()
    if not local:
        return  # no notes yet
    state = os.path.join(_state_dir(repo), "push")
    os.makedirs(state, exist_ok=True)
    log = os.path.join(state, _safe(remote) + ".log")
    previous = _previous_failure(log)
    done = os.path.join(state, _safe(remote) + ".pushed")
    try:
        with open(done, encoding="ascii") as f:
            already = f.read().strip() == local
    except OSError:
        already = False
    if not already:
        if os.environ.get("GITROI_HOOK_FOREGROUND") == "1":
            push_notes(repo, remote)
        else:
            _spawn_push(repo, remote, log)
    if previous:
        raise HookWarning(f"the last background push of {NOTES_REF} to {remote} failed: "
                          f"{previous}", catch_up=f"gitroi sync {remote}")


def _previous_failure(log: str) -> str:
    """The warning line a finished background push left, consumed so it is reported once."""
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read().strip()
    except OSError:
        return ""
    with contextlib.suppress(OSError):
        os.unlink(log)
    for line in reversed(text.splitlines()):
        if line.startswith("gitroi: warning: "):
            msg = line.removeprefix("gitroi: warning: push-notes: ")
            return msg.split(" (run `", 1)[0]
    return ""


def _spawn_push(repo: Repo, remote: str, log: str) -> None:
    import subprocess

    from gitroi.git import git_env

    with open(log, "ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "gitroi.attribution.hookrun", "push-notes", remote],
            cwd=str(repo.cwd), stdin=subprocess.DEVNULL,
            stdout=out, stderr=out, start_new_session=True,
            env=git_env({"GIT_TERMINAL_PROMPT": "0"}), close_fds=True)


def push_notes(repo: Repo, remote: str) -> None:
    """Push (fetch-merging first when rejected) the notes ref to ``remote``; remember success."""
    from gitroi.attribution.notes import push

    with hook_lock(_state_dir(repo), timeout=LOCK_WAIT_S):  # the last commit's note first
        local = repo.git("rev-parse", "--verify", "-q", NOTES_REF, check=False).decode().strip()
    if not local:
        return
    ok, message = _bounded(lambda: push(repo, remote), PUSH_TIMEOUT_S)
    if not ok:
        raise HookWarning(message, catch_up=f"gitroi sync {remote}")
    state = os.path.join(_state_dir(repo), "push")
    os.makedirs(state, exist_ok=True)
    after = repo.git("rev-parse", "--verify", "-q", NOTES_REF, check=False).decode().strip()
    with open(os.path.join(state, _safe(remote) + ".pushed"), "w", encoding="ascii") as f:
        f.write(after + "\n")


def _bounded(fn: object, seconds: float) -> tuple[bool, str]:
    """Run ``fn`` with an alarm so a hung remote cannot keep the process forever."""
    import signal

    def _timeout(signum: int, frame: object) -> NoReturn:
        raise TimeoutError(f"timed out after {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(int(seconds))
    try:
        result = fn()  # type: ignore[operator]
        assert isinstance(result, tuple)
        return result
    except TimeoutError as exc:
        return False, str(exc)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


if __name__ == "__main__":
    _code = main()
    # Everything is written and closed by now: skip the interpreter's teardown (freeing
    # every module and object, several ms that git, and the user, would wait for).
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(_code)
