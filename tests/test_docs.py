"""Every command has help and is in README.md, so the docs cannot fall behind the CLI."""

from __future__ import annotations

import re

import click

from gitroi.cli import cli
from tests.conftest import ROOT


def _commands() -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, cmd in cli.commands.items():
        if cmd.hidden:
            continue
        out.append((name, cmd))
        if isinstance(cmd, click.Group):
            out += [(f"{name} {sub}", c) for sub, c in cmd.commands.items() if not c.hidden]
    return out


def test_every_command_has_help() -> None:
    missing = [name for name, cmd in _commands() if not (cmd.help or "").strip()]
    assert not missing, f"commands without help: {missing}"


def test_every_command_is_in_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `gitroi")]
    missing = []
    for name, _ in _commands():
        top, _, sub = name.partition(" ")
        row = [r for r in rows if re.search(rf"`gitroi {re.escape(top)}\b", r)]
        if not row or (sub and not any(re.search(rf"\b{re.escape(sub)}\b", r) for r in row)):
            missing.append(name)
    assert not missing, f"commands missing from README.md's command table: {missing}"
