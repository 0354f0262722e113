"""The code ``dataclasses`` generates, compiled once and kept (hook processes only).

Python writes each dataclass's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` (and a frozen one's ``__setattr__``, ``__delattr__``) as source
text and compiles it every time the class is made: under Python 3.11 about
0.5 ms a frozen class, ~8 ms on the post-commit hook's path of ~20 classes,
in every commit.  The text depends only on the class's shape, so the hook
keeps the compiled code in a cache file, keyed by the text itself, and has
``dataclasses`` run that code instead of compiling the text again: the
classes and their methods are the ones ``dataclasses`` makes, only the
compiling is skipped.

The cache is ``$XDG_CACHE_HOME/gitroi/hook-classes.<cache tag>.marshal``
(``~/.cache`` by default), one per interpreter version, starting with that
version's bytecode magic number; it is rewritten (atomically) only when a
class of a new shape was made (past :data:`MAX_ENTRIES`, keeping just the
entries that run used).  A
cache that cannot be read or written is ignored: the hook then compiles, as
Python does.
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

_cache: dict[str, CodeType] = {}
_used: dict[str, CodeType] = {}
_state: dict[str, Any] = {"path": None, "new": False}


def cache_path() -> str | None:
    """Where the cache lives, or None when no home for it is known."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.path.join(os.environ["HOME"], ".cache") if os.environ.get("HOME") else "")
    tag = sys.implementation.cache_tag
    if not base or not tag:
        return None
    return os.path.join(base, "gitroi", f"hook-classes.{tag}.marshal")


# Past this many entries (classes of old shapes, left by earlier gitroi versions) the cache
# keeps only what the run that rewrites it used.
MAX_ENTRIES = 2000


def _magic() -> bytes:
    from importlib._bootstrap_external import MAGIC_NUMBER  # importlib.util's, without it

    return MAGIC_NUMBER


def install() -> None:
    """Load the cache and make ``dataclasses`` use it (before any dataclass is made).

    ``dataclasses`` calls ``exec(text, globals, namespace)`` on the text of
    each method it writes; a module global named ``exec`` in ``dataclasses``
    takes that call, and runs the code compiled from the same text.
    """
    import dataclasses

    if getattr(dataclasses, "exec", None) is _exec:
        return
    path = cache_path()
    _state["path"] = path
    if path is not None:
        _cache.update(_read(path))
    dataclasses.exec = _exec  # type: ignore[attr-defined]


def _read(path: str) -> dict[str, CodeType]:
    try:
        with open(path, "rb") as f:
            data = f.read()
        magic = _magic()
        if not data.startswith(magic):
            return {}
        loaded = marshal.loads(data[len(magic):])
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    code_type = type(_read.__code__)
    return {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, code_type)}


def _exec(source: Any, globals: Any = None, locals: Any = None) -> None:
    """``exec`` as ``dataclasses`` calls it, with the text's compiled code from the cache."""
    if isinstance(source, str):
        text = source
        code = _cache.get(text)
        if code is None:
            code = _cache[text] = compile(text, "<string>", "exec")
            _state["new"] = True
        _used[text] = code
        source = code
    exec(source, globals, locals)


def save() -> None:
    """Write the cache when this process made a class of a new shape (never raises)."""
    path = _state["path"]
    if not _state["new"] or path is None:
        return
    _state["new"] = False
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_magic() + marshal.dumps(_cache if len(_cache) <= MAX_ENTRIES else _used))
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
