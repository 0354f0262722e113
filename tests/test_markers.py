"""Commit-level markers: each agent's trailers and identities, and a real history's count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitroi.attribution.history import iter_history
from gitroi.attribution.markers import Marker, detect
from gitroi.attribution.rebuild import ensure_ledger
from gitroi.git import Repo
from gitroi.ledger import memory_ledger
from tests.conftest import corpus


@pytest.mark.parametrize("message, author, committer, expected", [
    ("fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>", ("A", "a@x"), ("", ""),
     [Marker("claude-code", "co-author:claude")]),
    ("fix\n\nCo-authored-by: Claude Opus 4.6 (1M context) <noreply@anthropic.com>",
     ("A", "a@x"), ("", ""), [Marker("claude-code", "co-author:claude")]),
    ("feat\n\n🤖 Generated with [Claude Code](https://claude.ai/code)", ("A", "a@x"), ("", ""),
     [Marker("claude-code", "footer:claude-code")]),
    ("x", ("claude[bot]", "209825114+claude[bot]@users.noreply.github.com"), ("", ""),
     [Marker("claude-code", "author:claude[bot]")]),
    ("x\n\nCo-authored-by: claude[bot] <209825114+claude[bot]@users.noreply.github.com>",
     ("A", "a@x"), ("", ""), [Marker("claude-code", "co-author:claude[bot]")]),
    ("x\n\nCo-authored-by: Codex <noreply@openai.com>", ("A", "a@x"), ("", ""),
     [Marker("codex", "co-author:codex")]),
    ("x", ("chatgpt-codex-connector[bot]", "199175422+chatgpt-codex-connector[bot]@users.noreply"
           ".github.com"), ("", ""), [Marker("codex", "author:chatgpt-codex-connector[bot]")]),
    ("add x", ("Jane Doe (aider)", "jane@example.com"), ("Jane Doe (aider)", "jane@example.com"),
     [Marker("aider", "author:aider"), Marker("aider", "committer:aider")]),
    ("x\n\nCo-authored-by: aider (anthropic/claude-sonnet-4) <aider@aider.chat>",
     ("A", "a@x"), ("", ""), [Marker("aider", "co-author:aider")]),
    ("aider: Added tests", ("A", "a@x"), ("", ""), [Marker("aider", "subject:aider")]),
    ("x", ("Copilot", "198982749+Copilot@users.noreply.github.com"), ("", ""),
     [Marker("copilot", "author:copilot")]),
    ("x\n\nCo-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",
     ("A", "a@x"), ("", ""), [Marker("copilot", "co-author:copilot-swe-agent[bot]")]),
    ("x", ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"), ("", ""),
     [Marker("copilot", "author:copilot-swe-agent[bot]")]),
    ("x\n\nCo-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>",
     ("A", "a@x"), ("", ""), [Marker("copilot", "co-author:copilot")]),
    ("x\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>", ("A", "a@x"), ("", ""),
     [Marker("cursor", "co-author:cursoragent")]),
    ("x\n\nMade-with: Cursor", ("A", "a@x"), ("", ""),
     [Marker("cursor", "trailer:made-with-cursor")]),
    ("x", ("gemini-code-assist[bot]", "176961590+gemini-code-assist[bot]@users.noreply.github.com"),
     ("", ""), [Marker("gemini-code-assist", "author:gemini-code-assist[bot]")]),
    ("x\n\nCo-authored-by: gemini-code-assist[bot] <176961590+gemini-code-assist[bot]@users."
     "noreply.github.com>", ("A", "a@x"), ("", ""),
     [Marker("gemini-code-assist", "co-author:gemini-code-assist[bot]")]),
    ("x\n\nEntire-Checkpoint: 3f2a9c1b4d5e", ("A", "a@x"), ("", ""),
     [Marker("entire", "trailer:entire-checkpoint")]),
    # Prose is not a marker.
    ("chore: bump Claude Code to 2.1.119\n\nposting comments as claude[bot] now", ("A", "a@x"),
     ("GitHub", "noreply@github.com"), []),
    ("x\n\nCo-authored-by: Ashwin Bhat <ashwin@anthropic.com>", ("A", "a@x"), ("", ""), []),
])
def test_detect(message: str, author: tuple[str, str], committer: tuple[str, str],
                expected: list[Marker]) -> None:
    assert detect(message, *author, *committer) == expected


def test_several_agents_on_one_commit() -> None:
    msg = ("feat\n\nCo-authored-by: Codex <noreply@openai.com>\n"
           "Co-Authored-By: Claude <noreply@anthropic.com>\n"
           "Co-Authored-By: Claude <noreply@anthropic.com>\n")
    assert detect(msg, "A", "a@x") == [Marker("codex", "co-author:codex"),
                                       Marker("claude-code", "co-author:claude")]




def test_claude_code_action_history(tmp_path: Path) -> None:
    """The corpus README counts 179 marked commits; by hand (git log --grep, below) they are
    178 with Claude markers plus 1 co-authored by Cursor, and the detector finds exactly those."""
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
