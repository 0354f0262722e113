"""Attribution at commit time: exact AI line ranges and token slices on real repositories.

Sessions are written into a real SQLite ledger as the importer would write
them (sessions, usage_events, edits rows with line hashes), then real commits
are attributed and their notes read back from ``refs/notes/gitroi``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from gitroi.attribution.attribute import attribute_commit
from gitroi.attribution.commits import parse_patch
from gitroi.attribution.notes import list_notes, read_note
from gitroi.attribution.rebuild import ensure_ledger, rebuild
from gitroi.attribution.records import note_blob_id
from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.ledger.commits import commit_ranges, commit_row, dump_attribution
from gitroi.sessions import hash_lines, session_key
from tests.conftest import GitRepo, run_gitroi

# --- helpers: ledger rows as the session importer writes them -----------------------------------


def add_session(db: Database, sid: str, cwd: Path | str, started: str, ended: str,
                agent: str = "claude-code") -> str:
    key = session_key(agent, sid)
    db.execute("INSERT INTO sessions (key, agent, session_id, cwd, started_at, ended_at) "
               "VALUES (?, ?, ?, ?, ?, ?)", [key, agent, sid, str(cwd), started, ended])
    db.conn.commit()
    return key


def add_edit(db: Database, key: str, edit_id: str, ts: str, path: Path | str, text: str,
             tool: str = "Edit") -> None:
    db.execute("INSERT INTO edits (session_key, edit_id, ts, tool, path, line_hashes) "
               "VALUES (?, ?, ?, ?, ?, ?)", [key, edit_id, ts, tool, str(path),
                                             " ".join(hash_lines(text))])
    db.conn.commit()


def add_usage(db: Database, key: str, event_id: str, ts: str, model: str = "claude-opus-4-6",
              *, input: int = 0, output: int = 0, cache_write: int = 0, cache_read: int = 0,
              reasoning: int = 0, cost: float | None = None) -> None:
    db.execute("INSERT INTO usage_events (session_key, event_id, ts, model, input, output, "
               "cache_write, cache_read, reasoning, cost_usd) VALUES (?,?,?,?,?,?,?,?,?,?)",
               [key, event_id, ts, model, input, output, cache_write, cache_read, reasoning, cost])
    db.conn.commit()


@pytest.fixture
def ledger(tmp_path: Path) -> Database:
    return open_ledger(tmp_path / "ledger.db")


def note_of(repo: GitRepo, sha: str) -> dict[str, Any] | None:
    out = repo.git("notes", "--ref=refs/notes/gitroi", "show", sha, check=False)
    return json.loads(out) if out else None


BASE = "def f():\n    return 1\n"
AGENT_EDIT = "\ndef g(x):\n    y = x * 2\n    return y"
COMMIT1 = BASE + "\ndef g(x):\n    y = x * 2\n    return y\n# typed by a person\nz = 3\n"


def _story(repo: GitRepo, db: Database) -> dict[str, str]:
    """A person's base commit, then a Claude session that spans two commits, an exploring
    session that never lands, and a person's commit while the first session still runs."""
    shas = {"base": repo.commit({"a.py": BASE}, "base", date="2026-01-01T00:00:00Z")}
    s1 = add_session(db, "s1", repo.path, "2026-01-01T01:00:00.000Z", "2026-01-01T01:50:00.000Z")
    add_usage(db, s1, "u1", "2026-01-01T01:01:00.000Z", input=10, output=20, cache_write=30,
              cache_read=40, cost=0.01)
    add_edit(db, s1, "e1", "2026-01-01T01:05:00.000Z", repo.path / "a.py", AGENT_EDIT)
    add_usage(db, s1, "u2", "2026-01-01T01:05:00.000Z", input=1, output=2, cache_write=3,
              cache_read=4, cost=0.001)
    # The exploring session reads and edits a scratch file that is never committed.
    s2 = add_session(db, "s2", repo.path / "sub", "2026-01-01T01:02:00.000Z",
                     "2026-01-01T01:40:00.000Z")
    add_edit(db, s2, "x1", "2026-01-01T01:03:00.000Z", "scratch.py", "print('explore')")
    add_usage(db, s2, "v1", "2026-01-01T01:03:00.000Z", input=7000, output=7000, cost=1.0)
    db.conn.commit()
    shas["c1"] = repo.commit({"a.py": COMMIT1}, "add g", date="2026-01-01T01:10:00Z")
    # Second slice of s1: two models, then usage after commit 2 that must wait.
    add_usage(db, s1, "u3", "2026-01-01T01:20:00.000Z", input=100, output=200, cost=0.1)
    add_usage(db, s1, "u4", "2026-01-01T01:21:00.000Z", "claude-sonnet-4-5", input=5,
              output=5, cache_read=1000, cost=0.002)
    add_edit(db, s1, "e2", "2026-01-01T01:25:00.000Z", "b.py", "def h():\n    return 42\n",
             tool="Write")
    shas["c2"] = repo.commit({"b.py": "def h():\n    return 42\n"}, "add h",
                             date="2026-01-01T01:30:00Z")
    add_usage(db, s1, "u5", "2026-01-01T01:40:00.000Z", input=9, output=9, cost=0.009)
    shas["c3"] = repo.commit({"d.py": "hello = 1\n"}, "person's change",
                             date="2026-01-01T01:45:00Z")
    return shas


def test_commit_mixing_agent_and_person_lines(repo: GitRepo, ledger: Database) -> None:
    shas = _story(repo, ledger)
    r = Repo.discover(repo.path)
    assert attribute_commit(r, ledger, shas["base"], import_logs=False) is None
    note = attribute_commit(r, ledger, shas["c1"], import_logs=False)
    assert note is not None
    d = note_of(repo, shas["c1"])
    assert d is not None
    assert d["schema"] == "gitroi.note/1"
    assert d["attribution"] == "line"
    assert d["agents"] == ["claude-code"]
    # Lines 3-6: the blank line and g() the agent wrote; 7-8 typed by a person.
    assert d["ai_ranges"] == {"a.py": [[3, 6]]}
    assert (d["lines_added"], d["ai_lines"]) == (6, 4)
    [s] = d["sessions"]
    assert (s["agent"], s["session_id"]) == ("claude-code", "s1")
    assert (s["input"], s["output"], s["cache_write"], s["cache_read"]) == (11, 22, 33, 44)
    assert s["tokens"] == d["tokens"] == 110
    assert s["cost_usd"] == pytest.approx(0.011) and d["cost_usd"] == pytest.approx(0.011)
    assert s["models"] == {"claude-opus-4-6": {"input": 11, "output": 22, "cache_write": 33,
                                               "cache_read": 44, "reasoning": 0, "responses": 2,
                                               "cost_usd": pytest.approx(0.011)}}
    assert s["until"] == "2026-01-01T01:10:01.000Z"
    # The ledger holds the same figures.
    row = commit_row(ledger, shas["c1"])
    assert row is not None
    assert (row["attribution"], row["tokens"], row["ai_lines"], row["lines_added"]) == \
        ("line", 110, 4, 6)
    assert row["source_key"] == f"note:{list_notes(r)[shas['c1']]}"
    assert commit_ranges(ledger, shas["c1"]) == {"a.py": [[3, 6]]}


def test_second_commit_takes_only_tokens_since_the_first(repo: GitRepo, ledger: Database) -> None:
    shas = _story(repo, ledger)
    r = Repo.discover(repo.path)
    attribute_commit(r, ledger, shas["c1"], import_logs=False)
    note = attribute_commit(r, ledger, shas["c2"], import_logs=False)
    assert note is not None
    d = note_of(repo, shas["c2"])
    assert d is not None
    assert d["ai_ranges"] == {"b.py": [[1, 2]]}
    [s] = d["sessions"]
    assert s["since"] == "2026-01-01T01:10:01.000Z"
    assert s["until"] == "2026-01-01T01:30:01.000Z"
    # u3 (300) + u4 (1010); u1, u2 went to c1, u5 is after c2.
    assert d["tokens"] == 1310
    assert s["models"]["claude-opus-4-6"]["input"] == 100
    assert s["models"]["claude-sonnet-4-5"] == {"input": 5, "output": 5, "cache_write": 0,
                                                "cache_read": 1000, "reasoning": 0,
                                                "responses": 1, "cost_usd": 0.002}
    assert d["cost_usd"] == pytest.approx(0.102)


def test_exploration_and_persons_commit_take_nothing(repo: GitRepo, ledger: Database) -> None:
    shas = _story(repo, ledger)
    r = Repo.discover(repo.path)
    for k in ("base", "c1", "c2", "c3"):
        attribute_commit(r, ledger, shas[k], import_logs=False)
    # The person's commit while s1 still ran: no note, no tokens.
    assert note_of(repo, shas["c3"]) is None
    # s2 (exploration) is in no commit; s1's late usage u5 waits for a next commit.
    given = ledger.execute("SELECT session_key, sum(tokens) FROM commit_sessions "
                           "GROUP BY session_key").fetchall()
    assert given == [("claude-code:s1", 1420)]
    ensure_ledger(r, ledger)
    assert commit_row(ledger, shas["c3"])["attribution"] == "none"  # type: ignore[index]


def test_show_json_through_the_cli(repo: GitRepo, ledger: Database) -> None:
    shas = _story(repo, ledger)
    r = Repo.discover(repo.path)
    attribute_commit(r, ledger, shas["c1"], import_logs=False)
    out = run_gitroi("show", shas["c1"][:10], "--json", cwd=repo.path)
    d = json.loads(out.stdout)
    assert d["commit"] == shas["c1"]
    assert d["attribution"] == "line"
    assert d["ai_ranges"] == {"a.py": [[3, 6]]}
    assert (d["tokens"], d["lines_added"], d["ai_lines"]) == (110, 6, 4)
    assert d["sessions"][0]["session_id"] == "s1" and d["sessions"][0]["tokens"] == 110
    human = json.loads(run_gitroi("show", shas["c3"], "--json", cwd=repo.path).stdout)
    assert (human["attribution"], human["ai_lines"], human["sessions"]) == ("none", 0, [])
    text = run_gitroi("show", shas["c1"], cwd=repo.path).stdout
    assert "a.py: 3-6" in text and "110 tokens" in text


def test_rebuild_gives_identical_figures(repo: GitRepo, ledger: Database) -> None:
    shas = _story(repo, ledger)
    repo.commit({"e.py": "x = 1\ny = 2\n"},
                "chore: tidy\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>",
                date="2026-01-01T03:00:00Z")
    r = Repo.discover(repo.path)
    for k in ("base", "c1", "c2", "c3"):
        attribute_commit(r, ledger, shas[k], import_logs=False)
    ensure_ledger(r, ledger)
    before = dump_attribution(ledger)
    assert len(before["commits"]) == 5 and len(before["commit_sessions"]) == 2
    assert ensure_ledger(r, ledger) == 0  # incremental: nothing changed
    assert rebuild(r, ledger) == 5
    assert dump_attribution(ledger) == before
    out = run_gitroi("rebuild", cwd=repo.path, env={"GITROI_DB": str(ledger_path(ledger))})
    assert "rebuilt attribution of 5 commits" in out.stdout


def ledger_path(db: Database) -> str:
    return str(db.execute("PRAGMA database_list").fetchone()[2])


def test_shell_edits_with_marker_take_running_session_tokens(repo: GitRepo,
                                                             ledger: Database) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date="2026-01-01T00:00:00Z")
    s = add_session(ledger, "sh", repo.path, "2026-01-01T00:10:00.000Z",
                    "2026-01-01T00:20:05.000Z")
    add_usage(ledger, s, "w1", "2026-01-01T00:15:00.000Z", input=50, output=50, cost=0.05)
    # A codex session in the same tree is another agent: the Claude marker does not pull it in.
    c = add_session(ledger, "cx", repo.path, "2026-01-01T00:10:00.000Z",
                    "2026-01-01T00:20:00.000Z", agent="codex")
    add_usage(ledger, c, "k1", "2026-01-01T00:15:00.000Z", "gpt-5", input=999, cost=0.5)
    sha = repo.commit({"a.py": "a = 1\nb = sed_made()\n"},
                      "via shell\n\nCo-Authored-By: Claude <noreply@anthropic.com>",
                      date="2026-01-01T00:20:00Z")
    note = attribute_commit(Repo.discover(repo.path), ledger, sha, import_logs=False)
    assert note is not None
    assert note.attribution == "commit"
    assert note.agents == ("claude-code",)
    assert [x.session_id for x in note.sessions] == ["sh"]
    assert note.tokens == 100
    assert dict(note.ai_ranges) == {"a.py": ((2, 2),)}
    assert note.markers == ("co-author:claude",)


def test_markers_only_history(repo: GitRepo, ledger: Database) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base")
    s1 = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\n"},
                     "feat: b\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)")
    s2 = repo.commit({"b.py": "x\n"}, "aider: add b.py", author="Me (aider) <me@example.com>")
    s3 = repo.commit({"c.py": "y\n"}, "plain")
    r = Repo.discover(repo.path)
    # attribute (no sessions at all): markers-only notes, no tokens.
    out = run_gitroi("attribute", "--json", "--no-import", cwd=repo.path)
    assert json.loads(out.stdout) == {"line": 0, "commit": 2, "none": 2}
    d1 = note_of(repo, s1)
    assert d1 is not None
    assert (d1["attribution"], d1["agents"], d1["tokens"], d1["cost_usd"]) == \
        ("commit", ["claude-code"], 0, None)
    assert d1["ai_ranges"] == {"a.py": [[2, 3]]} and d1["markers"] == ["footer:claude-code"]
    d2 = note_of(repo, s2)
    assert d2 is not None and d2["agents"] == ["aider"]
    assert d2["markers"] == ["author:aider"]  # the subject alone is weak (docs/markers.md)
    assert note_of(repo, s3) is None
    # A second catch-up has nothing to look at; a newly imported edit re-checks what it may match.
    out = run_gitroi("attribute", "--json", "--no-import", cwd=repo.path)
    assert json.loads(out.stdout) == {"line": 0, "commit": 0, "none": 0}
    db = open_ledger(repo.path / ".git" / "gitroi" / "ledger.db")
    k = add_session(db, "late", repo.path, "2026-01-01T00:00:00.000Z", "2026-01-01T00:09:00.000Z")
    add_edit(db, k, "e", "2026-01-01T00:03:30.000Z", repo.path / "c.py", "y")
    add_usage(db, k, "u", "2026-01-01T00:03:30.000Z", input=3)
    out = run_gitroi("attribute", "--json", "--no-import", cwd=repo.path)
    assert json.loads(out.stdout) == {"line": 1, "commit": 0, "none": 1}
    d3 = note_of(repo, s3)
    assert d3 is not None and (d3["ai_ranges"], d3["tokens"]) == ({"c.py": [[1, 1]]}, 3)
    # ensure_ledger without notes gives the same attribution from markers alone.
    db2 = open_ledger(repo.path.parent / "other.db")
    repo.git("update-ref", "-d", "refs/notes/gitroi")
    assert ensure_ledger(r, db2) == 4
    row = commit_row(db2, s1)
    assert row is not None
    assert (row["attribution"], row["source"], row["lines_added"], row["ai_lines"]) == \
        ("commit", "markers", 2, 2)


def test_corrupt_note_is_named(repo: GitRepo, ledger: Database) -> None:
    sha = repo.commit({"a.py": "a = 1\n"}, "one")
    repo.git("notes", "--ref=refs/notes/gitroi", "add", "-m", "{not json", sha)
    r = Repo.discover(repo.path)
    proc = run_gitroi("show", "HEAD", "--json", cwd=repo.path, check=False)
    # quarantined: the commit falls back to its markers (none here), the note is named
    assert proc.returncode == 0, proc.stderr
    assert f"the gitroi note on commit {sha[:12]} is not valid JSON" in proc.stderr
    assert f"git notes --ref=gitroi show {sha[:12]}" in proc.stderr
    assert "Traceback" not in proc.stderr
    shown = json.loads(proc.stdout)
    assert (shown["attribution"], shown["source"]) == ("none", "none")
    assert len(shown["warnings"]) == 1
    problems: list[str] = []
    assert ensure_ledger(r, ledger, problems=problems) == 1
    assert len(problems) == 1 and sha[:12] in problems[0]
    from gitroi.errors import GitroiError
    with pytest.raises(GitroiError, match=sha[:12]):
        read_note(r, sha)


def test_linked_worktree_session_and_relative_paths(repo: GitRepo, ledger: Database) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base", date="2026-01-01T00:00:00Z")
    wt = repo.path.parent / "wt"
    repo.git("worktree", "add", "-q", "-b", "feature", str(wt))
    s = add_session(ledger, "w", wt, "2026-01-01T00:10:00.000Z", "2026-01-01T00:30:00.000Z")
    add_edit(ledger, s, "e", "2026-01-01T00:11:00.000Z", "pkg/m.py", "def m():\n    pass")
    add_usage(ledger, s, "u", "2026-01-01T00:11:00.000Z", input=4, output=6)
    (wt / "pkg").mkdir()
    (wt / "pkg" / "m.py").write_text("# mine\ndef m():\n    pass\n")
    wtrepo = GitRepo(wt)
    wtrepo.git("add", "pkg/m.py")
    sha = wtrepo.commit({}, "m", date="2026-01-01T00:20:00Z")
    note = attribute_commit(Repo.discover(wt), ledger, sha, import_logs=False)
    assert note is not None
    assert dict(note.ai_ranges) == {"pkg/m.py": ((2, 3),)}
    assert note.tokens == 10
    # An unpriced model makes the cost unknown, never zero.
    assert note.cost_usd is None


def test_note_blob_id_matches_git(repo: GitRepo, ledger: Database) -> None:
    shas = _story(repo, ledger)
    r = Repo.discover(repo.path)
    note = attribute_commit(r, ledger, shas["c1"], import_logs=False)
    assert note is not None
    assert note_blob_id(note) == list_notes(r)[shas["c1"]]


def test_parse_patch_plain_merge_binary_and_quoted() -> None:
    patch = (b"diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -0,0 +1,2 @@\n+a\n+b\n"
             b"@@ -5 +7,0 @@\n-gone\n@@ -9 +10 @@\n-old\n+new\n"
             b"\\ No newline at end of file\n"
             b"diff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\n"
             b'diff --git "a/sp ace\\303\\251.txt" "b/sp ace\\303\\251.txt"\n'
             b'--- /dev/null\n+++ "b/sp ace\\303\\251.txt"\n@@ -0,0 +1 @@\n+q\n'
             b"diff --cc m.py\n--- a/m.py\n+++ b/m.py\n@@@ -4,0 -3,1 +4,2 @@@\n+ from_branch\n"
             b"++resolved\n")
    added = parse_patch(patch.splitlines(keepends=True))
    assert added.by_path == {"x.py": [(1, "a"), (2, "b"), (10, "new")],
                             "sp aceé.txt": [(1, "q")], "m.py": [(5, "resolved")]}
    assert added.count == 5


def test_root_commit_binary_file_and_merge(repo: GitRepo, ledger: Database) -> None:
    s = add_session(ledger, "r", repo.path, "2026-01-01T00:00:00.000Z", "2026-01-01T05:00:00.000Z")
    add_edit(ledger, s, "w", "2026-01-01T00:00:10.000Z", repo.path / "a.py", "A = 1\nB = 2",
             tool="Write")
    add_usage(ledger, s, "u", "2026-01-01T00:00:10.000Z", input=1, output=1)
    root = repo.commit({"a.py": "A = 1\nB = 2\n", "logo.png": b"\x89PNG\x00\x01\x02"}, "root",
                       date="2026-01-01T00:01:00Z")
    r = Repo.discover(repo.path)
    note = attribute_commit(r, ledger, root, import_logs=False)
    assert note is not None
    assert (dict(note.ai_ranges), note.lines_added, note.tokens) == ({"a.py": ((1, 2),)}, 2, 2)
    # A branch adds lines; the merge resolves by adding one more line the agent wrote.
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"a.py": "A = 1\nB = 2\nSIDE = 3\n"}, "side", date="2026-01-01T00:02:00Z")
    repo.git("checkout", "-q", "main")
    repo.commit({"a.py": "MAIN = 0\nA = 1\nB = 2\n"}, "main", date="2026-01-01T00:03:00Z")
    add_edit(ledger, s, "m", "2026-01-01T00:03:30.000Z", repo.path / "a.py", "RESOLVED = 4")
    repo.git("merge", "-q", "--no-commit", "side", env={"GIT_COMMITTER_DATE": "2026-01-01T00:04:00Z"})
    repo.write("a.py", "MAIN = 0\nA = 1\nB = 2\nSIDE = 3\nRESOLVED = 4\n")
    merge = repo.commit({"a.py": "MAIN = 0\nA = 1\nB = 2\nSIDE = 3\nRESOLVED = 4\n"}, "merge",
                        date="2026-01-01T00:04:00Z")
    assert len(repo.git("log", "-1", "--format=%P", merge).split()) == 2
    note = attribute_commit(r, ledger, merge, import_logs=False)
    assert note is not None
    # Only the line new against both parents is the merge's own.
    assert (dict(note.ai_ranges), note.lines_added) == ({"a.py": ((5, 5),)}, 1)


def test_commits_in_one_second_and_out_of_order(repo: GitRepo, ledger: Database) -> None:
    s = add_session(ledger, "q", repo.path, "2026-01-01T00:00:00.000Z", "2026-01-01T05:00:00.000Z")
    for i in range(3):
        add_edit(ledger, s, f"e{i}", "2026-01-01T00:00:10.000Z", repo.path / f"f{i}.py",
                 f"value_{i} = {i}")
    add_usage(ledger, s, "u1", "2026-01-01T00:00:10.000Z", input=10)
    add_usage(ledger, s, "u2", "2026-01-01T00:10:10.000Z", input=20)
    a = repo.commit({"f0.py": "value_0 = 0\n"}, "a", date="2026-01-01T00:01:00Z")
    b = repo.commit({"f1.py": "value_1 = 1\n"}, "b", date="2026-01-01T00:01:00Z")
    c = repo.commit({"f2.py": "value_2 = 2\n"}, "c", date="2026-01-01T00:20:00Z")
    r = Repo.discover(repo.path)
    # Catching up newest first must not give the same tokens twice.
    assert [attribute_commit(r, ledger, x, import_logs=False).tokens  # type: ignore[union-attr]
            for x in (c, a, b)] == [30, 0, 0]
    assert ledger.execute("SELECT sum(tokens) FROM commit_sessions").fetchone()[0] == 30


def test_same_second_commits_in_order(repo: GitRepo, ledger: Database) -> None:
    s = add_session(ledger, "q", repo.path, "2026-01-01T00:00:00.000Z", "2026-01-01T05:00:00.000Z")
    for i in range(2):
        add_edit(ledger, s, f"e{i}", "2026-01-01T00:00:10.000Z", repo.path / f"f{i}.py",
                 f"value_{i} = {i}")
    add_usage(ledger, s, "u1", "2026-01-01T00:00:10.000Z", input=10)
    a = repo.commit({"f0.py": "value_0 = 0\n"}, "a", date="2026-01-01T00:01:00Z")
    b = repo.commit({"f1.py": "value_1 = 1\n"}, "b", date="2026-01-01T00:01:00Z")
    r = Repo.discover(repo.path)
    assert [attribute_commit(r, ledger, x, import_logs=False).tokens  # type: ignore[union-attr]
            for x in (a, b)] == [10, 0]


def test_show_errors_are_clear(repo: GitRepo) -> None:
    proc = run_gitroi("show", "HEAD", cwd=repo.path, check=False)
    assert (proc.returncode, proc.stderr) == (1, "Error: this repository has no commits yet\n"
                                                 "hint: commit first\n")
    repo.commit({"a": "a\n"}, "one")
    proc = run_gitroi("show", "nope", cwd=repo.path, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: 'nope' is not a commit in this repository")


def test_manual_attribution(repo: GitRepo, ledger: Database) -> None:
    repo.commit({"a.py": "a = 1\n"}, "base")
    sha = repo.commit({"a.py": "a = 1\nb = 2\nc = 3\nd = 4\n"}, "pasted from a chat")
    out = run_gitroi("attribute", "HEAD", "--manual", "cursor", "--lines", "a.py:2,4", "--json",
                     cwd=repo.path)
    d = json.loads(out.stdout)
    assert (d["attribution"], d["agents"], d["ai_ranges"], d["ai_lines"], d["lines_added"]) == \
        ("manual", ["cursor"], {"a.py": [[2, 2], [4, 4]]}, 2, 3)
    bad = run_gitroi("attribute", "HEAD", "--manual", "cursor", "--lines", "a.py:1-2",
                     cwd=repo.path, check=False)
    assert bad.returncode == 1
    assert f"a.py:1-2 is not among the lines commit {sha[:12]} added (line 1)" in bad.stderr
    # Without --lines: every added line; merged with the first manual note, never overwriting it.
    from gitroi.attribution.attribute import attribute_manual
    r = Repo.discover(repo.path)
    n = attribute_manual(r, ledger, sha, ["aider"])
    assert (n.attribution, n.agents, dict(n.ai_ranges)) == \
        ("manual", ("aider", "cursor"), {"a.py": ((2, 4),)})
    assert commit_row(ledger, sha)["ai_lines"] == 3  # type: ignore[index]


def test_a_line_typed_again_by_a_person_is_not_the_agents(repo: GitRepo, ledger: Database) -> None:
    repo.commit({"m.py": "x = 0\n"}, "base", date="2026-01-01T00:00:00Z")
    s = add_session(ledger, "d", repo.path, "2026-01-01T00:01:00.000Z", "2026-01-01T00:09:00.000Z")
    add_edit(ledger, s, "e", "2026-01-01T00:02:00.000Z", repo.path / "m.py",
             "import os\nprint(os.sep)")
    # The agent wrote "import os" once (with its print); the person pasted it again, far away.
    body = "x = 0\nimport os\nprint(os.sep)\nhuman = 1\nimport os\n"
    sha = repo.commit({"m.py": body}, "mix", date="2026-01-01T00:05:00Z")
    note = attribute_commit(Repo.discover(repo.path), ledger, sha, import_logs=False)
    assert note is not None
    assert dict(note.ai_ranges) == {"m.py": ((2, 3),)}


# --- lines added: exactly `git log --numstat` ---------------------------------------------------

# A changelog edit on which git's -U0 diff and its plain diff disagree: at -U0 git trims
# the ~1 KB common tail before diffing, and with fewer blank lines left its heuristics
# keep the old blank line (9 added, 0 deleted); plain numstat (and -U1) says 10 and 1.
# The shape of claude-code-action 0630ef3 and click 3b06e0b (CHANGES.rst).
CHANGELOG_TAIL = "".join(
    f"Version 1.{i}\n-----------\n\nReleased 2014-07-{i:02d}\n\n- fix {i} {'x' * 51}\n\n\n"
    for i in range(10))
CHANGELOG_BLOCK = ("added line 0\nadded line 1\n\n"
                   + "".join(f"more added line {i}\n" for i in range(7)))


def numstat_added(repo: GitRepo, *extra: str) -> dict[str, int]:
    """{sha: lines added} as `git log --numstat` prints them (merges: no diff, so absent)."""
    out = repo.git("log", "--numstat", *extra, "--format=C %H")
    added: dict[str, int] = {}
    sha = ""
    for line in out.splitlines():
        if line.startswith("C "):
            sha = line[2:]
        elif line.split("\t", 1)[0].isdigit() and len(line.split("\t")) == 3:
            added[sha] = added.get(sha, 0) + int(line.split("\t", 1)[0])
    return added


def test_lines_added_equal_plain_numstat_where_U0_differs(repo: GitRepo,
                                                          ledger: Database) -> None:
    base = repo.commit({"CHANGES.rst": "\n\n" + CHANGELOG_TAIL, "a.py": "a = 1\n"}, "base",
                       date="2026-01-01T00:00:00Z")
    k = add_session(ledger, "cl", repo.path, "2026-01-01T00:10:00.000Z",
                    "2026-01-01T00:30:00.000Z")
    add_edit(ledger, k, "e", "2026-01-01T00:15:00.000Z", repo.path / "CHANGES.rst",
             CHANGELOG_BLOCK)
    add_usage(ledger, k, "u", "2026-01-01T00:15:00.000Z", input=5, output=6)
    ai = repo.commit({"CHANGES.rst": CHANGELOG_BLOCK + "\n" + CHANGELOG_TAIL}, "changelog",
                     date="2026-01-01T00:20:00Z")
    marked = repo.commit({"CHANGES.rst": CHANGELOG_BLOCK + "\n" + CHANGELOG_TAIL.replace(
        "- fix 3", "- fix 3 again", 1), "a.py": "a = 1\nb = 2\n"},
        "tweak\n\nCo-Authored-By: Claude <noreply@anthropic.com>", date="2026-01-01T01:00:00Z")
    plain = repo.git("log", "-1", "--numstat", "--format=", ai)
    zero = [ln for ln in repo.git("log", "-1", "--numstat", "-U0", "--format=", ai).splitlines()
            if "\t" in ln]
    assert (plain, zero) == ("10\t1\tCHANGES.rst", ["9\t0\tCHANGES.rst"])  # the case is real
    r = Repo.discover(repo.path)
    note = attribute_commit(r, ledger, ai, import_logs=False)
    assert note is not None
    # Line matching sees the 10 lines plain numstat counts (the blank one among them).
    assert (note.lines_added, note.ai_lines, dict(note.ai_ranges), note.tokens) == \
        (10, 10, {"CHANGES.rst": ((1, 10),)}, 11)
    row = commit_row(ledger, ai)
    assert row is not None and (row["lines_added"], row["ai_lines"]) == (10, 10)
    # The ledger from notes and markers alone (no hook ran for the others) agrees per commit.
    expected = numstat_added(repo)
    assert expected == {base: len(("\n\n" + CHANGELOG_TAIL).splitlines()) + 1, ai: 10,
                        marked: 2}
    db2 = open_ledger(repo.path.parent / "other.db")
    assert ensure_ledger(r, db2) == 3
    got = {s: db2.execute("SELECT lines_added FROM commits WHERE sha = ?", [s]).fetchone()[0]
           for s in expected}
    assert got == expected
    m = commit_row(db2, marked)
    assert m is not None and (m["attribution"], m["lines_added"], m["ai_lines"]) == \
        ("commit", 2, 2)
    shown = json.loads(run_gitroi("show", "--json", marked, cwd=repo.path).stdout)
    assert shown["lines_added"] == 2


def test_merge_without_note_counts_lines_new_against_every_parent(repo: GitRepo,
                                                                   ledger: Database) -> None:
    repo.commit({"a.py": "A = 1\nB = 2\n"}, "root")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"a.py": "A = 1\nB = 2\nSIDE = 3\n"}, "side")
    repo.git("checkout", "-q", "main")
    repo.commit({"a.py": "MAIN = 0\nA = 1\nB = 2\n"}, "main")
    repo.git("merge", "-q", "--no-commit", "side")
    evil = repo.commit({"a.py": "MAIN = 0\nA = 1\nB = 2\nSIDE = 3\nRESOLVED = 4\n"},
                       "merge side\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    repo.git("checkout", "-q", "-b", "side2", "main~1")
    repo.commit({"b.py": "x = 1\n"}, "side2")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-edit", "side2")
    clean = repo.git("rev-parse", "HEAD")
    assert clean != evil and len(repo.git("log", "-1", "--format=%P", clean).split()) == 2
    r = Repo.discover(repo.path)
    assert ensure_ledger(r, ledger) == 6
    # A merge's own lines, as blame sees them: the one line new against both parents; a
    # clean merge adds nothing.  The same figure attribute_commit puts in the note.
    row = commit_row(ledger, evil)
    assert row is not None and (row["attribution"], row["lines_added"], row["ai_lines"]) == \
        ("commit", 1, 1)
    row = commit_row(ledger, clean)
    assert row is not None and (row["attribution"], row["lines_added"]) == ("none", 0)
    note = attribute_commit(r, ledger, evil, import_logs=False)
    assert note is not None and (note.lines_added, dict(note.ai_ranges)) == \
        (1, {"a.py": ((5, 5),)})
    # Every other commit: exactly `git log --numstat`.
    for sha, n in numstat_added(repo).items():
        got = commit_row(ledger, sha)
        assert got is not None and got["lines_added"] == n
