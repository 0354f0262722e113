"""action.yml end to end through tests/tools/run_composite_action.py (the runner's stand-in).

The work tree is laid out as actions/checkout leaves it for a pull request:
a clone of "origin" detached at ``refs/pull/2/merge`` (a test merge of the
head into the base), full history, or depth 1 to exercise the unshallow step.
Installing gitroi into a fresh venv would cost minutes and the network, so the
test points ``GITROI_ACTION_PYTHON`` (documented in docs/action.md) at this
interpreter, which has gitroi installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests import pr_repo
from tests.conftest import ROOT, TOOLS, GitRepo
from tests.fake_github import FakeGitHub

REPO = "Codertocat/Hello-World"
TOKEN = "ghs_fakeTokenForTests0123456789"


def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_composite_action",
                                                  TOOLS / "run_composite_action.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    server = FakeGitHub(prefix="/api/v3").start()
    yield server
    server.stop()


def checkout(tmp: Path, origin: Path, *, depth: int | None) -> Path:
    """What actions/checkout does for a pull_request event (fetch-depth 0, or 1)."""
    ws = tmp / "workspace"
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    def g(*a: str) -> None:
        subprocess.run(["git", *a], cwd=ws, check=True, capture_output=True)
    g("remote", "add", "origin", f"file://{origin}")
    if depth:
        g("fetch", "-q", "--no-tags", f"--depth={depth}", "origin", "+refs/pull/2/merge:refs/remotes/pull/2/merge")
    else:
        g("fetch", "-q", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*",
          "+refs/pull/2/merge:refs/remotes/pull/2/merge")
    g("checkout", "-q", "--detach", "refs/remotes/pull/2/merge")
    return ws


@pytest.fixture
def pr_world(repo: GitRepo, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    shas = pr_repo.build(repo)
    shas["merge"] = pr_repo.checkout_test_merge(repo, "feature")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    repo.git("push", "-q", str(origin), "main", "feature", "refs/notes/gitroi",
             "feature:refs/pull/2/head", f"{shas['merge']}:refs/pull/2/merge")
    return origin, shas


def test_manifest_shape() -> None:
    spec = yaml.safe_load((ROOT / "action.yml").read_text())
    assert spec["runs"]["using"] == "composite"
    assert set(spec["inputs"]) == {"github-token", "comment", "window", "base", "fail-on", "gitroi-version",
                                  "export-to", "export-name"}
    assert set(spec["outputs"]) == {"tokens", "cost-usd", "ai-lines", "surviving-lines",
                                    "tokens-per-surviving-line", "review-churn"}
    for step in spec["runs"]["steps"]:
        assert "uses" not in step and step["shell"] == "bash"
        # inputs reach scripts through env: only, never pasted into the script text
        assert "inputs." not in step["run"] and "${{" not in step["run"]


@pytest.mark.parametrize("depth", [None, 1])
def test_action_yml_end_to_end(pr_world: tuple[Path, dict[str, str]], tmp_path: Path, fake: FakeGitHub,
                               monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
                               depth: int | None) -> None:
    origin, shas = pr_world
    ws = checkout(tmp_path, origin, depth=depth)
    fake.add_pr(REPO, 2, head_sha=shas["c3"], base_sha=shas["other"])
    event = pr_repo.payload("pull_request.opened.json", tmp_path / "event.json", {
        "pull_request.head.sha": shas["c3"], "pull_request.base.sha": shas["other"]})
    monkeypatch.setenv("GITHUB_API_URL", fake.api_url)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))   # the runner's RUNNER_TEMP lands here
    outputs, summary = runner().run_action(
        str(ROOT), {"github-token": TOKEN}, "pull_request", str(event), str(ws),
        extra_env={"GITROI_ACTION_PYTHON": sys.executable, "GITROI_GITHUB_BACKOFF": "0.01"})
    assert outputs == {"tokens": "23200", "cost-usd": "0.3", "ai-lines": "8", "surviving-lines": "6",
                       "tokens-per-surviving-line": "3866.67", "review-churn": "0.25"}
    [comment] = fake.comments_on(REPO, 2)
    assert comment["body"].startswith("<!-- gitroi:pr-report -->\n")
    assert summary.startswith(comment["body"])
    assert "**8 AI lines** of 9 added" in summary
    assert subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ws, capture_output=True,
                          text=True).stdout.strip() == "false"
    log = capfd.readouterr()
    assert "gitroi pr comment --repo Codertocat/Hello-World --pr 2" in log.err
    assert TOKEN not in log.out + log.err + summary
    assert fake.state.auth_seen == {f"token {TOKEN}"}
