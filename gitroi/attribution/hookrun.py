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

Each hook lives in its own module, imported only when that hook runs:
:mod:`~gitroi.attribution.postcommit`, :mod:`~gitroi.attribution.postrewrite`,
:mod:`~gitroi.attribution.prepush` (with the push itself, ``push-notes``);
around them :mod:`~gitroi.attribution.hookwarn` (the warning line),
:mod:`~gitroi.attribution.fastgit` (the repository without running git),
:mod:`~gitroi.attribution.hooklock` and :mod:`~gitroi.attribution.lazymodules`.
"""

from __future__ import annotations

import contextlib
import os
import sys

from gitroi.attribution.hookwarn import HookWarning, warning_line

HOOKS = ("post-commit", "post-rewrite", "pre-push")


def skipped() -> bool:
    return os.environ.get("GITROI_SKIP", "").strip().lower() in ("1", "true", "yes", "on")


def main(argv: list[str] | None = None) -> int:
    """Run one hook; always returns 0.  Anything gitroi prints besides the warning is kept
    for success only (a failure prints exactly one line)."""
    args = list(sys.argv[1:] if argv is None else argv)
    name = args[0] if args else "?"
    if skipped():
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
    if name == "post-commit":
        from gitroi.attribution.postcommit import hook as post_commit_hook

        post_commit_hook()
        return
    from gitroi.attribution.fastgit import discover_repo
    from gitroi.attribution.lazymodules import defer_inspect

    defer_inspect()
    repo = discover_repo(os.getcwd())
    if name == "post-rewrite":
        from gitroi.attribution.postrewrite import hook as post_rewrite_hook

        kind = args[0] if args else os.environ.get("PRE_COMMIT_REWRITE_COMMAND", "")
        post_rewrite_hook(repo, kind, _read_stdin())
    elif name == "pre-push":
        from gitroi.attribution.prepush import pre_push

        remote = args[0] if args else os.environ.get("PRE_COMMIT_REMOTE_NAME", "")
        pre_push(repo, remote, _read_stdin())
    elif name == "push-notes":
        from gitroi.attribution.prepush import push_notes

        push_notes(repo, args[0] if args else "origin")


def _read_stdin() -> str:
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return ""
        return sys.stdin.read()
    except (OSError, ValueError):
        return ""


if __name__ == "__main__":
    _code = main()
    # Everything is written and closed by now: skip the interpreter's teardown (freeing
    # every module and object, several ms that git, and the user, would wait for).
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(_code)
