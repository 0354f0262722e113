"""The gitroi note: format, parsing, merging, and travel between clones."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitroi.attribution.notes import (
    NOTES_REF,
    Note,
    SessionShare,
    fetch_and_merge,
    iter_notes,
    merge,
    normalise_ranges,
    parse,
    push,
    read_note,
    write_note,
)
from gitroi.errors import GitroiError
from gitroi.git import Repo
from tests.conftest import GitRepo, run_gitroi


def share(sid: str, tokens_in: int, *, agent: str = "claude-code", cost: float | None = 0.5,
          until: str = "2026-01-01T00:10:00.000Z") -> SessionShare:
    return SessionShare.from_models(agent, sid, {"claude-opus-4-6": {
        "input": tokens_in, "output": 20, "cache_write": 30, "cache_read": 40, "reasoning": 0,
        "responses": 3, "cost_usd": cost}}, since="2026-01-01T00:00:00.000Z", until=until)


def line_note(sessions: list[SessionShare], ranges: dict[str, list[list[int]]],
              lines_added: int = 12) -> Note:
    return Note.build(attribution="line", sessions=sessions, lines_added=lines_added,
                      ai_ranges=ranges, source="gitroi 0.1.0")


def test_serialise_is_the_contract_and_deterministic() -> None:
    n = line_note([share("abc", 10, cost=0.0123)], {"src/a.py": [[8, 11], [1, 5]]})
    d = json.loads(n.dumps())
    assert list(d) == ["schema", "attribution", "agents", "sessions", "tokens", "cost_usd",
                       "lines_added", "ai_lines", "ai_ranges", "markers", "source"]
    assert d == {
        "schema": "gitroi.note/1", "attribution": "line", "agents": ["claude-code"],
        "sessions": [{"agent": "claude-code", "session_id": "abc",
                      "models": {"claude-opus-4-6": {"input": 10, "output": 20,
                                                     "cache_write": 30, "cache_read": 40,
                                                     "reasoning": 0, "responses": 3,
                                                     "cost_usd": 0.0123}},
                      "input": 10, "output": 20, "cache_write": 30, "cache_read": 40,
                      "reasoning": 0, "tokens": 100, "cost_usd": 0.0123,
                      "since": "2026-01-01T00:00:00.000Z", "until": "2026-01-01T00:10:00.000Z"}],
        "tokens": 100, "cost_usd": 0.0123, "lines_added": 12, "ai_lines": 9,
        "ai_ranges": {"src/a.py": [[1, 5], [8, 11]]}, "markers": [], "source": "gitroi 0.1.0"}
    assert parse(n.dumps()) == n
    assert parse(n.dumps()).dumps() == n.dumps()


def test_unpriced_model_makes_cost_null() -> None:
    n = line_note([share("a", 1), share("b", 2, cost=None)], {"x": [[1, 1]]})
    assert n.tokens == 91 + 92 and n.cost_usd is None
    assert json.loads(n.dumps())["cost_usd"] is None


def test_newer_minor_reads_and_keeps_unknown_keys_newer_major_refuses() -> None:
    d = json.loads(line_note([share("a", 1)], {"x": [[1, 2]]}).dumps())
    d["schema"] = "gitroi.note/1.3"
    d["review"] = {"by": "bot"}
    n = parse(json.dumps(d), commit="c0ffee" * 7)
    assert n.minor == 3 and n.extra == {"review": {"by": "bot"}}
    assert json.loads(n.dumps())["review"] == {"by": "bot"}
    d["schema"] = "gitroi.note/2"
    with pytest.raises(GitroiError, match=r"c0ffeec0ffee uses schema gitroi\.note/2"):
        parse(json.dumps(d), commit="c0ffee" * 7)
    d["schema"] = "something/1"
    with pytest.raises(GitroiError, match="unknown schema"):
        parse(json.dumps(d), commit="c0ffee" * 7)


@pytest.mark.parametrize("text, error", [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "is not a JSON object"),
    ('{"schema": "gitroi.note/1", "attribution": "guess"}', "unknown attribution"),
    ('{"schema": "gitroi.note/1", "attribution": "line", "sessions": [{"agent": "x"}]}',
     "sessions[0].session_id: null is not a string"),
    ('{"schema": "gitroi.note/1", "attribution": "line", "ai_ranges": {"a": [["x", 2]]}}',
     'ai_ranges["a"][0]: "x" is not a whole number'),
])
def test_corrupt_notes_name_the_commit(text: str, error: str) -> None:
    with pytest.raises(GitroiError) as exc:
        parse(text, commit="1234567890abcdef")
    assert "the gitroi note on commit 1234567890ab" in str(exc.value)
    assert error in str(exc.value)
    assert "git notes --ref=gitroi show 1234567890ab" in str(exc.value)


def test_normalise_ranges() -> None:
    assert normalise_ranges([[8, 11], [1, 5], [6, 6], [10, 12], [0, 3], [5, 4]]) == ((1, 6), (8, 12))
    assert normalise_ranges([[1, 2], [4, 5]]) == ((1, 2), (4, 5))


def test_merge_unions_sessions_and_ranges_keeping_the_larger_slice() -> None:
    a = line_note([share("s1", 10), share("s2", 5)], {"a.py": [[1, 3]], "b.py": [[7, 7]]})
    b = line_note([share("s1", 50, until="2026-01-01T00:20:00.000Z"), share("s3", 1)],
                  {"a.py": [[4, 6], [10, 10]]}, lines_added=15)
    m = merge(a, b)
    assert [s.session_id for s in m.sessions] == ["s1", "s2", "s3"]
    s1 = m.sessions[0]
    assert s1.input == 50 and s1.until == "2026-01-01T00:20:00.000Z"   # larger slice, not a sum
    assert dict(m.ai_ranges) == {"a.py": ((1, 6), (10, 10)), "b.py": ((7, 7),)}
    assert m.tokens == 140 + 95 + 91 and m.ai_lines == 8 and m.lines_added == 15
    assert merge(a, b).dumps() == merge(b, a).dumps()
    assert merge(a, a) == a


def test_merge_attribution_strength() -> None:
    line = line_note([share("s", 1)], {"a.py": [[2, 2]]})
    commit = Note.build(attribution="commit", agents=["aider"], lines_added=12,
                        ai_ranges={"a.py": [[1, 12]]}, markers=["author:aider"])
    manual = Note.build(attribution="manual", agents=["cursor"], ai_ranges={"z": [[1, 1]]})
    m = merge(commit, line)
    assert m.attribution == "line"
    assert dict(m.ai_ranges) == {"a.py": ((2, 2),)}          # line-level evidence wins
    assert m.agents == ("aider", "claude-code") and m.markers == ("author:aider",)
    assert merge(commit, manual).attribution == "manual"
    assert merge(manual, line).attribution == "line"


def test_write_merges_with_the_existing_note(repo: GitRepo) -> None:
    sha = repo.commit({"a.py": "a\n"}, "one")
    r = Repo.discover(repo.path)
    write_note(r, sha, line_note([share("s1", 10)], {"a.py": [[1, 1]]}))
    write_note(r, sha, line_note([share("s2", 7)], {"a.py": [[3, 4]]}))
    n = read_note(r, sha)
    assert n is not None
    assert [s.session_id for s in n.sessions] == ["s1", "s2"]
    assert dict(n.ai_ranges) == {"a.py": ((1, 1), (3, 4))}
    assert read_note(r, repo.commit({}, "two")) is None
    assert [c for c, _ in iter_notes(r)] == [sha]


def _clone(src: Path, dst: Path) -> GitRepo:
    subprocess.run(["git", "clone", "-q", str(src), str(dst)], check=True)
    return GitRepo(dst)


def test_notes_from_two_clones_merge_through_sync(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.commit({"a.py": "a\nb\nc\nd\n"}, "shared commit")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    one, two = _clone(bare, tmp_path / "one"), _clone(bare, tmp_path / "two")
    r1, r2 = Repo.discover(one.path), Repo.discover(two.path)
    # Machine one saw session s1 (lines 1-2), machine two saw s2 (lines 3-4) and part of s1.
    write_note(r1, sha, line_note([share("s1", 100)], {"a.py": [[1, 2]]}))
    write_note(r2, sha, line_note([share("s1", 40), share("s2", 5)], {"a.py": [[3, 4]]}))
    # A commit machine two never sees (one does not push its branch), but its note travels.
    other = one.commit({"b.py": "x\n"}, "only on one")
    write_note(r1, other, line_note([share("s9", 1)], {"b.py": [[1, 1]]}))
    assert push(r1, "origin") == (True, f"pushed {NOTES_REF} to origin")
    # Two pushes too: rejected (non-fast-forward), so push fetches, merges and retries.
    ok, msg = push(r2, "origin")
    assert ok, msg
    merged = read_note(r2, sha)
    assert merged is not None
    assert [(s.session_id, s.input) for s in merged.sessions] == [("s1", 100), ("s2", 5)]
    assert dict(merged.ai_ranges) == {"a.py": ((1, 4),)}
    # The note on the commit two does not have survived its sync and push.
    remote_notes = subprocess.run(["git", "notes", "--ref=gitroi", "list"], cwd=bare,
                                  capture_output=True, text=True, check=True).stdout
    assert other in remote_notes and sha in remote_notes
    # gitroi sync on machine one brings the merged note back; both sides now agree.
    out = run_gitroi("sync", "origin", cwd=one.path)
    assert "fetched 2 notes from origin: 0 new, 1 merged, 1 unchanged" in out.stdout
    assert read_note(r1, sha) == merged
    assert one.git("notes", "--ref=gitroi", "list", sha) == two.git("notes", "--ref=gitroi",
                                                                    "list", sha)
    # The temporary ref is gone, and a remote without notes is fine.
    assert one.git("for-each-ref", "refs/notes/gitroi-sync/") == ""
    empty = tmp_path / "empty.git"
    subprocess.run(["git", "init", "-q", "--bare", str(empty)], check=True)
    res = fetch_and_merge(r1, str(empty))
    assert (res.fetched, res.added, res.merged) == (0, 0, 0)


def test_push_never_raises(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.commit({"a.py": "a\n"}, "one")
    r = Repo.discover(repo.path)
    assert push(r, "origin") == (True, "no gitroi notes to push")
    write_note(r, sha, line_note([share("s", 1)], {"a.py": [[1, 1]]}))
    ok, msg = push(r, str(tmp_path / "nowhere"))
    assert not ok and msg.startswith(f"could not push {NOTES_REF}")


def test_sync_skips_a_corrupt_remote_note(repo: GitRepo, tmp_path: Path) -> None:
    good = repo.commit({"a.py": "a\n"}, "one")
    bad = repo.commit({"b.py": "b\n"}, "two")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    other = _clone(bare, tmp_path / "other")
    ro = Repo.discover(other.path)
    write_note(ro, good, line_note([share("s", 1)], {"a.py": [[1, 1]]}))
    other.git("notes", "--ref=gitroi", "add", "-m", "{broken", bad)
    other.git("push", "-q", "origin", "refs/notes/gitroi")
    repo.git("remote", "add", "origin", str(bare))
    res2 = fetch_and_merge(Repo.discover(repo.path), "origin")
    assert (res2.fetched, res2.added) == (2, 1)
    assert len(res2.problems) == 1 and bad[:12] in res2.problems[0]
