"""The PR comment speaks only for gitroi (issue 10): escaping, and the sticky comment's identity.

A crafted note's agent and model names once reached the comment raw (an ``@octo-org/security``
ping, an ``<img>``, a heading, an unclosed ``<details>``); the sticky comment was found by its
marker anywhere in anyone's comment, so a reviewer quoting it had their comment overwritten;
two overlapping runs posted two comments.  Tested against the loopback fake GitHub.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitroi.pr import github
from gitroi.pr.comment import ZWJ, render_markdown
from gitroi.pr.github import COMMENT_MARKER, RetryPolicy
from tests.fake_github import FakeGitHub

REPO = "Codertocat/Hello-World"
TOKEN = "ghs_fakeTokenForTests0123456789"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_wait=5)
ROOT = Path(__file__).resolve().parents[1]

EVIL = [
    "@octo-org/security", "<img src=x onerror=alert(1)>", "# Heading\n## more", "</details>",
    "<details><summary>x", "a|b|c", "`code` ``", "[click](https://evil.example)",
    "line\nbreak", "*bold* _it_", "<!-- gitroi:pr-report -->", "\u202eevil", "&amp; &lt;",
]


def report(agent: str, model: str, path: str, symbol: str) -> dict[str, object]:
    return {
        "commits": 2, "attributed_commits": 1, "ai_lines": 10, "lines_added": 12, "surviving": 8,
        "churned": 2, "deleted_later": 0, "review_churn": 0.2, "tokens": 1000, "cost_usd": 0.5,
        "tokens_per_surviving_line": 125.0, "cost_per_surviving_line": 0.06,
        "by_model": [{"agent": agent, "model": model, "tokens": 1000, "input": 1, "cache_write": 2,
                      "cache_read": 3, "output": 4, "cost_usd": 0.5}],
        "unpriced_models": [model], "rework": [{"path": path, "symbol": symbol, "churned": 2,
                                                 "ai_lines": 10}],
        "attribution": {"line": 1}, "base": "b" * 40, "head": "a" * 40,
    }


def outside_code(md: str) -> str:
    """The comment with code spans blanked (their content is literal on GitHub)."""
    return re.sub(r"`[^`\n]*`", "``", md)


@pytest.mark.parametrize("evil", EVIL)
def test_strings_from_notes_cannot_speak_in_the_comment(evil: str) -> None:
    md = render_markdown(report(evil, evil, evil, evil))
    body = outside_code(md)
    assert md.startswith(COMMENT_MARKER + "\n")
    assert body.count(COMMENT_MARKER) == 1   # in a code span it is literal text, not a comment
    assert not re.search(r"<(?!/?details>|summary>|/summary>|sub>|/sub>|!-- gitroi)", body), body
    assert not re.search(r"@(?!" + ZWJ + ")[A-Za-z0-9]", body)   # no mention that pings
    assert [ln for ln in md.splitlines() if ln.startswith("#")] == [md.splitlines()[1]]
    assert body.count("<details>") == body.count("</details>") == 1
    assert "[click](" not in body
    width = 0
    for ln in md.splitlines():                   # every row has its header's columns
        if not ln.startswith("|"):
            width = 0
            continue
        pipes = len(re.findall(r"(?<!\\)\|", re.sub(r"`[^`]*`", "``", ln)))
        width = width or pipes
        assert pipes == width, ln
    for ln in md.splitlines():                   # every code span closes on its line
        assert ln.count("`") % 2 == 0 or ln.startswith("```"), ln


# --- the sticky comment ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(prefix="/api/v3").start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeGitHub) -> FakeGitHub:
    server.state.reset()
    server.add_pr(REPO, 2, head_sha="a" * 40, base_sha="b" * 40)
    return server


def body(n: int) -> str:
    return f"{COMMENT_MARKER}\n### report {n}\n"


def test_a_reviewer_quoting_the_marker_is_never_edited(fake: FakeGitHub) -> None:
    quoted = f"> {COMMENT_MARKER}\n> the bot said this; I disagree"
    starts = f"{COMMENT_MARKER}\nI pasted the marker first, on purpose"
    r1 = fake.add_comment(REPO, 2, quoted, login="reviewer")
    r2 = fake.add_comment(REPO, 2, starts, login="reviewer")
    bot_mid = fake.add_comment(REPO, 2, f"note\n{COMMENT_MARKER}", login="github-actions[bot]")
    gh = github.client(TOKEN, fake.api_url)
    first = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST)
    assert first.status == "created"
    again = github.upsert_comment(gh, REPO, 2, body(2), policy=FAST)
    assert (again.status, again.comment_id) == ("updated", first.comment_id)
    by_id = {c["id"]: c for c in fake.comments_on(REPO, 2)}
    assert by_id[r1]["body"] == quoted and by_id[r2]["body"] == starts
    assert by_id[bot_mid]["body"] == f"note\n{COMMENT_MARKER}"   # marker not at the start
    assert by_id[first.comment_id]["body"] == body(2)
    assert ("GET", "/api/v3/user", 403) in fake.requests("GET")  # GITHUB_TOKEN: /user refused


def test_a_personal_token_finds_its_own_login(fake: FakeGitHub) -> None:
    fake.state.user_login = fake.state.login = "gitroi-bot"
    other_bot = fake.add_comment(REPO, 2, body(0), login="github-actions[bot]")
    gh = github.client(TOKEN, fake.api_url)
    res = github.upsert_comment(gh, REPO, 2, body(1), policy=FAST)
    assert res.status == "created" and res.comment_id != other_bot
    assert {c["id"]: c["body"] for c in fake.comments_on(REPO, 2)}[other_bot] == body(0)


def test_two_comments_left_by_overlapping_runs_become_one(fake: FakeGitHub) -> None:
    oldest = fake.add_comment(REPO, 2, body(1), login="github-actions[bot]")
    fake.add_comment(REPO, 2, "lgtm", login="reviewer")
    fake.add_comment(REPO, 2, body(2), login="github-actions[bot]")
    gh = github.client(TOKEN, fake.api_url)
    res = github.upsert_comment(gh, REPO, 2, body(3), policy=FAST)
    assert (res.status, res.comment_id) == ("updated", oldest)
    ours = [c for c in fake.comments_on(REPO, 2) if c["user"]["login"] == "github-actions[bot]"]
    assert [(c["id"], c["body"]) for c in ours] == [(oldest, body(3))]
    assert len(fake.comments_on(REPO, 2)) == 2
    assert [r for r in fake.requests() if r[0] == "DELETE"] != []


_RUN = """
import sys
from gitroi.pr import github
gh = github.client(sys.argv[1], sys.argv[2])
r = github.upsert_comment(gh, sys.argv[3], 2, sys.argv[4],
                          policy=github.RetryPolicy(attempts=3, base_delay=0.01, max_wait=5))
print(r.status)
"""


def test_two_runs_at_once_leave_one_comment(fake: FakeGitHub) -> None:
    fake.state.list_barrier = threading.Barrier(2, timeout=30)  # both list before either posts
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", _RUN, TOKEN, fake.api_url, REPO, body(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for n in (1, 2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert {o.strip() for o, _ in outs} <= {"created", "updated", "unchanged"}
    ours = fake.comments_on(REPO, 2)
    assert len(ours) == 1, [c["body"] for c in ours]
    assert ours[0]["body"] in (body(1), body(2))
    assert len([r for r in fake.requests() if r[0] == "POST"]) == 2   # both did post
