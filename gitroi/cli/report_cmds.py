"""``gitroi report``: what did the tokens buy?  The main job in one command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitroi.cli.app import Context, cli, emit, pass_ctx
from gitroi.git import Repo
from gitroi.report.figures import BY_CHOICES
from gitroi.report.render import FORMATS
from gitroi.timeutil import TIME_SYNTAX

NO_EVIDENCE = (
    "No AI evidence in {where}: no agent sessions for this repository, no gitroi notes and no "
    "AI trailers (Co-Authored-By: Claude, (aider), ...) on {branch}.\n"
    "To start: run `gitroi install` here; from then on every commit records which lines an "
    "agent wrote and what the tokens cost, and `gitroi report` shows what they bought."
)

NO_EVIDENCE_LEDGER = (
    "No AI evidence in the ledger {where}: it holds no agent session and no AI-attributed commit.\n"
    "To fill it: run `gitroi -C PATH/TO/REPO report` on a repository (or `gitroi install` inside "
    "one, so every commit records what the agents wrote)."
)


@cli.command()
@click.option("--by", "by", multiple=True,
              type=click.Choice((*BY_CHOICES, "marker")),
              help="Group rows by these keys (repeatable). author only when asked for. "
                   "marker (alone): the commits and lines each marker rule finds.")
@click.option("--since", metavar="WHEN", help=f"Only commits at or after this time: {TIME_SYNTAX}.")
@click.option("--until", metavar="WHEN", help="Only commits before this time (same forms as --since).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format (default: from the -o file's extension, else table).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output; .html .json .csv .md .txt "
                   "choose the format.")
@click.option("--branch", "-b", help="Branch to analyse (default: the main branch, see docs/survival.md).")
@click.option("--no-update", is_flag=True,
              help="Report what the ledger holds; do not import, attribute or analyse first.")
@click.option("--datasette-metadata", "datasette", is_flag=True,
              help="Write Datasette metadata (table and column descriptions) for the ledger.")
@pass_ctx
def report(ctx: Context, by: tuple[str, ...], since: str | None, until: str | None, fmt: str | None,
           output: Path | None, branch: str | None, no_update: bool, datasette: bool) -> None:
    """What did the tokens buy?  Tokens, cost, AI lines, survival, PRs.

    Runs what is missing first (session import, attribution, survival
    analysis, PRs from history), incrementally, then prints the headline.
    """
    from gitroi import timeutil
    from gitroi.errors import GitroiError
    from gitroi.report.render import format_for_path

    if output is not None:
        implied = format_for_path(output)
        if fmt is None:
            fmt = implied or "table"
        elif implied is not None and implied != fmt:
            click.echo(f"warning: {output} ends in {output.suffix} but --format {fmt} was given; "
                       f"writing {fmt}", err=True)
    fmt = fmt or "table"
    since_iso = timeutil.time_option(since, "--since")
    until_iso = timeutil.time_option(until, "--until")
    if since_iso and until_iso and since_iso > until_iso:
        raise GitroiError(f"--since {since} ({since_iso}) is after --until {until} ({until_iso}): "
                          "the range is empty", hint="swap them, or leave one out")
    repo = ctx.maybe_repo()
    if repo is None and not ctx.ledger_path().exists():
        # Nothing to build a ledger from here: never leave an empty file behind.
        raise GitroiError(
            f"the ledger {ctx.ledger_path()} does not exist, and {ctx.cwd} is not inside a git "
            "repository to build one from",
            hint="report on a repository: gitroi -C PATH/TO/REPO report; or pass --db with an "
                 "existing ledger file")
    db = ctx.db()
    if datasette:
        import json

        from gitroi.report.metadata import datasette_metadata

        meta = datasette_metadata(db, database=ctx.ledger_path().stem)
        emit(json.dumps(meta, indent=2) + "\n", output)
        return
    if "marker" in by:
        _by_marker(repo, by, fmt, output, branch, since_iso, until_iso)
        return
    roots: list[str] | None = None
    repo_name = ctx.ledger_path().stem
    branch_name = branch or "the branch"
    measured: tuple[str | None, str | None, str] = (branch, None, "")
    if repo is not None:
        repo_name = (repo.paths.workdir or repo.paths.common_dir).name
        from gitroi.progress import Progress
        from gitroi.report.pipeline import prepare

        if no_update:
            from gitroi.sessions.importer import repo_scopes

            roots = repo_scopes(repo)
            from gitroi.git.branch import resolve_branch

            chosen = resolve_branch(repo, branch)
            if chosen is not None:
                measured = (chosen.name, chosen.tip, chosen.note)
        else:
            # Counts on a terminal for the steps that take a while; nothing when piped.
            with Progress(sys.stderr) as progress:
                prep = prepare(repo, db, branch=branch, prices_path=ctx.prices_path,
                               progress=progress)
            roots = prep.roots
            branch_name = prep.branch or branch_name
            measured = (prep.branch, prep.tip, prep.branch_note)
            for p in prep.problems:
                click.echo(f"warning: {p}", err=True)
    from gitroi.report.figures import chart_data, compute, normalise_by

    keys = normalise_by(by)
    # One person, one row: the repository's .mailmap joins a person's names and e-mails.
    canonical = repo.canonical_contacts if repo is not None else None
    if fmt == "html":
        data = chart_data(db, by=keys, since=since_iso, until=until_iso, repo_name=repo_name,
                          roots=roots, canonical=canonical)
    else:
        data = compute(db, by=keys, since=since_iso, until=until_iso, repo_name=repo_name,
                       roots=roots, canonical=canonical)
    from gitroi.report.scope import empty_reason, state_scope

    state_scope(data, db, *measured)
    if measured[2] and fmt == "table" and output is None:
        click.echo(f"note: {measured[2]}", err=True)
    h = data["headline"]
    if not (h["tokens"] or h["ai_lines"] or h["exploration_tokens"]):
        if repo is not None:
            msg = empty_reason(db, repo, data, since_iso, until_iso) or NO_EVIDENCE.format(
                where=repo.paths.workdir, branch=branch_name)
        else:
            msg = NO_EVIDENCE_LEDGER.format(where=ctx.ledger_path())
        if fmt == "table" and output is None:
            click.echo(msg)
            return
        click.echo(msg, err=True)
    from gitroi.report.render import render

    emit(render(data, fmt, width=80 if output is not None else None), output)


def _by_marker(repo: Repo | None, by: tuple[str, ...], fmt: str, output: Path | None,
               branch: str | None, since: str | None, until: str | None) -> None:
    """``--by marker``: read from the history itself, every rule counted (docs/markers.md)."""
    import json

    from gitroi.errors import GitroiError
    from gitroi.report.markers import marker_counts, render_marker_table

    if set(by) != {"marker"}:
        raise GitroiError("--by marker does not combine with other --by keys",
                          hint="run `gitroi report --by marker` on its own")
    if fmt not in ("table", "json"):
        raise GitroiError(f"--by marker prints a table or JSON, not {fmt}",
                          hint="--format table or --format json")
    if repo is None:
        raise GitroiError("--by marker reads a repository's history",
                          hint="run it inside a git repository")
    from gitroi.report.pipeline import default_branch

    data = marker_counts(repo, branch or default_branch(repo), since=since, until=until)
    for w in data["warnings"]:
        click.echo(f"warning: {w}", err=True)
    text = json.dumps(data, indent=2) + "\n" if fmt == "json" else render_marker_table(data)
    emit(text, output)

