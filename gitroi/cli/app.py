"""The ``gitroi`` group, its shared :class:`Context` and the entry point's error mapping.

The command modules (``*_cmds.py``) register their commands on :data:`cli`
when imported; :class:`LazyGroup` imports the one a command line names, so this
module never imports its commands at start-up (no import cycle either).

Only the ``gitroi.cli`` package imports click.  A command resolves the
repository and the ledger through :class:`Context`, calls one core function
and renders what it returns.  Heavy imports (pygit2, tree-sitter,
sqlite-utils) happen inside command bodies, so ``gitroi --help`` and the
hooks stay fast.

Errors: a :class:`GitroiError` prints ``Error: ...`` (with its hint) and exits
1; anything else is a bug and exits 3 with a one-line message (set
``GITROI_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gitroi import __version__
from gitroi.errors import GitroiError

if TYPE_CHECKING:
    from sqlite_utils import Database

    from gitroi.git import Repo


@dataclass
class Context:
    """What every command needs: where the repository and the ledger are."""

    db_path: Path | None = None
    prices_path: Path | None = None
    cwd: Path = field(default_factory=Path.cwd)
    _repo: Repo | None = None
    _db: Database | None = None

    def repo(self) -> Repo:
        """The repository the user stands in (GitroiError outside one)."""
        if self._repo is None:
            from gitroi.git import Repo

            self._repo = Repo.discover(self.cwd)
        return self._repo

    def maybe_repo(self) -> Repo | None:
        try:
            return self.repo()
        except GitroiError:
            return None

    def ledger_path(self) -> Path:
        if self.db_path is not None:
            return self.db_path
        env = os.environ.get("GITROI_DB")
        if env:
            return Path(env)
        try:
            return self.repo().paths.default_ledger
        except GitroiError as exc:
            raise GitroiError(
                f"{self.cwd} is not inside a git repository, so there is no default ledger",
                hint="cd into a repository or name one: gitroi -C PATH/TO/REPO ...; "
                     "to read an existing ledger file instead: gitroi --db LEDGER.db ...",
            ) from exc

    def db(self) -> Database:
        if self._db is None:
            from gitroi.ledger import DEFAULT_BUSY_TIMEOUT_MS
            from gitroi.ledger.fast import open_fast

            # A ledger at the current schema opens with one check and without sqlite-utils
            # (imported on first use of an API the fast handle lacks); else open_ledger.
            self._db = open_fast(self.ledger_path(), busy_timeout_ms=DEFAULT_BUSY_TIMEOUT_MS)
            self.catch_up()
        return self._db

    def catch_up(self, commits: list[str] | None = None) -> None:
        """Finish the hooks' unfinished work (all of it, or that on ``commits``) before the
        command reads anything: wait, bounded, for a hook still running, redo what a killed
        or queued hook left (:func:`gitroi.attribution.catchup.settle`)."""
        repo = self.maybe_repo()
        if repo is None:
            return
        from gitroi.attribution.catchup import settle

        for line in settle(repo, self.db, commits=commits):
            click.echo(line, err=True)


pass_ctx = click.make_pass_decorator(Context)

#: Which module registers each command: a command's module is imported when the
#: command runs (or help lists it), not at start-up.  Importing them all cost
#: every invocation ~80 ms (the org report's DuckDB and figure SQL among them),
#: a third of a re-analysis.  ``tests/test_cli_lazy.py`` checks this table.
COMMAND_MODULES: dict[str, str] = {
    "analyze": "survival_cmds", "survival": "survival_cmds", "verify": "survival_cmds",
    "attribute": "attribution_cmds", "show": "attribution_cmds", "rebuild": "attribution_cmds",
    "sync": "attribution_cmds",
    "doctor": "sessions_cmds", "sessions": "sessions_cmds",
    "export": "org_cmds", "org": "org_cmds",
    "install": "hooks_cmds", "uninstall": "hooks_cmds", "hook-impl": "hooks_cmds",
    "pr": "pr_cmds",
    "report": "report_cmds",
}


class LazyGroup(click.Group):
    """A group whose commands' modules load on first use (:data:`COMMAND_MODULES`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            import importlib

            importlib.import_module(f"gitroi.cli.{COMMAND_MODULES[cmd_name]}")  # registers it
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitroi")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Ledger file (default: .git/gitroi/ledger.db of this repository; env GITROI_DB).")
@click.option("--prices", "prices_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A LiteLLM-format price table merged over the shipped one.")
@click.option("-C", "cwd", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Run as if gitroi was started in this directory.")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | None, prices_path: Path | None, cwd: Path | None) -> None:
    """gitroi: what did the tokens buy?

    Links what AI coding agents cost to the lines that survived and the pull
    requests that merged.  Start with `gitroi report` in any repository.
    """
    ctx.obj = Context(db_path=db_path, prices_path=prices_path, cwd=(cwd or Path.cwd()).resolve())


def echo_json(data: Any) -> None:
    """The one way commands print JSON: stable key order as built, UTF-8, newline-terminated."""
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def emit(text: str, output: Path | None) -> None:
    """A report's text to stdout, or to ``output`` (its folder made) with one line on stderr."""
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; maps errors to exit codes."""
    try:
        # Without standalone mode click returns a command's Exit code instead of raising it.
        rv = cli.main(args=argv, prog_name="gitroi", standalone_mode=False)
        if isinstance(rv, int) and not isinstance(rv, bool):
            return rv
    except GitroiError as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: short message, exit 3
        if os.environ.get("GITROI_DEBUG"):
            raise
        click.echo(f"gitroi: internal error: {type(exc).__name__}: {exc} "
                   "(set GITROI_DEBUG=1 for the traceback)", err=True)
        return 3
    return 0
