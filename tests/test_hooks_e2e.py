"""The hooks end to end, as a user runs them: `gitroi install`, an agent's Claude Code
transcript in a temporary CLAUDE_CONFIG_DIR whose edits write real lines into real files,
then real `git commit`, `git commit --amend`, `git rebase`, `git cherry-pick` and
`git push` to a bare repository, checking `gitroi show --json` after each.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from gitroi.attribution.notes import Note, SessionShare, read_note, write_note
from gitroi.attribution.rewrite import combine_sessions, remap
from gitroi.git import Repo
from tests.conftest import GitRepo, run_gitroi
from tests.test_attribution_claude_log import SID, Transcript, cost


@pytest.fixture(autouse=True)
def hooks_in_foreground(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the result right after each git command: run post-commit before
    returning (test_hooks_background.py covers the default, backgrounded, mode)."""
    monkeypatch.setenv("GITROI_HOOK_FOREGROUND", "1")


def git(repo: GitRepo | Path, *args: str, date: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real git command (hooks run), stderr captured; ``date`` fixes author and committer."""
    e = {**os.environ, **(env or {})}
    if date:
        e.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    path = repo.path if isinstance(repo, GitRepo) else repo
    proc = subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, env=e)
    assert proc.returncode == 0, proc.stderr
    return proc


def commit_all(repo: GitRepo, message: str, date: str, *extra: str) -> subprocess.CompletedProcess[str]:
    git(repo, "add", "-A")
    return git(repo, "commit", "-q", *extra, "-m", message, date=date)


def settle(repo: GitRepo) -> None:
    """Wait until no hook of this repository is running (the background post-commit)."""
    import fcntl

    lock = repo.path / ".git" / "gitroi" / "hook.lock"
    if lock.exists():
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        finally:
            os.close(fd)


def show(repo: GitRepo, rev: str = "HEAD") -> dict[str, Any]:
    settle(repo)
    return json.loads(run_gitroi("show", rev, "--json", cwd=repo.path).stdout)


def head(repo: GitRepo, rev: str = "HEAD") -> str:
    return repo.git("rev-parse", rev)


def test_claude_session_through_hooks(repo: GitRepo, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _claude_story(repo, tmp_path, monkeypatch)


def test_claude_session_through_hooks_in_the_background(repo: GitRepo, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same story in the default mode: post-commit works after git returns."""
    monkeypatch.delenv("GITROI_HOOK_FOREGROUND")
    _claude_story(repo, tmp_path, monkeypatch)


def _claude_story(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    repo.commit({"app.py": "import os\n\n\ndef main():\n    print('hi')\n"}, "base",
                date="2026-02-12T15:00:00Z")
    assert "wrote" in run_gitroi("install", cwd=repo.path).stdout
    git(repo, "checkout", "-q", "-b", "feature")
    t = Transcript(root, repo.path)
    app = repo.path / "app.py"

    # 1. The agent rewrites main(); a person adds the __main__ guard.  One real `git commit`.
    t.edit("2026-02-12T16:02:27.718Z", "msg_A", "toolu_A", app, "    print('hi')",
           "    name = os.environ.get('USER', 'world')\n    print(f'hi {name}')",
           input=3, output=9, cache_write=15005, cache_read=11442)
    app.write_text(app.read_text() + "\n\nif __name__ == '__main__':\n    main()\n")
    proc = commit_all(repo, "greet by name", "2026-02-12T16:05:00Z")
    assert proc.stderr == ""
    d = show(repo)
    assert (d["attribution"], d["ai_ranges"], d["lines_added"], d["ai_lines"]) == \
        ("line", {"app.py": [[5, 6]]}, 6, 2)
    [s] = d["sessions"]
    assert (s["agent"], s["session_id"]) == ("claude-code", SID)
    assert (s["input"], s["output"], s["cache_write"], s["cache_read"]) == (3, 9, 15005, 11442)
    assert d["tokens"] == 26459
    assert d["cost_usd"] == pytest.approx(cost(3, 9, 15005, 11442))
    c1 = d["commit"]

    # 2. Same session, a new file; the commit takes only the tokens spent since commit 1.
    t.write("2026-02-12T16:10:00.000Z", "msg_B", "toolu_B", repo.path / "util.py",
            "def shout(s):\n    return s.upper()\n", input=1, output=254, cache_write=829,
            cache_read=89823)
    assert commit_all(repo, "shout", "2026-02-12T16:12:00Z").stderr == ""
    d = show(repo)
    assert (d["ai_ranges"], d["tokens"]) == ({"util.py": [[1, 2]]}, 90907)
    c2 = d["commit"]
    # tokens spent after commit 2 wait for the next commit of the session
    t.response("2026-02-12T16:20:00.000Z", "msg_C", [{"type": "text", "text": "Done."}],
               input=2, output=50, cache_write=0, cache_read=1000)

    # 3. Amend: a person puts a header line on top of util.py.  post-commit gives the amended
    #    commit the session's tokens since commit 2 (msg_C), post-rewrite carries commit 2's
    #    note over with the ranges shifted; the two slices add up.
    (repo.path / "util.py").write_text("# utilities\n" + (repo.path / "util.py").read_text())
    proc = commit_all(repo, "shout, documented", "2026-02-12T16:25:00Z", "--amend")
    assert proc.stderr == ""
    d = show(repo)
    c2a = d["commit"]
    assert c2a != c2
    assert (d["ai_ranges"], d["lines_added"], d["ai_lines"]) == ({"util.py": [[2, 3]]}, 3, 2)
    [s] = d["sessions"]
    assert (s["input"], s["output"], s["cache_write"], s["cache_read"]) == \
        (1 + 2, 254 + 50, 829, 89823 + 1000)
    assert d["tokens"] == 90907 + 1052
    assert (s["since"], s["until"]) == ("2026-02-12T16:05:01.000Z", "2026-02-12T16:25:01.000Z")
    assert show(repo, c2)["tokens"] == 90907  # the old commit's note is untouched

    # 4. Rebase onto a main branch that gained two lines on top of app.py.
    git(repo, "checkout", "-q", "main")
    app.write_text("# app\n# (c) us\n" + app.read_text())
    commit_all(repo, "header", "2026-02-12T16:30:00Z")
    git(repo, "checkout", "-q", "feature")
    proc = git(repo, "rebase", "-q", "main", date="2026-02-12T16:40:00Z")
    assert "gitroi" not in proc.stderr
    r1, r2 = head(repo, "HEAD~1"), head(repo)
    assert c1 not in (r1, r2) and c2a not in (r1, r2)
    d1, d2 = show(repo, r1), show(repo, r2)
    assert (d1["ai_ranges"], d1["lines_added"], d1["tokens"]) == ({"app.py": [[7, 8]]}, 6, 26459)
    assert (d2["ai_ranges"], d2["lines_added"], d2["tokens"]) == ({"util.py": [[2, 3]]}, 3, 91959)
    assert d1["sessions"][0]["session_id"] == SID

    # 5. Cherry-pick the util commit onto main: the note comes along.
    git(repo, "checkout", "-q", "main")
    git(repo, "cherry-pick", r2, date="2026-02-12T16:50:00Z")
    d = show(repo)
    assert d["commit"] != r2
    assert (d["ai_ranges"], d["tokens"], d["attribution"]) == ({"util.py": [[2, 3]]}, 91959, "line")

    # 6. Push the branch to a bare origin: the notes follow in the background.
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(repo, "remote", "add", "origin", str(bare))
    proc = git(repo, "push", "-q", "origin", "feature", "main")
    assert proc.stderr == ""
    local = head(repo, "refs/notes/gitroi")
    deadline = time.monotonic() + 20
    remote = ""
    while time.monotonic() < deadline:
        remote = subprocess.run(["git", "rev-parse", "-q", "--verify", "refs/notes/gitroi"],
                                cwd=bare, capture_output=True, text=True).stdout.strip()
        if remote == local:
            break
        time.sleep(0.1)
    assert remote == local
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)
    subprocess.run(["git", "fetch", "-q", "origin", "refs/notes/gitroi:refs/notes/gitroi"],
                   cwd=clone, check=True)
    out = json.loads(run_gitroi("show", r1, "--json", cwd=clone).stdout)
    assert (out["ai_ranges"], out["tokens"]) == ({"app.py": [[7, 8]]}, 26459)


def _note(tokens: int, since: str, until: str, ranges: dict[str, list[list[int]]],
          lines_added: int, sid: str = "S1") -> Note:
    share = SessionShare.from_models(
        "claude-code", sid, {"claude-opus-4-6": {"input": tokens, "output": 0, "cache_write": 0,
                                                 "cache_read": 0, "reasoning": 0, "responses": 1,
                                                 "cost_usd": tokens * 1e-6}},
        since=since, until=until)
    return Note.build(attribution="line", sessions=[share], lines_added=lines_added,
                      ai_ranges=ranges)


def test_squash_of_two_commits_unions_notes_and_remaps_by_content(repo: GitRepo) -> None:
    """rebase -i with a fixup: two old commits -> one new; slices of one session add up,
    lines the squash dropped are no longer attributed, a changed line does not map."""
    repo.commit({"m.py": "a = 1\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    r = Repo.discover(repo.path)
    skip = {"GITROI_SKIP": "1"}
    o1 = repo.commit({"m.py": "a = 1\ndef f():\n    return 'agent one'\n"}, "one", env=skip)
    write_note(r, o1, _note(100, "2026-01-01T00:00:00.000Z", "2026-01-01T00:10:00.000Z",
                            {"m.py": [[2, 3]]}, 2))
    o2 = repo.commit({"m.py": "a = 1\ndef f():\n    return 'agent one'\nx = 'agent two'\n"
                                 "y = 'agent three'\n"}, "two", env=skip)
    write_note(r, o2, _note(50, "2026-01-01T00:10:00.000Z", "2026-01-01T00:20:00.000Z",
                            {"m.py": [[4, 5]]}, 2))
    # squash both into one, and change "agent three" on the way (a person's edit)
    env = {"GIT_SEQUENCE_EDITOR": "sed -i '2s/^pick/fixup/'", "GIT_EDITOR": "true"}
    git(repo, "rebase", "-q", "-i", "HEAD~2", env=env)
    new = head(repo)
    (repo.path / "m.py").write_text("a = 1\ndef f():\n    return 'agent one'\nx = 'agent two'\n"
                                    "y = 'a person'\n")
    proc = commit_all(repo, "one and two", "2026-01-01T01:00:00Z", "--amend")
    assert proc.stderr == ""
    d = show(repo)
    assert d["commit"] not in (new, o1, o2)
    assert d["ai_ranges"] == {"m.py": [[2, 4]]}
    assert (d["lines_added"], d["ai_lines"], d["tokens"]) == (4, 3, 150)
    [s] = d["sessions"]
    assert (s["since"], s["until"]) == ("2026-01-01T00:00:00.000Z", "2026-01-01T00:20:00.000Z")
    assert s["cost_usd"] == pytest.approx(150e-6)


def test_remap_is_idempotent_and_keeps_an_existing_note(repo: GitRepo) -> None:
    repo.commit({"m.py": "a = 1\n"}, "base")
    r = Repo.discover(repo.path)
    old = repo.commit({"m.py": "a = 1\nb = 'ai'\n"}, "old")
    write_note(r, old, _note(10, "2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z",
                             {"m.py": [[2, 2]]}, 1))
    repo.git("reset", "-q", "--hard", "HEAD~1")
    new = repo.commit({"m.py": "a = 1\nc = 'ai too'\nb = 'ai'\n"}, "new")
    write_note(r, new, _note(5, "2026-01-01T00:01:00.000Z", "2026-01-01T00:02:00.000Z",
                             {"m.py": [[2, 2]]}, 2, sid="S1"))
    first = remap(r, [old], new)
    assert first is not None
    assert {p: list(v) for p, v in first.ai_ranges.items()} == {"m.py": [(2, 3)]}
    assert first.tokens == 15
    again = remap(r, [old], new)
    assert again == first
    assert read_note(r, new) == first
    assert remap(r, [head(repo, "HEAD~1")], new) is None  # no note on the old commit: nothing


def test_combine_sessions_adds_disjoint_slices_once() -> None:
    a = _note(10, "t0", "t1", {}, 0).sessions[0]
    b = _note(20, "t1", "t2", {}, 0).sessions[0]
    other = _note(7, "t0", "t1", {}, 0, sid="S2").sessions[0]
    [ab, o] = combine_sessions([a, b, a, other])   # `a` twice: counted once
    assert (ab.tokens, ab.since, ab.until, o.tokens) == (30, "t0", "t2", 7)
    [big] = combine_sessions([a, _note(12, "t0", "t1", {}, 0).sessions[0]])
    assert big.tokens == 12                      # the same slice seen twice: the larger


def test_pre_commit_framework_style_post_rewrite_without_stdin(repo: GitRepo) -> None:
    """pre-commit runs post-rewrite hooks with only PRE_COMMIT_REWRITE_COMMAND, no stdin:
    the pairs come from the reflog (amend) and from patch ids against ORIG_HEAD (rebase)."""
    skip = {"GITROI_SKIP": "1"}
    repo.commit({"m.py": "a = 1\n"}, "base")
    r = Repo.discover(repo.path)
    o1 = repo.commit({"m.py": "a = 1\nb = 'one'\n"}, "one", env=skip)
    write_note(r, o1, _note(10, "2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z", {"m.py": [[2, 2]]}, 1))
    o2 = repo.commit({"n.py": "c = 'two'\n"}, "two", env=skip)
    write_note(r, o2, _note(20, "2026-01-01T00:01:00.000Z", "2026-01-01T00:02:00.000Z", {"n.py": [[1, 1]]}, 1))
    git(repo, "checkout", "-q", "-b", "side", "HEAD~2")
    repo.commit({"m.py": "# top\na = 1\n"}, "top", env=skip)
    git(repo, "checkout", "-q", "main")
    git(repo, "rebase", "-q", "side", env=skip)
    n1, n2 = head(repo, "HEAD~1"), head(repo)
    proc = run_gitroi("hook-impl", "post-rewrite", cwd=repo.path, input="",
                      env={"PRE_COMMIT_REWRITE_COMMAND": "rebase"})
    assert proc.stderr == ""
    assert {p: list(v) for p, v in (read_note(r, n1) or _note(0, "", "", {}, 0)).ai_ranges.items()} \
        == {"m.py": [(3, 3)]}
    assert (read_note(r, n2) or _note(0, "", "", {}, 0)).tokens == 20
    repo.write("n.py", "c = 'two'\nd = 'person'\n")
    git(repo, "commit", "-q", "-a", "--amend", "-m", "two+", env=skip)
    proc = run_gitroi("hook-impl", "post-rewrite", cwd=repo.path, input="",
                      env={"PRE_COMMIT_REWRITE_COMMAND": "amend"})
    amended = read_note(r, head(repo))
    assert amended is not None and amended.tokens == 20 and amended.lines_added == 2
    assert {p: list(v) for p, v in amended.ai_ranges.items()} == {"n.py": [(1, 1)]}


def test_squash_in_rebase_keeps_only_ai_lines_that_reach_the_last_commit(repo: GitRepo) -> None:
    """rebase -i squashing three commits: the agent's file renamed by a person, who also
    rewrote one AI line, then more agent lines under the new name.  post-rewrite follows
    the first commit's lines through the rename (the old matcher lost them: 3 of 8)."""
    util = ("def parse(text):\n    words = text.split()\n    return [w.lower() for w in words]\n"
            "\ndef shout(text):\n    return text.upper()\n")
    repo.commit({"m.py": "a = 1\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    r = Repo.discover(repo.path)
    skip = {"GITROI_SKIP": "1"}
    o1 = repo.commit({"u.py": util}, "agent: util", env=skip)
    write_note(r, o1, _note(100, "2026-01-01T00:00:00.000Z", "2026-01-01T00:10:00.000Z",
                            {"u.py": [[1, 6]]}, 6))
    repo.commit({"u.py": None, "lib/u.py": util.replace("upper()", "upper() + '!'")},
                "person: move and louder", env=skip)
    o3 = repo.commit({"lib/u.py": util.replace("upper()", "upper() + '!'")
                      + "\ndef count(text):\n    return len(text.split())\n"}, "agent: count",
                     env=skip)
    write_note(r, o3, _note(50, "2026-01-01T00:10:00.000Z", "2026-01-01T00:20:00.000Z",
                            {"lib/u.py": [[7, 9]]}, 3))
    env = {"GIT_SEQUENCE_EDITOR": "sed -i '2,$s/^pick/squash/'", "GIT_EDITOR": "true"}
    proc = git(repo, "rebase", "-q", "-i", "HEAD~3", env=env)
    assert proc.stderr == ""
    d = show(repo)
    assert d["ai_ranges"] == {"lib/u.py": [[1, 5], [7, 9]]}
    assert (d["lines_added"], d["ai_lines"], d["tokens"]) == (9, 8, 150)
