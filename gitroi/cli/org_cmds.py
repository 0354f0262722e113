"""``gitroi export`` and ``gitroi org report``: the organisation view (``docs/export.md``, ``docs/org.md``)."""

from __future__ import annotations

from pathlib import Path

import click

from gitroi.cli.app import Context, cli, echo_json, emit, pass_ctx
from gitroi.org.engines import ENGINES
from gitroi.org.report import BY_CHOICES
from gitroi.report.render import FORMATS

PER_PERSON_WARNING = (
    "warning: --by author puts people in rows. A table of people turns a measure of what the "
    "tokens bought into a ranking of who spent them, and people then optimise the ranking, not "
    "the outcome. Use it to find help, never to judge; gitroi shows it only when asked.")


@cli.command("export")
@click.option("--to", "dest", required=True, metavar="DEST",
              help="Folder or object-store URI (s3://bucket/prefix, gs://..., az://...).")
@click.option("--name", help="Repository name in the export (default: the origin URL, "
                             "normalised: github.com/org/repo).")
@click.option("--branch", help="Branch to analyse (default: the main branch).")
@click.option("--no-update", is_flag=True,
              help="Export what the ledger holds; do not import, attribute or analyse first.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_ctx
def export_cmd(ctx: Context, dest: str, name: str | None, branch: str | None, no_update: bool,
               as_json: bool) -> None:
    """Write this repository's figures as Parquet for `gitroi org report`.

    Runs what is missing first (as `gitroi report` does), then writes the
    report's fact tables under DEST/repo=<name>/ and swaps the export in
    atomically: exporting again replaces this repository's data.
    """
    from gitroi.org.export import export, mailmap_of, repo_name
    from gitroi.report.figures import providers
    from gitroi.report.pipeline import prepare

    repo = ctx.repo()
    db = ctx.db()
    label = repo_name(repo, name)
    extra: dict[str, object] = {}
    if no_update:
        from gitroi.sessions.importer import repo_scopes

        roots = repo_scopes(repo)
    else:
        prep = prepare(repo, db, branch=branch, prices_path=ctx.prices_path)
        roots = prep.roots
        extra = {"branch": prep.branch, "tip": prep.tip}
        for p in prep.problems:
            click.echo(f"warning: {p}", err=True)
    done = export(db, dest, label, roots=roots, provider_of=providers(), person=mailmap_of(repo),
                  extra=extra)
    if as_json:
        echo_json(done.to_dict())
        return
    rows = done.rows
    click.echo(f"exported {label} to {dest} (export {done.export_id}): "
               f"{rows.get('commit_facts', 0):,} commits, {rows.get('token_facts', 0):,} usage "
               f"slices, {rows.get('pull_requests', 0):,} merged PRs"
               + (f"; replaced {done.replaced}" if done.replaced else ""))


@cli.group("org")
def org() -> None:
    """The organisation view: every exported repository's figures together."""


@org.command("report")
@click.option("--from", "src", required=True, metavar="SRC",
              help="Where the repositories exported to (folder or s3://, gs://, az:// URI).")
@click.option("--by", "by", multiple=True, type=click.Choice(BY_CHOICES),
              help="Group rows by these keys (repeatable). author only when asked for.")
@click.option("--since", help="Only commits at or after this time (ISO date/time, or 30d).")
@click.option("--until", help="Only commits before this time (ISO date/time, or 30d).")
@click.option("--teams", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="TOML file: team name -> list of repository globs.")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(FORMATS))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--engine", default="duckdb", show_default=True, type=click.Choice(ENGINES),
              help="duckdb (embedded) or spark (pyspark: local[*], or a cluster).")
@click.option("--spark-remote", metavar="URL",
              help="Spark Connect URL (sc://host:15002); default $SPARK_REMOTE, else local[*].")
def org_report(src: str, by: tuple[str, ...], since: str | None, until: str | None,
               teams: Path | None, fmt: str, output: Path | None, engine: str,
               spark_remote: str | None) -> None:
    """The headline and views of `gitroi report` over every exported repository."""
    from gitroi import timeutil
    from gitroi.errors import GitroiError
    from gitroi.org.report import compute, load_teams, normalise_by

    if output is not None and fmt == "table":
        fmt = {".html": "html", ".json": "json", ".csv": "csv", ".md": "markdown"}.get(
            output.suffix.lower(), fmt)
    try:
        since_iso = timeutil.parse_since(since) if since else None
        until_iso = timeutil.parse_since(until) if until else None
    except ValueError as exc:
        raise GitroiError(str(exc), hint="e.g. --since 2026-01-01 or --since 30d") from exc
    keys = normalise_by(by)
    if "author" in keys:
        click.echo(PER_PERSON_WARNING, err=True)
    team_map = load_teams(teams) if teams else []
    data = compute(src, by=keys, since=since_iso, until=until_iso, teams=team_map,
                   engine=engine, spark_remote=spark_remote, charts=fmt == "html")
    if fmt == "html":
        from gitroi.org.html import render_org_html

        text = render_org_html(data)
    else:
        from gitroi.report.render import render

        text = render(data, fmt, width=80 if output is not None else None)
    emit(text, output)
