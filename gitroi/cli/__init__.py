"""The ``gitroi`` command line: a thin click layer over the core modules.

:mod:`gitroi.cli.app` holds the group, the shared context and the entry point;
each ``*_cmds`` module registers its commands on the group when imported, which
happens when a command line names one of them (:data:`gitroi.cli.app.COMMAND_MODULES`).
"""

from __future__ import annotations

from gitroi.cli.app import COMMAND_MODULES, Context, cli, echo_json, main, pass_ctx

__all__ = ["COMMAND_MODULES", "Context", "cli", "echo_json", "main", "pass_ctx"]
