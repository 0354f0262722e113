"""OpenCode sessions: its SQLite store first, its older JSON files as fallback.

Where: ``$OPENCODE_DATA_DIR``, else ``$XDG_DATA_HOME/opencode``, else
``~/.local/share/opencode``.

* ``opencode.db`` (and ``opencode-*.db``), written by OpenCode with drizzle
  (``packages/opencode/src/session/session.sql.ts``): tables
  ``session(id, project_id, parent_id, directory, time_created, time_updated, ...)``,
  ``message(id, session_id, time_created, time_updated, data)`` and
  ``part(id, message_id, session_id, time_created, time_updated, data)``,
  ``data`` being the message / part JSON without its ids.  Rows are updated
  in place (an assistant message gets its tokens when it completes), so
  incremental reading keeps a **watermark on ``time_updated``** in the
  reader's state (rows at the watermark are read again: upserts make that
  harmless).  The byte offset is meaningless for a database; the reader
  returns 0 so that every import asks the database what changed (one
  indexed query).  This module opens OpenCode's database read-only with
  ``sqlite3``: it is a foreign log, not gitroi's ledger.
* ``storage/message/<sessionID>/msg_*.json`` (one message each),
  ``storage/part/<messageID>/prt_*.json`` (one part each),
  ``storage/session/<projectID>/<sessionID>.json`` (``directory``): the
  layout before the database.  A file is read whole whenever it changed.
  When a database next to ``storage/`` holds the same message or part id,
  the database row wins and the file is skipped.

Usage per assistant message: ``tokens.input`` is already uncached input,
``tokens.cache.{read,write}`` the cache, ``tokens.reasoning`` the reasoning
tokens.  Whether ``tokens.output`` includes reasoning depends on the
provider; when ``tokens.total`` equals input + cache + output the reasoning
was inside output, otherwise it is added to output (OpenCode itself prices
reasoning as extra output).  ``cost`` is OpenCode's own figure, kept as the
logged cost.  Edits come from completed tool parts ``edit`` (``newString``),
``write`` (``content``), ``multiedit`` (``edits[].newString``) and
``apply_patch`` (the ``+`` lines of ``patchText``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from gitroi import timeutil
from gitroi.sessions import FileEdit, Problem, ReadResult, UsageEvent, hash_lines, session_key
from gitroi.sessions._fields import cost as _cost
from gitroi.sessions._fields import strict_count as _num

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

AGENT = "opencode"
_EDIT_LIKE = ('%"edit"%', '%"write"%', '%"multiedit"%', '%"apply_patch"%')


class OpenCodeReader:
    """Reader for OpenCode's SQLite store and its legacy JSON storage."""

    agent = AGENT

    def watermarked(self, path: Path) -> bool:
        """Is ``path`` read by row watermark (a database) rather than by byte offset?

        A database holds many sessions and grows through its ``-wal`` file:
        the importer must not judge it by size, mtime or first page, nor mark
        it out of scope because one read touched only other repositories'
        sessions.
        """
        return path.suffix == ".db"

    def roots(self, env: Mapping[str, str], home: Path) -> list[Path]:
        from gitroi.sessions import roots

        return roots.opencode(env, home)

    def discover(self, roots: Iterable[Path]) -> Iterator[Path]:
        for root in roots:
            try:
                dbs = sorted(p for p in root.glob("opencode*.db") if p.name == "opencode.db"
                             or p.name.startswith("opencode-"))
            except OSError:
                dbs = []
            yield from (p for p in dbs if p.is_file())
            storage = root / "storage"
            for sub in ("message/*/*.json", "part/*/*.json"):
                try:
                    yield from sorted(p for p in storage.glob(sub) if p.is_file())
                except OSError:
                    continue

    def read(self, path: Path, offset: int, state: Mapping[str, Any]) -> ReadResult:
        if path.suffix == ".db":
            return _read_db(path, state)
        return _read_json_file(path, state)


# --------------------------------------------------------------------------- records




def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ms(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return timeutil.from_epoch_ms(value)
    except (OverflowError, OSError, ValueError):
        return None


def usage_event(msg_id: str, data: Mapping[str, Any]) -> UsageEvent | None:
    """The usage of one assistant message, or None (user message, nothing spent yet).

    Raises ``ValueError`` when the token fields are not numbers.
    """
    if data.get("role") != "assistant":
        return None
    tokens = data.get("tokens")
    if not isinstance(tokens, dict):
        return None
    cache = _obj(tokens.get("cache"))
    inp = _num(tokens.get("input"))
    out = _num(tokens.get("output"))
    reasoning = _num(tokens.get("reasoning"))
    read = _num(cache.get("read"))
    write = _num(cache.get("write"))
    total = tokens.get("total")
    if not (reasoning and isinstance(total, (int, float)) and total == inp + out + read + write):
        out += reasoning
    cost = data.get("cost")
    logged = _cost(cost)
    if not (inp or out or read or write or logged):
        return None
    time = _obj(data.get("time"))
    ts = _ms(time.get("created")) or _ms(time.get("completed"))
    if ts is None:
        raise ValueError("assistant message without time.created")
    model = data.get("modelID")
    if not isinstance(model, str) or not model:
        m = data.get("model")
        model = m.get("modelID") if isinstance(m, dict) else None
    return UsageEvent(
        event_id=msg_id, ts=ts, model=model if isinstance(model, str) and model else "unknown",
        input=inp, output=out, cache_read=read, cache_write=write, reasoning=reasoning,
        logged_cost_usd=logged,
    )


def part_edits(part_id: str, data: Mapping[str, Any]) -> list[FileEdit]:
    """File edits of one completed edit/write/multiedit/apply_patch tool part."""
    if data.get("type") != "tool":
        return []
    tool = data.get("tool")
    st = data.get("state")
    if not isinstance(st, dict) or st.get("status") != "completed":
        return []
    inp = st.get("input")
    if not isinstance(inp, dict):
        return []
    t = _obj(st.get("time"))
    ts = _ms(t.get("end")) or _ms(t.get("start"))
    if ts is None:
        return []
    files: list[tuple[str, str]] = []
    fp = inp.get("filePath")
    if tool == "edit" and isinstance(fp, str) and isinstance(inp.get("newString"), str):
        files.append((fp, inp["newString"]))
    elif tool == "write" and isinstance(fp, str) and isinstance(inp.get("content"), str):
        files.append((fp, inp["content"]))
    elif tool == "multiedit" and isinstance(fp, str) and isinstance(inp.get("edits"), list):
        texts = [e["newString"] for e in inp["edits"] if isinstance(e, dict) and isinstance(e.get("newString"), str)]
        if texts:
            files.append((fp, "\n".join(texts)))
    elif tool == "apply_patch" and isinstance(inp.get("patchText"), str):
        files.extend(patch_additions(inp["patchText"]))
    else:
        return []
    out: list[FileEdit] = []
    for i, (file_path, text) in enumerate(files):
        if not file_path:
            continue
        edit_id = part_id if len(files) == 1 else f"{part_id}:{i}"
        out.append(FileEdit(edit_id=edit_id, ts=ts, tool=str(tool), path=file_path, line_hashes=hash_lines(text)))
    return out


def patch_additions(patch: str) -> list[tuple[str, str]]:
    """(path, added text) per file of an ``*** Begin Patch`` envelope (OpenCode's apply_patch)."""
    files: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in patch.splitlines():
        for head in ("*** Add File: ", "*** Update File: "):
            if line.startswith(head):
                current = []
                files.append((line[len(head):].strip(), current))
                break
        else:
            if line.startswith("*** Move to: ") and files:
                files[-1] = (line[len("*** Move to: "):].strip(), files[-1][1])
            elif line.startswith("*** "):
                current = None if not line.startswith("*** End of File") else current
            elif current is not None and line.startswith("+"):
                current.append(line[1:])
    return [(p, "\n".join(lines)) for p, lines in files if lines]


# --------------------------------------------------------------------------- database


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}


def _signature(path: Path) -> list[int]:
    """Size and mtime of the database and its ``-wal``: unchanged means nothing new."""
    out: list[int] = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
            out += [st.st_size, st.st_mtime_ns]
        except OSError:
            out += [0, 0]
    return out


def _read_db(path: Path, state: Mapping[str, Any]) -> ReadResult:
    result = ReadResult(offset=0)
    result.state = dict(state)
    sig = _signature(path)  # taken first: a write during the read is seen next time
    if state.get("sig") == sig:
        return result  # the post-commit hook's common case: two stats, no query
    try:
        conn = _connect(path)
    except sqlite3.Error as exc:
        result.problems.append(Problem(str(path), 0, f"cannot open OpenCode database: {exc}"))
        return result
    try:
        _read_db_rows(conn, path, state, result)
        result.state["sig"] = sig
    except sqlite3.Error as exc:
        result.problems.append(Problem(str(path), 0, f"cannot read OpenCode database: {exc}"))
    finally:
        conn.close()
    return result


def _read_db_rows(conn: sqlite3.Connection, path: Path, state: Mapping[str, Any], result: ReadResult) -> None:
    mcols = _columns(conn, "message")
    if not {"id", "session_id", "data"} <= mcols:
        result.problems.append(Problem(str(path), 0, "no message(id, session_id, data) table: not an OpenCode database?"))
        return
    mclock = "time_updated" if "time_updated" in mcols else "rowid"
    msg_wm = _Watermark(state.get("msg_wm", 0), state.get("msg_at_wm", []))
    touched: dict[str, list[str]] = {}  # session id -> timestamps seen
    fresh: list[str] = []  # messages read this time: their parts are read too
    for mid, sid, data, clock, rowid in conn.execute(
        f"SELECT id, session_id, data, {mclock}, rowid FROM message WHERE {mclock} >= ? ORDER BY {mclock}, id",
        (msg_wm.start,),
    ):
        if not msg_wm.fresh(str(mid), clock):
            continue
        fresh.append(str(mid))
        where = f"message {mid}"
        obj = _load(data, path, where, result, rowid)
        if obj is None:
            continue
        try:
            ev = usage_event(str(mid), obj)
        except ValueError as exc:
            result.problems.append(Problem(str(path), int(rowid), f"{where}: {exc}"))
            continue
        seen = touched.setdefault(str(sid), [])
        if ev is not None:
            result.events.append((session_key(AGENT, str(sid)), ev))
            seen.append(ev.ts)
        _path_cwd(obj, str(sid), result)
    # Parts through the message_id index, only for the messages just read: the
    # part table holds every tool output and is far too big to scan on each
    # import.  OpenCode completes a message's tool parts before it writes the
    # message's final tokens, so a changed part comes with a changed message.
    pcols = _columns(conn, "part")
    if {"id", "session_id", "message_id", "data"} <= pcols:
        like = " OR ".join("data LIKE ?" for _ in _EDIT_LIKE)
        for i in range(0, len(fresh), 500):
            chunk = fresh[i : i + 500]
            for pid, sid, data, rowid in conn.execute(
                f"SELECT id, session_id, data, rowid FROM part WHERE message_id IN ({','.join('?' * len(chunk))}) "
                f"AND ({like}) ORDER BY id", (*chunk, *_EDIT_LIKE),
            ):
                obj = _load(data, path, f"part {pid}", result, rowid)
                if obj is None:
                    continue
                seen = touched.setdefault(str(sid), [])
                for e in part_edits(str(pid), obj):
                    result.edits.append((session_key(AGENT, str(sid)), e))
                    seen.append(e.ts)
    scols = _columns(conn, "session")
    if touched and "id" in scols:
        want = [c for c in ("directory", "parent_id", "time_created", "time_updated") if c in scols]
        ids = sorted(touched)
        rows: dict[str, tuple[Any, ...]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = f"SELECT id{''.join(', ' + c for c in want)} FROM session WHERE id IN ({','.join('?' * len(chunk))})"
            for row in conn.execute(q, chunk):
                rows[str(row[0])] = row[1:]
        for sid, seen_ts in touched.items():
            info = result.session(AGENT, sid)
            row = rows.get(sid)
            if row is not None:
                vals = dict(zip(want, row, strict=True))
                if isinstance(vals.get("directory"), str) and vals["directory"]:
                    info.cwd = vals["directory"]
                if isinstance(vals.get("parent_id"), str) and vals["parent_id"]:
                    info.parent_id = vals["parent_id"]
                info.seen(_ms(vals.get("time_created")))
            for ts in seen_ts:
                info.seen(ts)
    result.state = {**dict(state), "msg_wm": msg_wm.clock, "msg_at_wm": sorted(msg_wm.at)}


class _Watermark:
    """The highest ``time_updated`` read so far, and the ids read at exactly that time.

    Rows are selected with ``>=`` the watermark (a row can be written in the
    same millisecond after a read); the ids already read at that millisecond
    are skipped, so a re-import with nothing new returns nothing.
    """

    def __init__(self, clock: Any, at: Any) -> None:
        self.start = int(clock or 0)
        self.clock = self.start
        self._seen_at_start = {str(x) for x in at} if isinstance(at, list) else set()
        self.at: set[str] = set(self._seen_at_start)

    def fresh(self, row_id: str, clock: Any) -> bool:
        c = int(clock or 0)
        if c == self.start and row_id in self._seen_at_start:
            return False
        if c > self.clock:
            self.clock = c
            self.at = set()
        if c == self.clock:
            self.at.add(row_id)
        return True


def _load(data: Any, path: Path, where: str, result: ReadResult, row: int = 0) -> dict[str, Any] | None:
    """Parse a row's (or file's) JSON; a problem names the row by its rowid in ``line``."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            result.problems.append(Problem(str(path), int(row), f"{where}: not UTF-8"))
            return None
    try:
        obj = json.loads(data) if isinstance(data, str) else None
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        result.problems.append(Problem(str(path), int(row), f"{where}: malformed JSON"))
        return None
    return obj


def _path_cwd(obj: Mapping[str, Any], sid: str, result: ReadResult) -> None:
    """A message's ``path.cwd`` (or ``path.root``) where the session row gives none."""
    p = obj.get("path")
    if isinstance(p, dict):
        cwd = p.get("cwd") or p.get("root")
        if isinstance(cwd, str) and cwd:
            info = result.session(AGENT, sid)
            if info.cwd is None:
                info.cwd = cwd


# --------------------------------------------------------------------------- JSON storage

_DB_IDS: dict[str, tuple[tuple[float, int], frozenset[str], frozenset[str]]] = {}


def _db_ids(data_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    """Message and part ids present in the databases of ``data_dir`` (cached per change)."""
    msgs: set[str] = set()
    parts: set[str] = set()
    try:
        dbs = sorted(data_dir.glob("opencode*.db"))
    except OSError:
        dbs = []
    for db in dbs:
        try:
            st = db.stat()
            wal = db.with_name(db.name + "-wal")
            stamp = (max(st.st_mtime, wal.stat().st_mtime if wal.exists() else 0.0), st.st_size)
        except OSError:
            continue
        hit = _DB_IDS.get(str(db))
        if hit is None or hit[0] != stamp:
            try:
                conn = _connect(db)
                try:
                    m = frozenset(str(r[0]) for r in conn.execute("SELECT id FROM message"))
                    p = frozenset(str(r[0]) for r in conn.execute("SELECT id FROM part"))
                finally:
                    conn.close()
            except sqlite3.Error:
                continue
            hit = (stamp, m, p)
            _DB_IDS[str(db)] = hit
        msgs |= hit[1]
        parts |= hit[2]
    return frozenset(msgs), frozenset(parts)


def _session_file(storage: Path, sid: str) -> dict[str, Any] | None:
    try:
        found = list(storage.glob(f"session/*/{sid}.json"))
    except OSError:
        return None
    for f in found:
        try:
            obj = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _read_json_file(path: Path, state: Mapping[str, Any]) -> ReadResult:
    """One ``storage/message`` or ``storage/part`` file, read whole (files are rewritten, not appended)."""
    result = ReadResult(offset=0, state=dict(state))
    kind = path.parent.parent.name  # "message" or "part"
    storage = path.parent.parent.parent
    try:
        raw = path.read_bytes()
    except OSError as exc:
        result.problems.append(Problem(str(path), 0, f"cannot read: {exc.strerror or exc}"))
        return result
    result.offset = len(raw)
    obj = _load(raw, path, kind, result)
    if obj is None:
        result.offset = 0  # try again once the writer has finished
        return result
    oid = obj["id"] if isinstance(obj.get("id"), str) else path.stem
    db_msgs, db_parts = _db_ids(storage.parent)
    if oid in (db_msgs if kind == "message" else db_parts):
        return result  # the database row wins
    sid = obj.get("sessionID")
    if not isinstance(sid, str) or not sid:
        sid = path.parent.name if kind == "message" else None
    if sid is None:
        result.problems.append(Problem(str(path), 0, "part without sessionID"))
        return result
    key = session_key(AGENT, sid)
    seen: list[str] = []
    if kind == "message":
        try:
            ev = usage_event(oid, obj)
        except ValueError as exc:
            result.problems.append(Problem(str(path), 0, str(exc)))
            return result
        if ev is not None:
            result.events.append((key, ev))
            seen.append(ev.ts)
        _path_cwd(obj, sid, result)
    else:
        for e in part_edits(oid, obj):
            result.edits.append((key, e))
            seen.append(e.ts)
    if not seen and key not in result.sessions:
        return result
    info = result.session(AGENT, sid)
    sess = _session_file(storage, sid)
    if sess is not None:
        if isinstance(sess.get("directory"), str) and sess["directory"]:
            info.cwd = sess["directory"]
        if isinstance(sess.get("parentID"), str) and sess["parentID"]:
            info.parent_id = sess["parentID"]
        t = sess.get("time")
        if isinstance(t, dict):
            info.seen(_ms(t.get("created")))
    for ts in seen:
        info.seen(ts)
    return result


READER = OpenCodeReader()
