"""Commit-level attribution from what a commit says about itself: author, committer, trailers, subject.

Where no session log exists (old history, another machine, a bot) the only
evidence that an agent took part is the marks agents and their integrations
leave on commits.  Each :class:`Marker` names the agent and the evidence, a
short stable string such as ``co-author:claude`` that lands in the note's
``markers`` list and in the ledger.

Trailers are matched as whole lines anywhere in the message, not only in the
final paragraph: squash merges on GitHub list the squashed commits' trailers
mid-body, and those still say an agent wrote part of the change.  Plain prose
mentioning an agent ("bump Claude Code to 2.1") is *not* a marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Marker:
    """One agent's mark on a commit and the text that shows it."""

    agent: str       # claude-code, codex, aider, copilot, cursor, gemini-code-assist, entire
    evidence: str    # e.g. "co-author:claude", "footer:claude-code", "author:claude[bot]"


_COAUTHOR = re.compile(r"^[ \t]*co-authored-by:[ \t]*(.*?)[ \t]*<([^>\n]*)>[ \t]*$",
                       re.IGNORECASE | re.MULTILINE)
_CLAUDE_FOOTER = re.compile(r"Generated with \[?Claude Code\]?", re.IGNORECASE)
_MADE_WITH_CURSOR = re.compile(r"^[ \t]*Made-with:[ \t]*Cursor\b", re.IGNORECASE | re.MULTILINE)
_ENTIRE = re.compile(r"^[ \t]*Entire-Checkpoint:[ \t]*\S", re.IGNORECASE | re.MULTILINE)


def _identity_markers(role: str, name: str, email: str) -> list[Marker]:
    """Markers from one identity (author, committer or a co-author)."""
    n, e = name.strip().lower(), email.strip().lower()
    out: list[Marker] = []
    if "claude[bot]" in n or "claude[bot]" in e:
        out.append(Marker("claude-code", f"{role}:claude[bot]"))
    elif e == "noreply@anthropic.com" and (role == "co-author" or n.startswith("claude")):
        out.append(Marker("claude-code", f"{role}:claude"))
    if "chatgpt-codex-connector" in n or "chatgpt-codex-connector" in e:
        out.append(Marker("codex", f"{role}:chatgpt-codex-connector[bot]"))
    elif e == "noreply@openai.com" or (role == "co-author" and n == "codex"):
        out.append(Marker("codex", f"{role}:codex"))
    if n.endswith("(aider)") or (role == "co-author" and n.startswith("aider") and "aider" in e):
        out.append(Marker("aider", f"{role}:aider"))
    if "copilot-swe-agent" in n or "copilot-swe-agent" in e:
        out.append(Marker("copilot", f"{role}:copilot-swe-agent[bot]"))
    elif n == "copilot" and "copilot" in e:
        out.append(Marker("copilot", f"{role}:copilot"))
    if e == "cursoragent@cursor.com":
        out.append(Marker("cursor", f"{role}:cursoragent"))
    if "gemini-code-assist" in n or "gemini-code-assist" in e:
        out.append(Marker("gemini-code-assist", f"{role}:gemini-code-assist[bot]"))
    return out


def detect(message: str, author_name: str = "", author_email: str = "",
           committer_name: str = "", committer_email: str = "") -> list[Marker]:
    """Every agent marker on a commit, each (agent, evidence) once, in a stable order."""
    found: list[Marker] = []
    found += _identity_markers("author", author_name, author_email)
    found += _identity_markers("committer", committer_name, committer_email)
    for name, email in _COAUTHOR.findall(message):
        found += _identity_markers("co-author", name, email)
    if _CLAUDE_FOOTER.search(message):
        found.append(Marker("claude-code", "footer:claude-code"))
    subject = message.split("\n", 1)[0]
    if subject.lower().startswith("aider: "):
        found.append(Marker("aider", "subject:aider"))
    if _MADE_WITH_CURSOR.search(message):
        found.append(Marker("cursor", "trailer:made-with-cursor"))
    if _ENTIRE.search(message):
        found.append(Marker("entire", "trailer:entire-checkpoint"))
    return list(dict.fromkeys(found))
