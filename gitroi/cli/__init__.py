"""The ``gitroi`` command line: a thin click layer over the core modules.

:mod:`gitroi.cli.app` holds the group, the shared context and the entry point;
each ``*_cmds`` module registers its commands on the group when imported here.
"""

from __future__ import annotations

from gitroi.cli import (
    attribution_cmds,
    hooks_cmds,
    org_cmds,
    pr_cmds,
    report_cmds,
    sessions_cmds,
    survival_cmds,
)
from gitroi.cli.app import Context, cli, echo_json, main, pass_ctx

__all__ = [
    "Context", "attribution_cmds", "cli", "echo_json", "hooks_cmds", "main", "org_cmds", "pass_ctx",
    "pr_cmds", "report_cmds", "sessions_cmds", "survival_cmds",
]
