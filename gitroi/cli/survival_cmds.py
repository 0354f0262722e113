"""``gitroi analyze`` and ``gitroi survival``: run the survival analysis, show its figures."""

from __future__ import annotations

import sys
from typing import Any

import click

from gitroi.cli.app import Context, cli, echo_json, pass_ctx
from gitroi.wording import plural


def _parse_window(text: str) -> float:
    """``14d``, ``36h``, ``2w`` or a bare number of days, as days (like ``pr --window``)."""
    from gitroi.timeutil import window_option

    return window_option(text, "--window")


def _parse_size(text: str) -> int:
    """``1m``, ``512k`` or a number of bytes."""
    t = text.strip().lower()
    mult = {"k": 1000, "m": 1000_000, "g": 1000_000_000}.get(t[-1:], 1)
    try:
        return int(float(t[:-1] if mult != 1 else t) * mult)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size (examples: 1m, 512k, 200000)") from None


@cli.command()
@click.option("--branch", "-b", help="Branch to analyse (default: the repository's main branch).")
@click.option("--window", default="14d", show_default=True,
              help="Churn window (14d, 2w, 36h or a number of days): a line changed or deleted within "
                   "it after its commit is churned.")
@click.option("--since", metavar="REV",
              help="Replay only commits after the commit REV (a commit, not a date); older lines are "
                   "of unknown origin.")
@click.option("--max-file-size", default="1m", show_default=True, metavar="SIZE",
              help="Files larger than this (bytes, or with k/m suffix) are skipped like binary files.")
@pass_ctx
def analyze(ctx: Context, branch: str | None, window: str, since: str | None, max_file_size: str) -> None:
    """Follow every line of the branch's history to its tip and store the outcomes.

    Incremental: a second run replays only the commits added since the first.
    Needs no session log: commits with agent trailers are attributed from them.

    Example: gitroi analyze --window 7d
    """
    from gitroi.survival.analyze import analyze as run

    days = _parse_window(window)
    max_bytes = _parse_size(max_file_size)
    from gitroi.progress import Progress

    with Progress(sys.stderr) as bar:
        result = run(ctx.repo(), ctx.db(), branch=branch, window_days=days, since=since,
                     progress=bar.stage("replaying history", "commits"), max_file_bytes=max_bytes)
    click.echo(result.message)
    for problem in result.stats.get("problems") or []:
        click.echo(f"gitroi: warning: {problem}", err=True)
    skipped = result.stats.get("skipped_files") or {}
    if skipped:
        click.echo("skipped files: " + ", ".join(f"{n} {k}" for k, n in skipped.items()))
    missing = result.stats.get("missing_blobs") or {}
    if missing.get("blobs"):
        shown = ", ".join(missing.get("paths") or [])
        more = missing["files"] - len(missing.get("paths") or [])
        click.echo(f"partial clone: {plural(missing['blobs'], 'blob')} missing; "
                   f"{plural(missing['files'], 'file')} not analysed"
                   + (f": {shown}" if shown else "") + (f" and {more} more" if more > 0 else ""))
        click.echo("  fetch them (`git fetch --refetch origin`, or `git backfill` with git >= 2.49) "
                   "and analyse again for complete figures")
    if result.stats.get("unknown_origin_lines"):
        n = result.stats["unknown_origin_lines"]
        click.echo(f"{plural(n, 'line')} at the tip {'is' if n == 1 else 'are'} of unknown origin "
                   "(shallow clone or --since)")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (docs/survival.md).")
@pass_ctx
def survival(ctx: Context, as_json: bool) -> None:
    """Show what became of the lines: surviving, churned, reverted, deleted later.

    Reads the last `gitroi analyze` from the ledger.

    Example: gitroi survival --json
    """
    from gitroi.ledger.survival import summary

    data = summary(ctx.db())
    if as_json:
        echo_json(data)
        return
    if data["tip"] is None:
        click.echo("no analysis yet: run `gitroi analyze`")
        return
    click.echo(f"{data['branch']} at {data['tip'][:12]}, window {data['window_days']:g} days, "
               f"{data['commits_analysed']} commits")
    head = f"{'':10}{'added':>9}{'surviving':>11}{'churned':>9}{'reverted':>10}{'deleted':>9}{'carried':>9}"
    click.echo(head)
    for name in ("all", "ai"):
        for sub, label in ((None, name), ("code", "  code"), ("non_code", "  non-code")):
            g = data[name] if sub is None else data[name][sub]
            click.echo(f"{label:10}{g['lines_added']:>9}{g['surviving']:>11}{g['churned']:>9}"
                       f"{g['reverted']:>10}{g['deleted_later']:>9}{g['carried']:>9}")
    click.echo(f"{plural(len(data['commits']), 'attributed commit')}; per commit: gitroi survival --json")
    missing = data.get("missing_blobs") or {}
    if missing.get("blobs"):
        click.echo(f"partial clone: {plural(missing['blobs'], 'blob')} missing, {plural(missing['files'], 'file')} "
                   "not analysed (gitroi survival --json names them)")


@cli.command()
@click.option("--branch", "-b", help="Branch to verify (default: the repository's main branch).")
@click.option("--sample", default=50, show_default=True, metavar="N",
              help="Tip files to blame (those where AI lines may live), chosen by a fixed hash of their path.")
@click.option("--all", "all_files", is_flag=True, help="Blame every file at the tip.")
@click.option("--tolerance", default="2%", show_default=True, metavar="PCT",
              help="Largest accepted difference between surviving AI lines and blame's count.")
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON (docs/survival.md).")
@pass_ctx
def verify(ctx: Context, branch: str | None, sample: int, all_files: bool, tolerance: str, as_json: bool) -> None:
    """Check the survival figures against git: added lines against `git log --numstat`,
    surviving AI lines against `git blame -w -M -C`.

    Exits 1 when an AI commit's added lines differ from numstat, or when the
    surviving AI lines differ from blame's by more than the tolerance.

    Example: gitroi verify --all
    """
    from gitroi.survival.verify import verify as run

    t = tolerance.strip().rstrip("%")
    try:
        tol = float(t) / (100.0 if tolerance.strip().endswith("%") else 1.0)
    except ValueError:
        raise click.BadParameter(f"{tolerance!r} is not a share (examples: 2%, 0.02)") from None
    result = run(ctx.repo(), ctx.db(), branch=branch, sample=sample, all_files=all_files, tolerance=tol)
    if as_json:
        echo_json(result.to_json())
    else:
        _print_verify(result)
    if not result.ok:
        raise SystemExit(1)


def _print_verify(r: Any) -> None:
    data = r.to_json()
    add, surv = data["added"], data["surviving"]
    click.echo(f"verified {r.branch} at {r.tip[:12]}" + (" (partial history)" if r.partial else ""))
    click.echo(f"added lines: {add['ai_commits']} AI commit(s); git log --numstat -M {add['numstat']} = "
               f"new {add['new']} + carried {add['carried']} + skipped {add['skipped']}"
               + ("" if add["ok"] else f"  MISMATCH in {add['mismatched']} commit(s)"))
    for m in add["mismatches"]:
        click.echo(f"  {m['commit'][:12]}  numstat {m['numstat']}  new {m['new']}  carried {m['carried']}  "
                   f"skipped {m['skipped']}  delta {m['delta']:+d}")
        for p in m["paths"]:
            click.echo(f"    {p['path']}: numstat {p['numstat']}, replay {p['replay']} ({p['delta']:+d})")
    how = "all" if not surv["sampled"] else f"a sample of {surv['files_checked']} of"
    click.echo(f"surviving AI lines: blame of {how} {surv['candidate_files']} tip file(s)")
    for f in surv["files"]:
        if f["delta"]:
            click.echo(f"  {f['path']}: replay {f['replay']}, blame {f['blame']} ({f['delta']:+d})")
    click.echo(f"  total: replay {surv['replay']}, git blame -w -M -C {surv['blame']}, delta {surv['delta']:+d} "
               f"({surv['delta_share']:.2%}; tolerance {surv['tolerance']:.2%})")
    click.echo("ok" if r.ok else "FAILED")
