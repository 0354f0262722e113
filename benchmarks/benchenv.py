"""The environment the hook benchmarks run git and gitroi in (imported by bench_hook*.py).

A home of its own with a fixed identity, no git, gitroi or agent variables of the
caller's, and byte code written as after ``pip install`` (``PYTHONDONTWRITEBYTECODE``
dropped): the hook is measured as a user's machine runs it.
"""

from __future__ import annotations

import os
from pathlib import Path


def isolated_env(tmp: Path, logs: Path) -> dict[str, str]:
    """``tmp/home`` as HOME (made here); the agents' logs under ``logs`` (claude/, codex/)."""
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "GITROI_", "CLAUDE_", "CODEX_"))
           and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
               GIT_CONFIG_NOSYSTEM="1", CLAUDE_CONFIG_DIR=str(logs / "claude"),
               CODEX_HOME=str(logs / "codex"))
    return env
