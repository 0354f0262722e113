"""action/main.py run as the runner runs it: real payload files, real env vars, fake GitHub API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitroi.pr.github import COMMENT_MARKER
from tests import pr_repo
from tests.conftest import ROOT, GitRepo
from tests.fake_github import FakeGitHub

REPO = "Codertocat/Hello-World"        # the repository named in the octokit payloads
TOKEN = "ghs_fakeTokenForTests0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(prefix="/api/v3").start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeGitHub) -> FakeGitHub:
    st = server.state
    st.reset()
    return server


class Runner:
    """Runs action/main.py in the PR work tree with the variables the real runner sets."""

    def __init__(self, repo: GitRepo, tmp: Path, fake: FakeGitHub) -> None:
        self.repo, self.tmp, self.fake = repo, tmp, fake
        self.n = 0

    def run(self, event: str, payload: Path, *, token: str = TOKEN, **inputs: str) -> tuple[int, dict[str, str], str, str]:
        self.n += 1
        out, summary = self.tmp / f"output{self.n}", self.tmp / f"summary{self.n}"
        out.write_text("")
        summary.write_text("")
        env = {**os.environ, "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": event,
               "GITHUB_EVENT_PATH": str(payload), "GITHUB_REPOSITORY": REPO,
               "GITHUB_API_URL": self.fake.api_url, "GITHUB_SERVER_URL": "https://github.com",
               "GITHUB_WORKSPACE": str(self.repo.path), "GITHUB_SHA": self.repo.git("rev-parse", "HEAD"),
               "GITHUB_REF": "refs/pull/2/merge", "GITHUB_OUTPUT": str(out),
               "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(self.tmp), "RUNNER_OS": "Linux",
               "GITHUB_TOKEN": token, "GITROI_GITHUB_BACKOFF": "0.01", "GITROI_GITHUB_RETRIES": "3"}
        for k, v in inputs.items():
            env[f"GITROI_IN_{k.upper()}"] = v
        proc = subprocess.run([sys.executable, str(ROOT / "action" / "main.py")], cwd=self.repo.path,
                              env=env, capture_output=True, text=True)
        outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
        return proc.returncode, outputs, summary.read_text(), proc.stdout + proc.stderr


@pytest.fixture
def pr(repo: GitRepo, tmp_path: Path, fake: FakeGitHub) -> tuple[Runner, dict[str, str]]:
    shas = pr_repo.build(repo)
    shas["merge"] = pr_repo.checkout_test_merge(repo, "feature")
    fake.add_pr(REPO, 2, head_sha=shas["c3"], base_sha=shas["other"])
    return Runner(repo, tmp_path, fake), shas


def opened(tmp: Path, shas: dict[str, str], name: str = "pull_request.opened.json", **extra: object) -> Path:
    return pr_repo.payload(name, tmp / f"event-{name}", {
        "pull_request.head.sha": shas["c3"], "pull_request.base.sha": shas["other"], **extra})


EXPECTED_OUTPUTS = {"tokens": "23200", "cost-usd": "0.3", "ai-lines": "8", "surviving-lines": "6",
                    "tokens-per-surviving-line": "3866.67", "review-churn": "0.25"}


def test_opened_posts_one_comment_and_writes_summary_and_outputs(pr: tuple[Runner, dict[str, str]],
                                                                   tmp_path: Path) -> None:
    runner, shas = pr
    rc, outputs, summary, log = runner.run("pull_request", opened(tmp_path, shas))
    assert rc == 0, log
    assert outputs == EXPECTED_OUTPUTS
    [comment] = runner.fake.comments_on(REPO, 2)
    body = comment["body"]
    assert body.startswith(COMMENT_MARKER + "\n")
    assert ("**23,200 tokens** · **$0.30** → **8 AI lines** of 9 added · **6 reached the head** · "
            "**2 churned in review (25.0%)** · **3,866.7 tokens / surviving line** ($0.05)") in body
    assert "| claude-code | `claude-opus-4-6` | 13,500 | 1,000 | 2,000 | 10,000 | 500 | $0.25 |" in body
    assert "| codex | `gpt-5-codex` | 9,700 | 3,000 | 0 | 6,000 | 700 | $0.05 |" in body
    assert '    "reached the head" : 6\n    "churned in review" : 2\n' in body
    assert "| `util.py` | `sub` | 2 | 2 |" in body
    assert summary.startswith(body)
    assert f"Report comment created: https://github.com/{REPO}/pull/2#issuecomment-" in summary
    assert TOKEN not in log + summary + body


def test_synchronize_edits_the_same_comment(pr: tuple[Runner, dict[str, str]], tmp_path: Path,
                                            repo: GitRepo) -> None:
    runner, shas = pr
    assert runner.run("pull_request", opened(tmp_path, shas))[0] == 0
    [first] = runner.fake.comments_on(REPO, 2)
    # The author pushes again: mul() goes, with the blank lines before it (4 more AI lines churned).
    repo.git("checkout", "-q", "feature")
    c4 = repo.commit({"util.py": "def add(a, b):\n    return a + b\n"}, "drop mul")
    pr_repo.checkout_test_merge(repo, "feature")
    event = pr_repo.payload("pull_request.synchronize.json", tmp_path / "sync.json", {
        "pull_request.head.sha": c4, "pull_request.base.sha": shas["other"], "after": c4,
        "before": shas["c3"]})
    rc, outputs, summary, log = runner.run("pull_request", event)
    assert rc == 0, log
    assert outputs["surviving-lines"] == "2" and outputs["review-churn"] == "0.75"
    [second] = runner.fake.comments_on(REPO, 2)
    assert second["id"] == first["id"]
    assert "**6 churned in review (75.0%)**" in second["body"]
    assert [m for m, _, _ in runner.fake.requests() if m != "GET"] == ["POST", "PATCH"]
    assert "Report comment updated" in summary


def test_fork_pull_request_writes_summary_only(pr: tuple[Runner, dict[str, str]], tmp_path: Path) -> None:
    runner, shas = pr
    event = opened(tmp_path, shas, **{"pull_request.head.repo.full_name": "forker/Hello-World"})
    runner.fake.state.read_only = True
    rc, outputs, summary, log = runner.run("pull_request", event)
    assert rc == 0, log
    assert runner.fake.requests() == []          # not even a read: nothing to do on GitHub
    assert outputs == EXPECTED_OUTPUTS
    assert "not posted: pull request from a fork: the token is read-only" in summary
    assert "**8 AI lines**" in summary


def test_read_only_token_degrades_to_summary(pr: tuple[Runner, dict[str, str]], tmp_path: Path) -> None:
    runner, shas = pr
    runner.fake.state.read_only = True
    rc, _, summary, log = runner.run("pull_request", opened(tmp_path, shas))
    assert rc == 0, log
    assert runner.fake.comments_on(REPO, 2) == []
    assert "The report comment was not posted: the token is read-only: GitHub refused access: 403" in summary


def test_rate_limit_then_success(pr: tuple[Runner, dict[str, str]], tmp_path: Path) -> None:
    runner, shas = pr
    runner.fake.rate_limit("POST", r"/issues/2/comments$")
    rc, _, summary, log = runner.run("pull_request", opened(tmp_path, shas))
    assert rc == 0, log
    assert "GitHub rate limit: 403" in log and "retrying" in log
    assert len(runner.fake.comments_on(REPO, 2)) == 1
    assert "Report comment created" in summary


def test_server_error_500_fails_only_with_fail_on_comment(pr: tuple[Runner, dict[str, str]],
                                                          tmp_path: Path) -> None:
    runner, shas = pr
    runner.fake.fail("GET", r"/pulls/2$", 500, times=100)
    rc, outputs, summary, log = runner.run("pull_request", opened(tmp_path, shas))
    assert rc == 0, log
    assert outputs["ai-lines"] == "8"
    assert "not posted: GitHub server error: 500 (fake 500) (after 3 attempts)" in summary
    rc, _, _, log = runner.run("pull_request", opened(tmp_path, shas), fail_on="comment")
    assert rc == 1
    assert "::error title=gitroi fail-on::the report comment could not be posted" in log


def test_bad_token_401(pr: tuple[Runner, dict[str, str]], tmp_path: Path) -> None:
    runner, shas = pr
    rc, _, summary, log = runner.run("pull_request", opened(tmp_path, shas), token="ghs_expiredToken999")
    assert rc == 0, log
    assert "GitHub refused the token: 401 (Bad credentials)" in summary
    assert "ghs_expiredToken999" not in log + summary
    assert len(runner.fake.requests()) == 1


def test_fail_on_threshold_and_comment_off(pr: tuple[Runner, dict[str, str]], tmp_path: Path) -> None:
    runner, shas = pr
    rc, outputs, summary, log = runner.run("pull_request", opened(tmp_path, shas), comment="off",
                                           fail_on="review-churn>0.2")
    assert rc == 1
    assert "::error title=gitroi fail-on::review-churn is 0.25, and fail-on says review-churn>0.2" in log
    assert runner.fake.requests() == []
    assert outputs["review-churn"] == "0.25"
    assert "not posted: the comment input is off" in summary


def test_flag_like_inputs_are_refused(pr: tuple[Runner, dict[str, str]], tmp_path: Path) -> None:
    runner, shas = pr
    rc, _, _, log = runner.run("pull_request", opened(tmp_path, shas), fail_on="--help")
    assert rc == 1 and "input 'fail-on' must not start with '-'" in log
    rc, _, _, log = runner.run("pull_request", opened(tmp_path, shas), base="--output=/etc/x")
    assert rc == 1 and "input 'base' must not start with '-'" in log
    rc, _, _, log = runner.run("pull_request", opened(tmp_path, shas), window="14d; rm -rf /")
    assert rc == 1 and "input 'window' must look like 14d" in log
    assert runner.fake.requests() == []


def test_closed_without_merge_does_nothing(pr: tuple[Runner, dict[str, str]], tmp_path: Path) -> None:
    runner, shas = pr
    event = opened(tmp_path, shas, name="pull_request.closed.unmerged.json")
    rc, outputs, summary, _ = runner.run("pull_request", event)
    assert (rc, outputs) == (0, {})
    assert summary == "### gitroi\n\nPull request closed without merging: nothing to do.\n"


def test_push_to_another_branch_and_unknown_event(pr: tuple[Runner, dict[str, str]], tmp_path: Path) -> None:
    runner, _ = pr
    event = pr_repo.payload("push.json", tmp_path / "push.json", {"ref": "refs/heads/topic"})
    rc, _, summary, _ = runner.run("push", event)
    assert rc == 0 and "Push to `refs/heads/topic`, not to `master`: nothing to map." in summary
    rc, _, summary, _ = runner.run("issues", event)
    assert rc == 0 and "Event `issues` is not one gitroi handles" in summary


def test_event_payload_json_is_what_the_runner_gives(tmp_path: Path) -> None:
    # Sanity: the payloads are the real, unmodified files (sha256 per their .source.txt).
    import hashlib

    from tests.conftest import SAMPLES

    digest = hashlib.sha256((SAMPLES / "github" / "pull_request.opened.json").read_bytes()).hexdigest()
    assert digest == "d34772e6b4b912586626b71101fd7e9f529943866c895dcb3381ec476003e834"
    assert json.loads((SAMPLES / "github" / "pull_request.opened.json").read_text())["number"] == 2


def test_push_creating_the_branch_uses_the_new_branch_payload(pr: tuple[Runner, dict[str, str]],
                                                              tmp_path: Path) -> None:
    runner, shas = pr
    event = pr_repo.payload("push.new-branch.json", tmp_path / "new-branch.json", {
        "ref": "refs/heads/main", "after": shas["other"], "repository.default_branch": "main",
        "repository.master_branch": "main"})
    rc, outputs, summary, log = runner.run("push", event)
    assert (rc, outputs) == (0, {}), log
    assert summary == "### gitroi: notes mapped onto the push to main\n\n"
    # "other" names no PR in its subject: GitHub is asked, and links it to none.
    assert [p for _, p, _ in runner.fake.requests()] == [
        f"/api/v3/repos/{REPO}", f"/api/v3/repos/{REPO}/commits/{shas['other']}",
        f"/api/v3/repos/{REPO}/commits/{shas['other']}/pulls"]


def test_merged_event_whose_merge_commit_is_missing_warns_and_succeeds(pr: tuple[Runner, dict[str, str]],
                                                                      tmp_path: Path) -> None:
    runner, shas = pr
    event = pr_repo.payload("pull_request.closed.merged.json", tmp_path / "closed.json", {
        "pull_request.head.sha": shas["c3"]})          # merge_commit_sha 5a47c3f3… is not here
    rc, _, summary, log = runner.run("pull_request", event)
    assert rc == 0, log
    assert "Error: merge commit 5a47c3f3c22f54f37a3297f2f1c98d860fba4489 is not a commit in this repository" in log
    assert "::warning title=gitroi::the notes could not be mapped onto the merge" in log
    assert summary == "### gitroi: notes of #117 mapped onto the merge\n\nMapping the notes failed; see the job log.\n"


def test_merged_fork_pull_request_maps_without_pushing(pr: tuple[Runner, dict[str, str]],
                                                        tmp_path: Path) -> None:
    runner, shas = pr
    fork = {"pull_request.head.sha": shas["c3"], "pull_request.head.repo.full_name": "forker/Hello-World"}
    cases = [("pull_request", {"pull_request.head.sha": shas["c3"]}, "--json --push"),
             ("pull_request", fork, "--json --no-push"),
             ("pull_request_target", fork, "--json --push")]   # a write token even for forks
    for i, (event_name, edit, flags) in enumerate(cases):
        event = pr_repo.payload("pull_request.closed.merged.json", tmp_path / f"closed{i}.json", edit)
        rc, _, _, log = runner.run(event_name, event)
        [command] = [ln for ln in log.splitlines() if ln.startswith("gitroi pr map-merge ")]
        assert rc == 0 and command.endswith(flags), (event_name, command)
