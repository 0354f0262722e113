"""The CLI loads a command's module only when the command runs (gitroi/cli/app.py)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click

from gitroi.cli.app import COMMAND_MODULES, cli


def test_every_command_module_is_in_the_table() -> None:
    modules = sorted(set(COMMAND_MODULES.values()))
    for m in modules:
        importlib.import_module(f"gitroi.cli.{m}")
    registered = {name: cmd.callback.__module__.rsplit(".", 1)[1]
                  for name, cmd in cli.commands.items() if cmd.callback is not None}
    assert registered == COMMAND_MODULES


def test_help_lists_every_command() -> None:
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMAND_MODULES)
    for name in COMMAND_MODULES:
        assert cli.get_command(ctx, name) is not None, name
    assert cli.get_command(ctx, "no-such-command") is None


def test_a_command_imports_only_its_own_module(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = ("import sys\nfrom gitroi.cli import main\n"
            "rc = main(['-C', sys.argv[1], 'survival', '--help'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('gitroi.cli.') and m.endswith('_cmds')))\n"
            "print('duckdb' in sys.modules, 'gitroi.org.report' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[-2] == "['gitroi.cli.survival_cmds']"
    assert out[-1] == "False False"
