"""What the installed git hooks run: :func:`boot`, through ``python -S .../hookboot.py NAME
[ARGS...]`` (:mod:`gitroi.attribution.hookboot`), or :func:`main` through
``python -m gitroi.attribution.hookrun NAME [ARGS...]`` (older hooks, another interpreter).

Two promises shape this module (DESIGN.md, "Promises"):

* **A hook never blocks or breaks a commit, rebase or push.**  :func:`main`
  wraps everything: any failure at all (a GitroiError, a locked ledger, a
  corrupt note, an unreadable log, a full disk, a bug in gitroi) becomes
  exactly one line ``gitroi: warning: ... (run `...` to catch up)`` on
  stderr, and the exit code is always 0.  ``GITROI_SKIP=1`` skips gitroi.
* **Hooks are fast** (docs/hooks.md, "The hook's own start-up").  This
  module imports only ``os``, ``sys`` and two small modules
  at the top; each hook imports what it uses when it runs, and never click,
  tree-sitter, pygit2 or github3.  A hook process starts without ``site``
  (:class:`_SiteOnMiss` sets it up if an import needs it), without the
  cyclic garbage collector, with stand-ins for modules it rarely uses and
  the compiled-once cache (:func:`gitroi.attribution.lazymodules.prepare_hook_process`).
  The session importer reads no log it has already read.

Each hook lives in its own module, imported only when that hook runs:
:mod:`~gitroi.attribution.postcommit`, :mod:`~gitroi.attribution.postrewrite`,
:mod:`~gitroi.attribution.prepush` (with the push itself, ``push-notes``);
around them :mod:`~gitroi.attribution.hookwarn` (the warning line),
:mod:`~gitroi.attribution.fastgit` (the repository without running git),
:mod:`~gitroi.attribution.hooklock`, :mod:`~gitroi.attribution.lazymodules`,
:mod:`~gitroi.attribution.compilecache` and :mod:`~gitroi.attribution.hooktrace`.
"""

from __future__ import annotations

import os
import sys

from gitroi.attribution.hooktrace import flush, mark
from gitroi.attribution.hookwarn import HookWarning, warning_line

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from typing import Any

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
        from gitroi.attribution.hookclient import served, waiter_pipe

        pipe = waiter_pipe()  # first: the descriptor must not leak into any git command
        if pipe is not None and served(pipe):
            return  # a warm hook server did the work (gitroi.attribution.hookserver)
        from gitroi.attribution.postcommit import hook as post_commit_hook

        mark("imported the hook")
        post_commit_hook(pipe)  # prepares the process itself (the stand-ins, the cache)
        if pipe is not None:
            _leave_a_server()
        return
    from gitroi.attribution.lazymodules import prepare_hook_process

    prepare_hook_process()
    from gitroi.attribution.fastgit import discover_repo

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


def _leave_a_server() -> None:
    """This process has loaded what the work needs and done it: fork the warm hook server
    from it for the next commits (:mod:`gitroi.attribution.hookserver`)."""
    from gitroi.attribution.fastgit import fast_git_dirs
    from gitroi.attribution.hookclient import enabled

    dirs = fast_git_dirs(os.getcwd())
    if dirs is not None and enabled():
        from gitroi.attribution.hookserver import start

        start(dirs[1])


def _read_stdin() -> str:
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return ""
        return sys.stdin.read()
    except (OSError, ValueError):
        return ""


class _SiteOnMiss:
    """Last on ``sys.meta_path`` in a hook started with ``python -S``: the first import that
    the standard library and gitroi's own folder cannot satisfy runs :func:`site.main` (the
    site-packages folders, their ``.pth`` files, the user's site), then is looked up again.

    ``-S`` saves the hook what ``site`` costs at every start (~16 ms with an editable
    install's finder, which imports ``pathlib``, ``re``, ``urllib``); the hook's common path
    needs only the standard library and gitroi, and anything else (sqlite-utils on a first
    run, a dependency installed through a ``.pth`` file) is still found, at that cost.
    """

    # The standard library's own optional imports (``msvcrt`` in subprocess, Jython's ``org``
    # in copy) miss on every run, and site-packages would not have them either; and
    # :func:`boot` looks for ``sitecustomize`` only where ``-S`` left sys.path.
    NOT_THERE = frozenset(getattr(sys, "stdlib_module_names", ())) | {"org", "sitecustomize"}

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name.partition(".")[0] in cls.NOT_THERE:
            return None
        import contextlib
        import site

        with contextlib.suppress(ValueError):
            sys.meta_path.remove(cls)  # once: site.main() below sets up every other path

        site.main()
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                return spec
        return None


def boot() -> None:
    """What the installed hooks run (``hooks/``): ``hookboot.py``, started with ``python -S``,
    puts gitroi's folder on ``sys.path`` and calls this, which never returns."""
    mark("started")  # its CPU time: the interpreter's start-up and this module's imports
    # No cyclic garbage collection: a hook lives for tens of milliseconds, most of what it
    # makes (modules, classes) lives as long, and its work makes no cycles to speak of
    # (parsed log lines, rows); the collector's passes over the imports cost ~2 ms a commit.
    import gc

    gc.disable()
    if sys.flags.no_site and _SiteOnMiss not in sys.meta_path:
        sys.meta_path.append(_SiteOnMiss)
        _sitecustomize()
    _exit(main())


def _sitecustomize() -> None:
    """Run ``sitecustomize`` as ``site`` would (an installation's own set-up, and what tests
    use to put faults into a hook), from where ``-S`` left sys.path (``PYTHONPATH``, the
    standard library, gitroi's folder); a failed look-up costs a few set look-ups."""
    try:
        __import__("sitecustomize")
    except ImportError as exc:
        if exc.name != "sitecustomize":
            _site_error(exc)
    except Exception as exc:
        _site_error(exc)


def _site_error(exc: BaseException) -> None:
    import contextlib

    with contextlib.suppress(OSError):
        sys.stderr.write(f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n"
                         f"{type(exc).__name__}: {exc}\n")


def _exit(code: int) -> None:
    flush()
    if "gitroi.attribution.compilecache" in sys.modules:
        from gitroi.attribution.compilecache import save

        save()
    # Everything is written and closed by now: skip the interpreter's teardown (freeing
    # every module and object, several ms that git, and the user, would wait for).  No
    # contextlib: a hook handed to the warm server imports nothing else that needs it (~2.5 ms).
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(code)


if __name__ == "__main__":
    _exit(main())
