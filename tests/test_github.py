"""gitroi.pr.github against a loopback server answering like GitHub's REST API (recorded bodies)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gitroi.pr import github
from gitroi.pr.failon import parse_fail_on
from gitroi.pr.github import COMMENT_MARKER, RetryPolicy
from tests.fake_github import FakeGitHub

REPO = "Codertocat/Hello-World"
TOKEN = "ghs_fakeTokenForTests0123456789"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_wait=5)


@pytest.fixture(scope="module")
def ghes() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(prefix="/api/v3").start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(ghes: FakeGitHub) -> FakeGitHub:
    """The module's server, emptied: no comments, no failures, writable."""
    st = ghes.state
    st.reset()
    ghes.add_pr(REPO, 2, head_sha="a" * 40, base_sha="b" * 40)
    return ghes


def body(n: int) -> str:
    return f"{COMMENT_MARKER}\n### report {n}\n"


def test_client_url_forms() -> None:
    assert github.client("t", "https://api.github.com").session.base_url == "https://api.github.com"
    assert github.client("t", None).session.base_url == "https://api.github.com"
    ghes = github.client("t", "https://ghe.example.com/api/v3/")
    assert type(ghes).__name__ == "GitHubEnterprise"
    assert ghes.session.base_url == "https://ghe.example.com/api/v3"
    assert github.client("t", "https://api.acme.ghe.com").session.base_url == "https://api.acme.ghe.com"
    with pytest.raises(github.GitroiError, match="not an http"):
        github.client("t", "ghe.example.com")


def test_first_comment_then_edit_then_unchanged(fake: FakeGitHub) -> None:
    gh = github.client(TOKEN, fake.api_url)
    first = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST)
    assert first.status == "created"
    assert first.url == f"https://github.com/{REPO}/pull/2#issuecomment-{first.comment_id}"
    second = github.upsert_comment(gh, REPO, 2, body(2), policy=FAST)
    assert (second.status, second.comment_id) == ("updated", first.comment_id)
    third = github.upsert_comment(gh, REPO, 2, body(2), policy=FAST)
    assert (third.status, third.comment_id) == ("unchanged", first.comment_id)
    comments = fake.comments_on(REPO, 2)
    assert [c["body"] for c in comments] == [body(2)]
    assert [r[0] for r in fake.requests() if r[0] != "GET"] == ["POST", "PATCH"]
    assert fake.state.auth_seen == {f"token {TOKEN}"}


def test_finds_marker_on_second_page_among_other_comments(fake: FakeGitHub) -> None:
    for i in range(120):
        fake.add_comment(REPO, 2, f"looks good {i}")
    old = fake.add_comment(REPO, 2, body(0), login="github-actions[bot]")
    gh = github.client(TOKEN, fake.api_url)
    result = github.upsert_comment(gh, REPO, 2, body(5), policy=FAST)
    assert (result.status, result.comment_id) == ("updated", old)
    assert len(fake.comments_on(REPO, 2)) == 121
    assert any("page=2" in p or p.endswith("/comments") for _, p, _ in fake.requests("GET"))


def test_plain_api_root_without_api_v3() -> None:
    fake = FakeGitHub(prefix="").start()
    try:
        fake.add_pr(REPO, 2, head_sha="a" * 40, base_sha="b" * 40)
        gh = github.client(TOKEN, fake.api_url)
        assert github.upsert_comment(gh, REPO, 2, body(1), policy=FAST).status == "created"
        info = github.get_pull_request(gh, REPO, 2, policy=FAST)
        assert (info.head_sha, info.base_sha, info.fork) == ("a" * 40, "b" * 40, False)
        # who the token is (GET /user, refused for GITHUB_TOKEN), then the pull request
        assert [p for _, p, _ in fake.requests()[:2]] == ["/user", f"/repos/{REPO}/pulls/2"]
    finally:
        fake.stop()


def test_rate_limit_403_then_success(fake: FakeGitHub) -> None:
    fake.rate_limit("POST", r"/issues/2/comments$")
    retries: list[str] = []
    gh = github.client(TOKEN, fake.api_url)
    result = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST, on_retry=retries.append)
    assert result.status == "created"
    assert len(fake.comments_on(REPO, 2)) == 1
    assert [(m, s) for m, _, s in fake.requests("POST")] == [("POST", 403), ("POST", 201)]
    assert len(retries) == 1 and "rate limit" in retries[0]


def test_secondary_rate_limit_429_retry_after(fake: FakeGitHub) -> None:
    fake.fail("GET", r"/pulls/2$", 429, headers={"Retry-After": "0"}, times=2)
    gh = github.client(TOKEN, fake.api_url)
    assert github.upsert_comment(gh, REPO, 2, body(1), policy=FAST).status == "created"
    assert [s for _, p, s in fake.requests("GET") if p.endswith("/pulls/2")] == [429, 429, 200]


def test_rate_limit_reset_too_far_is_reported_not_waited(fake: FakeGitHub) -> None:
    import time

    fake.fail("GET", r"/pulls/2$", 403, times=1, message="API rate limit exceeded",
              headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 3000)})
    gh = github.client(TOKEN, fake.api_url)
    result = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST)
    assert result.status == "failed"
    assert "rate limit" in result.reason and "more than the 5 s" in result.reason


def test_server_error_once_then_success(fake: FakeGitHub) -> None:
    fake.fail("GET", r"/issues/2/comments$", 500)
    gh = github.client(TOKEN, fake.api_url)
    assert github.upsert_comment(gh, REPO, 2, body(1), policy=FAST).status == "created"
    assert len(fake.comments_on(REPO, 2)) == 1


def test_server_error_persisting_fails_softly(fake: FakeGitHub) -> None:
    fake.fail("POST", r"/issues/2/comments$", 500, times=10)
    gh = github.client(TOKEN, fake.api_url)
    result = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST)
    assert result.status == "failed"
    assert result.reason.startswith("GitHub server error: 500") and "after 4 attempts" in result.reason
    assert len(fake.requests("POST")) == 4
    assert fake.comments_on(REPO, 2) == []
    assert parse_fail_on("comment").check({}, comment_status="failed")
    assert parse_fail_on("review-churn>0.3").check({}, comment_status="failed") == []


def test_502_after_creating_never_gives_a_second_comment(fake: FakeGitHub) -> None:
    fake.fail("POST", r"/issues/2/comments$", 502, after_work=True)
    gh = github.client(TOKEN, fake.api_url)
    result = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST)
    assert result.status == "unchanged"   # the retry found the comment the 502 had created
    assert len(fake.comments_on(REPO, 2)) == 1


def test_bad_token_401_fails_without_the_token_in_the_reason(fake: FakeGitHub) -> None:
    gh = github.client("ghs_wrongWrongWrong", fake.api_url)
    result = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST)
    assert result.status == "failed"
    assert result.reason == "GitHub refused the token: 401 (Bad credentials)"
    assert "ghs_" not in result.reason
    assert len(fake.requests()) == 1   # no retry of a 401


def test_read_only_token_is_skipped_not_failed(fake: FakeGitHub) -> None:
    fake.state.read_only = True
    gh = github.client(TOKEN, fake.api_url)
    result = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST)
    assert result.status == "skipped"
    assert "read-only" in result.reason and "Resource not accessible by integration" in result.reason


def test_unknown_pull_request_is_not_found(fake: FakeGitHub) -> None:
    gh = github.client(TOKEN, fake.api_url)
    with pytest.raises(github.GitHubFailure) as err:
        github.get_pull_request(gh, REPO, 99, policy=FAST)
    assert err.value.kind == "not-found"


def test_split_repo_refuses_flags() -> None:
    assert github.split_repo("octo/app") == ("octo", "app")
    for bad in ("octo", "-x/app", "a/b/c", "/app"):
        with pytest.raises(github.GitroiError):
            github.split_repo(bad)


def test_fail_on_grammar() -> None:
    gate = parse_fail_on("review-churn>0.3, tokens-per-surviving-line>=100,comment")
    report = {"review_churn": 0.5, "tokens_per_surviving_line": 100.0}
    assert gate.check(report) == ["review-churn is 0.5, and fail-on says review-churn>0.3",
                                  "tokens-per-surviving-line is 100, and fail-on says "
                                  "tokens-per-surviving-line>=100"]
    assert gate.check({"review_churn": None}) == []
    with pytest.raises(github.GitroiError, match="cannot read 'churn>1'"):
        parse_fail_on("churn>1")


def test_unreachable_api_is_a_soft_failure() -> None:
    import socket

    with socket.socket() as s:           # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gh = github.client(TOKEN, f"http://127.0.0.1:{port}/api/v3")
    result = github.upsert_comment(gh, REPO, 2, body(1), policy=RetryPolicy(attempts=2, base_delay=0.01))
    assert result.status == "failed"
    assert result.reason == "could not reach the GitHub API: ConnectionError (after 2 attempts)"


def test_merged_pulls_for_commit(fake: FakeGitHub) -> None:
    fake.add_pr(REPO, 5, head_sha="c" * 40, base_sha="b" * 40)
    fake.link_commit(REPO, "d" * 40, 5)
    gh = github.client(TOKEN, fake.api_url)
    assert github.merged_pulls_for_commit(gh, REPO, "d" * 40, policy=FAST) == [5]
    assert github.merged_pulls_for_commit(gh, REPO, "e" * 40, policy=FAST) == []
