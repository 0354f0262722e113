"""Notes written by someone else (issue 10): every row of the poisoned-notes table, and the
scripted attack of a second clone pushing them to the shared remote.

``refs/notes/gitroi`` is rarely protected, so a note is untrusted input: each case here
fails on a gitroi that trusted it (a 24 GB expansion, OverflowError, RecursionError, a
SQLite overflow that took every other note with it, NaN in figures, negative spend, a path
out of the repository, more AI lines than lines added).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitroi.attribution.describe import describe
from gitroi.attribution.notecheck import InvalidNote, depth
from gitroi.attribution.notes import SCHEMA, merge, parse
from gitroi.attribution.rebuild import ensure_ledger
from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.ledger.commits import commit_row
from tests.conftest import GitRepo

SHA = "1234567890abcdef1234567890abcdef12345678"
GOOD_TOKENS = 3 + 9 + 15005 + 11442  # input + output + cache_write + cache_read


def good_note(path: str = "a.py", ranges: Any = ((1, 2),), lines_added: int = 3) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "attribution": "line", "agents": ["claude-code"],
        "sessions": [{
            "agent": "claude-code", "session_id": "4d5611e5",
            "models": {"claude-opus-4-6": {"input": 3, "output": 9, "cache_write": 15005,
                                           "cache_read": 11442, "reasoning": 0, "responses": 1,
                                           "cost_usd": 0.09974225}},
            "input": 3, "output": 9, "cache_write": 15005, "cache_read": 11442, "reasoning": 0,
            "tokens": GOOD_TOKENS, "cost_usd": 0.09974225,
            "since": "2026-01-01T00:00:00.000Z", "until": "2026-01-01T00:05:01.000Z"}],
        "tokens": GOOD_TOKENS, "cost_usd": 0.09974225, "lines_added": lines_added,
        "ai_lines": 2, "ai_ranges": {path: [list(r) for r in ranges]}, "markers": [],
        "source": "gitroi 0.1.0",
    }


def text_of(d: dict[str, Any]) -> str:
    return json.dumps(d, indent=2)


def _with(**changes: Any) -> str:
    d = good_note()
    for k, v in changes.items():
        d[k] = v
    return text_of(d)


def _session(**changes: Any) -> str:
    d = good_note()
    d["sessions"][0].update(changes)
    return text_of(d)


# Each row of the table that parse alone must refuse (the rest are clipped).
POISON: dict[str, str] = {
    "infinity": _session(input="@INF@").replace('"@INF@"', "Infinity"),
    "nan cost": _session(cost_usd="@NAN@").replace('"@NAN@"', "NaN"),
    "huge float": _session(cost_usd="@F@").replace('"@F@"', "1e400"),
    "nested 100,000 deep": '{"schema": "gitroi.note/1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "int above 2^63": _session(output=2**63 + 5),
    "negative tokens": _session(input=-1000),
    "negative cost": _session(cost_usd=-5000.0),
    "path ../x": text_of(good_note(path="../x")),
    "absolute path": text_of(good_note(path="/etc/passwd")),
    "NUL in path": text_of(good_note(path="a\u0000.py")),
    "control char in agent": _with(agents=["claude\u001b[31m"]),
    "too big": _with(markers=["m" * 1000] * 5000),
    "tokens above cap": _session(cache_read=10**13),
}


@pytest.mark.parametrize("name", sorted(POISON))
def test_each_poisoned_note_is_refused_naming_commit_and_field(name: str) -> None:
    with pytest.raises(InvalidNote) as exc:
        parse(POISON[name], commit=SHA)
    msg = str(exc.value)
    assert f"the gitroi note on commit {SHA[:12]}" in msg
    assert f"git notes --ref=gitroi show {SHA[:12]}" in msg
    if name not in ("nested 100,000 deep", "too big", "infinity", "nan cost", "huge float"):
        assert exc.value.field, msg  # the field is named (e.g. sessions[0].output)


def test_depth_is_measured_without_recursion_and_ignores_strings() -> None:
    assert depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert depth(b"[" * 1_000_000) > 32
    assert depth(b'"\\"[[["') == 0


def test_a_note_within_the_rules_parses_and_keeps_unknown_keys() -> None:
    d = good_note()
    d["schema"] = "gitroi.note/1.3"
    d["review"] = {"by": "someone", "depth": [[[1]]]}
    n = parse(text_of(d), commit=SHA)
    assert n.tokens == GOOD_TOKENS and n.minor == 3
    assert json.loads(n.dumps())["review"] == d["review"]


def test_merge_of_checked_notes_is_commutative_and_idempotent() -> None:
    a = parse(text_of(good_note()), commit=SHA)
    other = good_note(ranges=((3, 3),))
    other["source"] = "gitroi 0.2.0"
    other["x-new"] = 1
    b = parse(text_of(other), commit=SHA)
    assert merge(a, b).dumps() == merge(b, a).dumps()
    assert merge(a, a) == a
    empty_source = good_note()
    empty_source["source"] = ""
    c = parse(text_of(empty_source), commit=SHA)
    assert merge(c, c) == c


# --- in a repository -------------------------------------------------------------------------


def _lines(n: int, tag: str) -> str:
    return "".join(f"{tag}_{i} = {i}\n" for i in range(1, n + 1))


def test_ranges_past_the_commit_lines_are_clipped_and_said(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"base.txt": "b\n"}, "base")
    sha = repo.commit({"a.py": "x = 1\n"}, "one line")
    note = good_note(ranges=((1, 3),), lines_added=1)
    repo.git("notes", "--ref=refs/notes/gitroi", "add", "-m", text_of(note), sha)
    r = Repo.discover(repo.path)
    db = open_ledger(tmp_path / "l.db")
    problems: list[str] = []
    ensure_ledger(r, db, problems=problems)
    row = commit_row(db, sha)
    assert row is not None and (row["ai_lines"], row["lines_added"]) == (1, 1)  # not "3 of 1"
    assert row["tokens"] == GOOD_TOKENS
    assert any(sha[:12] in p and "outside the lines the commit added" in p for p in problems)
    d = describe(r, sha)
    assert (d["ai_lines"], d["ai_ranges"]) == (1, {"a.py": [[1, 1]]})
    assert d["warnings"]


def test_a_huge_integer_never_takes_a_good_note_with_it(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"base.txt": "b\n"}, "base")
    good = repo.commit({"a.py": _lines(3, "a")}, "good")
    bad = repo.commit({"b.py": _lines(3, "b")}, "bad")
    repo.git("notes", "--ref=refs/notes/gitroi", "add", "-m", text_of(good_note()), good)
    repo.git("notes", "--ref=refs/notes/gitroi", "add", "-m", POISON["int above 2^63"], bad)
    r = Repo.discover(repo.path)
    db = open_ledger(tmp_path / "l.db")
    problems: list[str] = []
    ensure_ledger(r, db, problems=problems)
    g, b = commit_row(db, good), commit_row(db, bad)
    assert g is not None and g["tokens"] == GOOD_TOKENS and g["ai_lines"] == 2
    assert b is not None and (b["tokens"], b["attribution"]) == (0, "none")
    assert [p for p in problems if bad[:12] in p and "sessions[0].output" in p]
    # named again on the next run, until the note is fixed; the good row is untouched
    again: list[str] = []
    ensure_ledger(r, db, problems=again)
    assert len([p for p in again if bad[:12] in p]) == 1


# --- the scripted attack ---------------------------------------------------------------------

CAP = 3 << 30


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def _gitroi(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "gitroi", *args], cwd=cwd, capture_output=True,
                          text=True, preexec_fn=_capped, timeout=120, env=dict(os.environ))
    took = time.monotonic() - start
    assert proc.returncode == 0, f"gitroi {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert took < 60, f"gitroi {' '.join(args)} took {took:.1f}s"
    return proc


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_scripted_attack_poisoned_notes_pushed_by_a_second_clone(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    attacker = GitRepo(tmp_path / "attacker")
    subprocess.run(["git", "clone", "-q", str(origin), str(attacker.path)], check=True,
                   capture_output=True)
    base = attacker.commit({"README": "r\n"}, "base")
    def ranges_only(path: str, ranges: Any) -> str:
        d = good_note(path=path, ranges=ranges)
        d["sessions"], d["agents"] = [], ["claude-code"]
        return text_of(d)

    rows: dict[str, str] = {
        # well-formed but claiming lines the commit never added: cut to its 3 real lines
        "1e9 range": ranges_only("f_1e9_range.py", ((1, 1_000_000_000),)),
        "past the lines": ranges_only("f_past_the_lines.py", ((1, 30),)),
        **POISON,
    }
    shas: dict[str, str] = {}
    for name in rows:
        fname = "f_" + "".join(c if c.isalnum() else "_" for c in name) + ".py"
        shas[name] = attacker.commit({fname: _lines(3, "v")}, f"work: {name}")
    good = attacker.commit({"a.py": _lines(3, "a")}, "good work")
    for name, text in rows.items():
        subprocess.run(["git", "notes", "--ref=refs/notes/gitroi", "add", "-F", "-", shas[name]],
                       cwd=attacker.path, input=text.encode(), check=True)
    attacker.git("notes", "--ref=refs/notes/gitroi", "add", "-m", text_of(good_note()), good)
    attacker.git("push", "-q", "origin", "main", "refs/notes/gitroi")

    victim = tmp_path / "victim"
    subprocess.run(["git", "clone", "-q", str(origin), str(victim)], check=True, capture_output=True)
    plain = tmp_path / "plain"
    subprocess.run(["git", "clone", "-q", str(origin), str(plain)], check=True, capture_output=True)
    sync = _gitroi("sync", "--no-push", cwd=victim)
    assert "fetched" in sync.stdout
    _git(plain, "fetch", "-q", "origin", "+refs/notes/gitroi:refs/notes/gitroi")

    for clone in (victim, plain):
        assert _git(clone, "notes", "--ref=refs/notes/gitroi", "list").count("\n") + 1 == len(rows) + 1
        report = json.loads(_gitroi("report", "--format", "json", cwd=clone).stdout)
        assert report["headline"]["tokens"] == GOOD_TOKENS
        assert report["headline"]["ai_lines"] == 2 + 3 + 3   # good 2, clipped 1e9 3, past 3
        shown = json.loads(_gitroi("show", good, "--json", cwd=clone).stdout)
        assert (shown["tokens"], shown["ai_lines"]) == (GOOD_TOKENS, 2)
        for name, sha in shas.items():
            proc = _gitroi("show", sha, "--json", cwd=clone)
            d = json.loads(proc.stdout)
            if name in POISON:
                assert (d["tokens"], d["source"]) == (0, "none"), name
                assert f"git notes --ref=gitroi show {sha[:12]}" in proc.stderr, name
            else:       # structurally valid, cut to the commit's 3 lines
                assert d["ai_lines"] == 3 and d["warnings"], name
        pr = json.loads(_gitroi("pr", "report", "--base", base, "--head", "HEAD", "--json",
                                cwd=clone).stdout)
        assert pr["tokens"] == GOOD_TOKENS
        assert pr["ai_lines"] == 2 + 3 + 3
        md = _gitroi("pr", "report", "--base", base, "--head", "HEAD", cwd=clone).stdout
        assert "nan" not in md.lower() and "$-" not in md


def test_a_squash_merge_carries_the_good_notes_past_a_bad_one(repo: GitRepo,
                                                               capfd: pytest.CaptureFixture[str]
                                                               ) -> None:
    """The Action's merge path (mergemap -> rewrite.remap): one poisoned note among the PR's
    commits is left out and named; the good note and a 1e9-line claim (cut to real lines)
    are carried onto the squash, in a time that does not depend on the claim."""
    from gitroi.pr.mergemap import map_merge

    repo.commit({"README": "r\n"}, "base")
    repo.git("checkout", "-q", "-b", "feature")
    good = repo.commit({"a.py": _lines(3, "a")}, "good")
    bad = repo.commit({"b.py": _lines(3, "b")}, "bad")
    huge = repo.commit({"c.py": _lines(3, "c")}, "huge claim")
    repo.git("notes", "--ref=refs/notes/gitroi", "add", "-m", text_of(good_note()), good)
    repo.git("notes", "--ref=refs/notes/gitroi", "add", "-m", POISON["nan cost"], bad)
    claim = good_note(path="c.py", ranges=((1, 1_000_000_000),))
    claim["sessions"] = []
    repo.git("notes", "--ref=refs/notes/gitroi", "add", "-m", text_of(claim), huge)
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "feature")
    squash = repo.commit(message="Feature (#7)")
    start = time.monotonic()
    done = map_merge(Repo.discover(repo.path), merge_commit=squash, pr_head=huge)
    assert time.monotonic() - start < 30
    assert [(m.target, m.ai_lines, m.tokens) for m in done.mapped] == [(squash, 5, GOOD_TOKENS)]
    note = json.loads(repo.git("notes", "--ref=gitroi", "show", squash))
    assert note["ai_ranges"] == {"a.py": [[1, 2]], "c.py": [[1, 3]]}
    assert f"the gitroi note on commit {bad[:12]}" in capfd.readouterr().err


def test_carrying_a_1e9_line_claim_over_an_amend_costs_the_real_lines(repo: GitRepo) -> None:
    """post-rewrite's remap (amend, rebase): the claim is tested against the file's real
    lines, never expanded (it took 5.7 s per amend, growing with the claim)."""
    from gitroi.attribution.notes import read_note
    from gitroi.attribution.rewrite import remap

    repo.commit({"README": "r\n"}, "base")
    old = repo.commit({"a.py": _lines(3, "a")}, "work")
    claim = good_note(path="a.py", ranges=((1, 1_000_000_000),))
    repo.git("notes", "--ref=refs/notes/gitroi", "add", "-m", text_of(claim), old)
    repo.write("a.py", _lines(4, "a"))
    repo.git("add", "a.py")
    repo.git("commit", "-q", "--amend", "--no-edit", env={"GITROI_SKIP": "1"})
    new = repo.git("rev-parse", "HEAD")
    r = Repo.discover(repo.path)
    start = time.monotonic()
    note = remap(r, [old], new)
    assert time.monotonic() - start < 10
    assert note is not None and dict(note.ai_ranges) == {"a.py": ((1, 3),)}
    assert note.tokens == GOOD_TOKENS
    assert read_note(r, new) == note
