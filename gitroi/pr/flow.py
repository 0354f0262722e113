"""The pull request job, end to end: analyse, render, post (or not), check thresholds.

``gitroi pr comment`` and the GitHub Action both call :func:`pr_comment`; the
Action's ``action/main.py`` only turns the event into flags.  The result is a
plain dict (printed by ``--json``) holding the report, the comment's fate, the
Action's outputs and the ``fail-on`` conditions that held, so that any CI
system can use it.  Nothing here fails because GitHub did: a read-only token,
a fork or an outage gives a ``skipped``/``failed`` comment and the report
still comes back; only ``fail-on`` turns that into a failed job.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from gitroi.git import Repo
from gitroi.pr.failon import METRICS, FailOn

#: action output name -> key of the gitroi.pr/1 report (the same names fail-on accepts).
OUTPUT_KEYS = METRICS


def outputs(report: dict[str, Any]) -> dict[str, str]:
    """The Action's outputs: numbers as text, '' where a figure has no value."""
    out: dict[str, str] = {}
    for name, key in OUTPUT_KEYS.items():
        value = report.get(key)
        out[name] = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    return out


def _warn(message: str) -> None:
    print(f"gitroi: warning: {message}", file=sys.stderr)


def pr_comment(repo: Repo, *, repo_name: str, number: int, token: str | None,
               api_url: str | None = None, base: str | None = None, head: str | None = None,
               window_days: float = 14.0, post: bool = True, skip_reason: str = "",
               fail_on: FailOn | None = None, remote: str = "origin",
               warn: Callable[[str], None] = _warn) -> dict[str, Any]:
    """Analyse pull request ``number`` and create or edit its report comment."""
    from gitroi.pr import github
    from gitroi.pr.analysis import analyse_pr
    from gitroi.pr.comment import render_markdown
    from gitroi.pr.mergemap import fetch_pr_head, has_commit

    gh = None
    if base is None or head is None:
        gh = github.client(token, api_url)
        info = github.get_pull_request(gh, repo_name, number, on_retry=warn)
        base = base or info.base_sha
        head = head or info.head_sha
        if info.fork and post:
            post, skip_reason = False, "pull request from a fork: the token is read-only"
    if not has_commit(repo, head):
        fetched = fetch_pr_head(repo, remote, number)
        head = fetched or head
    report = analyse_pr(repo, base=base, head=head, window_days=window_days).to_dict()
    body = render_markdown(report)
    if not post:
        comment = github.CommentResult("skipped", reason=skip_reason or "posting is off")
    elif not token:
        comment = github.CommentResult("skipped", reason="no token (set GITHUB_TOKEN or GITROI_GITHUB_TOKEN)")
    else:
        gh = gh or github.client(token, api_url)
        comment = github.upsert_comment(gh, repo_name, number, body, on_retry=warn)
    if comment.status in ("failed", "skipped"):
        warn(f"the report comment was not posted: {comment.reason}")
    failed = (fail_on or FailOn()).check(report, comment_status=comment.status)
    return {"repo": repo_name, "pr": number, "report": report, "comment": comment.to_dict(),
            "outputs": outputs(report), "failed": failed, "markdown": body}
