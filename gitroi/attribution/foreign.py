"""Attribution other tools already recorded: git-ai notes and Agent Trace records.

Teams that used git-ai (``refs/notes/ai``, "Git AI Standard v3.0.0", schema
``authorship/3.0.0``) or Agent Trace (``.agent-trace/traces.jsonl``) keep that
data: both give line ranges per file in the commit's own file versions, so they
become line-level :class:`~gitroi.attribution.notes.Note` objects (with sessions
but no token figures, which neither format records).  Prompt text that git-ai
kept in its metadata (``messages``, before 1.3.4) is never read into gitroi.

A git-ai note has an attestation section, a ``---`` line, and JSON metadata.
Since git-ai 1.4 (May 2026) attestation keys come in three shapes, routed by
prefix, and one note may mix them (git-ai's ``specs/git_ai_standard_v3.0.0.md``
and ``docs/migrations/sessions-v2-note-format.md``)::

    src/main.rs
      s_c9883b05a2487d::t_9f8e7d6c5b4a32 1-10,15-20     AI: session::trace -> metadata.sessions
      h_31dce776f88375 35-40                           a known person -> metadata.humans
    "src/my file.rs"
      abcd1234abcd1234 3                               AI (before 1.4) -> metadata.prompts
    ---
    {"schema_version": "authorship/3.0.0", "git_ai_version": "1.6.20",
     "base_commit_sha": "...", "prompts": {...}, "humans": {...},
     "sessions": {"s_c9883b05a2487d": {"agent_id": {"tool": "cursor", "id": "...",
                                                     "model": "..."}}}}

What real notes carry besides (git-ai's own ``refs/notes/ai``, 10,685 notes,
read on 2026-12-04): ``human`` (the legacy key of a person's lines) and
``ai_agent`` (AI lines of no known session) as keys; 7-character and UUID
prompt keys; ``s_`` keys without a ``::t_`` part; keys whose record is in no map
(4,979 entries: a rebased or cherry-picked commit whose record stayed behind);
ranges out of order (9,066 entries) and adjacent (2,759); notes with no
attestation at all (1,765).  gitroi reads them all:

* people's lines (``h_...``, ``human``) are not AI; a later entry for a line
  wins over an earlier one (git-ai reads entries last to first);
* an AI key with no record is AI by an ``unknown`` agent (the key says AI, the
  record that would name the tool is missing), its key the session id;
* ranges are sorted and merged; a note with no AI line gives no note (the
  commit falls back to its markers).

Anything else (no ``---``, metadata that is not a JSON object, a schema other
than ``authorship/3.x``, an entry line without a range or outside a file, a
range that is not ``N`` or ``N-M`` with 1 <= N <= M) is a shape gitroi does not
know: :func:`parse_git_ai` raises :class:`GitroiError` naming the commit, and
callers report it as a warning and fall back to the commit's markers.

Agent Trace record (one JSON object per line; cursor/agent-trace 0.1.0)::

    {"version": "0.1.0", "id": "<uuid>", "timestamp": "...",
     "vcs": {"type": "git", "revision": "<commit sha>"}, "tool": {"name": "cursor"},
     "files": [{"path": "src/a.ts", "conversations": [{"url": "...",
        "contributor": {"type": "ai", "model_id": "..."},
        "ranges": [{"start_line": 1, "end_line": 9}]}]}]}
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
from collections.abc import Mapping, Sequence
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
def agent_name(tool: str) -> str:
    t = tool.strip().lower()
    return _AGENTS.get(t, t or "unknown")


HUMAN_KEYS = ("human",)
#: Lines git-ai marked AI without naming a session (a legacy checkpoint kind).
ANONYMOUS_AI_KEYS = ("ai_agent",)


def _parse_ranges(spec: str) -> list[tuple[int, int]]:
    """``1-4,9,12-12`` as [(1, 4), (9, 9), (12, 12)]; ValueError for anything else."""
    out = []
    for part in spec.split(","):
        if not part:
            continue  # git-ai's own reader skips empty parts
        a, dash, b = part.partition("-")
        start = int(a)
        end = int(b) if dash else start
        if not (a.isdigit() and (not dash or b.isdigit())) or start < 1 or end < start:
            raise ValueError(part)
        out.append((start, end))
    if not out:
        raise ValueError(spec)
    return out


def _latest_wins(items: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Disjoint (start, end, key) spans where each line belongs to the LAST entry naming it.

    git-ai reads a file's entries last to first; a sweep over the range ends with a
    heap of the entries covering the current line (O(n log n): a note can list
    thousands of ranges).
    """
    starts = sorted(range(len(items)), key=lambda i: items[i][0])
    points = sorted({p for a, b, _ in items for p in (a, b + 1)})
    heap: list[tuple[int, int]] = []  # (-entry index, end)
    out: list[tuple[int, int, str]] = []
    nxt = 0
    for x, y in itertools.pairwise(points):
        while nxt < len(starts) and items[starts[nxt]][0] <= x:
            i = starts[nxt]
            heapq.heappush(heap, (-i, items[i][1]))
            nxt += 1
        while heap and heap[0][1] < x:
            heapq.heappop(heap)
        if heap:
            key = items[-heap[0][0]][2]
            if out and out[-1][2] == key and out[-1][1] == x - 1:
                out[-1] = (out[-1][0], y - 1, key)
            else:
                out.append((x, y - 1, key))
    return out


def _map(meta: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = meta.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GitroiError(f"{where}: metadata {name!r} is not an object")
    return value


def parse_git_ai(text: str | bytes, *, commit: str = "?") -> Note | None:
    """A git-ai authorship log (authorship/3.x, any git-ai version) as a line-level note.

    None when the note names no AI line (only people's lines, or no attestation).
    GitroiError naming the commit when the note has a shape gitroi does not know.
    """
    where = f"the git-ai note on commit {commit[:12]}"
    try:
        raw = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise GitroiError(f"{where} is not UTF-8: {exc}") from exc
    lines = raw.splitlines()
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
    prompts = _map(meta, "prompts", where)
    sessions_map = _map(meta, "sessions", where)
    files: dict[str, list[tuple[int, int, str]]] = {}  # path: entries in order
    path: str | None = None
    for n, line in enumerate(lines[:div], start=1):
        line = line.rstrip()
        if not line:
            continue
        if line.startswith("  "):
            key, sep, spec = line[2:].partition(" ")
            if path is None or not sep or not key:
                raise GitroiError(f"{where}: attestation line {n} is malformed: {line[:60]!r}",
                                  hint="gitroi reads git-ai's authorship/3.0.0 notes; "
                                       "this line has no file or no line range")
            try:
                ranges = _parse_ranges(spec.strip())
            except ValueError as exc:
                raise GitroiError(f"{where}: bad line range on line {n}: {spec[:40]!r}") from exc
            files.setdefault(path, []).extend((a, b, key) for a, b in ranges)
            continue
        path = line[1:-1] if len(line) > 1 and line.startswith('"') and line.endswith('"') else line
    ranges_by_path: dict[str, list[tuple[int, int]]] = {}
    owners: set[str] = set()
    for p, entries in files.items():
        for a, b, key in _latest_wins(entries):
            if key in HUMAN_KEYS or key.startswith("h_"):
                continue  # a person's lines
            ranges_by_path.setdefault(p, []).append((a, b))
            owners.add(key)
    if not ranges_by_path:
        return None
    sessions: dict[tuple[str, str], SessionShare] = {}
    for key in sorted(owners):
        agent, sid, model = _owner(key, prompts, sessions_map)
        models = {model: {"responses": 0, "cost_usd": None}} if model else {}
        if (agent, sid) not in sessions or models:
            sessions[(agent, sid)] = SessionShare(agent=agent, session_id=sid, models=models)
    return Note.build(attribution="line", sessions=sessions.values(), ai_ranges=ranges_by_path,
                      markers=["git-ai"], source=f"git-ai {meta.get('git_ai_version') or ''}".strip())


def _owner(key: str, prompts: Mapping[str, Any], sessions: Mapping[str, Any]
           ) -> tuple[str, str, str | None]:
    """(agent, session id, model) of an AI attestation key, from the map its prefix names."""
    if key in ANONYMOUS_AI_KEYS:
        return "unknown", key, None
    if key.startswith("s_"):
        sid = key.split("::", 1)[0]
        rec = sessions.get(sid) or prompts.get(sid)
    else:
        sid = key
        rec = prompts.get(key)
    aid = rec.get("agent_id") if isinstance(rec, dict) else None
    if not isinstance(aid, dict):
        return "unknown", sid, None
    model = aid.get("model")
    return (agent_name(str(aid.get("tool") or "unknown")), str(aid.get("id") or sid),
            str(model) if model else None)


def _trace_note(rec: Mapping[str, Any]) -> Note | None:
    """A record's AI ranges as a note (None: no AI range); ValueError/TypeError/KeyError/
    AttributeError for a shape the Agent Trace schema does not allow.

    Only ``ai`` ranges count: ``mixed`` (human-edited AI output or the reverse) and
    ``unknown`` say no one can tell, ``human`` is a person's.
    """
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
                start, end = r["start_line"], r["end_line"]
                if not (isinstance(start, int) and isinstance(end, int)) or not 1 <= start <= end:
                    raise ValueError(f"range {start!r}-{end!r} of {path}")
                ranges.setdefault(str(path), []).append((start, end))
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


def read_agent_traces(repo: Repo, *, problems: list[str] | None = None
                      ) -> dict[str, tuple[str, Note]]:
    """{commit sha: (digest of its records, note)} from the work tree's traces.jsonl.

    Records name their commit in ``vcs.revision`` (abbreviated ids are
    resolved); several records for one commit merge.  Records of another
    VCS, without a revision, or naming a commit this repository does not have
    are not this history's.  A line that is not a JSON record, or a record in a
    shape the schema does not allow, is skipped and named in ``problems``.
    """
    if repo.paths.workdir is None:
        return {}
    path = repo.paths.workdir / AGENT_TRACE_FILE
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    found: dict[str, tuple[Any, Note]] = {}
    for n, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        rev = ""
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise TypeError("not a JSON object")
            vcs = rec.get("vcs") or {}
            rev = str(vcs.get("revision") or "")
            if vcs.get("type", "git") != "git" or not rev:
                continue
            note = _trace_note(rec)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            if problems is not None:
                what = f"the Agent Trace record for commit {rev[:12]}" if rev else "a record"
                problems.append(f"{AGENT_TRACE_FILE} line {n}: {what} has a shape gitroi does "
                                f"not know ({type(exc).__name__}: {str(exc)[:80]}); skipped")
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
