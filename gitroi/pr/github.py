"""GitHub access for gitroi: the only module that imports github3.py.

Three jobs, all small: read a pull request (its base, head and fork status),
find-or-create-then-edit gitroi's one report comment on it, and classify what
went wrong in a way the Action can act on.  Everything here is written for a
CI job that must not fail for the wrong reason:

* **Where the API lives.**  ``GITHUB_API_URL`` is ``https://api.github.com``
  on github.com and ``https://HOST/api/v3`` on GitHub Enterprise Server.
  github3.py's ``GitHubEnterprise(url)`` *appends* ``/api/v3`` itself, so a
  URL that already ends in it is cut back before being handed over; any other
  form (GHE.com's ``https://api.TENANT.ghe.com``, a proxy) is used verbatim as
  the session's base URL.
* **Retries.**  Rate limits (429, or 403 with ``x-ratelimit-remaining: 0`` or
  a ``Retry-After`` header: GitHub's primary and secondary limits) and 5xx are
  retried with exponential backoff, honouring ``Retry-After`` and
  ``x-ratelimit-reset``.  A whole *operation* is retried, not one request, so
  a comment that a 502 secretly created is found on the next attempt instead
  of being posted twice.
* **Safe failure.**  A 403 on a write that is not a rate limit means the
  token may read but not write (a fork's pull request, ``permissions:``
  without ``pull-requests: write``): that is :attr:`CommentResult.status`
  ``"skipped"``, not an error.  401, 404 and exhausted retries are
  ``"failed"`` with a reason; the caller decides whether that fails the job.
* **Secrets.**  The token is handed to github3.py and nowhere else; no
  message built here contains it (github3's error texts carry GitHub's
  ``message`` field only).
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from gitroi.errors import GitroiError

if TYPE_CHECKING:
    import github3

DEFAULT_API_URL = "https://api.github.com"
COMMENT_MARKER = "<!-- gitroi:pr-report -->"
TOKEN_ENV_VARS = ("GITROI_GITHUB_TOKEN", "GITHUB_TOKEN")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try.  ``max_wait`` caps one sleep: a primary rate limit that
    resets in 40 minutes is reported, not waited out on a paid CI runner."""

    attempts: int = 5
    base_delay: float = 1.0
    max_wait: float = 60.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """``GITROI_GITHUB_RETRIES`` / ``GITROI_GITHUB_BACKOFF`` (seconds) / ``GITROI_GITHUB_MAX_WAIT``."""
        def num(name: str, default: float) -> float:
            raw = os.environ.get(name, "").strip()
            try:
                return float(raw) if raw else default
            except ValueError:
                return default
        return cls(attempts=max(1, int(num("GITROI_GITHUB_RETRIES", cls.attempts))),
                   base_delay=max(0.0, num("GITROI_GITHUB_BACKOFF", cls.base_delay)),
                   max_wait=max(0.0, num("GITROI_GITHUB_MAX_WAIT", cls.max_wait)))


class GitHubFailure(GitroiError):
    """A GitHub call that did not work, with what kind of failure it was.

    ``kind`` is one of ``auth`` (401), ``read-only`` (403 on a write),
    ``not-found``, ``rate-limit``, ``server``, ``network``, ``other``.
    """

    def __init__(self, message: str, *, kind: str, status: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class PullRequestInfo:
    """What gitroi needs of a pull request; ``fork`` when head and base repositories differ."""

    number: int
    base_sha: str
    head_sha: str
    base_ref: str
    head_ref: str
    base_repo: str
    head_repo: str | None
    merged: bool
    merge_commit_sha: str | None

    @property
    def fork(self) -> bool:
        # head.repo is null when the fork was deleted: still not ours to write to.
        return self.head_repo is None or self.head_repo.lower() != self.base_repo.lower()

    @classmethod
    def from_payload(cls, pr: dict[str, Any]) -> PullRequestInfo:
        """From a webhook's ``pull_request`` object or the REST API's pull request JSON."""
        head, base = pr.get("head") or {}, pr.get("base") or {}
        head_repo = (head.get("repo") or {}).get("full_name")
        return cls(number=int(pr["number"]), base_sha=str(base.get("sha") or ""),
                   head_sha=str(head.get("sha") or ""), base_ref=str(base.get("ref") or ""),
                   head_ref=str(head.get("ref") or ""),
                   base_repo=str((base.get("repo") or {}).get("full_name") or ""),
                   head_repo=str(head_repo) if head_repo else None,
                   merged=bool(pr.get("merged")),
                   merge_commit_sha=pr.get("merge_commit_sha") or None)


@dataclass(frozen=True)
class CommentResult:
    """What happened to the report comment: created, updated, unchanged, skipped or failed."""

    status: str
    comment_id: int | None = None
    url: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "id": self.comment_id, "url": self.url,
                "reason": self.reason}


def token_from_env() -> str | None:
    """The token for ``gitroi pr``: ``GITROI_GITHUB_TOKEN``, else ``GITHUB_TOKEN``."""
    for name in TOKEN_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def split_repo(full_name: str) -> tuple[str, str]:
    """``OWNER/NAME`` -> (owner, name); GitroiError on anything else."""
    parts = full_name.strip().split("/")
    if len(parts) != 2 or not all(parts) or any(p.startswith("-") for p in parts):
        raise GitroiError(f"{full_name!r} is not a repository name of the form OWNER/NAME",
                          hint="pass --repo OWNER/NAME, e.g. --repo octo-org/octo-repo")
    return parts[0], parts[1]


def client(token: str | None, api_url: str | None = None) -> github3.GitHub:
    """A github3.py client for github.com or an Enterprise server.

    ``api_url`` takes ``GITHUB_API_URL``'s forms: ``https://api.github.com``,
    ``https://HOST/api/v3`` (Enterprise Server: github3 appends ``/api/v3``
    itself, so it is removed here first) or any other API root, used as is.
    """
    import github3

    from gitroi import __version__

    url = (api_url or DEFAULT_API_URL).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise GitroiError(f"the GitHub API URL {url!r} is not an http(s) URL",
                          hint="set GITHUB_API_URL or --api-url to e.g. https://ghe.example.com/api/v3")
    gh: github3.GitHub
    if url == DEFAULT_API_URL:
        gh = github3.GitHub(token=token or "")
    elif url.endswith("/api/v3"):
        gh = github3.GitHubEnterprise(url[: -len("/api/v3")], token=token or "")
    else:
        gh = github3.GitHub(token=token or "")
        gh.session.base_url = url
    gh.session.headers["User-Agent"] = f"gitroi/{__version__} (github3.py)"
    return gh


# --- failures and retries ------------------------------------------------------------------


def _header(resp: Any, name: str) -> str | None:
    headers = getattr(resp, "headers", None) or {}
    value = headers.get(name)
    return None if value is None else str(value)


def _retry_after(resp: Any, now: float) -> float | None:
    """Seconds GitHub asked us to wait, from ``Retry-After`` or ``x-ratelimit-reset``."""
    raw = _header(resp, "Retry-After")
    if raw is not None:
        raw = raw.strip()
        if raw.isdigit():
            return float(raw)
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        if parsed is not None:
            return max(0.0, parsed.timestamp() - now)
    if _header(resp, "x-ratelimit-remaining") == "0":
        reset = _header(resp, "x-ratelimit-reset")
        if reset and reset.strip().isdigit():
            return max(0.0, float(reset) - now) + 1.0
    return None


def _is_rate_limit(status: int, resp: Any) -> bool:
    if status == 429:
        return True
    if status == 403:
        if _header(resp, "x-ratelimit-remaining") == "0" or _header(resp, "Retry-After") is not None:
            return True
        # GitHub's secondary rate limit says so in the message, sometimes without headers.
        try:
            message = str((resp.json() or {}).get("message", ""))
        except Exception:
            message = ""
        return "rate limit" in message.lower()
    return False


def classify(exc: Exception, *, write: bool = False) -> GitHubFailure:
    """Turn a github3.py exception into a :class:`GitHubFailure` with a user-facing message."""
    import github3

    if isinstance(exc, GitHubFailure):
        return exc
    if isinstance(exc, github3.exceptions.TransportError):
        return GitHubFailure(f"could not reach the GitHub API: {type(exc).__name__}",
                             kind="network", hint="check GITHUB_API_URL / --api-url")
    if isinstance(exc, github3.exceptions.GitHubError):
        status = int(getattr(exc, "code", 0) or 0)
        resp = getattr(exc, "response", None)
        msg = str(getattr(exc, "msg", "") or "")
        said = f" ({msg})" if msg else ""
        if status == 401:
            return GitHubFailure(f"GitHub refused the token: 401{said}", kind="auth", status=status,
                                 hint="check the github-token input / GITHUB_TOKEN; it may have expired")
        if _is_rate_limit(status, resp):
            return GitHubFailure(f"GitHub rate limit: {status}{said}", kind="rate-limit",
                                 status=status, hint="try again later, or use a token with a higher limit")
        if status == 403:
            kind = "read-only" if write else "other"
            return GitHubFailure(f"GitHub refused access: 403{said}", kind=kind, status=status,
                                 hint="give the workflow `permissions: pull-requests: write`")
        if status == 404:
            return GitHubFailure(f"not found on GitHub: 404{said}", kind="not-found", status=status,
                                 hint="check --repo and --pr, and that the token can see the repository")
        if status >= 500:
            return GitHubFailure(f"GitHub server error: {status}{said}", kind="server", status=status)
        return GitHubFailure(f"GitHub answered {status}{said}", kind="other", status=status)
    raise exc


def with_retries(op: Callable[[], T], *, policy: RetryPolicy | None = None, write: bool = False,
                 sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[str], None] | None = None) -> T:
    """Run ``op``; retry rate limits and server errors with backoff, else raise GitHubFailure."""
    import github3

    pol = policy or RetryPolicy.from_env()
    attempt = 0
    while True:
        attempt += 1
        try:
            return op()
        except (github3.exceptions.GitHubException, GitHubFailure) as exc:
            failure = classify(exc, write=write)
            if failure.kind not in ("rate-limit", "server", "network") or attempt >= pol.attempts:
                if attempt > 1:
                    failure.message = f"{failure.message} (after {attempt} attempts)"
                    failure.args = (failure.message,)
                raise failure from None
            resp = getattr(exc, "response", None)
            asked = _retry_after(resp, time.time()) if resp is not None else None
            backoff = pol.base_delay * (2 ** (attempt - 1)) * (1 + random.random() / 4)
            delay = asked if asked is not None else backoff
            if delay > pol.max_wait:
                failure.message = (f"{failure.message}: GitHub asks to wait {delay:.0f} s, "
                                   f"more than the {pol.max_wait:.0f} s gitroi waits")
                failure.args = (failure.message,)
                raise failure from None
            if on_retry is not None:
                on_retry(f"{failure.message}; retrying in {delay:.1f} s "
                         f"(attempt {attempt + 1} of {pol.attempts})")
            sleep(delay)


# --- operations ----------------------------------------------------------------------------


def get_pull_request(gh: github3.GitHub, repo: str, number: int, *,
                     policy: RetryPolicy | None = None,
                     on_retry: Callable[[str], None] | None = None) -> PullRequestInfo:
    """The pull request's base/head/fork facts, from the REST API."""
    owner, name = split_repo(repo)

    def op() -> PullRequestInfo:
        pr = gh.pull_request(owner, name, number)
        if pr is None:
            raise GitHubFailure(f"pull request {repo}#{number} was not found", kind="not-found")
        return PullRequestInfo.from_payload(pr.as_dict())

    return with_retries(op, policy=policy, on_retry=on_retry)


def merged_pulls_for_commit(gh: github3.GitHub, repo: str, sha: str, *,
                            policy: RetryPolicy | None = None,
                            on_retry: Callable[[str], None] | None = None) -> list[int]:
    """Numbers of the merged pull requests GitHub links to commit ``sha``.

    What a push to the main branch needs for a rebase merge, whose commits
    name no pull request in their messages (``GET /repos/O/R/commits/SHA/pulls``).
    """
    owner, name = split_repo(repo)

    def op() -> list[int]:
        repository = gh.repository(owner, name)
        if repository is None:
            raise GitHubFailure(f"repository {repo} was not found", kind="not-found")
        commit = repository.commit(sha)
        if commit is None:
            raise GitHubFailure(f"commit {sha[:12]} was not found on {repo}", kind="not-found")
        return [int(p.number) for p in commit.associated_pull_requests()
                if getattr(p, "merged_at", None)]

    return with_retries(op, policy=policy, on_retry=on_retry)


#: Who a ``GITHUB_TOKEN`` (an Actions installation token) writes as; ``GET /user`` refuses it.
ACTIONS_LOGIN = "github-actions[bot]"


def viewer_login(gh: github3.GitHub) -> str:
    """The login the token writes comments as: ``GET /user``'s ``login``; for the Actions
    ``GITHUB_TOKEN``, which that endpoint refuses (403), :data:`ACTIONS_LOGIN`.

    Read raw (only ``login`` is needed: github3's user model wants fields an App's
    token may not be shown).  Rate limits, server errors and 401 raise GitHubFailure.
    """
    import github3

    url = gh.session.build_url("user") if hasattr(gh.session, "build_url") else \
        gh.session.base_url.rstrip("/") + "/user"
    try:
        resp = gh.session.get(url)
    except Exception as exc:   # requests' connection errors
        raise GitHubFailure(f"could not reach the GitHub API: {type(exc).__name__}",
                            kind="network", hint="check GITHUB_API_URL / --api-url") from exc
    if resp.status_code == 200:
        try:
            login = resp.json().get("login")
        except (ValueError, AttributeError):
            login = None
        return str(login) if isinstance(login, str) and login else ACTIONS_LOGIN
    if resp.status_code in (403, 404) and not _is_rate_limit(resp.status_code, resp):
        return ACTIONS_LOGIN     # "Resource not accessible by integration"
    raise classify(github3.exceptions.error_for(resp))


def _ours(pr: Any, login: str, marker: str) -> list[Any]:
    """gitroi's report comments: written by ``login`` and starting with ``marker``, oldest first.
    A reviewer's comment quoting the marker is someone else's and never touched."""
    found = [c for c in pr.issue_comments()
             if getattr(getattr(c, "user", None), "login", None) == login
             and (c.body or "").startswith(marker)]
    return sorted(found, key=lambda c: int(c.id))


def upsert_comment(gh: github3.GitHub, repo: str, number: int, body: str, *,
                   marker: str = COMMENT_MARKER, policy: RetryPolicy | None = None,
                   on_retry: Callable[[str], None] | None = None,
                   login: str | None = None) -> CommentResult:
    """Create gitroi's report comment on the pull request, or edit the one already there.

    gitroi's comment is one written by the token's own identity (``login``;
    default :func:`viewer_login`) whose body *starts* with ``marker``: another
    person's comment that quotes the marker is never edited.  The oldest such
    comment is edited (an identical body is left alone) and any others, left by
    overlapping runs, are deleted; after creating one, the comments are read
    again, so two runs that both created end with one.  Never raises for
    GitHub's answers: a read-only token gives ``skipped``, anything else ``failed``.
    """
    owner, name = split_repo(repo)
    if not body.startswith(marker):
        body = f"{marker}\n{body}"
    wrote = False
    who: list[str] = [login] if login else []

    def op() -> CommentResult:
        nonlocal wrote
        if not who:
            who.append(viewer_login(gh))
        pr = gh.pull_request(owner, name, number)
        if pr is None:
            raise GitHubFailure(f"pull request {repo}#{number} was not found", kind="not-found")
        mine = _ours(pr, who[0], marker)
        status = "updated"
        if not mine:
            wrote = True
            created = pr.create_comment(body)
            if created is None:
                raise GitHubFailure("GitHub did not return the created comment", kind="other")
            mine = _ours(pr, who[0], marker) or [created]
            status = "created"
        keep, extra = mine[0], mine[1:]
        if (keep.body or "").strip() == body.strip():
            if status == "updated":
                status = "unchanged"
        else:
            wrote = True
            keep.edit(body)
            if status == "created":
                status = "updated"   # another run's comment was older: ours went into it
        for c in extra:      # a 404 (the other run deleted it first) is False, not an error
            wrote = True
            c.delete()
        return CommentResult(status, keep.id, keep.html_url)

    try:
        return with_retries(op, policy=policy, write=True, on_retry=on_retry)
    except GitHubFailure as failure:
        if failure.kind == "read-only" and wrote:
            return CommentResult("skipped", reason=f"the token is read-only: {failure.message}")
        return CommentResult("failed", reason=failure.message)


def pr_finder(repo: str, api_url: str | None, *,
              warn: Callable[[str], None] | None = None) -> Callable[[str], int | None]:
    """``sha -> merged PR number or None`` through the API, for ``pr map-merge`` on a push.

    Without a token, or when GitHub fails, it answers None (with one warning):
    a commit that cannot be traced is left without a note, never an error.
    """
    import sys

    def say(message: str) -> None:
        if warn is not None:
            warn(message)
        else:
            print(f"gitroi: warning: {message}", file=sys.stderr)

    token = token_from_env()
    state: dict[str, Any] = {"gh": None, "dead": token is None}
    if token is None:
        say("no GitHub token: commits of rebase merges cannot be traced to their pull request")

    def find(sha: str) -> int | None:
        if state["dead"]:
            return None
        try:
            if state["gh"] is None:
                state["gh"] = client(token, api_url)
            numbers = merged_pulls_for_commit(state["gh"], repo, sha, on_retry=say)
        except GitHubFailure as exc:
            say(f"could not ask GitHub which pull request {sha[:12]} came from: {exc.message}")
            state["dead"] = exc.kind in ("auth", "network", "rate-limit")
            return None
        return numbers[0] if numbers else None

    return find
