"""The one warning line a hook prints, and the warnings a background run leaves for later.

A hook never fails a commit, rebase or push (docs/hooks.md): whatever goes
wrong becomes exactly one line ``gitroi: warning: NAME: WHAT (run `...` to
catch up)`` on stderr.  Work done after git returned (the post-commit child)
cannot print, so its line is appended to ``.git/gitroi/hook-warnings.log``
and the next commit prints it (:func:`take_deferred`).
"""

from __future__ import annotations

import os

from gitroi.attribution.fastgit import read_text

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
        for _ in range(4):  # a HookWarning from a GitroiError from the sqlite3 error
            if (isinstance(cause, OSError) and cause.errno == errno.ENOSPC) or (
                    type(cause).__module__ == "sqlite3" and "full" in str(cause)):
                text = f"the disk is full: {text}"
                break
            cause = cause.__cause__ if cause is not None else None
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


def warning_line(name: str, exc: BaseException, catch_up: str | None = None) -> str:
    """The one line: ``exc``'s own catch-up command, else ``catch_up``, else the hook's."""
    own = exc.catch_up if isinstance(exc, HookWarning) and exc.catch_up else None
    return (f"gitroi: warning: {name}: {describe(exc)} "
            f"(run `{own or catch_up or catch_up_command(name)}` to catch up)")


def take_deferred(state_dir: str) -> str | None:
    """The warning a background run left (consumed: each is reported once), as one line."""
    path = os.path.join(state_dir, DEFERRED)
    text = read_text(path)
    if text is None:
        return None
    import contextlib  # here: a hook handed to the warm server does not need it otherwise

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
