"""Stand-ins that make a module's import free until something really uses it (hook processes only).

Each millisecond of a hook's imports is added to every ``git commit``; these
modules are imported by gitroi's code for rarely used parts, so the hook
puts a stand-in in ``sys.modules`` that loads the real module on first use.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any


def prepare_hook_process() -> None:
    """What a hook process does before it loads gitroi's modules: the stand-ins below, and the
    cache of what Python compiles (:mod:`gitroi.attribution.compilecache`).

    The post-commit hook calls it in its worker, after the fork: the modules
    are then loaded in the process that uses them, and the fork copies a small
    process (each page of the parent the worker writes to, a reference count
    is enough, is copied: ~3 ms when the imports came before the fork).
    """
    from gitroi.attribution import compilecache

    defer_inspect()  # before dataclasses, which imports it
    defer_urllib_parse()  # before pathlib
    datetime_from_c()
    defer_sqlite_utils()
    compilecache.install()


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


def datetime_from_c() -> None:
    """Make ``import datetime`` give CPython's C module ``_datetime`` (hook processes only).

    ``datetime.py`` defines the whole pure-Python implementation (~0.9 ms of
    class creation) and then replaces it with ``from _datetime import *``: the
    classes, constants and objects are the C module's either way (the same
    public names, ``datetime.__all__``); only the pure-Python module's private
    helpers are missing.  Nothing is done where there is no ``_datetime``, or
    once ``datetime`` is loaded.
    """
    if "datetime" in sys.modules:
        return
    import importlib

    try:
        c_module = importlib.import_module("_datetime")
    except ImportError:  # pragma: no cover - other interpreters
        return
    sys.modules["datetime"] = c_module


def defer_urllib_parse() -> None:
    """Make ``import urllib.parse`` free until something uses it (hook processes only).

    ``pathlib`` imports ``quote_from_bytes`` from it (with ``ipaddress``: ~1.7 ms)
    for ``Path.as_uri()`` only, which the hook never calls; that function is a
    proxy that loads the module when called.
    """
    _stand_in("urllib.parse", proxies=("quote_from_bytes",))


def _stand_in(name: str, proxies: tuple[str, ...] = ()) -> None:
    """Put a stand-in for module ``name`` in ``sys.modules`` that imports the real one on the
    first use of an attribute (``proxies``: class names that wait until they are called)."""
    if name in sys.modules:
        return
    import importlib
    import types
    from importlib.machinery import PathFinder

    # sys.path's folders only (and those `site` would add, in a hook started without it): no
    # finder on sys.meta_path, which in a hook would set `site` up to look further
    parent_name, _, child = name.rpartition(".")
    parent = importlib.import_module(parent_name) if parent_name else None
    spec = PathFinder.find_spec(name, getattr(parent, "__path__", None))
    if spec is None and parent is None and sys.flags.no_site:
        from gitroi.sitepaths import site_folders

        spec = PathFinder.find_spec(name, site_folders())
    if spec is None:
        return  # not where it is cheap to find: the import itself looks everywhere
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
    if parent is not None:
        setattr(parent, child, stub)  # `import a.b; a.b.f()` finds it as the import would
