"""Attribution other tools already recorded: git-ai notes and Agent Trace records.

Teams that used git-ai (``refs/notes/ai``, "Git AI Standard v3.0.0",
schema ``authorship/3.0.0``) or Agent Trace (``.agent-trace/traces.jsonl``)
keep that data: both give line ranges per file in the commit's own file
versions, so they become line-level :class:`~gitroi.attribution.notes.Note` objects (with
sessions but no token figures, which neither format records).  Prompt text
that git-ai keeps in its metadata is never read into gitroi.

git-ai authorship log::

    src/main.rs
      abcd1234abcd1234 1-10,15-20
    "src/my file.rs"
      abcd1234abcd1234 3
    ---
    {"schema_version": "authorship/3.0.0", "base_commit_sha": "...",
     "prompts": {"abcd1234abcd1234": {"agent_id": {"tool": "cursor", "id": "...",
                                                   "model": "..."}, ...}}}

Agent Trace record (one JSON object per line)::

    {"version": "0.1.0", "id": "<uuid>", "timestamp": "...",
     "vcs": {"type": "git", "revision": "<commit sha>"}, "tool": {"name": "cursor"},
     "files": [{"path": "src/a.ts", "conversations": [{"url": "...",
        "contributor": {"type": "ai", "model_id": "..."},
        "ranges": [{"start_line": 1, "end_line": 9}]}]}]}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from gitroi.attribution.notes import Note, SessionShare, merge
from gitroi.errors import GitroiError
from gitroi.git import Repo

GIT_AI_REF = "refs/notes/ai"
AGENT_TRACE_FILE = ".agent-trace/traces.jsonl"

# Tool names the two formats use, mapped to gitroi's agent names.
_AGENTS = {
    "claude": "claude-code", "claude-code": "claude-code", "claude_code": "claude-code",
    "codex": "codex", "openai-codex": "codex", "cursor": "cursor", "copilot": "copilot",
    "github-copilot": "copilot", "gemini": "gemini-cli", "gemini-cli": "gemini-cli",
    "opencode": "opencode", "aider": "aider",
}
_ENTRY = re.compile(r"^  ([0-9a-fA-F]{7,64}) (\S+)\s*$")


def agent_name(tool: str) -> str:
    t = tool.strip().lower()
    return _AGENTS.get(t, t or "unknown")


def _parse_ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        start = int(a)
        out.append((start, int(b) if b else start))
    return out


def parse_git_ai(text: str | bytes, *, commit: str = "?") -> Note:
    """A git-ai authorship log (3.x) as a line-level note; GitroiError naming the commit if corrupt."""
    where = f"the git-ai note on commit {commit[:12]}"
    try:
        raw = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise GitroiError(f"{where} is not UTF-8: {exc}") from exc
    lines = raw.split("\n")
    try:
        div = lines.index("---")
    except ValueError as exc:
        raise GitroiError(f"{where} has no '---' divider (not an authorship log)") from exc
    try:
        meta = json.loads("\n".join(lines[div + 1:]))
    except json.JSONDecodeError as exc:
        raise GitroiError(f"{where} has invalid JSON metadata: {exc}") from exc
    if not isinstance(meta, dict):
        raise GitroiError(f"{where} has invalid metadata (not an object)")
    version = str(meta.get("schema_version", ""))
    if not version.startswith("authorship/3."):
        raise GitroiError(f"{where} has unsupported schema {version!r} (reads authorship/3.x)")
    prompts: Mapping[str, Any] = meta.get("prompts") or {}
    ranges: dict[str, list[tuple[int, int]]] = {}
    used: set[str] = set()
    path: str | None = None
    for n, line in enumerate(lines[:div], start=1):
        if not line.strip():
            continue
        if not line.startswith(" "):
            path = json.loads(line) if line.startswith('"') else line
            continue
        m = _ENTRY.match(line)
        if m is None or path is None:
            raise GitroiError(f"{where}: attestation line {n} is malformed: {line[:60]!r}")
        try:
            ranges.setdefault(path, []).extend(_parse_ranges(m.group(2)))
        except ValueError as exc:
            raise GitroiError(f"{where}: bad line range on line {n}: {m.group(2)!r}") from exc
        used.add(m.group(1))
    sessions: dict[tuple[str, str], SessionShare] = {}
    for h in sorted(used):
        rec = prompts.get(h) or {}
        aid = rec.get("agent_id") or {} if isinstance(rec, dict) else {}
        agent = agent_name(str(aid.get("tool") or "unknown"))
        sid = str(aid.get("id") or h)
        model = aid.get("model")
        models = {str(model): {"responses": 0, "cost_usd": None}} if model else {}
        sessions[(agent, sid)] = SessionShare(agent=agent, session_id=sid, models=models)
    return Note.build(attribution="line", sessions=sessions.values(), ai_ranges=ranges,
                      markers=["git-ai"], source=f"git-ai {meta.get('git_ai_version') or ''}".strip())


def _trace_note(rec: Mapping[str, Any]) -> Note | None:
    tool = rec.get("tool") or {}
    agent = agent_name(str(tool.get("name") or "unknown")) if isinstance(tool, dict) else "unknown"
    ranges: dict[str, list[tuple[int, int]]] = {}
    sessions: dict[tuple[str, str], SessionShare] = {}
    for f in rec.get("files") or []:
        path = f.get("path")
        if not path:
            continue
        for conv in f.get("conversations") or []:
            contrib = conv.get("contributor") or {}
            for r in conv.get("ranges") or []:
                who = (r.get("contributor") or contrib).get("type")
                if who != "ai":
                    continue
                ranges.setdefault(str(path), []).append((int(r["start_line"]), int(r["end_line"])))
                sid = str(conv.get("url") or rec.get("id") or "unknown")
                model = (r.get("contributor") or contrib).get("model_id") or contrib.get("model")
                models = {str(model): {"responses": 0, "cost_usd": None}} if model else {}
                key = (agent, sid)
                if key not in sessions or models:
                    sessions[key] = SessionShare(agent=agent, session_id=sid, models=models)
    if not ranges:
        return None
    return Note.build(attribution="line", sessions=sessions.values(), ai_ranges=ranges,
                      markers=["agent-trace"], source=f"agent-trace {rec.get('version', '')}".strip())


def read_agent_traces(repo: Repo) -> dict[str, tuple[str, Note]]:
    """{commit sha: (digest of its records, note)} from the work tree's traces.jsonl.

    Records name their commit in ``vcs.revision`` (abbreviated ids are
    resolved); several records for one commit merge.  Malformed lines and
    records without a git revision are skipped.
    """
    if repo.paths.workdir is None:
        return {}
    path = repo.paths.workdir / AGENT_TRACE_FILE
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    found: dict[str, tuple[Any, Note]] = {}
    for line in data.splitlines():
        try:
            rec = json.loads(line)
            vcs = rec.get("vcs") or {}
            rev = str(vcs.get("revision") or "")
            if vcs.get("type", "git") != "git" or not rev:
                continue
            note = _trace_note(rec)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        if note is None:
            continue
        if len(rev) < 40:
            rev = repo.git_text("rev-parse", "--verify", "-q", f"{rev}^{{commit}}") if \
                repo.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False) else ""
            if not rev:
                continue
        h = hashlib.sha1()
        if rev in found:
            h = found[rev][0]
            note = merge(found[rev][1], note)
        h.update(line)
        found[rev] = (h, note)
    return {rev: (h.hexdigest()[:16], note) for rev, (h, note) in found.items()}
