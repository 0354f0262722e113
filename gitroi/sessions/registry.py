"""Every session reader gitroi knows, in import order.

A reader module that is missing (or fails to import) is left out rather than
breaking the import of the others: the readers are independent, and a
broken one must never stop the post-commit hook from harvesting the rest.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from gitroi.sessions import Reader

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from collections.abc import Mapping


def _warn(module: str, exc: BaseException) -> None:
    import logging  # only on this rare path: the post-commit hook imports this module

    logging.getLogger("gitroi").warning("gitroi: warning: reader %s could not be loaded: %s", module, exc)

# (module, class name) per agent.
_READERS: tuple[tuple[str, str], ...] = (
    ("gitroi.sessions.claude_code", "ClaudeCodeReader"),
    ("gitroi.sessions.codex", "CodexReader"),
    ("gitroi.sessions.gemini", "GeminiReader"),
    ("gitroi.sessions.opencode", "OpenCodeReader"),
    ("gitroi.sessions.aider", "AiderReader"),
)


def readers(agents: set[str] | None = None, *,
            present: tuple[Mapping[str, str], Path] | None = None) -> list[Reader]:
    """One instance of each available reader (optionally only the named agents).

    ``present=(env, home)``: only the readers that may find logs on this
    machine (:func:`gitroi.sessions.roots.present`), without importing the
    others; the post-commit hook's import finds exactly what it would with all.
    """
    out: list[Reader] = []
    for module, cls in _READERS:
        if present is not None:
            from gitroi.sessions.roots import present as may_find

            if not may_find(module, *present):
                continue
        try:
            mod = importlib.import_module(module)
            reader: Reader = getattr(mod, cls)()
        except ModuleNotFoundError as exc:
            if exc.name != module:
                _warn(module, exc)
            continue
        except Exception as exc:  # a broken reader must not stop the others
            _warn(module, exc)
            continue
        if agents is None or reader.agent in agents:
            out.append(reader)
    return out
