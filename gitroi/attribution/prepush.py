"""The pre-push hook: push ``refs/notes/gitroi`` to the same remote, in the background.

A slow or failing notes push never holds up or fails the user's push.
Pushing the notes ref itself does not recurse (the nested push uses
``--no-verify``, and a push of the notes ref is ignored).  A failure of the
previous background push is reported as the warning line of the next push.
"""

from __future__ import annotations

import contextlib
import os
import sys

from gitroi.attribution.hooklock import BACKGROUND_LOCK_WAIT_S, hook_lock, state_dir
from gitroi.attribution.hookwarn import HookWarning

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from typing import NoReturn

    from gitroi.git import Repo

NOTES_REF = "refs/notes/gitroi"   # same as gitroi.attribution.notes.NOTES_REF, without importing it

# How long the background notes push may take before it is abandoned.
PUSH_TIMEOUT_S = 60


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
    state = os.path.join(state_dir(repo), "push")
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

    with hook_lock(state_dir(repo), timeout=BACKGROUND_LOCK_WAIT_S):  # the last commit's note first
        local = repo.git("rev-parse", "--verify", "-q", NOTES_REF, check=False).decode().strip()
    if not local:
        return
    ok, message = _bounded(lambda: push(repo, remote), PUSH_TIMEOUT_S)
    if not ok:
        raise HookWarning(message, catch_up=f"gitroi sync {remote}")
    state = os.path.join(state_dir(repo), "push")
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
