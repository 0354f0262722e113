"""Claude Code transcripts: ``<root>/projects/<encoded-cwd>/**/*.jsonl``.

Roots: ``~/.claude``, ``~/.config/claude`` and every comma-separated root in
``CLAUDE_CONFIG_DIR`` (formats.md 1.1).  Scanned recursively, so subagent
files (``<session>/subagents/agent-*.jsonl``) are read too; their lines carry
the *parent's* ``sessionId``, so their usage lands in the parent session.

Usage (formats.md 1.4, 1.6): one API response is written as one line per
content block, each repeating the whole ``usage``; early copies may carry a
streaming placeholder ``output_tokens``.  gitroi keys a response by
``message.id`` (unique per API response; the ``requestId`` is not needed for
the key, and leaving it out also folds the ``/btw`` side-question replays,
which repeat a ``message.id`` under a new ``requestId``) and keeps the copy
with the **largest token total**: within one read here, and across reads and
files in the ledger (an upsert that replaces a row only by a larger total).
Subagent responses mirrored into the parent file as ``progress`` lines
(``data.message``) share the key and so count once.  ``<synthetic>`` messages
are local and skipped.

Edits (formats.md 1.5): ``Edit``/``MultiEdit``/``Write``/``NotebookEdit``
``tool_use`` blocks give a first version (hashes of ``new_string``,
``edits[].new_string``, ``content``, ``new_source``).  When the result line
that follows carries ``toolUseResult.structuredPatch``, its ``+`` lines are
exactly what landed in the file (no unchanged context, and a user's change
in the permission prompt included), so that version replaces the first one
under the same ``edit_id`` (the ``tool_use`` id); a ``Write`` that created a
file has an empty patch and keeps the hashes of its ``content``.  Only
hashes are kept, never text.

Speed: a line is only handed to ``json.loads`` when a cheap substring test
says it can matter (``"usage"``, ``"structuredPatch"``, or the session's
cwd/branch not yet known).  A line that does not end in ``}`` is counted as
truncated without parsing it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from gitroi.sessions import (
    FileEdit,
    Problem,
    ReadResult,
    UsageEvent,
    hash_lines,
    line_hash,
    session_key,
)
from gitroi.sessions._fields import AbsurdValue
from gitroi.sessions._fields import canon_ts as _canon_ts
from gitroi.sessions._fields import cost as _cost
from gitroi.sessions._fields import count as _int
from gitroi.sessions._lines import read_raw_lines, walk_logs

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

AGENT = "claude-code"
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
_CWD = re.compile(rb'"cwd":"((?:[^"\\]|\\.)*)"')
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")


def encode_project_dir(path: str) -> str:
    """Claude Code's directory name for a cwd: every non-alphanumeric char -> ``-``."""
    return _NON_ALNUM.sub("-", path)






class ClaudeCodeReader:
    """Reader for Claude Code JSONL transcripts."""

    agent = AGENT

    def roots(self, env: Mapping[str, str], home: Path) -> list[Path]:
        from gitroi.sessions import roots

        return roots.claude_code(env, home)

    def discover(self, roots: Iterable[Path]) -> Iterator[Path]:
        yield from self.discover_scoped(roots, None, [])

    def discover_scoped(self, roots: Iterable[Path], scopes: Sequence[str] | None,
                        problems: list[Problem]) -> Iterator[Path]:
        """Transcripts under ``roots``; with ``scopes`` (cwd prefixes), only project
        dirs whose encoded name can belong to one of them (a cheap name test, so
        unrelated projects are never even listed)."""
        prefixes = None if scopes is None else [encode_project_dir(s) for s in scopes]
        for root in roots:
            try:
                entries = sorted(os.scandir(root), key=lambda e: e.name)
            except FileNotFoundError:
                continue
            except OSError as exc:
                problems.append(Problem(str(root), 0, f"unreadable directory: {exc.strerror or exc}"))
                continue
            for entry in entries:
                if entry.name.endswith(".jsonl") and entry.is_file():
                    yield Path(entry.path)
                    continue
                if not entry.is_dir():
                    continue
                if prefixes is not None and not any(entry.name.startswith(p) for p in prefixes):
                    continue
                yield from walk_logs(Path(entry.path), problems)

    def peek_cwd(self, path: Path) -> str | None:
        """The cwd a transcript records, from its first 64 KiB (no full parse)."""
        try:
            with path.open("rb") as fh:
                head = fh.read(65536)
        except OSError:
            return None
        m = _CWD.search(head)
        if not m:
            return None
        try:
            value = json.loads(b'"' + m.group(1) + b'"')
        except ValueError:
            return None
        return value if isinstance(value, str) else None

    def read(self, path: Path, offset: int, state: Mapping[str, Any]) -> ReadResult:
        raws, end = read_raw_lines(path, offset)
        res = ReadResult(offset=offset, state=dict(state))
        if not raws:
            return res
        st = res.state
        lineno = int(st.get("lines", 0))
        sid: str | None = st.get("sid")
        cwd: str | None = st.get("cwd")
        branch: str | None = st.get("branch")
        events: dict[tuple[str, str], UsageEvent] = {}
        edits: dict[tuple[str, str], FileEdit] = {}
        spans: dict[str, list[str]] = {}
        spath = str(path)
        problems = res.problems

        for raw in raws:
            lineno += 1
            line = raw.rstrip()
            if not line:
                continue
            has_usage = b'"usage"' in line
            has_result = b'"structuredPatch"' in line
            if not (has_usage or has_result or cwd is None):
                continue
            if not line.endswith(b"}"):
                problems.append(Problem(spath, lineno, "truncated or malformed JSON"))
                continue
            try:
                rec = json.loads(line)
            except UnicodeDecodeError:
                problems.append(Problem(spath, lineno, "not UTF-8"))
                continue
            except ValueError:
                problems.append(Problem(spath, lineno, "malformed JSON"))
                continue
            if not isinstance(rec, dict):
                problems.append(Problem(spath, lineno, "not a JSON object"))
                continue
            rsid = rec.get("sessionId")
            if isinstance(rsid, str) and rsid:
                sid = rsid
            rcwd = rec.get("cwd")
            if isinstance(rcwd, str) and rcwd:
                cwd = cwd or rcwd
            rbr = rec.get("gitBranch")
            if isinstance(rbr, str) and rbr:
                branch = rbr
            if sid is None:
                sid = path.stem
            ts = _canon_ts(rec.get("timestamp"))
            if not (has_usage or has_result):
                if ts and rec.get("type") in ("user", "assistant", "progress", "system"):
                    spans.setdefault(sid, []).append(ts)
                continue
            rtype = rec.get("type")
            if has_usage:
                msgs: list[tuple[dict[str, Any], Any, str | None]] = []
                if rtype == "assistant":
                    msgs.append((rec.get("message") or {}, rec.get("requestId"), ts))
                elif rtype == "progress":
                    inner = (rec.get("data") or {}).get("message")
                    if isinstance(inner, dict) and isinstance(inner.get("message"), dict):
                        msgs.append((inner["message"], inner.get("requestId"),
                                     _canon_ts(inner.get("timestamp")) or ts))
                elif rtype in ("user", "system", "summary"):
                    pass  # a "usage" key in text or tool output; nothing to count
                else:
                    msg = rec.get("message")
                    if isinstance(msg, dict) and isinstance(msg.get("usage"), dict):
                        problems.append(Problem(spath, lineno, f"unknown record type {rtype!r} with usage"))
                for msg, req, mts in msgs:
                    if not isinstance(msg, dict):
                        continue
                    try:
                        ev = _event(msg, req, mts, spath, lineno, problems,
                                    _cost(rec.get("costUSD")))  # very old transcripts logged it
                    except AbsurdValue as exc:
                        problems.append(Problem(spath, lineno, f"absurd value: {exc}"))
                        continue
                    if ev is not None:
                        k = (sid, ev.event_id)
                        old = events.get(k)
                        if old is None or ev.tokens > old.tokens:
                            events[k] = ev
                        if mts:
                            spans.setdefault(sid, []).append(mts)
                    for fe in _tool_use_edits(msg, mts):
                        edits[(sid, fe.edit_id)] = fe
            if has_result and rtype == "user":
                done = _result_edit(rec, ts)
                if done is not None:
                    edits[(sid, done.edit_id)] = done
                if ts:
                    spans.setdefault(sid, []).append(ts)

        res.offset = end
        st.update(lines=lineno, sid=sid, cwd=cwd, branch=branch)
        keys = {k for k, _ in events} | {k for k, _ in edits} | set(spans)
        for s in keys:
            info = res.session(AGENT, s)
            info.cwd = cwd
            info.git_branch = branch
            for t in spans.get(s, ()):
                info.seen(t)
            for (es, _), ev in events.items():
                if es == s:
                    info.seen(ev.ts)
        for (s, _), ev in events.items():
            res.events.append((session_key(AGENT, s), ev))
        for (s, _), fe in edits.items():
            res.edits.append((session_key(AGENT, s), fe))
        return res



def _event(msg: Mapping[str, Any], req: Any, ts: str | None, spath: str, lineno: int,
           problems: list[Problem], logged_cost: float | None = None) -> UsageEvent | None:
    usage = msg.get("usage")
    if not isinstance(usage, dict):
        return None
    model = msg.get("model")
    if model == "<synthetic>":
        return None
    if not isinstance(model, str) or not model:
        problems.append(Problem(spath, lineno, "missing field message.model"))
        return None
    mid = msg.get("id")
    if not isinstance(mid, str) or not mid:
        if isinstance(req, str) and req:
            mid = "req:" + req
        else:
            problems.append(Problem(spath, lineno, "missing field message.id"))
            return None
    if ts is None:
        problems.append(Problem(spath, lineno, "missing field timestamp"))
        return None
    cw = _int(usage.get("cache_creation_input_tokens"))
    cc = usage.get("cache_creation")
    w1h = _int(cc.get("ephemeral_1h_input_tokens")) if isinstance(cc, dict) else 0
    speed = usage.get("speed")
    return UsageEvent(
        event_id=mid,
        ts=ts,
        model=model,
        input=_int(usage.get("input_tokens")),
        output=_int(usage.get("output_tokens")),
        cache_write=cw,
        cache_write_1h=min(w1h, cw),
        cache_read=_int(usage.get("cache_read_input_tokens")),
        speed=speed if isinstance(speed, str) else None,
        logged_cost_usd=float(logged_cost) if logged_cost is not None else None,
    )


def _tool_use_edits(msg: Mapping[str, Any], ts: str | None) -> Iterator[FileEdit]:
    content = msg.get("content")
    if not isinstance(content, list):
        return
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "tool_use":
            continue
        name = block.get("name")
        if name not in EDIT_TOOLS:
            continue
        inp = block.get("input")
        bid = block.get("id")
        if not isinstance(inp, dict) or not isinstance(bid, str):
            continue
        path = inp.get("notebook_path") if name == "NotebookEdit" else inp.get("file_path")
        if not isinstance(path, str) or not path:
            continue
        hashes: tuple[str, ...] = ()
        if name == "Edit":
            hashes = _hash(inp.get("new_string"))
        elif name == "Write":
            hashes = _hash(inp.get("content"))
        elif name == "NotebookEdit":
            hashes = _hash(inp.get("new_source"))
        elif name == "MultiEdit":
            parts: list[str] = []
            for e in inp.get("edits") or ():
                if isinstance(e, dict):
                    parts.extend(_hash(e.get("new_string")))
            hashes = tuple(parts)
        yield FileEdit(edit_id=bid, ts=ts or "", tool=str(name), path=path, line_hashes=hashes)


def _hash(text: Any) -> tuple[str, ...]:
    return hash_lines(text) if isinstance(text, str) else ()


def _result_edit(rec: Mapping[str, Any], ts: str | None) -> FileEdit | None:
    """The edit a tool result confirms, hashed from its structuredPatch '+' lines."""
    tur = rec.get("toolUseResult")
    if not isinstance(tur, dict):
        return None
    path = tur.get("filePath") or tur.get("notebook_path")
    if not isinstance(path, str) or not path:
        return None
    msg = rec.get("message")
    content = msg.get("content") if isinstance(msg, dict) else None
    tid = None
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                tid = block.get("tool_use_id")
                break
    if not isinstance(tid, str):
        return None
    patch = tur.get("structuredPatch")
    hashes: list[str] = []
    if isinstance(patch, list):
        for hunk in patch:
            lines = hunk.get("lines") if isinstance(hunk, dict) else None
            for ln in lines or ():
                if isinstance(ln, str) and ln.startswith("+"):
                    hashes.append(line_hash(ln[1:]))
    if "edits" in tur:
        tool = "MultiEdit"
    elif tur.get("type") in ("create", "update"):
        tool = "Write"
    elif "new_source" in tur or "cell_id" in tur:
        tool = "NotebookEdit"
    elif "oldString" in tur or "newString" in tur:
        tool = "Edit"
    else:
        return None
    if not hashes:
        if tur.get("type") == "create" and isinstance(tur.get("content"), str):
            hashes = list(hash_lines(tur["content"]))
        elif tool == "Edit" and isinstance(tur.get("newString"), str):
            hashes = list(hash_lines(tur["newString"]))
        else:
            return None
    return FileEdit(edit_id=tid, ts=ts or "", tool=tool, path=path, line_hashes=tuple(hashes))
