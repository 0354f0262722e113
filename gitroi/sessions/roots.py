"""Where each agent keeps its logs, without importing its reader.

The readers' ``roots()`` answer from here, and :func:`gitroi.sessions.registry.readers`
asks here first when told to (``present=``): the post-commit hook loads
only the readers whose folders exist on this machine (a reader's module costs
~0.3-1 ms to import, and most machines run one or two agents).  Aider keeps
its history inside the work trees, so its reader is always loaded.
"""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def claude_code(env: Mapping[str, str], home: Path) -> list[Path]:
    """``$CLAUDE_CONFIG_DIR/projects`` (each of a comma-separated list), then the defaults."""
    out: list[Path] = []
    for part in (env.get("CLAUDE_CONFIG_DIR") or "").split(","):
        if part.strip():
            out.append(Path(part.strip()).expanduser() / "projects")
    out += [home / ".claude" / "projects", home / ".config" / "claude" / "projects"]
    seen: set[Path] = set()
    uniq = []
    for p in out:
        if p not in seen:
            seen.add(p)
            uniq.append(p)
    return uniq


def codex(env: Mapping[str, str], home: Path) -> list[Path]:
    base = env.get("CODEX_HOME")
    return [Path(base).expanduser() if base else home / ".codex"]


def gemini(env: Mapping[str, str], home: Path) -> list[Path]:
    # GEMINI_CLI_HOME replaces the home directory for Gemini CLI (packages/core/src/utils/paths.ts).
    base = env.get("GEMINI_CLI_HOME")
    return [Path(base) / ".gemini" if base else home / ".gemini"]


def opencode(env: Mapping[str, str], home: Path) -> list[Path]:
    if env.get("OPENCODE_DATA_DIR"):
        return [Path(env["OPENCODE_DATA_DIR"])]
    xdg = env.get("XDG_DATA_HOME")
    return [Path(xdg) / "opencode" if xdg else home / ".local" / "share" / "opencode"]


#: Reader module -> its roots, for the readers whose logs live only there.
BY_MODULE: dict[str, Callable[[Mapping[str, str], Path], list[Path]]] = {
    "gitroi.sessions.claude_code": claude_code,
    "gitroi.sessions.codex": codex,
    "gitroi.sessions.gemini": gemini,
    "gitroi.sessions.opencode": opencode,
}


def present(module: str, env: Mapping[str, str], home: Path) -> bool:
    """Whether the reader in ``module`` may find anything here: one of its roots exists (a
    reader not listed in :data:`BY_MODULE` always may)."""
    roots = BY_MODULE.get(module)
    if roots is None:
        return True
    for root in roots(env, home):
        try:
            if root.exists():
                return True
        except OSError:
            return True  # let the reader say what is wrong with it
    return False
