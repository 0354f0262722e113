"""What Python compiles while the hook's modules load, compiled once and kept (hook processes only).

Two things are compiled afresh in every new process, from inputs that do not
change between commits:

* **dataclass methods**: ``dataclasses`` writes each class's ``__init__``,
  ``__repr__``, ``__eq__``, ``__hash__`` (and a frozen one's
  ``__setattr__``, ``__delattr__``) as source text and compiles it when the
  class is made, about 0.5 ms a frozen class under Python 3.11, ~8 ms on the
  post-commit hook's path of ~20 classes;
* **regular expressions**: ``re`` parses each pattern and compiles it to the
  matcher's code on first use in a process, ~3 ms for the ~50 patterns of
  the hook's path (the marker rules, the session readers', ``json``'s,
  ``pathlib``'s globs).

The hook keeps both in a cache file and skips the compiling: the text of a
dataclass method maps to its code object, which ``dataclasses`` then runs
(a module global ``exec`` in ``dataclasses`` takes its ``exec(text, ...)``
call); a pattern and its flags map to the arguments ``re`` passed to the
matcher's constructor (``_sre.compile``), captured when ``re`` compiled it,
and given to that constructor again.  The classes, methods and pattern
objects are the ones Python makes, only the compiling is skipped
(``tests/test_hooks_compilecache.py`` compares them).

The cache is ``$XDG_CACHE_HOME/gitroi/hook-compiled.<cache tag>.marshal``
(``~/.cache`` by default), one per interpreter version, starting with that
version's bytecode magic number and holding its exact version and ``re``'s
code format (a cache from another is not used); it is rewritten (atomically) only when
something new was compiled (past :data:`MAX_ENTRIES`, keeping just what that
run used).  A cache that cannot be read or written is ignored: the hook then
compiles, as Python does.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2 ms
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

# Past this many entries (of shapes and patterns left by earlier gitroi versions) the cache
# keeps only what the run that rewrites it used.
MAX_ENTRIES = 4000

_classes: dict[str, CodeType] = {}
_patterns: dict[tuple[str | bytes, int], tuple[Any, ...]] = {}
_used_classes: dict[str, CodeType] = {}
_used_patterns: dict[tuple[str | bytes, int], tuple[Any, ...]] = {}
_state: dict[str, Any] = {"path": None, "new": False, "installed": False}


def cache_path() -> str | None:
    """Where the cache lives, or None when no home for it is known."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.path.join(os.environ["HOME"], ".cache") if os.environ.get("HOME") else "")
    tag = sys.implementation.cache_tag
    if not base or not tag:
        return None
    return os.path.join(base, "gitroi", f"hook-compiled.{tag}.marshal")


def _magic() -> bytes:
    from importlib._bootstrap_external import MAGIC_NUMBER  # importlib.util's, without it

    return MAGIC_NUMBER


def _version() -> tuple[int, int]:
    """The interpreter's exact version and its regular-expression engine's code format: a
    cache from any other (a patch release, a rebuilt engine) is not used."""
    return sys.hexversion, int(getattr(__import__("_sre"), "MAGIC", 0))


def install() -> None:
    """Load the cache and have ``dataclasses`` and ``re`` use it (before the hook's modules
    load)."""
    if _state["installed"]:
        return
    _state["installed"] = True
    path = cache_path()
    _state["path"] = path
    if path is not None:
        _read(path)
    import dataclasses

    dataclasses.exec = _exec  # type: ignore[attr-defined]
    _install_patterns()


def _read(path: str) -> None:
    try:
        with open(path, "rb") as f:
            data = f.read()
        magic = _magic()
        if not data.startswith(magic):
            return
        loaded = marshal.loads(data[len(magic):])
    except (OSError, ValueError, EOFError, TypeError):
        return
    if not isinstance(loaded, dict) or loaded.get("version") != _version():
        return
    code_type = type(_read.__code__)
    classes, patterns = loaded.get("classes"), loaded.get("patterns")
    if isinstance(classes, dict):
        _classes.update((k, v) for k, v in classes.items()
                        if isinstance(k, str) and isinstance(v, code_type))
    if isinstance(patterns, dict):
        _patterns.update((k, v) for k, v in patterns.items()
                         if isinstance(k, tuple) and len(k) == 2 and isinstance(v, tuple))


# --- dataclasses ------------------------------------------------------------------------------


def _exec(source: Any, globals: Any = None, locals: Any = None) -> None:
    """``exec`` as ``dataclasses`` calls it, with the text's compiled code from the cache."""
    if isinstance(source, str):
        text = source
        code = _classes.get(text)
        if code is None:
            code = _classes[text] = compile(text, "<string>", "exec")
            _state["new"] = True
        _used_classes[text] = code
        source = code
    exec(source, globals, locals)


# --- regular expressions ----------------------------------------------------------------------


class _Capture:
    """``_sre`` as ``re._compiler`` sees it while compiling a pattern the cache lacks: the
    constructor's arguments are kept, everything else is the real module's."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.args: tuple[Any, ...] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def compile(self, *args: Any) -> Any:
        self.args = args
        return self._real.compile(*args)


def _install_patterns() -> None:
    """Route ``re``'s compiling through the cache (``re._compiler.compile``, which
    ``re._compile`` calls when its own per-process cache misses)."""
    import re  # noqa: F401  (loads re._compiler)

    _compiler: Any = sys.modules.get("re._compiler")
    if _compiler is None:  # pragma: no cover - another ``re`` layout
        return
    real_compile = getattr(_compiler, "compile", None)
    real_sre = getattr(_compiler, "_sre", None)
    if real_compile is None or real_sre is None or getattr(real_compile, "_gitroi", False):
        return

    def compile_cached(p: Any, flags: int = 0) -> Any:
        if not isinstance(p, (str, bytes)) or not isinstance(flags, int) or flags & 128:
            return real_compile(p, flags)  # a parsed pattern, or re.DEBUG: as re does
        key = (p, int(flags))
        args = _patterns.get(key)
        if args is not None:
            try:
                made = real_sre.compile(p, *args)
            except (TypeError, ValueError, RuntimeError):
                _patterns.pop(key, None)
            else:
                _used_patterns[key] = args
                return made
        capture = _Capture(real_sre)
        _compiler._sre = capture
        try:
            made = real_compile(p, flags)
        finally:
            _compiler._sre = real_sre
        if capture.args is not None and capture.args[0] is p:
            # plain ints: re's opcodes are an int subclass, which marshal does not keep
            kept = tuple([int(x) for x in a] if isinstance(a, list) else a
                         for a in capture.args[1:])
            try:
                marshal.dumps(kept)
            except ValueError:
                return made
            _patterns[key] = _used_patterns[key] = kept
            _state["new"] = True
        return made

    compile_cached._gitroi = True  # type: ignore[attr-defined]
    _compiler.compile = compile_cached


# --- saving -----------------------------------------------------------------------------------


def save() -> None:
    """Write the cache when this process compiled something new (never raises)."""
    path = _state["path"]
    if not _state["new"] or path is None:
        return
    _state["new"] = False
    whole = len(_classes) + len(_patterns) <= MAX_ENTRIES
    data = {"version": _version(), "classes": _classes if whole else _used_classes,
            "patterns": _patterns if whole else _used_patterns}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_magic() + marshal.dumps(data))
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
