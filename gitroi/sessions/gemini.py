"""Gemini CLI sessions: ``~/.gemini/tmp/<project-id>/chats/``.

Gemini CLI (``packages/core/src/services/chatRecordingService.ts``) records a
session as JSONL, appended as it goes:

* first line ``{sessionId, projectHash, startTime, lastUpdated, kind}``;
* one line per message ``{id, timestamp, type, content, ...}``; ``gemini``
  messages add ``model``, ``tokens`` and ``toolCalls``.  A message is
  appended again, whole, every time it changes (tokens or tool calls arrive
  later), so **the last copy of an id wins**;
* ``{"$set": {...}}`` metadata updates; a non-empty ``$set.messages`` is a
  checkpoint that replaces the whole history;
* ``{"$rewindTo": id}`` drops that message and every later one (an id that
  is not in the history drops everything, as the upstream loader does).

Subagents write ``chats/<parentSessionId>/<sessionId>.jsonl``; older
versions wrote one ``session-*.json`` object per session (read whole).

Because rewinds and checkpoints withdraw messages that an earlier import
may already have stored, the reader keeps in its per-file state the ordered
ids of the live messages and which of them produced a usage event or edits,
and reports withdrawn ones in ``ReadResult.deleted_events/deleted_edits``.
So reading a file in one pass or in several gives the same ledger.

Tokens: ``input`` (promptTokenCount) includes ``cached``; ``thoughts`` and
``tool`` (toolUsePromptTokenCount) are apart.  gitroi records
``input = input - cached + tool``, ``cache_read = cached``,
``output = output + thoughts``, ``reasoning = thoughts``, so that the four
counts add up to Gemini's own ``total``.  Old records whose ``total`` shows
``input`` already excluded ``cached`` are taken as they are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitroi.sessions import FileEdit, Problem, ReadResult, UsageEvent, hash_lines, session_key
from gitroi.sessions._fields import canon_ts as _ts
from gitroi.sessions._fields import strict_count as _int
from gitroi.sessions._lines import decode, iter_files, read_whole_lines

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

AGENT = "gemini-cli"
EDIT_TOOLS = {"replace": "new_string", "write_file": "content"}
_PATTERNS = (
    "tmp/*/chats/*.jsonl",
    "tmp/*/chats/*/*.jsonl",
    "tmp/*/chats/session-*.json",
)


@dataclass
class _Msg:
    """What gitroi keeps of one message: never its content."""

    event: UsageEvent | None
    edits: list[FileEdit] = field(default_factory=list)


class GeminiReader:
    """Reader for Gemini CLI chat recordings (JSONL, and legacy whole-JSON files)."""

    agent = AGENT

    def roots(self, env: Mapping[str, str], home: Path) -> list[Path]:
        from gitroi.sessions import roots

        return roots.gemini(env, home)

    def discover(self, roots: Iterable[Path]) -> Iterator[Path]:
        for root in roots:
            for p in iter_files(root, _PATTERNS):
                # A legacy .json resumed by a newer Gemini CLI is migrated whole into a
                # sibling .jsonl (same session id); read only the newer file.
                if p.suffix == ".json" and p.with_suffix(".jsonl").exists():
                    continue
                yield p

    def peek_cwd(self, path: Path) -> str | None:
        """The project root of a chat file, from its directory and first line (no full parse)."""
        meta: dict[str, Any] = {}
        try:
            with path.open("rb") as fh:
                head = fh.readline(65536)
            rec = json.loads(head) if path.suffix == ".jsonl" else None
        except (OSError, ValueError):
            rec = None
        if isinstance(rec, dict):
            _merge_meta(meta, rec)
        return project_root(path, meta)

    def read(self, path: Path, offset: int, state: Mapping[str, Any]) -> ReadResult:
        if path.suffix == ".json":
            return _read_legacy(path, state)
        return _read_jsonl(path, offset, state)


# --------------------------------------------------------------------------- parsing




def usage_from_tokens(tokens: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(uncached input, cache_read, output incl. thoughts, thoughts) of a TokensSummary.

    Raises ``ValueError`` for a non-numeric field.
    """
    inp = _int(tokens.get("input"))
    out = _int(tokens.get("output"))
    cached = _int(tokens.get("cached"))
    thoughts = _int(tokens.get("thoughts"))
    tool = _int(tokens.get("tool"))
    total = _int(tokens.get("total"))
    if cached and total == inp + out + cached + thoughts + tool:
        uncached = inp  # an old shape whose input already excluded the cached part
    else:
        uncached = max(0, inp - cached)
    return uncached + tool, cached, out + thoughts, thoughts


def _parse_message(rec: Mapping[str, Any], path: Path, line: int, problems: list[Problem]) -> _Msg:
    msg_id = str(rec["id"])
    ts = _ts(rec.get("timestamp"))
    if rec.get("type") != "gemini":
        return _Msg(None)
    event: UsageEvent | None = None
    tokens = rec.get("tokens")
    if isinstance(tokens, dict):
        try:
            inp, cached, out, thoughts = usage_from_tokens(tokens)
        except ValueError as exc:
            problems.append(Problem(str(path), line, f"bad tokens in message: {exc}"))
        else:
            if ts is None:
                problems.append(Problem(str(path), line, "message without a valid timestamp"))
            elif inp or cached or out:
                model = rec.get("model")
                event = UsageEvent(
                    event_id=msg_id, ts=ts,
                    model=model if isinstance(model, str) and model else "unknown",
                    input=inp, output=out, cache_read=cached, reasoning=thoughts,
                )
    elif tokens is not None:
        problems.append(Problem(str(path), line, "tokens is not an object"))
    edits: list[FileEdit] = []
    calls = rec.get("toolCalls")
    if isinstance(calls, list):
        for i, call in enumerate(calls):
            edit = _edit(call, msg_id, i, ts)
            if edit is not None:
                edits.append(edit)
    return _Msg(event, edits)


def _edit(call: Any, msg_id: str, index: int, msg_ts: str | None) -> FileEdit | None:
    if not isinstance(call, dict):
        return None
    name = call.get("name")
    if not isinstance(name, str) or name not in EDIT_TOOLS:
        return None
    # Only a call that ran wrote anything: error, cancelled and pending calls did not.
    if call.get("status") not in (None, "success"):
        return None
    args = call.get("args")
    if not isinstance(args, dict):
        return None
    file_path = args.get("file_path")
    text = args.get(EDIT_TOOLS[name])
    if not isinstance(file_path, str) or not file_path or not isinstance(text, str):
        return None
    ts = _ts(call.get("timestamp")) or msg_ts
    if ts is None:
        return None
    call_id = call.get("id")
    edit_id = str(call_id) if isinstance(call_id, str) and call_id else f"{msg_id}#{index}"
    return FileEdit(edit_id=edit_id, ts=ts, tool=str(name), path=file_path, line_hashes=hash_lines(text))


# --------------------------------------------------------------------------- history replay


class _History:
    """The live messages of one session file, replayed record by record.

    ``prior_ev``/``prior_ed`` are what earlier reads already handed to the
    importer (still live); ``cur`` holds the latest copy of messages seen in
    this read.  Withdrawn records that an earlier read produced become
    deletions.
    """

    def __init__(self, state: Mapping[str, Any]) -> None:
        self.order: list[str] = list(state.get("order", []))
        self.live: set[str] = set(self.order)
        self.prior_ev: set[str] = set(state.get("ev", []))
        self.prior_ed: dict[str, list[str]] = {k: list(v) for k, v in dict(state.get("ed", {})).items()}
        self.cur: dict[str, _Msg] = {}
        self.del_ev: set[str] = set()
        self.del_ed: set[str] = set()

    def put(self, msg_id: str, msg: _Msg) -> None:
        if msg_id not in self.live:
            self.order.append(msg_id)
            self.live.add(msg_id)
        self.cur[msg_id] = msg

    def _drop(self, ids: list[str]) -> None:
        for r in ids:
            self.live.discard(r)
            self.cur.pop(r, None)
            if r in self.prior_ev:
                self.prior_ev.discard(r)
                self.del_ev.add(r)
            self.del_ed.update(self.prior_ed.pop(r, []))

    def rewind(self, msg_id: str) -> None:
        if msg_id in self.live:
            idx = len(self.order) - 1  # rewinds target recent messages: search from the end
            while self.order[idx] != msg_id:
                idx -= 1
            removed, self.order = self.order[idx:], self.order[:idx]
        else:
            removed, self.order = self.order, []
        self._drop(removed)

    def checkpoint(self, msgs: list[tuple[str, _Msg]]) -> None:
        keep = {m for m, _ in msgs}
        self._drop([m for m in self.order if m not in keep])
        self.order = []
        self.live = set()
        for msg_id, msg in msgs:
            self.put(msg_id, msg)

    def finish(self, result: ReadResult, key: str) -> dict[str, Any]:
        """Emit this read's records and deletions; return the state to carry."""
        emitted_ev: set[str] = set()
        emitted_ed: set[str] = set()
        for msg_id in self.order:
            msg = self.cur.get(msg_id)
            if msg is None:
                continue
            if msg.event is not None:
                result.events.append((key, msg.event))
                emitted_ev.add(msg_id)
                self.prior_ev.add(msg_id)
            elif msg_id in self.prior_ev:
                self.prior_ev.discard(msg_id)
                self.del_ev.add(msg_id)
            new_ids = [e.edit_id for e in msg.edits]
            for old in self.prior_ed.get(msg_id, []):
                if old not in new_ids:
                    self.del_ed.add(old)
            for e in msg.edits:
                result.edits.append((key, e))
                emitted_ed.add(e.edit_id)
            if new_ids:
                self.prior_ed[msg_id] = new_ids
            else:
                self.prior_ed.pop(msg_id, None)
        result.deleted_events.extend((key, e) for e in sorted(self.del_ev - emitted_ev))
        result.deleted_edits.extend((key, e) for e in sorted(self.del_ed - emitted_ed))
        return {
            "order": self.order,
            "ev": sorted(self.prior_ev),
            "ed": self.prior_ed,
        }


def _read_jsonl(path: Path, offset: int, state: Mapping[str, Any]) -> ReadResult:
    result = ReadResult(offset=offset)
    first_line = int(state.get("line", 0)) + 1
    try:
        lines, end = read_whole_lines(path, offset, first_line)
    except OSError as exc:
        result.problems.append(Problem(str(path), 0, f"cannot read: {exc.strerror or exc}"))
        result.state = dict(state)
        return result
    meta: dict[str, Any] = dict(state.get("meta", {}))
    hist = _History(state)
    seen_ts: list[str] = []
    for line in lines:
        if not line.raw.strip():
            continue
        text = decode(line.raw)
        if text is None:
            result.problems.append(Problem(str(path), line.number, "not UTF-8"))
            continue
        try:
            rec = json.loads(text)
        except ValueError:
            result.problems.append(Problem(str(path), line.number, "malformed JSON"))
            continue
        if not isinstance(rec, dict):
            result.problems.append(Problem(str(path), line.number, "not a JSON object"))
            continue
        if isinstance(rec.get("$rewindTo"), str):
            hist.rewind(rec["$rewindTo"])
        elif isinstance(rec.get("id"), str):
            msg = _parse_message(rec, path, line.number, result.problems)
            hist.put(rec["id"], msg)
            if msg.event is not None:
                seen_ts.append(msg.event.ts)
        elif isinstance(rec.get("$set"), dict):
            upd = rec["$set"]
            _merge_meta(meta, upd)
            msgs = upd.get("messages")
            if isinstance(msgs, list) and msgs:
                hist.checkpoint(_checkpoint_messages(msgs, path, line.number, result.problems))
        elif isinstance(rec.get("sessionId"), str) and isinstance(rec.get("projectHash"), str):
            _merge_meta(meta, rec)
        else:
            result.problems.append(Problem(str(path), line.number, "unknown record type"))
    result.offset = end
    consumed = int(state.get("line", 0)) + len(lines)
    sid = meta.get("sessionId") or _sid_from_name(path)
    key = session_key(AGENT, sid)
    new_state = hist.finish(result, key)
    if lines:
        _session(result, path, meta, sid, seen_ts)
    new_state.update({"line": consumed, "meta": meta})
    result.state = new_state
    return result


def _checkpoint_messages(
    msgs: list[Any], path: Path, line: int, problems: list[Problem]
) -> list[tuple[str, _Msg]]:
    out: list[tuple[str, _Msg]] = []
    for m in msgs:
        if isinstance(m, dict) and isinstance(m.get("id"), str):
            out.append((m["id"], _parse_message(m, path, line, problems)))
    return out


_META_KEYS = ("sessionId", "projectHash", "startTime", "lastUpdated", "kind", "directories")


def _merge_meta(meta: dict[str, Any], rec: Mapping[str, Any]) -> None:
    for k in _META_KEYS:
        v = rec.get(k)
        if v is not None:
            meta[k] = v


def _sid_from_name(path: Path) -> str:
    """Fallback id when the metadata line is missing or broken: the file's own name."""
    return path.stem


def _session(result: ReadResult, path: Path, meta: Mapping[str, Any], sid: str, seen_ts: list[str]) -> None:
    info = result.session(AGENT, sid)
    info.cwd = project_root(path, meta)
    if meta.get("kind") == "subagent" and path.parent.name != "chats":
        info.parent_id = path.parent.name
    for k in ("startTime", "lastUpdated"):
        info.seen(_ts(meta.get(k)))
    for ts in seen_ts:
        info.seen(ts)


def _read_legacy(path: Path, state: Mapping[str, Any]) -> ReadResult:
    """A whole-JSON session: always read whole (it is rewritten, not appended)."""
    result = ReadResult(offset=0)
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.problems.append(Problem(str(path), 0, f"cannot read: {exc.strerror or exc}"))
        result.state = dict(state)
        return result
    text = decode(data)
    try:
        rec = json.loads(text) if text is not None else None
    except ValueError:
        rec = None
    if not isinstance(rec, dict) or not isinstance(rec.get("sessionId"), str):
        reason = "not UTF-8" if text is None else "not a Gemini CLI session object"
        result.problems.append(Problem(str(path), 0, reason))
        result.state = dict(state)
        return result
    meta: dict[str, Any] = {}
    _merge_meta(meta, rec)
    # Replay the whole file against an empty history, then withdraw what an
    # earlier read of this file produced and is no longer there.
    hist = _History({})
    msgs = rec.get("messages")
    seen_ts: list[str] = []
    if isinstance(msgs, list):
        for m in msgs:
            if isinstance(m, dict) and isinstance(m.get("id"), str):
                msg = _parse_message(m, path, 0, result.problems)
                hist.put(m["id"], msg)
                if msg.event is not None:
                    seen_ts.append(msg.event.ts)
    sid = rec["sessionId"]
    key = session_key(AGENT, sid)
    new_state = hist.finish(result, key)
    old_ev = set(state.get("ev", [])) - set(new_state["ev"])
    old_ed = {e for v in dict(state.get("ed", {})).values() for e in v}
    old_ed -= {e for v in new_state["ed"].values() for e in v}
    result.deleted_events.extend((key, e) for e in sorted(old_ev))
    result.deleted_edits.extend((key, e) for e in sorted(old_ed))
    _session(result, path, meta, sid, seen_ts)
    new_state["meta"] = meta
    result.state = new_state
    result.offset = len(data)
    return result


# --------------------------------------------------------------------------- cwd recovery

_ROOTS_CACHE: dict[str, tuple[float, dict[str, str]]] = {}


def _known_roots(gemini_dir: Path) -> dict[str, str]:
    """Project id (slug or sha256 of the root) -> project root, for one ``.gemini`` dir.

    From ``projects.json`` (``{"projects": {"<abs path>": "<slug>"}}``) and the
    ``tmp/<slug>/.project_root`` ownership markers; ids of the older layout are
    ``sha256(project root)``, so each known root is also indexed by its hash.
    """
    reg = gemini_dir / "projects.json"
    tmp = gemini_dir / "tmp"
    try:
        stamp = max(reg.stat().st_mtime if reg.exists() else 0.0, tmp.stat().st_mtime if tmp.exists() else 0.0)
    except OSError:
        stamp = 0.0
    cached = _ROOTS_CACHE.get(str(gemini_dir))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    roots: dict[str, str] = {}
    try:
        data = json.loads(reg.read_text(encoding="utf-8"))
        projects = data.get("projects") if isinstance(data, dict) else None
        if isinstance(projects, dict):
            for root, slug in projects.items():
                if isinstance(root, str) and isinstance(slug, str):
                    roots.setdefault(slug, root)
    except (OSError, ValueError):
        pass
    try:
        markers = list(tmp.glob("*/.project_root"))
    except OSError:
        markers = []
    for marker in markers:
        try:
            owner = marker.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if owner:
            roots[marker.parent.name] = owner
    import hashlib  # here: the post-commit hook imports this module, rarely this path

    for root in list(roots.values()):
        roots.setdefault(hashlib.sha256(root.encode("utf-8")).hexdigest(), root)
    _ROOTS_CACHE[str(gemini_dir)] = (stamp, roots)
    return roots


def project_root(chat_file: Path, meta: Mapping[str, Any]) -> str | None:
    """The directory a session worked in, recovered from Gemini CLI's project registry."""
    parts = chat_file.parts
    if "chats" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("chats")
    project_dir = Path(*parts[:i])
    gemini_dir = project_dir.parent.parent
    marker = project_dir / ".project_root"
    try:
        owner = marker.read_text(encoding="utf-8").strip()
        if owner:
            return owner
    except (OSError, UnicodeDecodeError):
        pass
    roots = _known_roots(gemini_dir)
    for ident in (project_dir.name, meta.get("projectHash")):
        if isinstance(ident, str) and ident in roots:
            return roots[ident]
    dirs = meta.get("directories")
    if isinstance(dirs, list) and dirs and isinstance(dirs[0], str):
        return os.path.normpath(dirs[0])
    return None


READER = GeminiReader()
