"""Commands over commit attribution: ``attribute``, ``show``, ``rebuild``, ``sync``."""

from __future__ import annotations

import click

from gitroi.cli.app import Context, cli, echo_json, pass_ctx
from gitroi.timeutil import TIME_SYNTAX
from gitroi.wording import plural


@cli.command()
@click.argument("rev_range", required=False)
@click.option("--since", metavar="WHEN",
              help=f"Without REV-RANGE: only commits newer than this time: {TIME_SYNTAX}.")
@click.option("--no-import", is_flag=True, help="Do not read new agent log lines first.")
@click.option("--manual", "manual", multiple=True, metavar="AGENT",
              help="State by hand that AGENT wrote the commit REV (attribution 'manual').")
@click.option("--lines", "lines", multiple=True, metavar="PATH:RANGES",
              help="With --manual: only these added lines, e.g. src/a.py:1-5,9.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_ctx
def attribute(ctx: Context, rev_range: str | None, since: str | None, no_import: bool,
              manual: tuple[str, ...], lines: tuple[str, ...], as_json: bool) -> None:
    """Attribute commits made without the hooks, from logs still on disk, else from markers.

    Without REV-RANGE, every commit reachable from HEAD that has no gitroi note
    yet.  Existing notes are merged with, never overwritten.  With --manual,
    REV-RANGE is one commit and the note says a person attributed it.

    Examples: gitroi attribute main~20..main;
    gitroi attribute HEAD --manual cursor --lines src/a.py:1-5,9
    """
    if manual:
        _manual(ctx, rev_range or "HEAD", manual, lines, as_json)
        return
    if lines:
        raise click.UsageError("--lines needs --manual AGENT")
    import sys

    from gitroi.attribution.attribute import attribute_range
    from gitroi.progress import Progress
    from gitroi.timeutil import time_option

    since_iso = time_option(since, "--since")
    repo = ctx.repo()
    if rev_range is not None:
        repo.check_revisions(rev_range, what="REV-RANGE")
    problems: list[str] = []
    with Progress(sys.stderr) as bar:   # a bar on a terminal for long catch-ups; nothing piped
        counts = attribute_range(repo, ctx.db(), rev_range, import_logs=not no_import,
                                 since=since_iso, progress=bar.stage("attributing", "commits"),
                                 problems=problems)
    for p in problems:
        click.echo(f"gitroi: warning: {p}", err=True)
    if as_json:
        echo_json(counts)
    else:
        total = sum(counts.values())
        click.echo(f"attributed {plural(total, 'commit')}: {counts['line']} line-level, "
                   f"{counts['commit']} commit-level, {counts['none']} without AI")


def _manual(ctx: Context, rev: str, agents: tuple[str, ...], lines: tuple[str, ...],
            as_json: bool) -> None:
    from gitroi.attribution.attribute import attribute_manual
    from gitroi.attribution.describe import describe

    ranges: dict[str, list[tuple[int, int]]] = {}
    for spec in lines:
        path, sep, spans = spec.rpartition(":")
        try:
            if not sep or not path:
                raise ValueError(spec)
            for part in spans.split(","):
                a, _, b = part.partition("-")
                ranges.setdefault(path, []).append((int(a), int(b or a)))
        except ValueError as exc:
            raise click.BadParameter(f"{spec!r} is not PATH:RANGES (e.g. src/a.py:1-5,9)",
                                     param_hint="--lines") from exc
    note = attribute_manual(ctx.repo(), ctx.db(), rev, list(agents), ranges=ranges or None)
    if as_json:
        echo_json(describe(ctx.repo(), rev))
    else:
        click.echo(f"attributed {rev} to {', '.join(note.agents)} by hand: "
                   f"{note.ai_lines} of {plural(note.lines_added, 'added line')}")


def _fmt_cost(cost: float | None) -> str:
    return "unpriced" if cost is None else f"${cost:.4f}"


@cli.command()
@click.argument("rev", default="HEAD")
@click.option("--json", "as_json", is_flag=True, help="Print the attribution as JSON.")
@pass_ctx
def show(ctx: Context, rev: str, as_json: bool) -> None:
    """Print a commit's attribution: sessions, tokens, cost and AI-written line ranges.

    Example: gitroi show HEAD --json
    """
    from gitroi.attribution.describe import describe
    from gitroi.wording import describe_attribution

    repo = ctx.repo()
    sha = repo.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", "--",
                   check=False).decode("ascii", "replace").strip() if rev else ""
    if sha:
        ctx.catch_up([sha])  # a hook still at work on it: wait for it, bounded (never "none")
    d = describe(repo, rev)
    if as_json:
        for w in d["warnings"]:
            click.echo(f"gitroi: warning: {w}", err=True)
        echo_json(d)
        return
    click.echo(f"commit {d['commit']}  {d['subject']}")
    click.echo(f"attribution: {describe_attribution(d['attribution'], d['source'])}")
    if d["agents"]:
        click.echo(f"agents: {', '.join(d['agents'])}")
    click.echo(f"lines added: {d['lines_added']}, AI lines: {d['ai_lines']}")
    if d["sessions"]:
        click.echo(f"tokens: {d['tokens']:,}  cost: {_fmt_cost(d['cost_usd'])}")
        for s in d["sessions"]:
            models = ", ".join(s["models"]) or "-"
            click.echo(f"  {s['agent']} {s['session_id']}: {s['tokens']:,} tokens, "
                       f"{_fmt_cost(s['cost_usd'])} ({models})")
    for path, ranges in d["ai_ranges"].items():
        spans = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges)
        click.echo(f"  {path}: {spans}")
    if d["markers"]:
        click.echo(f"markers: {', '.join(d['markers'])}")
    for w in d["warnings"]:
        click.echo(f"gitroi: warning: {w}", err=True)


@cli.command()
@pass_ctx
def rebuild(ctx: Context) -> None:
    """Recreate the ledger's commit attribution from notes (then git-ai, Agent Trace, markers).

    The ledger is derived data; notes are the source of truth.
    """
    from gitroi.attribution.rebuild import rebuild as do_rebuild

    problems: list[str] = []
    n = do_rebuild(ctx.repo(), ctx.db(), problems=problems)
    for p in problems:
        click.echo(f"gitroi: warning: {p}", err=True)
    click.echo(f"rebuilt attribution of {plural(n, 'commit')}")


@cli.command()
@click.argument("remote", default="origin")
@click.option("--no-push", is_flag=True, help="Only fetch and merge; do not push the merged notes.")
@pass_ctx
def sync(ctx: Context, remote: str, no_push: bool) -> None:
    """Fetch REMOTE's gitroi notes, merge them note by note with ours, and push the result.

    Two machines' notes for one commit are merged (sessions and line ranges
    united), never overwritten.

    Example: gitroi sync origin
    """
    from gitroi.attribution.notes import fetch_and_merge, push
    from gitroi.attribution.rebuild import ensure_ledger

    repo = ctx.repo()
    repo.check_remote(remote)
    res = fetch_and_merge(repo, remote)
    for p in res.problems:
        click.echo(f"gitroi: warning: {p}", err=True)
    click.echo(f"fetched {plural(res.fetched, 'note')} from {remote}: {res.added} new, "
               f"{res.merged} merged, {res.unchanged} unchanged")
    if not no_push:
        ok, msg = push(repo, remote)
        click.echo(msg, err=not ok)
    problems: list[str] = []
    ensure_ledger(repo, ctx.db(), problems=problems)
    said = {p[:p.find(" is ")] for p in res.problems if p.startswith("the gitroi note on ")}
    for p in problems:  # each note named once: what the merge said is not said again
        if p[:p.find(" is ")] not in said:
            click.echo(f"gitroi: warning: {p}", err=True)

