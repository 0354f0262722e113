"""Notes survive the three ways GitHub merges, end to end with a bare "origin".

The PR of tests/pr_repo.py is pushed to origin (branch, ``refs/pull/117/head``
as GitHub keeps it, and ``refs/notes/gitroi``), merged on "GitHub" (another
clone) by squash, rebase or merge commit, then the Action runs in a CI clone
on the real ``pull_request.closed.merged.json`` payload (or the real
``push.json``) and pushes the notes.  A fresh clone then asks ``gitroi show
--json`` about the main branch's new commits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitroi.attribution.rewrite import remap
from gitroi.git import Repo
from gitroi.pr.mergemap import detect, map_merge, pr_number_from_subject
from tests import pr_repo
from tests.conftest import ROOT, GitRepo, run_gitroi

PR = 117   # the number in pull_request.closed.merged.json


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "GIT_COMMITTER_DATE": "2026-01-03T00:00:00Z",
                               "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def world(repo: GitRepo, tmp_path: Path) -> dict[str, object]:
    shas = pr_repo.build(repo)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    repo.git("remote", "add", "origin", str(origin))
    repo.git("push", "-q", "origin", "main", "feature", "refs/notes/gitroi",
             f"feature:refs/pull/{PR}/head")
    hub = tmp_path / "github"
    git(tmp_path, "clone", "-q", str(origin), str(hub))
    return {"shas": shas, "origin": origin, "hub": hub, "tmp": tmp_path}


def merge_on_github(world: dict[str, object], how: str) -> str:
    """Merge the PR into main as GitHub's button would; returns merge_commit_sha."""
    hub = world["hub"]
    assert isinstance(hub, Path)
    if how == "squash":
        git(hub, "merge", "-q", "--squash", "origin/feature")
        git(hub, "commit", "-q", "-m", f"Add util (#{PR})")
    elif how == "rebase":
        git(hub, "checkout", "-q", "-b", "rebased", "origin/feature")
        git(hub, "rebase", "-q", "main")
        git(hub, "checkout", "-q", "main")
        git(hub, "merge", "-q", "--ff-only", "rebased")
    else:
        git(hub, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{PR} from x/feature", "origin/feature")
    git(hub, "push", "-q", "origin", "main")
    return git(hub, "rev-parse", "HEAD")


def run_action(world: dict[str, object], event: str, payload: Path,
               extra: dict[str, str] | None = None) -> tuple[int, str, str]:
    """actions/checkout's clone (full history), then action/main.py as the runner runs it."""
    tmp = world["tmp"]
    assert isinstance(tmp, Path)
    ci = tmp / "ci"
    git(tmp, "clone", "-q", str(world["origin"]), str(ci))
    summary = tmp / "summary.md"
    summary.write_text("")
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event,
           "GITHUB_EVENT_PATH": str(payload), "GITHUB_REPOSITORY": "robvanderleek/create-issue-branch",
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(tmp / "out"),
           "GITHUB_WORKSPACE": str(ci), **(extra or {})}
    proc = subprocess.run([sys.executable, str(ROOT / "action" / "main.py")], cwd=ci, env=env,
                          capture_output=True, text=True)
    return proc.returncode, summary.read_text(), proc.stdout + proc.stderr


def closed_payload(world: dict[str, object], merge_sha: str) -> Path:
    shas = world["shas"]
    tmp = world["tmp"]
    assert isinstance(shas, dict) and isinstance(tmp, Path)
    return pr_repo.payload("pull_request.closed.merged.json", tmp / "closed.json", {
        "pull_request.merge_commit_sha": merge_sha, "pull_request.head.sha": shas["c3"],
        "pull_request.base.sha": shas["other"]})


def show_fresh(world: dict[str, object], *revs: str) -> list[dict[str, object]]:
    """``gitroi show --json`` in a fresh clone that fetched origin's notes."""
    tmp = world["tmp"]
    assert isinstance(tmp, Path)
    fresh = tmp / "fresh"
    if not fresh.exists():
        git(tmp, "clone", "-q", str(world["origin"]), str(fresh))
        git(fresh, "fetch", "-q", "origin", "refs/notes/gitroi:refs/notes/gitroi")
    return [json.loads(run_gitroi("show", rev, "--json", cwd=fresh).stdout) for rev in revs]


def test_squash_merge_gets_the_union_of_the_notes(world: dict[str, object]) -> None:
    merge_sha = merge_on_github(world, "squash")
    rc, summary, log = run_action(world, "pull_request", closed_payload(world, merge_sha))
    assert rc == 0, log
    assert f"- **squash** (#{PR}): squash: 3 commits mapped onto {merge_sha[:12]}" in summary
    assert "23,200 tokens" in summary and "Notes pushed: pushed refs/notes/gitroi to origin" in summary
    [shown] = show_fresh(world, merge_sha)
    assert shown["attribution"] == "line"
    assert shown["tokens"] == 23200
    assert shown["cost_usd"] == pytest.approx(0.30)
    assert sorted((s["agent"], s["session_id"], s["tokens"]) for s in shown["sessions"]) == [
        ("claude-code", "s1", 13500), ("codex", "s2", 9700)]
    # The squash commit's util.py is UTIL_V2: add() from c1 (lines 1-4), mul() from c2 (5-6).
    assert shown["ai_ranges"] == {"util.py": [[1, 6]]}
    assert (shown["ai_lines"], shown["lines_added"]) == (6, 7)
    # Running again (the push event fires too) changes nothing.
    rc, summary, log = run_action_again(world, closed_payload(world, merge_sha))
    assert rc == 0, log
    [again] = show_fresh(world, merge_sha)
    assert again == shown


def run_action_again(world: dict[str, object], payload: Path) -> tuple[int, str, str]:
    tmp = world["tmp"]
    assert isinstance(tmp, Path)
    subprocess.run(["rm", "-rf", str(tmp / "ci"), str(tmp / "fresh")], check=True)
    return run_action(world, "pull_request", payload)


def test_rebase_merge_maps_commit_to_commit(world: dict[str, object]) -> None:
    shas = world["shas"]
    assert isinstance(shas, dict)
    tip = merge_on_github(world, "rebase")
    hub = world["hub"]
    assert isinstance(hub, Path)
    c1r, c2r, c3r = git(hub, "rev-list", "--reverse", f"{shas['other']}..{tip}").split()
    assert c1r != shas["c1"]
    rc, summary, log = run_action(world, "pull_request", closed_payload(world, tip))
    assert rc == 0, log
    assert f"- **rebase** (#{PR}): rebase: 3 of 3 commits paired by patch id, 2 notes carried over" in summary
    one, two, three = show_fresh(world, c1r, c2r, c3r)
    assert (one["tokens"], one["ai_ranges"], one["sessions"][0]["session_id"]) == (
        13500, {"util.py": [[1, 6]]}, "s1")
    assert (two["tokens"], two["ai_ranges"], two["sessions"][0]["session_id"]) == (
        9700, {"util.py": [[5, 6]]}, "s2")
    assert (three["attribution"], three["tokens"]) == ("none", 0)


def test_merge_commit_keeps_the_notes(world: dict[str, object]) -> None:
    shas = world["shas"]
    assert isinstance(shas, dict)
    merge_sha = merge_on_github(world, "merge")
    rc, summary, log = run_action(world, "pull_request", closed_payload(world, merge_sha))
    assert rc == 0, log
    assert "- **merge** (#117): merge commit: the pull request's commits and their notes are on the branch" in summary
    merged, c1, c2 = show_fresh(world, merge_sha, f"{merge_sha}^2~2", f"{merge_sha}^2~1")
    assert merged["tokens"] == 0
    assert (c1["commit"], c1["tokens"], c1["ai_ranges"]) == (shas["c1"], 13500, {"util.py": [[1, 6]]})
    assert (c2["commit"], c2["tokens"], c2["ai_ranges"]) == (shas["c2"], 9700, {"util.py": [[5, 6]]})


def test_push_event_maps_a_squash_by_its_pr_number(world: dict[str, object]) -> None:
    shas = world["shas"]
    tmp = world["tmp"]
    assert isinstance(shas, dict) and isinstance(tmp, Path)
    merge_sha = merge_on_github(world, "squash")
    payload = pr_repo.payload("push.json", tmp / "push.json", {
        "ref": "refs/heads/main", "before": shas["other"], "after": merge_sha,
        "repository.default_branch": "main", "repository.master_branch": "main"})
    rc, summary, log = run_action(world, "push", payload)
    assert rc == 0, log
    assert "notes mapped onto the push to main" in summary
    [shown] = show_fresh(world, merge_sha)
    assert (shown["tokens"], shown["ai_ranges"]) == (23200, {"util.py": [[1, 6]]})


def test_detect_and_dry_run_in_one_repository(repo: GitRepo) -> None:
    shas = pr_repo.build(repo)
    r = Repo.discover(repo.path)
    repo.git("merge", "-q", "--squash", "feature")
    squash = repo.commit(message=f"Add util (#{PR})")
    method, pr_commits, new = detect(r, merge_commit=squash, pr_head=shas["c3"])
    assert (method, pr_commits, new) == ("squash", [shas["c1"], shas["c2"], shas["c3"]], [squash])
    dry = map_merge(r, merge_commit=squash, pr_head=shas["c3"], write=False)
    assert [(m.target, m.ai_lines, m.tokens) for m in dry.mapped] == [(squash, 6, 23200)]
    assert repo.git("notes", "--ref=gitroi", "list", squash, check=False) == ""
    computed = remap(r, [shas["c1"], shas["c2"], shas["c3"]], squash, head=shas["c3"],
                     write=False)
    assert computed is not None and dict(computed.ai_ranges) == {"util.py": ((1, 6),)}
    assert repo.git("notes", "--ref=gitroi", "list", squash, check=False) == ""
    assert pr_number_from_subject("Add util (#117)") == 117
    assert pr_number_from_subject("Merge pull request #9 from a/b") == 9
    assert pr_number_from_subject("fix #3 later") is None


def test_map_merge_cli_without_origin_reports_push_failure(repo: GitRepo) -> None:
    shas = pr_repo.build(repo)
    repo.git("merge", "-q", "--squash", "feature")
    squash = repo.commit(message="Add util (#117)")
    out = run_gitroi("pr", "map-merge", "--merge-commit", squash, "--pr-head", shas["c3"],
                     "--push", "--json", cwd=repo.path)
    data = json.loads(out.stdout)
    assert data["merges"][0]["mapped"] == [{"commit": squash, "from": [shas["c1"], shas["c2"], shas["c3"]],
                                            "ai_lines": 6, "tokens": 23200}]
    assert data["push"]["ok"] is False and "origin" in data["push"]["message"]


def test_merged_fork_pr_maps_locally_but_does_not_push(world: dict[str, object]) -> None:
    merge_sha = merge_on_github(world, "squash")
    payload = closed_payload(world, merge_sha)
    data = json.loads(payload.read_text())
    data["pull_request"]["head"]["repo"]["full_name"] = "forker/create-issue-branch"
    payload.write_text(json.dumps(data))
    rc, summary, log = run_action(world, "pull_request", payload)
    assert rc == 0, log
    assert f"- **squash** (#{PR}): squash: 3 commits mapped onto {merge_sha[:12]}" in summary
    assert "Notes pushed" not in summary
    [shown] = show_fresh(world, merge_sha)
    assert (shown["attribution"], shown["tokens"]) == ("none", 0)


def test_push_event_maps_a_rebase_merge_through_the_api(world: dict[str, object]) -> None:
    from tests.fake_github import FakeGitHub

    shas = world["shas"]
    tmp = world["tmp"]
    hub = world["hub"]
    assert isinstance(shas, dict) and isinstance(tmp, Path) and isinstance(hub, Path)
    tip = merge_on_github(world, "rebase")
    c1r, c2r, c3r = git(hub, "rev-list", "--reverse", f"{shas['other']}..{tip}").split()
    repo_name = "robvanderleek/create-issue-branch"
    fake = FakeGitHub(prefix="/api/v3").start()
    try:
        fake.add_pr(repo_name, PR, head_sha=shas["c3"], base_sha=shas["other"])
        for sha in (c1r, c2r, c3r):
            fake.link_commit(repo_name, sha, PR)
        payload = pr_repo.payload("push.json", tmp / "push.json", {
            "ref": "refs/heads/main", "before": shas["other"], "after": tip,
            "repository.default_branch": "main", "repository.master_branch": "main"})
        rc, summary, log = run_action(world, "push", payload, {
            "GITHUB_API_URL": fake.api_url, "GITHUB_TOKEN": fake.state.token})
    finally:
        fake.stop()
    assert rc == 0, log
    assert f"- **rebase** (#{PR}): rebase: 3 of 3 commits paired by patch id, 2 notes carried over" in summary
    assert [p for m, p, _ in fake.requests()] == [
        f"/api/v3/repos/{repo_name}", f"/api/v3/repos/{repo_name}/commits/{c1r}",
        f"/api/v3/repos/{repo_name}/commits/{c1r}/pulls",
        f"/api/v3/repos/{repo_name}", f"/api/v3/repos/{repo_name}/commits/{c3r}",
        f"/api/v3/repos/{repo_name}/commits/{c3r}/pulls"]
    one, two = show_fresh(world, c1r, c2r)
    assert (one["tokens"], one["ai_ranges"]) == (13500, {"util.py": [[1, 6]]})
    assert (two["tokens"], two["ai_ranges"]) == (9700, {"util.py": [[5, 6]]})


def test_squash_of_commits_without_notes_says_so(repo: GitRepo) -> None:
    repo.commit({"a.py": "x\n"}, "base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"a.py": "x\ny\n"}, "by hand")
    head = repo.commit({"a.py": "x\ny\nz\n"}, "more by hand")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "feature")
    squash = repo.commit(message="By hand (#3)")
    out = map_merge(Repo.discover(repo.path), merge_commit=squash, pr_head=head)
    assert (out.method, out.mapped, out.message) == (
        "squash", [], "squash: none of the 2 commits has a gitroi note; nothing to map")


def test_runner_without_git_identity_still_writes_and_pushes(world: dict[str, object]) -> None:
    """A fresh CI runner has no user.name/user.email; `git notes add` would refuse to run."""
    tmp = world["tmp"]
    origin = world["origin"]
    assert isinstance(tmp, Path) and isinstance(origin, Path)
    merge_sha = merge_on_github(world, "squash")
    empty = tmp / "empty-gitconfig"
    empty.write_text("")
    rc, summary, log = run_action(world, "pull_request", closed_payload(world, merge_sha),
                                  {"GIT_CONFIG_GLOBAL": str(empty), "EMAIL": ""})
    assert rc == 0, log
    assert "Notes pushed: pushed refs/notes/gitroi to origin" in summary
    assert git(origin, "log", "-1", "--format=%an <%ae>", "refs/notes/gitroi") == \
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    [shown] = show_fresh(world, merge_sha)
    assert shown["tokens"] == 23200


UTIL_AI = ("def parse(text):\n    words = text.split()\n    return [w.lower() for w in words]\n\n"
           "def shout(text):\n    return text.upper()\n")
COUNT_AI = "\ndef count(text):\n    return len(text.split())\n"
HUMAN = ("\ndef tokens(text):\n    words = text.split()\n    return words\n"
         "\ndef plain(text):\n    return text.upper()\n")


def test_squash_carries_only_ai_lines_that_reach_the_pr_head(repo: GitRepo) -> None:
    """A PR that renames a file, adds AI lines to it under its new name, then has a person
    rewrite an AI line and type copies of AI lines: the squash gets exactly the AI lines
    `git blame` of the PR head gives the agent's commits (the old matcher of post-rewrite
    lost the lines written before the rename, 4 of 8; mergemap's own counted the person's
    copy of the rewritten line, 9)."""
    from gitroi.attribution.notes import Note, write_note

    repo.commit({"main.py": "print('base')\n"}, "base")
    repo.git("checkout", "-q", "-b", "feature")
    r = Repo.discover(repo.path)
    c1 = repo.commit({"util.py": UTIL_AI}, "agent: util")
    write_note(r, c1, Note.build(attribution="line", agents=["claude-code"], lines_added=6,
                                 ai_ranges={"util.py": [(1, 6)]}))
    c2 = repo.commit({"util.py": None, "lib/util.py": UTIL_AI}, "move util into lib")
    c3 = repo.commit({"lib/util.py": UTIL_AI + COUNT_AI}, "agent: count")
    write_note(r, c3, Note.build(attribution="line", agents=["claude-code"], lines_added=3,
                                 ai_ranges={"lib/util.py": [(7, 9)]}))
    c4 = repo.commit({"lib/util.py": UTIL_AI.replace("upper()", "upper() + '!'") + COUNT_AI
                      + HUMAN}, "person: louder shout, tokens")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "feature")
    squash = repo.commit(message=f"Util (#{PR})")
    # head lib/util.py: 1-5 agent (c1, through the rename), 6 person, 7-9 agent (c3), 10-16 person
    dry = map_merge(r, merge_commit=squash, pr_head=c4, write=False)
    assert [(m.target, m.ai_lines) for m in dry.mapped] == [(squash, 8)]
    # post-rewrite's call for a `rebase -i` squash of the four: the same lines
    hook = remap(r, [c1, c2, c3, c4], squash, write=False)
    assert hook is not None and dict(hook.ai_ranges) == {"lib/util.py": ((1, 5), (7, 9))}
    # c1 alone is its own last version: by content, the copy of its `return text.upper()`
    # counts; only the walk to the PR head tells the person's copy apart
    alone = remap(r, [c1], squash, write=False)
    assert alone is not None and dict(alone.ai_ranges) == {"lib/util.py": ((1, 5), (16, 16))}
    done = map_merge(r, merge_commit=squash, pr_head=c4)
    assert (done.method, [m.ai_lines for m in done.mapped]) == ("squash", [8])
    note = json.loads(repo.git("notes", "--ref=gitroi", "show", squash))
    assert (note["ai_ranges"], note["lines_added"], note["ai_lines"]) == (
        {"lib/util.py": [[1, 5], [7, 9]]}, 16, 8)


def test_squash_follows_ai_lines_through_merges_inside_the_pr(repo: GitRepo) -> None:
    """The PR merges the main branch in and a helper branch whose agent commit a person
    then reorders: lines come through both merges; the line the person moved is theirs."""
    from gitroi.attribution.notes import Note, write_note

    repo.commit({"a.py": "x = 0\n"}, "base")
    repo.git("checkout", "-q", "-b", "feature")
    r = Repo.discover(repo.path)
    c1 = repo.commit({"b.py": "def one():\n    return 1\n"}, "agent: one")
    write_note(r, c1, Note.build(attribution="line", agents=["codex"], lines_added=2,
                                 ai_ranges={"b.py": [(1, 2)]}))
    repo.git("checkout", "-q", "-b", "helper")
    h1 = repo.commit({"d.py": "a = 1\nb = 2\nc = 3\n"}, "agent: d")
    write_note(r, h1, Note.build(attribution="commit", agents=["codex"], lines_added=3))
    repo.git("checkout", "-q", "main")
    repo.commit({"c.py": "main = True\n"}, "main moves on")
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-edit", "main")
    repo.git("merge", "-q", "--no-edit", "helper")
    head = repo.commit({"d.py": "a = 1\nc = 3\nb = 2\n"}, "person: reorder")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "feature")
    squash = repo.commit(message=f"One (#{PR})")
    done = map_merge(r, merge_commit=squash, pr_head=head)
    assert (done.method, [m.ai_lines for m in done.mapped]) == ("squash", [4])
    note = json.loads(repo.git("notes", "--ref=gitroi", "show", squash))
    assert (note["attribution"], note["ai_ranges"], note["lines_added"]) == (
        "line", {"b.py": [[1, 2]], "d.py": [[1, 2]]}, 5)
