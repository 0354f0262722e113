"""OpenAI Codex CLI rollouts: ``${CODEX_HOME:-~/.codex}/sessions/**/rollout-*.jsonl``.

Also ``archived_sessions/``; a rollout present in both (same file name) is
read from ``sessions/`` only: the active copy wins (formats.md 2.1).

Usage (formats.md 2.3, 2.4): ``event_msg``/``token_count`` events carry the
session's cumulative ``total_token_usage``.  Codex re-emits the same
snapshot after each ``turn_context``, so summing ``last_token_usage`` would
double count.  The reader keeps the previous total in the file's state
(``prev``, carried across incremental reads), skips a snapshot equal to it,
and records the delta.  An event's id is its cumulative total, so the same
snapshot read from another copy of the file, or again after the file was
replaced, is the same ledger row.  When the totals are missing or go
backwards (a context reset), ``last_token_usage`` is used for that event.

A forked or spawned session (two ``session_meta`` lines, ``forked_from_id``,
``parent_thread_id`` or a ``thread_spawn`` source) opens by replaying the
parent's token history, re-stamped at the second the child was created; that
history is the parent's and is counted in the parent's file.  Token counts
stamped in that second, before the child's first own count, only set the
baseline (ccusage ``detect_subagent_replay_second``).

Normalised to DESIGN.md: Codex counts cached input inside input and
reasoning inside output, so ``input = input_tokens - cached_input_tokens``,
``cache_read = cached_input_tokens``, ``output = output_tokens`` (reasoning
included), ``reasoning = reasoning_output_tokens``.  The model comes from the
latest ``turn_context`` (kept in the state), else ``info.model``, else
``gpt-5`` as ccusage does for rollouts that never name one.

Edits (formats.md 2.5): ``apply_patch`` custom tool calls, and shell calls
whose arguments carry an ``apply_patch`` heredoc.  The patch text is parsed
for ``*** Add File`` / ``*** Update File`` / ``*** Move to``; each file's
``+`` lines are hashed into one :class:`FileEdit` with id ``<call_id>#<n>``.
Relative paths are joined to the session's cwd.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from gitroi.sessions import FileEdit, Problem, ReadResult, UsageEvent, line_hash, session_key
from gitroi.sessions._fields import AbsurdValue
from gitroi.sessions._fields import canon_ts as _canon_ts
from gitroi.sessions._fields import count as _int
from gitroi.sessions._lines import read_raw_lines, walk_logs

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

AGENT = "codex"
FALLBACK_MODEL = "gpt-5"
_PREFIX = re.compile(rb'^\{"timestamp":"([^"]*)","type":"([A-Za-z_]+)"')
_KNOWN = frozenset({"session_meta", "response_item", "turn_context", "event_msg", "compacted"})
_UUID = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$")
_SHELL_TOOLS = frozenset({"shell", "exec_command", "container.exec", "local_shell", "shell_command"})






class CodexReader:
    """Reader for Codex CLI rollout files."""

    agent = AGENT

    def roots(self, env: Mapping[str, str], home: Path) -> list[Path]:
        from gitroi.sessions import roots

        return roots.codex(env, home)

    def discover(self, roots: Iterable[Path]) -> Iterator[Path]:
        yield from self.discover_scoped(roots, None, [])

    def discover_scoped(self, roots: Iterable[Path], scopes: Sequence[str] | None,
                        problems: list[Problem]) -> Iterator[Path]:
        """Rollouts under each root's ``sessions/`` then ``archived_sessions/``
        (an archived copy of an active rollout is left out)."""
        for root in roots:
            active: set[str] = set()
            for sub in ("sessions", "archived_sessions"):
                for p in walk_logs(root / sub, problems, prefix="rollout-"):
                    if sub == "sessions":
                        active.add(p.name)
                    elif p.name in active:
                        continue
                    yield p

    def peek_cwd(self, path: Path) -> str | None:
        """The cwd of the rollout's ``session_meta`` (its first line), without reading on."""
        try:
            with path.open("rb") as fh:
                first = fh.readline(4 << 20)
        except OSError:
            return None
        try:
            rec = json.loads(first)
        except ValueError:
            return None
        if isinstance(rec, dict) and rec.get("type") == "session_meta":
            cwd = (rec.get("payload") or {}).get("cwd")
            return cwd if isinstance(cwd, str) else None
        return None

    def read(self, path: Path, offset: int, state: Mapping[str, Any]) -> ReadResult:
        raws, end = read_raw_lines(path, offset)
        res = ReadResult(offset=offset, state=dict(state))
        if not raws:
            return res
        r = _Run(path, res)
        for raw in raws:
            r.line(raw)
        res.offset = end
        r.finish()
        return res



class _Run:
    """One pass over new lines of one rollout, with the file's carried state."""

    def __init__(self, path: Path, res: ReadResult) -> None:
        self.path = path
        self.spath = str(path)
        self.res = res
        st = res.state
        self.st = st
        self.lineno = int(st.get("lines", 0))
        m = _UUID.search(path.name)
        st.setdefault("sid", m.group(1) if m else path.stem)
        st.setdefault("prev", [0, 0, 0, 0])
        self.first_ts: str | None = None
        self.last_ts: str | None = None

    def problem(self, reason: str) -> None:
        self.res.problems.append(Problem(self.spath, self.lineno, reason))

    def line(self, raw: bytes) -> None:
        self.lineno += 1
        line = raw.rstrip()
        if not line:
            return
        m = _PREFIX.match(line)
        if m:
            rtype = m.group(2).decode("ascii")
            if rtype not in _KNOWN:
                self.problem(f"unknown record type {rtype!r}")
                return
            ts = m.group(1).decode("ascii", "replace")
            if self.first_ts is None:
                self.first_ts = ts
            self.last_ts = ts
            if rtype == "event_msg" and b'"token_count"' not in line:
                return
            if rtype == "response_item" and b"apply_patch" not in line:
                return
            if rtype == "compacted":
                return
        if not line.endswith(b"}"):
            self.problem("truncated or malformed JSON")
            return
        try:
            rec = json.loads(line)
        except UnicodeDecodeError:
            self.problem("not UTF-8")
            return
        except ValueError:
            self.problem("malformed JSON")
            return
        if not isinstance(rec, dict):
            self.problem("not a JSON object")
            return
        rtype = rec.get("type")
        payload = rec.get("payload")
        ts = _canon_ts(rec.get("timestamp"))
        if not isinstance(rtype, str) or rtype not in _KNOWN:
            self.problem(f"unknown record type {rtype!r}")
            return
        if not isinstance(payload, dict):
            self.problem("missing field payload")
            return
        if ts is None:
            self.problem("missing field timestamp")
            return
        if m is None:
            if self.first_ts is None:
                self.first_ts = ts
            self.last_ts = ts
        if rtype == "session_meta":
            self.session_meta(payload, ts)
        elif rtype == "turn_context":
            model = payload.get("model")
            if isinstance(model, str) and model:
                self.st["model"] = model
            cwd = payload.get("cwd")
            if isinstance(cwd, str) and cwd and not self.st.get("cwd"):
                self.st["cwd"] = cwd
        elif rtype == "event_msg" and payload.get("type") == "token_count":
            try:
                self.token_count(payload, ts)
            except AbsurdValue as exc:
                self.problem(f"absurd value: {exc}")
        elif rtype == "response_item":
            self.tool_call(payload, ts)

    def session_meta(self, p: Mapping[str, Any], ts: str) -> None:
        st = self.st
        n = int(st.get("metas", 0)) + 1
        st["metas"] = n
        pid = p.get("id")
        if n == 1:
            if isinstance(pid, str) and pid:
                st["sid"] = pid
            cwd = p.get("cwd")
            if isinstance(cwd, str) and cwd:
                st["cwd"] = cwd
            git = p.get("git")
            if isinstance(git, dict) and isinstance(git.get("branch"), str) and git["branch"]:
                st["branch"] = git["branch"]
            start = _canon_ts(p.get("timestamp")) or ts
            st["start"] = start
            parent = p.get("forked_from_id") or p.get("parent_thread_id")
            src = p.get("source")
            if isinstance(src, dict):
                spawn = (src.get("subagent") or {}) if isinstance(src.get("subagent"), dict) else {}
                tsp = spawn.get("thread_spawn")
                if isinstance(tsp, dict):
                    parent = parent or tsp.get("parent_thread_id") or "spawn"
            if parent:
                st["parent"] = parent if isinstance(parent, str) else None
                st["replay"] = ts[:19]
        elif n == 2 and "replay" not in st:
            # child + parent session_meta: a fork replaying its parent's history
            if isinstance(pid, str) and pid and pid != st.get("sid"):
                st["parent"] = pid
            st["replay"] = (st.get("start") or ts)[:19]

    def token_count(self, p: Mapping[str, Any], ts: str) -> None:
        info = p.get("info")
        if info is None:
            return  # rate-limit-only event
        if not isinstance(info, dict):
            self.problem("token_count info is not an object")
            return
        st = self.st
        tot = info.get("total_token_usage")
        last = info.get("last_token_usage")
        prev: list[int] = list(st["prev"])
        if isinstance(tot, dict):
            cur = [_int(tot.get("input_tokens")), _int(tot.get("cached_input_tokens")),
                   _int(tot.get("output_tokens")), _int(tot.get("reasoning_output_tokens"))]
            if cur == prev:
                return  # the re-emitted snapshot
            replay = st.get("replay")
            if replay:
                if ts[:19] == replay:
                    st["prev"] = cur  # the parent's history: baseline only
                    return
                st["replay"] = None
            st["prev"] = cur
            if all(c >= q for c, q in zip(cur, prev, strict=True)):
                delta = [c - q for c, q in zip(cur, prev, strict=True)]
                eid = "t" + "-".join(map(str, cur))
            elif isinstance(last, dict):
                delta = [_int(last.get("input_tokens")), _int(last.get("cached_input_tokens")),
                         _int(last.get("output_tokens")), _int(last.get("reasoning_output_tokens"))]
                eid = f"r{self.lineno}-" + "-".join(map(str, cur))
            else:
                delta = cur
                eid = f"r{self.lineno}-" + "-".join(map(str, cur))
        elif isinstance(last, dict):
            st["replay"] = None
            delta = [_int(last.get("input_tokens")), _int(last.get("cached_input_tokens")),
                     _int(last.get("output_tokens")), _int(last.get("reasoning_output_tokens"))]
            eid = f"l{self.lineno}"
        else:
            self.problem("missing field info.total_token_usage")
            return
        d_in, d_cached, d_out, d_reason = delta
        if not any(delta):
            return
        model = st.get("model") or info.get("model") or FALLBACK_MODEL
        ev = UsageEvent(
            event_id=eid, ts=ts, model=str(model),
            input=max(0, d_in - d_cached), cache_read=min(d_cached, d_in) if d_in else d_cached,
            output=d_out, reasoning=min(d_reason, d_out) if d_out else d_reason,
        )
        self.res.events.append((self.key, ev))

    def tool_call(self, p: Mapping[str, Any], ts: str) -> None:
        ptype = p.get("type")
        text: str | None = None
        name = p.get("name")
        if ptype == "custom_tool_call" and name == "apply_patch":
            inp = p.get("input")
            text = inp if isinstance(inp, str) else None
        elif ptype == "function_call" and (name == "apply_patch" or name in _SHELL_TOOLS):
            text = _patch_in_args(p.get("arguments"))
        else:
            return
        call_id = p.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            self.problem("missing field payload.call_id")
            return
        if not text or "*** Begin Patch" not in text:
            return
        cwd = self.st.get("cwd")
        for n, (path, hashes) in enumerate(parse_patch(text)):
            if cwd and not os.path.isabs(path):
                path = os.path.join(cwd, path)
            self.res.edits.append((self.key, FileEdit(
                edit_id=f"{call_id}#{n}", ts=ts, tool="apply_patch", path=path,
                line_hashes=hashes)))

    @property
    def key(self) -> str:
        return session_key(AGENT, str(self.st["sid"]))

    def finish(self) -> None:
        st = self.st
        st["lines"] = self.lineno
        touched = bool(self.res.events or self.res.edits or self.first_ts or st.get("metas"))
        if not touched:
            return
        info = self.res.session(AGENT, str(st["sid"]))
        info.cwd = st.get("cwd")
        info.git_branch = st.get("branch")
        parent = st.get("parent")
        if isinstance(parent, str) and parent != "spawn":
            info.parent_id = parent
        info.seen(st.get("start"))
        info.seen(_canon_ts(self.first_ts))
        info.seen(_canon_ts(self.last_ts))


def _patch_in_args(args: Any) -> str | None:
    """The ``*** Begin Patch`` ... ``*** End Patch`` text inside a shell call's arguments."""
    if not isinstance(args, str) or "*** Begin Patch" not in args:
        return None
    try:
        parsed = json.loads(args)
    except ValueError:
        parsed = args
    strings: list[str] = []

    def collect(v: Any) -> None:
        if isinstance(v, str):
            strings.append(v)
        elif isinstance(v, list):
            for x in v:
                collect(x)
        elif isinstance(v, dict):
            for x in v.values():
                collect(x)

    collect(parsed)
    for s in strings:
        i = s.find("*** Begin Patch")
        if i >= 0:
            j = s.find("*** End Patch", i)
            return s[i: j + len("*** End Patch")] if j >= 0 else s[i:]
    return None


def parse_patch(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """(path, hashes of its '+' lines) per added or updated file of an apply_patch text."""
    files: list[tuple[str, list[str]]] = []
    cur: list[str] | None = None
    for ln in text.splitlines():
        if ln.startswith("*** Add File: ") or ln.startswith("*** Update File: "):
            path = ln.split(": ", 1)[1].strip()
            cur = []
            files.append((path, cur))
        elif ln.startswith("*** Move to: ") and files and cur is not None:
            files[-1] = (ln.split(": ", 1)[1].strip(), cur)
        elif ln.startswith("*** Delete File: ") or ln.startswith("*** End Patch"):
            cur = None
        elif cur is not None and ln.startswith("+"):
            cur.append(line_hash(ln[1:]))
    return [(p, tuple(h)) for p, h in files if h]
