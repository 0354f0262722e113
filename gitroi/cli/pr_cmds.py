"""Pull request commands: ``pr report``, ``pr comment`` (any CI) and ``pr map-merge``."""

from __future__ import annotations

import click

from gitroi.cli.app import Context, cli, echo_json, pass_ctx


def _window_days(window: str) -> float:
    from gitroi.timeutil import window_option

    return window_option(window, "--window")


@cli.group()
def pr() -> None:
    """Pull requests: the report comment and notes across squash and rebase merges."""


@pr.command("report")
@click.option("--base", required=True, help="The branch or commit the PR merges into (e.g. origin/main).")
@click.option("--head", default="HEAD", show_default=True, help="The PR's last commit.")
@click.option("--window", default="14d", show_default=True, help="Churn window: 14d, 2w, 36h or a number of days.")
@click.option("--json", "as_json", is_flag=True, help="Print the gitroi.pr/1 JSON instead of Markdown.")
@pass_ctx
def pr_report(ctx: Context, base: str, head: str, window: str, as_json: bool) -> None:
    """Report on the commits in HEAD but not in BASE, offline (notes + git only).

    Example: gitroi pr report --base origin/main --json
    """
    from gitroi.pr.analysis import analyse_pr
    from gitroi.pr.comment import render_markdown

    data = analyse_pr(ctx.repo(), base=base, head=head, window_days=_window_days(window)).to_dict()
    if as_json:
        echo_json(data)
    else:
        click.echo(render_markdown(data), nl=False)


@pr.command("comment")
@click.option("--repo", "repo_name", required=True, help="OWNER/NAME on GitHub.")
@click.option("--pr", "number", required=True, type=click.IntRange(min=1), help="Pull request number.")
@click.option("--api-url", envvar="GITHUB_API_URL", default="https://api.github.com", show_default=True,
              help="GitHub API root; for Enterprise Server https://HOST/api/v3 (env GITHUB_API_URL).")
@click.option("--base", help="Base commit or branch (default: the PR's base, from the API).")
@click.option("--head", help="Head commit (default: the PR's head, from the API).")
@click.option("--window", default="14d", show_default=True, help="Churn window: 14d, 2w, 36h or a number of days.")
@click.option("--no-post", is_flag=True, help="Do not touch GitHub's comments; just build the report.")
@click.option("--why", default="", help="With --no-post: the reason shown in the result.")
@click.option("--fail-on", "fail_on", default="",
              help="Exit 1 when one holds, e.g. 'review-churn>0.3,comment' (see docs/action.md).")
@click.option("--json", "as_json", is_flag=True, help="Print the result (report, comment, outputs) as JSON.")
@pass_ctx
def pr_comment(ctx: Context, repo_name: str, number: int, api_url: str, base: str | None,
               head: str | None, window: str, no_post: bool, why: str, fail_on: str,
               as_json: bool) -> None:
    """Post or update the one gitroi report comment on a pull request.

    For any CI system: the token comes from GITROI_GITHUB_TOKEN or
    GITHUB_TOKEN, never from the command line.  A read-only token or an
    unreachable GitHub does not fail the command (add `comment` to --fail-on
    for that); a --fail-on threshold that holds exits 1.

    Example: gitroi pr comment --repo octo-org/app --pr 42 --base origin/main
    """
    from gitroi.pr.failon import parse_fail_on
    from gitroi.pr.flow import pr_comment as run
    from gitroi.pr.github import token_from_env

    gate = parse_fail_on(fail_on)
    result = run(ctx.repo(), repo_name=repo_name, number=number, token=token_from_env(),
                 api_url=api_url, base=base, head=head, window_days=_window_days(window),
                 post=not no_post, skip_reason=why, fail_on=gate)
    if as_json:
        echo_json(result)
    else:
        c = result["comment"]
        click.echo(f"comment: {c['status']}" + (f" {c['url']}" if c.get("url") else "")
                   + (f" ({c['reason']})" if c.get("reason") else ""))
    for line in result["failed"]:
        click.echo(f"gitroi: fail-on: {line}", err=True)
    if result["failed"]:
        raise SystemExit(1)


@pr.command("map-merge")
@click.option("--merge-commit", help="The commit the merge created (merge_commit_sha).")
@click.option("--pr-head", help="The PR's last commit (default with --pr: refs/pull/N/head).")
@click.option("--pr", "number", type=click.IntRange(min=1), help="Pull request number.")
@click.option("--before", help="Push mode: the branch tip before the push.")
@click.option("--after", help="Push mode: the branch tip after the push.")
@click.option("--method", type=click.Choice(["auto", "merge", "squash", "rebase"]), default="auto",
              show_default=True, help="How the PR was merged.")
@click.option("--remote", default="origin", show_default=True, help="Where to fetch and push notes.")
@click.option("--push/--no-push", "do_push", default=False, help="Push refs/notes/gitroi afterwards.")
@click.option("--dry-run", is_flag=True, help="Compute the mapping, write nothing.")
@click.option("--repo", "repo_name", help="Push mode: OWNER/NAME, to ask GitHub which PR a rebased commit came from.")
@click.option("--api-url", envvar="GITHUB_API_URL", default="https://api.github.com", show_default=True,
              help="GitHub API root (env GITHUB_API_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print what was mapped as JSON.")
@pass_ctx
def pr_map_merge(ctx: Context, merge_commit: str | None, pr_head: str | None, number: int | None,
                 before: str | None, after: str | None, method: str, remote: str, do_push: bool,
                 dry_run: bool, repo_name: str | None, api_url: str, as_json: bool) -> None:
    """Carry a merged PR's notes onto the commits the merge created (squash, rebase, merge).

    Either --merge-commit with --pr-head (or --pr), or --before/--after for a
    push to the main branch.  Running it twice changes nothing.

    Example: gitroi pr map-merge --merge-commit 5a47c3f --pr 117 --push
    """
    from gitroi.pr.github import pr_finder
    from gitroi.pr.mergemap import map_merge_job

    find = pr_finder(repo_name, api_url) if repo_name else None
    result = map_merge_job(ctx.repo(), merge_commit=merge_commit, pr_head=pr_head, number=number,
                           before=before, after=after, method=method, remote=remote,
                           push=do_push and not dry_run, write=not dry_run, find_pr=find)
    if as_json:
        echo_json(result)
        return
    for m in result["merges"]:
        click.echo(f"{m['method']}: {m['message']}")
        for x in m["mapped"]:
            click.echo(f"  {x['commit'][:12]} <- {', '.join(s[:12] for s in x['from'])}: "
                       f"{x['ai_lines']} AI lines, {x['tokens']} tokens")
    if result["push"]:
        click.echo(result["push"]["message"])
