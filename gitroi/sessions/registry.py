"""Every session reader gitroi knows, in import order.

A reader module that is missing (or fails to import) is left out rather than
breaking the import of the others: the readers are independent, and a
broken one must never stop the post-commit hook from harvesting the rest.
"""

from __future__ import annotations

import importlib
import logging

from gitroi.sessions import Reader

log = logging.getLogger("gitroi")

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
                log.warning("gitroi: warning: reader %s could not be loaded: %s", module, exc)
            continue
        except Exception as exc:  # a broken reader must not stop the others
            log.warning("gitroi: warning: reader %s could not be loaded: %s", module, exc)
            continue
        if agents is None or reader.agent in agents:
            out.append(reader)
    return out
