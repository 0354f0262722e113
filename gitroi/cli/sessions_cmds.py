"""``gitroi sessions import``, ``gitroi sessions list`` and ``gitroi doctor``.

Thin: the work is in :mod:`gitroi.sessions.importer` and
:mod:`gitroi.sessions.store`; these commands resolve the repository and
the ledger, call one function and render what it returns.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from gitroi.cli.app import Context, cli, echo_json, pass_ctx
from gitroi.errors import GitroiError
from gitroi.timeutil import TIME_SYNTAX
from gitroi.wording import plural

if TYPE_CHECKING:
    from gitroi.sessions.importer import ImportSummary


def _scopes(ctx: Context, all_sessions: bool) -> list[str] | None:
    if all_sessions:
        return None
    repo = ctx.maybe_repo()
    if repo is None:
        raise GitroiError(f"{ctx.cwd} is not inside a git repository, so there is no work tree to "
                          "take sessions from", hint="pass --all to take every session found")
    from gitroi.sessions.importer import repo_scopes

    return repo_scopes(repo)


def _run_import(ctx: Context, *, all_sessions: bool, since: str | None) -> ImportSummary:
    from gitroi import timeutil
    from gitroi.sessions.importer import import_sessions
    from gitroi.sessions.pricing import PriceTable

    scopes = _scopes(ctx, all_sessions)
    since_iso = timeutil.time_option(since, "--since")
    prices = PriceTable.load(ctx.prices_path)
    db = ctx.db()
    from gitroi.progress import Progress

    with Progress(sys.stderr) as bar:
        return import_sessions(db, all_sessions=all_sessions, scopes=scopes, since=since_iso,
                               prices=prices,
                               progress=bar.stage("reading agent logs", "MB", scale=1_000_000))


@cli.group()
def sessions() -> None:
    """Coding-agent sessions: import them from the agents' logs, list them."""


@sessions.command("import")
@click.option("--all", "all_sessions", is_flag=True,
              help="Take every session found, not only those inside this repository's work trees.")
@click.option("--since", metavar="WHEN",
              help=f"Only log files written since this time: {TIME_SYNTAX}.")
@click.option("--reprice", is_flag=True,
              help="Recompute the cost of every imported response with the current price tables.")
@pass_ctx
def import_cmd(ctx: Context, all_sessions: bool, since: str | None, reprice: bool) -> None:
    """Read new agent log lines into the ledger (incremental).

    Example: gitroi sessions import --since 30d
    """
    s = _run_import(ctx, all_sessions=all_sessions, since=since)
    if reprice:
        from gitroi.sessions.pricing import PriceTable
        from gitroi.sessions.store import reprice as reprice_events

        n, unpriced = reprice_events(ctx.db(), PriceTable.load(ctx.prices_path).cost)
        click.echo(f"Repriced {plural(n, 'response')} ({unpriced} without a price).")
    mb = s.bytes_read / 1e6
    click.echo(f"Imported {plural(s.events, 'response')} and {plural(s.edits, 'edit')} of "
               f"{plural(s.sessions, 'session')} "
               f"from {plural(s.files_read, 'log file')} ({mb:.1f} MB); "
               f"{s.files_unchanged} unchanged, {s.files_out_of_scope} outside this repository.")
    line = s.problem_line()
    if line:
        click.echo(line, err=True)


def _fmt_int(n: int) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.1f}{unit}"
    return str(n)


def _fmt_cost(c: float | None) -> str:
    return "?" if c is None else f"${c:,.2f}"


def render_table(rows: list[dict[str, Any]]) -> str:
    """Sessions as a table that fits 80 columns."""
    if not rows:
        return "No sessions."
    head = f"{'AGENT':<11} {'SESSION':<10} {'STARTED':<16} {'MODELS':<21} {'TOKENS':>7} {'COST':>9}"
    lines = [head]
    tok = 0
    costs: list[float | None] = []
    for r in rows:
        models = ",".join(sorted(r["models"])) or "-"
        if len(models) > 21:
            models = models[:20] + "…"
        started = (r["started_at"] or "")[:16].replace("T", " ")
        lines.append(f"{r['agent'][:11]:<11} {r['session_id'][:10]:<10} {started:<16} "
                     f"{models:<21} {_fmt_int(r['tokens']):>7} {_fmt_cost(r['cost_usd']):>9}")
        tok += r["tokens"]
        costs.append(r["cost_usd"])
    known = [c for c in costs if c is not None]
    total = _fmt_cost(sum(known)) + ("+?" if len(known) < len(costs) else "")
    lines.append(f"{plural(len(rows), 'session')}, {_fmt_int(tok)} tokens, {total}")
    return "\n".join(lines)


@sessions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (docs/sessions.md).")
@click.option("--all", "all_sessions", is_flag=True,
              help="Every session in the ledger, not only this repository's.")
@pass_ctx
def list_cmd(ctx: Context, as_json: bool, all_sessions: bool) -> None:
    """List imported sessions with tokens and cost per model.

    Example: gitroi sessions list --json
    """
    from gitroi.sessions.store import list_sessions

    scopes = None if all_sessions or ctx.maybe_repo() is None else _scopes(ctx, False)
    rows = list_sessions(ctx.db(), scopes)
    if as_json:
        echo_json(rows)
    else:
        click.echo(render_table(rows))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@pass_ctx
def doctor(ctx: Context, as_json: bool) -> None:
    """Where gitroi looks for each agent's logs, what it found, what is wrong.

    Exits 1 when it found an error (the ledger or the price table cannot be read).

    Example: gitroi doctor
    """
    from gitroi.sessions.store import agent_counts, problem_count, recent_problems

    report: dict[str, Any] = {"ledger": None, "repository": None, "agents": [], "problems": []}
    repo = ctx.maybe_repo()
    report["repository"] = str(repo.paths.workdir) if repo and repo.paths.workdir else None
    if repo is not None:
        from gitroi.attribution.catchup import describe_jobs

        # what the hooks left unfinished, as found (opening the ledger below finishes it)
        report["hook_jobs"] = describe_jobs(repo)
    summary = None
    try:
        report["ledger"] = str(ctx.ledger_path())
        summary = _run_import(ctx, all_sessions=repo is None, since=None)
        db = ctx.db()
        counts = agent_counts(db)
        report["problems_total"] = problem_count(db)
        report["problems"] = [{"path": p.path, "line": p.line, "reason": p.reason}
                              for p in recent_problems(db, 10)]
    except GitroiError as exc:
        report["error"] = str(exc)
        counts = {}
    from gitroi.sessions.pricing import PriceTable

    try:
        table = PriceTable.load(ctx.prices_path)
        report["prices"] = {"models": len(table.entries), "sources": table.sources}
    except GitroiError as exc:
        report["prices"] = {"error": str(exc)}
    if summary is not None:
        for name, scan in summary.agents.items():
            c = counts.get(name, {})
            report["agents"].append({
                "agent": name, "looked_in": scan.roots, "found_dirs": scan.roots_found,
                "log_files": scan.files, "outside_repository": scan.out_of_scope,
                "sessions": c.get("sessions", 0), "responses": c.get("events", 0),
                "edits": c.get("edits", 0),
            })
    failed = "error" in report or "error" in report["prices"]
    if as_json:
        echo_json(report)
        if failed:
            raise click.exceptions.Exit(1)
        return
    click.echo(f"Repository: {report['repository'] or '(none: every session is in scope)'}")
    click.echo(f"Ledger:     {report['ledger'] or '-'}")
    pr = report["prices"]
    if "error" in pr:
        click.echo(f"Prices:     ERROR {pr['error']}")
    else:
        click.echo(f"Prices:     {pr['models']} models from {', '.join(pr['sources'])}")
    if "error" in report:
        click.echo(f"Error:      {report['error']}")
    for a in report["agents"]:
        where = ", ".join(a["looked_in"]) or "(no location configured)"
        click.echo(f"\n{a['agent']}: looked in {where}")
        if not a["found_dirs"]:
            click.echo("  nothing there (agent not used on this machine, or logs elsewhere)")
            continue
        click.echo(f"  {plural(a['log_files'], 'log file')}, {a['outside_repository']} outside this "
                   f"repository; ledger: {plural(a['sessions'], 'session')}, "
                   f"{plural(a['responses'], 'response')}, {plural(a['edits'], 'edit')}")
    jobs = report.get("hook_jobs") or []
    if jobs:
        click.echo(f"\n{plural(len(jobs), 'piece')} of hook work {'was' if len(jobs) == 1 else 'were'} "
                   "left unfinished:")
        for j in jobs:
            click.echo(f"  {j['message']}")
        if ctx._db is not None:
            click.echo("  (finished now: see the lines above, if any)")
    if report["problems"]:
        n = report["problems_total"]
        click.echo(f"\n{n} {'line or file' if n == 1 else 'lines or files'} could not be read; most recent:")
        for p in report["problems"]:
            click.echo(f"  {p['path']}:{p['line']}: {p['reason']}")
    else:
        click.echo("\nNo unreadable log lines.")
    if failed:
        # A check that found an error fails, so scripts and CI see it.
        raise click.exceptions.Exit(1)
