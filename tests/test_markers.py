"""Commit-level markers: each agent's trailers and identities, and a real history's count."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitroi.attribution.history import iter_history
from gitroi.attribution.markers import (
    RULES,
    Marker,
    detect,
    source_key,
    switches,
    unknown_switches,
)
from gitroi.attribution.rebuild import ensure_ledger
from gitroi.git import Repo
from gitroi.ledger import memory_ledger
from gitroi.report.markers import marker_counts
from tests.conftest import GitRepo, corpus, run_gitroi

ANY = ("A Person", "a.person@example.org")
NOBODY = ("", "")


def _co(line: str) -> str:
    return "change\n\n" + line


# One case per real variant; the rule's `seen` says where each was seen.
@pytest.mark.parametrize("rule, message, author, committer, agent, evidence", [
    ("claude-noreply", _co("Co-Authored-By: Claude <noreply@anthropic.com>"), ANY, NOBODY,
     "claude-code", "co-author:claude"),
    ("claude-noreply", _co("Co-authored-by: Claude Opus 4.6 (1M context) <noreply@anthropic.com>"),
     ANY, NOBODY, "claude-code", "co-author:claude"),
    ("claude-noreply", _co("Co-authored-by: Claude Sonnet 4.6 <noreply@anthropic.com>"), ANY,
     NOBODY, "claude-code", "co-author:claude"),
    ("claude-noreply", "x", ("Claude", "noreply@anthropic.com"), NOBODY, "claude-code",
     "author:claude"),
    ("claude-bot", "x", ("claude[bot]", "209825114+claude[bot]@users.noreply.github.com"), NOBODY,
     "claude-code", "author:claude[bot]"),
    ("claude-bot", _co("Co-authored-by: claude[bot] <209825114+claude[bot]@users.noreply.github.com>"),
     ANY, NOBODY, "claude-code", "co-author:claude[bot]"),
    ("claude-bot", _co("Co-authored-by: claude[bot] <41898282+claude[bot]@users.noreply.github.com>"),
     ANY, NOBODY, "claude-code", "co-author:claude[bot]"),
    ("claude-code-footer", "feat\n\n🤖 Generated with [Claude Code](https://claude.ai/code)", ANY,
     NOBODY, "claude-code", "footer:claude-code"),
    ("copilot-noreply", _co("Co-authored-by: Copilot App <223556219+Copilot@users.noreply.github.com>"),
     ANY, NOBODY, "copilot", "co-author:copilot"),
    ("copilot-noreply", _co("Co-authored-by: Copilot Autofix powered by AI "
                            "<175728472+Copilot@users.noreply.github.com>"), ANY, NOBODY,
     "copilot", "co-author:copilot"),
    ("copilot-noreply", _co("Co-authored-by: copilot-swe-agent[bot] "
                            "<198982749+Copilot@users.noreply.github.com>"), ANY, NOBODY,
     "copilot", "co-author:copilot"),
    ("copilot-noreply", "x", ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"),
     NOBODY, "copilot", "author:copilot"),
    ("copilot-github", _co("Co-authored-by: Copilot <copilot@github.com>"), ANY, NOBODY, "copilot",
     "co-author:copilot"),
    ("copilot-bot", _co("Co-authored-by: copilot[bot] <167198135+copilot[bot]@users.noreply.github.com>"),
     ANY, NOBODY, "copilot", "co-author:copilot[bot]"),
    ("cursor-agent", _co("Co-authored-by: Cursor <cursoragent@cursor.com>"), ANY, NOBODY, "cursor",
     "co-author:cursoragent"),
    ("cursor-agent", "x", ("Cursor Agent", "cursoragent@cursor.com"), NOBODY, "cursor",
     "author:cursoragent"),
    ("cursor-bot", _co("Co-authored-by: cursor[bot] <206951365+cursor[bot]@users.noreply.github.com>"),
     ANY, NOBODY, "cursor", "co-author:cursor[bot]"),
    ("cursor-made-with", "x\n\nMade-with: Cursor", ANY, NOBODY, "cursor",
     "trailer:made-with-cursor"),
    ("codex-noreply", _co("Co-authored-by: Codex <noreply@openai.com>"), ANY, NOBODY, "codex",
     "co-author:codex"),
    ("codex-bot", "x", ("chatgpt-codex-connector[bot]",
                        "199175422+chatgpt-codex-connector[bot]@users.noreply.github.com"), NOBODY,
     "codex", "author:chatgpt-codex-connector[bot]"),
    ("codex-bot", _co("Co-authored-by: Codex <215057067+openai-codex[bot]@users.noreply.github.com>"),
     ANY, NOBODY, "codex", "co-author:chatgpt-codex-connector[bot]"),
    ("gemini-code-assist-bot", _co("Co-authored-by: gemini-code-assist[bot] "
                                   "<176961590+gemini-code-assist[bot]@users.noreply.github.com>"),
     ANY, NOBODY, "gemini-code-assist", "co-author:gemini-code-assist[bot]"),
    ("jules-bot", "x", ("google-labs-jules[bot]",
                        "161369871+google-labs-jules[bot]@users.noreply.github.com"), NOBODY,
     "jules", "author:google-labs-jules[bot]"),
    ("devin-bot", _co("Co-Authored-By: Devin <158243242+devin-ai-integration[bot]@users.noreply."
                      "github.com>"), ANY, NOBODY, "devin", "co-author:devin-ai-integration[bot]"),
    ("aider-author", "add x", ("Jane Doe (aider)", "jane@example.com"), ("Jane Doe", "jane@example.com"),
     "aider", "author:aider"),
    ("aider-co-author", _co("Co-authored-by: aider (anthropic/claude-sonnet-4) <aider@aider.chat>"),
     ANY, NOBODY, "aider", "co-author:aider"),
    ("aider-co-author", _co("Co-authored-by: aider (gpt-4o) <noreply@aider.chat>"), ANY, NOBODY,
     "aider", "co-author:aider"),
    ("aider-subject", "aider: Added a timeout to page.goto\n\n# Aider chat conversation:\n\n"
     "USER: set a max timeout of 5sec for page.goto\n\nASSISTANT: ...", ANY, ANY, "aider",
     "subject:aider"),
    ("aider-subject", "aider: Saving dirty files before chat\n\n# Context:\nUSER: move that "
     "import up\nASSISTANT: To move the import ...", ANY, ANY, "aider", "subject:aider"),
    ("entire-checkpoint", "x\n\nEntire-Checkpoint: 3f2a9c1b4d5e", ANY, NOBODY, "entire",
     "trailer:entire-checkpoint"),
    ("amp", _co("Amp-Thread-ID: https://ampcode.com/threads/T-1\nCo-authored-by: Amp "
                "<amp@ampcode.com>"), ANY, NOBODY, "amp", "co-author:amp"),
    ("opencode", _co("Co-Authored-By: opencode <noreply@opencode.ai>"), ANY, NOBODY, "opencode",
     "co-author:opencode"),
    ("junie", _co("Co-authored-by: Junie <junie@jetbrains.com>"), ANY, NOBODY, "junie",
     "co-author:junie"),
    ("droid-bot", _co("Co-authored-by: factory-droid[bot] "
                      "<138933559+factory-droid[bot]@users.noreply.github.com>"), ANY, NOBODY,
     "droid", "co-author:factory-droid[bot]"),
    ("firebender", _co("Co-authored-by: Firebender <help@firebender.com>"), ANY, NOBODY,
     "firebender", "co-author:firebender"),
])
def test_each_variant(rule: str, message: str, author: tuple[str, str],
                      committer: tuple[str, str], agent: str, evidence: str) -> None:
    assert detect(message, *author, *committer) == [Marker(agent, evidence, rule)]
    # and switched off, the rule finds nothing
    assert detect(message, *author, *committer, switches={rule: False}) == []


def test_every_rule_has_a_variant_test_and_a_source() -> None:
    tested = {"claude-noreply", "claude-bot", "claude-code-footer", "copilot-noreply",
              "copilot-github", "copilot-bot", "cursor-agent", "cursor-bot", "cursor-made-with",
              "codex-noreply", "codex-bot", "gemini-code-assist-bot", "jules-bot", "devin-bot",
              "aider-author", "aider-co-author", "aider-subject", "entire-checkpoint",
              "aider-committer", "amp", "opencode", "junie", "droid-bot", "firebender"}
    assert {r.id for r in RULES} == tested
    for r in RULES:
        assert len(r.seen) > 30 and r.strength in ("strong", "weak")
        assert (r.strength == "weak") == (r.field in ("subject", "committer-name"))


@pytest.mark.parametrize("message, author, committer", [
    # People whose names are agents' names are people.
    ("x", ("Claude Shannon", "claude.shannon@example.org"), NOBODY),
    (_co("Co-authored-by: Claude Shannon <claude.shannon@example.org>"), ANY, NOBODY),
    (_co("Co-authored-by: Codex <codex.dev@example.com>"), ANY, NOBODY),
    (_co("Co-authored-by: Copilot <pilot@example.com>"), ANY, NOBODY),
    (_co("Co-authored-by: aider <aider.fan@example.com>"), ANY, NOBODY),
    ("x", ("Devin Smith", "devin@example.com"), NOBODY),
    # A person at Anthropic is a person; GitHub's web-flow committer is not an agent.
    (_co("Co-authored-by: Ashwin Bhat <ashwin@anthropic.com>"), ANY, NOBODY),
    ("Merge pull request #3", ANY, ("GitHub", "noreply@github.com")),
    (_co("Co-authored-by: GitHub Copilot <noreply@github.com>"), ANY, NOBODY),
    # Other bots are not agents.
    ("Bump x", ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"), NOBODY),
    ("x", ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com"), NOBODY),
    # Prose is not a marker.
    ("chore: bump Claude Code to 2.1.119\n\nposting comments as claude[bot] now", ANY,
     ("GitHub", "noreply@github.com")),
    # gitroi's own history: two subjects about its aider reader (45d9d3c, 0b7ade2).
    ("aider: stamp usage and edits with their prompt's time from .aider.input.history (matched "
     "by line hashes), so a chat's tokens split across its commits", ANY, ANY),
    ("aider: line hashes of applied edits from the reply's SEARCH/REPLACE, udiff and whole-file "
     "blocks (hashes only, carried across reads)", ANY, ANY),
    ("aider: fix the reader\n\nThe aider chat history has USER: lines.", ANY, ANY),
    # aider's committer suffix alone: aider also commits the user's own changes (off by default)
    ("manual change", ("Jane Doe", "jane@example.com"), ("Jane Doe (aider)", "jane@example.com")),
])
def test_not_agents(message: str, author: tuple[str, str], committer: tuple[str, str]) -> None:
    assert detect(message, *author, *committer) == []


def test_aider_committer_can_be_switched_on() -> None:
    found = detect("manual change", "Jane Doe", "jane@example.com", "Jane Doe (aider)",
                   "jane@example.com", switches={"aider-committer": True})
    assert found == [Marker("aider", "committer:aider", "aider-committer")]


def test_several_agents_on_one_commit() -> None:
    msg = ("feat\n\nCo-authored-by: Codex <noreply@openai.com>\n"
           "Co-Authored-By: Claude <noreply@anthropic.com>\n"
           "Co-Authored-By: Claude <noreply@anthropic.com>\n")
    assert detect(msg, "A", "a@x") == [Marker("codex", "co-author:codex", "codex-noreply"),
                                       Marker("claude-code", "co-author:claude", "claude-noreply")]


def test_switches_from_git_config(repo: GitRepo) -> None:
    repo.commit({"a": "1\n"}, "base")
    r = Repo.discover(repo.path)
    assert switches(r) == {}
    repo.git("config", "gitroi.marker.claude-noreply", "false")
    repo.git("config", "gitroi.marker.aider-committer", "true")
    repo.git("config", "gitroi.marker.no-such-rule", "false")
    sw = switches(r)
    assert sw == {"claude-noreply": False, "aider-committer": True, "no-such-rule": False}
    assert unknown_switches(sw) == ["no-such-rule"]
    assert source_key(True, sw) == "markers/r3/aider-committer=on,claude-noreply=off"
    assert source_key(False, {}) == "none/r3"


def test_a_switched_off_rule_leaves_the_ledger(repo: GitRepo) -> None:
    repo.commit({"a": "1\n"}, "base")
    sha = repo.commit({"b": "1\n2\n"}, "feat\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    r = Repo.discover(repo.path)
    db = memory_ledger()
    ensure_ledger(r, db)
    assert db.execute("SELECT attribution FROM commits WHERE sha = ?", [sha]).fetchone() == ("commit",)
    repo.git("config", "gitroi.marker.claude-noreply", "false")
    assert ensure_ledger(r, db) == 2  # both rows made from markers are redone (a new key)
    assert db.execute("SELECT attribution FROM commits WHERE sha = ?", [sha]).fetchone() == ("none",)
    assert ensure_ledger(r, db) == 0
    d = json.loads(run_gitroi("show", sha, "--json", cwd=repo.path).stdout)
    assert (d["attribution"], d["markers"]) == ("none", [])


def test_claude_code_action_history(tmp_path: Path) -> None:
    """The corpus README counts 179 marked commits; by hand (git log --grep, below) they are
    178 with Claude markers plus 1 co-authored by Cursor, and the detector finds exactly those.
    Per rule (docs/markers.md): claude-noreply 158 commits, claude-code-footer 118, claude-bot 27
    (5 of them with the github-actions id 41898282), cursor-agent 1."""
    dst = tmp_path / "cca"
    subprocess.run(["git", "clone", "-q", str(corpus("claude-code-action")), str(dst)], check=True)
    repo = Repo.discover(dst)
    claude, cursor = set(), set()
    for hc in iter_history(repo, ["HEAD"]):
        agents = {m.agent for m in hc.meta.markers()}
        if "claude-code" in agents:
            claude.add(hc.meta.sha)
        if "cursor" in agents:
            cursor.add(hc.meta.sha)
    grep = subprocess.run(
        ["git", "log", "--format=%H", "-i", "-E",
         "--grep=^co-authored-by: *(claude[^<]*<noreply@anthropic\\.com>|claude\\[bot\\])",
         "--grep=Generated with \\[Claude Code\\]"],
        cwd=dst, capture_output=True, text=True, check=True).stdout.split()
    assert len(claude) == 178
    assert claude == set(grep)
    assert len(cursor) == 1 and not cursor & claude
    db = memory_ledger()
    assert ensure_ledger(repo, db) == 763
    rows = db.execute("SELECT attribution, count(*) FROM commits GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("commit", 179), ("none", 584)]
    data = marker_counts(repo, "HEAD")
    found = {r["rule"]: (r["commits"], r["lines_added"], r["only"]) for r in data["rules"]
             if r["commits"]}
    assert found == {"claude-noreply": (158, 24893, 40), "claude-code-footer": (118, 20503, 0),
                     "claude-bot": (27, 3034, 19), "cursor-agent": (1, 30, 1)}
    assert (data["commits"], data["ai_commits"], data["ai_lines"]) == (763, 179, 26657)


def test_report_by_marker(repo: GitRepo) -> None:
    """Each rule's commits, lines and only-count; a switched-off rule still counted, marked off;
    the weak aider rule silent on a commit about a module named aider."""
    repo.commit({"a.py": "a\n"}, "base")
    repo.commit({"b.py": "1\n2\n3\n"}, "feat\n\nCo-authored-by: Copilot App "
                "<223556219+Copilot@users.noreply.github.com>")
    repo.commit({"c.py": "1\n2\n"}, "fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n"
                "Co-authored-by: Copilot <copilot@github.com>")
    repo.commit({"aider.py": "1\n2\n3\n4\n"}, "aider: read the chat history")
    repo.commit({"d.py": "x\n"}, "more", author="Jane Doe (aider) <jane@example.com>")
    repo.git("config", "gitroi.marker.copilot-github", "false")
    repo.git("config", "gitroi.marker.copilot-nope", "false")
    proc = run_gitroi("report", "--by", "marker", "--format", "json", cwd=repo.path)
    data = json.loads(proc.stdout)
    assert "gitroi.marker.copilot-nope names no rule" in proc.stderr
    assert (data["branch"], data["commits"], data["ai_commits"], data["ai_lines"]) == \
        ("main", 5, 3, 3 + 2 + 1)
    assert data["tip"] == repo.git("rev-parse", "HEAD")
    rules = {r["rule"]: r for r in data["rules"]}
    got = {k: (r["commits"], r["lines_added"], r["only"], r["on"]) for k, r in rules.items()
           if r["commits"]}
    assert got == {"copilot-noreply": (1, 3, 1, True), "claude-noreply": (1, 2, 1, True),
                   "copilot-github": (1, 2, 0, False), "aider-author": (1, 1, 1, True)}
    assert rules["aider-subject"]["commits"] == 0
    assert [e["subject"] for e in rules["copilot-github"]["examples"]] == ["fix"]
    table = run_gitroi("report", "--by", "marker", cwd=repo.path).stdout
    assert "Markers on main" in table and "3 of 5 commits, 6 lines" in table
    assert "copilot-github" in table and "(strong, off), for instance:" in table
    bad = run_gitroi("report", "--by", "marker", "--by", "agent", cwd=repo.path, check=False)
    assert bad.returncode != 0 and "does not combine" in bad.stderr


def test_the_post_commit_hook_honours_a_switched_off_rule(repo: GitRepo,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Real hooks through real `git commit`: a Copilot trailer gets a commit-level note; with
    copilot-noreply switched off in git config, the same trailer gets none."""
    monkeypatch.setenv("GITROI_HOOK_FOREGROUND", "1")
    repo.commit({"a.py": "a\n"}, "base")
    run_gitroi("install", cwd=repo.path)
    trailer = "\n\nCo-authored-by: Copilot App <223556219+Copilot@users.noreply.github.com>"
    first = repo.commit({"b.py": "1\n2\n"}, "one" + trailer)
    repo.git("config", "gitroi.marker.copilot-noreply", "false")
    second = repo.commit({"c.py": "1\n"}, "two" + trailer)
    notes = dict(reversed(line.split()) for line in
                 repo.git("notes", "--ref=refs/notes/gitroi", "list").splitlines())
    assert set(notes) == {first}
    shown = json.loads(run_gitroi("show", first, "--json", cwd=repo.path).stdout)
    assert (shown["attribution"], shown["agents"], shown["markers"]) == \
        ("commit", ["copilot"], ["co-author:copilot"])
    shown = json.loads(run_gitroi("show", second, "--json", cwd=repo.path).stdout)
    assert (shown["attribution"], shown["markers"]) == ("none", [])
