"""Aider sessions: ``.aider.chat.history.md`` in a repository's work tree.

Aider appends a Markdown transcript to ``.aider.chat.history.md`` in the
directory it runs in (the repository root, usually).  What gitroi reads of it
(``aider/io.py`` ``append_chat_history``, ``aider/coders/base_coder.py``):

* ``# aider chat started at 2026-03-04 09:15:02`` opens a chat (local time,
  no zone: read as the local time of the machine gitroi runs on).  A chat is
  a session; its id is a hash of the history file's path and that line, so
  it is stable across imports and machines' clones of the same path.
* ``> Main model: <name> with diff edit format, ...`` (older versions:
  ``> Model: <name> with ...``, ``> Models: <name> with ..., weak model ...``)
  names the model of the usage lines that follow; ``/model`` prints it again.
* ``> Tokens: 2.4k sent, 1.1k cache write, 800 cache hit, 187 received.
  Cost: $0.0071 message, $0.021 session.`` is one API exchange.  When both
  cache figures are present Aider breaks the line before ``Cost:``, and the
  second line carries no ``> `` prefix; it may therefore arrive in the next
  incremental read, which then re-emits the same event with its cost.
  Counts are printed lossily (``<1000`` exact, ``<10000`` one decimal of
  ``k``, else whole ``k``): ``2.4k`` is read as 2400.
* ``> Applied edit to <file>``: Aider applied the reply's edit to that file.
  The lines it wrote are in the reply just above, in Aider's edit formats
  (SEARCH/REPLACE blocks, unified diffs, whole files): the reader hashes the
  new lines of the blocks that name that file (see :class:`_Replies`) and
  keeps nothing else of the reply.  A file whose block it cannot find gets
  an edit with no line hashes: it ties the session to the file without
  claiming a line.

Token split: Aider's ``sent`` is the prompt plus cache writes; whether the
prompt includes cache hits depends on the provider (OpenAI-style prompts do,
Anthropic's do not).  gitroi takes ``input = sent - write - hit`` when
``sent`` is at least ``write + hit``, else ``input = sent - write``;
``cache_write = write``, ``cache_read = hit``, ``output = received``.  The
``message`` cost is kept as the logged cost.

Time: the chat history has no clock but the chat start.  Aider's input
history (``.aider.input.history`` beside it) stamps every prompt; the
usage and edits after a prompt carry that prompt's time (see
:class:`_Prompts`), else the chat's start time.

Aider's ``--analytics-log`` JSONL has exact counts but no directory or chat
id to tie an event to a repository, so it is not read.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from gitroi import timeutil
from gitroi.sessions import FileEdit, Problem, ReadResult, UsageEvent, line_hash, session_key, sha1
from gitroi.sessions._fields import MAX_COST, MAX_COUNT, AbsurdValue
from gitroi.sessions._lines import decode, read_whole_lines

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

AGENT = "aider"
HISTORY_NAME = ".aider.chat.history.md"
INPUT_HISTORY_NAME = ".aider.input.history"
ENV_VAR = "GITROI_AIDER_HISTORY"

_NUM = r"[\d,]+(?:\.\d+)?k?"
_START = re.compile(r"^# aider chat started at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s*$")
_MODEL = re.compile(r"^> (?:Main model|Model|Models): (\S+)")
_TOKENS = re.compile(
    rf"^> Tokens: (?P<sent>{_NUM}) sent(?:, (?P<write>{_NUM}) cache write)?(?:, (?P<hit>{_NUM}) cache hit)?"
    rf", (?P<recv>{_NUM}) received\.(?P<rest>.*)$"
)
_COST = re.compile(r"^\s*(?:> )?Cost: \$(?P<msg>[\d.]+) (?:message|request), \$(?P<sess>[\d.]+) session\.?\s*$")
_APPLIED = re.compile(r"^> Applied edit to (.+?)\s*$")


def _money(text: str) -> float | None:
    """A ``Cost: $x`` amount, or None when it is not one (``1.2.3``, absurdly large)."""
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) and 0 <= v <= MAX_COST else None


def parse_count(text: str) -> int:
    """Aider's formatted token count: ``187``, ``1,234``, ``2.4k`` (2400), ``12k`` (12000)."""
    t = text.replace(",", "")
    try:
        n = float(t[:-1]) * 1000 if t.endswith("k") else float(t)
    except ValueError as exc:
        raise AbsurdValue(f"token count {text[:30]!r} is not a number") from exc
    if not (math.isfinite(n) and 0 <= n <= MAX_COUNT):
        raise AbsurdValue(f"token count {text[:30]!r} is above the cap")
    return round(n)


def split_tokens(sent: int, write: int, hit: int) -> int:
    """Uncached input from Aider's ``sent`` (see the module docstring)."""
    if sent >= write + hit:
        return sent - write - hit
    return max(0, sent - write)


def chat_start(local: str) -> str:
    """``2026-03-04 09:15:02`` in this machine's local time, as a canonical UTC string."""
    return timeutil.iso(datetime.strptime(local, "%Y-%m-%d %H:%M:%S").astimezone())


def session_id(path: Path, start_line: str) -> str:
    key = f"{os.path.abspath(path)}\n{start_line}"
    return str(sha1(key.encode("utf-8", "surrogateescape")).hexdigest())[:16]


class AiderReader:
    """Reader for Aider's Markdown chat history."""

    agent = AGENT

    def roots(self, env: Mapping[str, str], home: Path) -> list[Path]:
        """Only the explicit ``GITROI_AIDER_HISTORY`` list (files or directories, ``:``-separated).

        Aider keeps no central log: the importer adds the work trees of the
        repository being imported (``scoped_roots``).
        """
        return [Path(p).expanduser() for p in (env.get(ENV_VAR) or "").split(os.pathsep) if p.strip()]

    def scoped_roots(self, worktrees: Iterable[str]) -> list[Path]:
        """Where Aider writes its history for these directories.

        Each given directory, and its parents up to the work tree's top (the
        first one holding ``.git``): the importer passes the repository's
        work trees, or the current directory when it has no repository.
        """
        out: list[Path] = []
        for w in worktrees:
            d = Path(w)
            chain = [d]
            for cand in (d, *d.parents):
                if cand != d:
                    chain.append(cand)
                try:
                    if (cand / ".git").exists():
                        break
                except OSError:
                    chain = [d]
                    break
            else:
                chain = [d]  # not inside a work tree: only the directory itself
            out.extend(c for c in chain if c not in out)
        return out

    def discover(self, roots: Iterable[Path]) -> Iterator[Path]:
        seen: set[Path] = set()
        for root in roots:
            cand = root / HISTORY_NAME if root.is_dir() else root
            try:
                ok = cand.is_file()
            except OSError:
                ok = False
            if ok and cand not in seen:
                seen.add(cand)
                yield cand

    def peek_cwd(self, path: Path) -> str | None:
        """Aider runs where its history file is."""
        return str(path.parent.resolve())

    def read(self, path: Path, offset: int, state: Mapping[str, Any]) -> ReadResult:
        result = ReadResult(offset=offset, state=dict(state))
        try:
            lines, end = read_whole_lines(path, offset, int(state.get("line", 0)) + 1)
        except OSError as exc:
            result.problems.append(Problem(str(path), 0, f"cannot read: {exc.strerror or exc}"))
            return result
        cwd = str(path.parent.resolve())
        sid: str | None = state.get("sid")
        start: str | None = state.get("start")
        model: str | None = state.get("model")
        pending: dict[str, Any] | None = state.get("pending")
        events: dict[str, UsageEvent] = {}
        order: list[tuple[str, str]] = []  # (session id, event id) in file order
        edits: list[tuple[str, FileEdit]] = []

        def touch(s: str, st: str) -> None:
            info = result.session(AGENT, s)
            info.cwd = cwd
            info.seen(st)

        if sid and start and lines:
            touch(sid, start)
        scan = _Replies(state.get("scan") or {})
        prompts = _Prompts(path.parent / INPUT_HISTORY_NAME, state)
        for line in lines:
            text = decode(line.raw)
            if text is None:
                result.problems.append(Problem(str(path), line.number, "not UTF-8"))
                pending = None
                continue
            if text.startswith("#### "):
                scan.reset()  # a user prompt: the previous reply is over
                prompts.add_line(text[5:])
                continue
            if prompts.pending and start is not None and sid is not None:
                ts = prompts.finish(start)
                if ts is not None:
                    touch(sid, ts)
            if pending is not None:
                m = _COST.match(text)
                if m:
                    ev = _event_from(pending, _money(m.group("msg")))
                    events[ev.event_id] = ev
                    if (pending["sid"], ev.event_id) not in order:
                        order.append((pending["sid"], ev.event_id))
                    pending = None
                    continue
                pending = None
            m = _START.match(text)
            if m:
                scan.reset()
                try:
                    start = chat_start(m.group(1))
                except (ValueError, OverflowError):
                    result.problems.append(Problem(str(path), line.number, "bad chat start time"))
                    sid = start = None
                    continue
                sid = session_id(path, m.group(1))
                model = None
                prompts.new_chat()
                touch(sid, start)
                continue
            # Aider's own output lines end in two spaces (a Markdown line break); a "> "
            # line inside a code block of the reply is code.
            if not text.startswith("> ") or (scan.fence and not text.endswith("  ")):
                scan.feed(text)
                continue
            scan.end_reply()
            if text.startswith("> Tokens:"):
                if sid is None or start is None:
                    result.problems.append(Problem(str(path), line.number, "usage line before any chat start"))
                    continue
                t = _TOKENS.match(text)
                if t is None:
                    result.problems.append(Problem(str(path), line.number, "unrecognised Tokens line"))
                    continue
                try:
                    sent = parse_count(t.group("sent"))
                    write = parse_count(t.group("write")) if t.group("write") else 0
                    hit = parse_count(t.group("hit")) if t.group("hit") else 0
                    recv = parse_count(t.group("recv"))
                except AbsurdValue as exc:
                    result.problems.append(Problem(str(path), line.number, f"absurd value: {exc}"))
                    continue
                fields = {
                    "sid": sid, "id": f"o{line.start}", "ts": prompts.ts or start, "model": model or "unknown",
                    "input": split_tokens(sent, write, hit), "cache_write": write, "cache_read": hit,
                    "output": recv,
                }
                rest = t.group("rest").strip()
                cost: float | None = None
                if rest:
                    c = _COST.match(rest)
                    cost = _money(c.group("msg")) if c is not None else None
                    if cost is None:
                        result.problems.append(Problem(str(path), line.number, "unrecognised Cost part"))
                ev = _event_from(fields, cost)
                events[ev.event_id] = ev
                order.append((sid, ev.event_id))
                if cost is None and not rest:
                    pending = fields  # the cost may follow on its own line
                continue
            mm = _MODEL.match(text)
            if mm:
                model = mm.group(1)
                continue
            ap = _APPLIED.match(text)
            if ap and sid is not None and start is not None:
                edits.append((session_key(AGENT, sid), FileEdit(
                    edit_id=f"o{line.start}", ts=prompts.ts or start, tool="aider", path=ap.group(1),
                    line_hashes=scan.take(ap.group(1)))))
        for s, eid in order:
            result.events.append((session_key(AGENT, s), events[eid]))
        result.edits.extend(edits)
        result.offset = end
        result.state = {"line": int(state.get("line", 0)) + len(lines), "sid": sid, "start": start,
                        "model": model, "pending": pending, "scan": scan.state(), **prompts.state()}
        return result


_INPUTS_CACHE: dict[str, tuple[tuple[float, int], list[tuple[str, str]]]] = {}


def _prompt_key(line_hashes: Iterable[str]) -> str:
    return str(sha1("\n".join(line_hashes).encode("ascii")).hexdigest())


def input_history(path: Path) -> list[tuple[str, str]]:
    """(time, prompt key) of every entry of Aider's ``.aider.input.history``, in order.

    prompt_toolkit's ``FileHistory`` writes ``# <local datetime>`` then one
    ``+<line>`` per line of the input.  The key is a hash of the entry's line
    hashes, compared with the ``#### `` lines of the chat; no text is kept.
    """
    try:
        st = path.stat()
    except OSError:
        return []
    stamp = (st.st_mtime, st.st_size)
    hit = _INPUTS_CACHE.get(str(path))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    out: list[tuple[str, str]] = []
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    when: str | None = None
    cur: list[str] = []

    def flush() -> None:
        if when is not None and cur:
            out.append((when, _prompt_key(cur)))

    for b in raw.split(b"\n"):
        line = b.decode("utf-8", "replace")
        if line.startswith("# "):
            flush()
            cur = []
            try:
                when = timeutil.iso(datetime.fromisoformat(line[2:].strip()).astimezone())
            except (ValueError, OverflowError):
                when = None
        elif line.startswith("+"):
            cur.append(line_hash(line[1:]))
    flush()
    _INPUTS_CACHE[str(path)] = (stamp, out)
    return out


class _Prompts:
    """The time of the user prompt the current exchange answers.

    Aider's chat history has no clock but the chat start; its input history
    (``.aider.input.history``, beside it) stamps every prompt.  Each ``#### ``
    block of the chat is matched, by a hash of its lines, with the next
    input-history entry holding the same lines at or after the chat start,
    and the usage and edits that follow carry that time, so the tokens of a
    long chat split between the commits made during it.  Unmatched prompts
    keep the previous time.
    """

    SLACK_S = 5.0

    def __init__(self, input_path: Path, state: Mapping[str, Any]) -> None:
        self.input_path = input_path
        self.cursor = int(state.get("cursor", 0))
        self.buf: list[str] = list(state.get("pbuf", []))
        self.ts: str | None = state.get("pts")
        self._inputs: list[tuple[str, str]] | None = None

    @property
    def pending(self) -> bool:
        return bool(self.buf)

    def add_line(self, text: str) -> None:
        self.buf.append(line_hash(text))

    def new_chat(self) -> None:
        self.buf = []
        self.ts = None

    def finish(self, chat_start: str) -> str | None:
        """Match the finished prompt block; return its time when found."""
        key = _prompt_key(self.buf)
        self.buf = []
        if self._inputs is None:
            self._inputs = input_history(self.input_path)
        floor = timeutil.iso(timeutil.parse(chat_start) - timedelta(seconds=self.SLACK_S))
        for i in range(self.cursor, len(self._inputs)):
            when, k = self._inputs[i]
            if k == key and when >= floor:
                self.cursor = i + 1
                if self.ts is None or when > self.ts:
                    self.ts = when
                return self.ts
        return None

    def state(self) -> dict[str, Any]:
        return {"cursor": self.cursor, "pbuf": self.buf, "pts": self.ts}


class _Replies:
    """Finds what the model's replies wrote to each file, keeping only line hashes.

    Aider applies the edits of a reply and then prints ``> Applied edit to
    <file>``.  The reply holds the edit in Aider's edit formats:

    * ``diff``: ``<file>`` line, a fence, ``<<<<<<< SEARCH`` … ``=======``
      <new lines> ``>>>>>>> REPLACE``, fence close (``diff-fenced`` puts the
      file name as the first line inside the fence);
    * ``udiff``: a fence with ``--- <file>`` / ``+++ <file>`` and ``+`` lines;
    * ``whole``: ``<file>`` line, a fence with the whole new content.

    The scanner sees every reply line but keeps only SHA-1s (of the written
    lines, and of the candidate file names, compared by hash with the
    ``Applied edit`` line), so nothing of the reply reaches the state or the
    ledger.  Its state carries over incremental reads.
    """

    def __init__(self, st: Mapping[str, Any]) -> None:
        self.fence = bool(st.get("fence"))
        self.hdr: str | None = st.get("hdr")        # the line before the open fence
        self.first: str | None = st.get("first")    # the first line inside it
        self.prev: str | None = st.get("prev")      # the last non-blank line outside fences
        self.sr: str | None = st.get("sr")          # None | "search" | "replace"
        self.sr_file: str | None = st.get("srf")
        self.ud: str | None = st.get("ud")          # the file of a udiff hunk
        self.clean = bool(st.get("clean", True))    # the open fence has no edit markers (yet)
        self.plain: list[str] = list(st.get("plain", []))
        self.cur: list[str] = list(st.get("cur", []))
        self.blocks: dict[str, list[str]] = {k: list(v) for k, v in dict(st.get("blocks", {})).items()}

    def state(self) -> dict[str, Any]:
        return {"fence": self.fence, "hdr": self.hdr, "first": self.first, "prev": self.prev,
                "sr": self.sr, "srf": self.sr_file, "ud": self.ud, "clean": self.clean,
                "plain": self.plain, "cur": self.cur, "blocks": self.blocks}

    def reset(self) -> None:
        self.__init__({})  # type: ignore[misc]

    def end_reply(self) -> None:
        """Aider printed something: any block left open by the reply is over (keep what was found)."""
        blocks = self.blocks
        self.reset()
        self.blocks = blocks

    def take(self, file: str) -> tuple[str, ...]:
        return tuple(self.blocks.pop(line_hash(file), []))

    def _add(self, key: str | None, hashes: list[str]) -> None:
        if key is not None and hashes:
            self.blocks.setdefault(key, []).extend(hashes)

    def feed(self, text: str) -> None:
        s = text.strip()
        h = line_hash(text)
        if s.startswith("<<<<<<<") and s.endswith("SEARCH"):
            self.sr = "search"
            self.clean = False
            if not self.fence:
                self.sr_file = self.prev
            elif self.first is not None and self.first != h:
                self.sr_file = self.first  # diff-fenced: the name is inside the fence
            else:
                self.sr_file = self.hdr
            self.cur = []
            return
        if self.sr == "search":
            if s.startswith("=======") and s.strip("=") == "":
                self.sr = "replace"
            return
        if self.sr == "replace":
            if s.startswith(">>>>>>>") and s.endswith("REPLACE"):
                self._add(self.sr_file, self.cur)
                self.cur = []
                self.sr = None
            else:
                self.cur.append(h)
            return
        if s.startswith("```"):
            if not self.fence:
                self.fence, self.hdr, self.first, self.plain, self.clean, self.ud = True, self.prev, None, [], True, None
            else:
                if self.clean:
                    self.blocks[self.hdr or ""] = self.plain  # whole: the block is the file
                    self.blocks.pop("", None)
                self.fence, self.plain, self.ud = False, [], None
            return
        if not self.fence:
            if s:
                self.prev = h
            return
        if self.first is None:
            self.first = h
        if text.startswith("+++ "):
            self.ud = line_hash(text[4:])
            self.clean = False
        elif text.startswith("--- ") or text.startswith("@@"):
            self.clean = self.clean and not text.startswith("--- ")
        elif self.ud is not None and text.startswith("+"):
            self._add(self.ud, [line_hash(text[1:])])
        elif self.clean:
            self.plain.append(h)


def _event_from(fields: Mapping[str, Any], cost: float | None) -> UsageEvent:
    return UsageEvent(
        event_id=str(fields["id"]), ts=str(fields["ts"]), model=str(fields["model"]),
        input=int(fields["input"]), output=int(fields["output"]),
        cache_write=int(fields["cache_write"]), cache_read=int(fields["cache_read"]),
        logged_cost_usd=cost,
    )


READER = AiderReader()
