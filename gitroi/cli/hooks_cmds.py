"""``gitroi install`` / ``gitroi uninstall`` and the hidden ``hook-impl`` alias.

Thin: resolve the repository, call :mod:`gitroi.attribution.hooks`, print what changed.
The hooks themselves run ``python -m gitroi.attribution.hookrun`` directly (no click,
so they stay fast); ``gitroi hook-impl NAME`` is the same entry point for a
hook that finds only the console script on PATH, and for the pre-commit
framework.
"""

from __future__ import annotations

import sys

import click

from gitroi.cli.app import Context, cli, pass_ctx


def _print_changes(target_line: str, lines: list[str], *, nothing: str) -> None:
    click.echo(target_line)
    if not lines:
        click.echo(f"  {nothing}")
    for line in lines:
        click.echo(f"  {line}")


@cli.command()
@click.option("--global", "global_", is_flag=True,
              help="Install for every repository of this user (global core.hooksPath, else "
                   "git's init.templateDir).")
@click.option("--force", is_flag=True,
              help="Install into a core.hooksPath outside this repository (shared with others).")
@pass_ctx
def install(ctx: Context, global_: bool, force: bool) -> None:
    """Install gitroi's post-commit, post-rewrite and pre-push hooks.

    An existing hook is kept as <name>.legacy and still runs first, with its
    exit code respected; `gitroi uninstall` puts it back.  Installing twice
    changes nothing.  Example:

        gitroi install            # this repository and all its worktrees
        gitroi install --global   # every repository you create or clone
    """
    from gitroi.attribution import hooks

    if global_:
        t, changes = hooks.install_global()
    else:
        t, changes = hooks.install(ctx.repo().paths, force=force)
    _print_changes(f"gitroi hooks in {t.hooks_dir} ({t.reason}):", [c.line() for c in changes],
                   nothing="nothing to do")
    if all(c.action == "unchanged" for c in changes):
        click.echo("already installed; nothing changed")


@cli.command()
@click.option("--global", "global_", is_flag=True,
              help="Undo `gitroi install --global`.")
@click.option("--force", is_flag=True,
              help="Uninstall from a core.hooksPath outside this repository.")
@pass_ctx
def uninstall(ctx: Context, global_: bool, force: bool) -> None:
    """Remove gitroi's hooks, restoring any hook they had replaced.

    Example:  gitroi uninstall
    """
    from gitroi.attribution import hooks

    if global_:
        gt, changes = hooks.uninstall_global()
        if gt is None:
            click.echo("gitroi is not installed globally; nothing changed")
            return
        _print_changes(f"gitroi hooks in {gt.hooks_dir} ({gt.reason}):",
                       [c.line() for c in changes], nothing="nothing to do")
        return
    t, changes = hooks.uninstall(ctx.repo().paths, force=force)
    _print_changes(f"gitroi hooks in {t.hooks_dir} ({t.reason}):", [c.line() for c in changes],
                   nothing="no gitroi hooks were installed; nothing changed")


@cli.command("hook-impl", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def hook_impl(name: str, args: tuple[str, ...]) -> None:
    """Run hook NAME (what the installed hook scripts call); never fails."""
    from gitroi.attribution.hookrun import main

    sys.exit(main([name, *args]))
