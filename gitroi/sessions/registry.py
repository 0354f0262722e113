"""Every session reader gitroi knows, in import order.

A reader module that is missing (or fails to import) is left out rather than
breaking the import of the others: the readers are independent, and a
broken one must never stop the post-commit hook from harvesting the rest.
"""

from __future__ import annotations

import importlib

from gitroi.sessions import Reader


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


def readers(agents: set[str] | None = None) -> list[Reader]:
    """One instance of each available reader (optionally only the named agents)."""
    out: list[Reader] = []
    for module, cls in _READERS:
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
