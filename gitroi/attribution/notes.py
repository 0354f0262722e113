"""The gitroi note: a versioned JSON document on each attributed commit under ``refs/notes/gitroi``.

Notes are the source of truth (the ledger is derived from them), so this module
is deliberately strict about what it writes and lenient about what it reads:
it always writes ``"schema": "gitroi.note/1"`` with a fixed key order, and it
reads any ``gitroi.note/1.x`` (a newer *minor* version only adds keys, which
are kept in :attr:`Note.extra` and written back untouched), refusing a newer
*major* version with an error that names the commit.

Two notes for one commit (two machines, a sync, an amend carried over) are
combined by :func:`merge`, never overwritten: see ``docs/notes.md``.

Reads and writes go through the git CLI, not pygit2: a ``git notes show`` is
about 3 ms while importing pygit2 alone costs ~130 ms, and the post-commit hook
must stay far under 100 ms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from gitroi import ranges as rng
from gitroi.attribution import notecheck as nc
from gitroi.errors import GitroiError
from gitroi.git import Repo, run_git

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

NOTES_REF = "refs/notes/gitroi"
SCHEMA = "gitroi.note/1"
SCHEMA_MAJOR = 1
ATTRIBUTIONS = ("line", "commit", "manual")
# Merge order: the stronger kind of evidence wins (line-level from a transcript,
# then a person's explicit statement, then markers in the commit message).
_STRENGTH = {"line": 3, "manual": 2, "commit": 1}
TOKEN_FIELDS = ("input", "output", "cache_write", "cache_read", "reasoning")
_SCHEMA_RE = re.compile(r"^gitroi\.note/(\d+)(?:\.(\d+))?$")

Range = rng.Range


def _source() -> str:
    from gitroi import __version__

    return f"gitroi {__version__}"


def _add_cost(a: float | None, b: float | None) -> float | None:
    """Costs add up; an unknown (unpriced) part makes the sum unknown, never a silent zero."""
    if a is None or b is None:
        return None
    return round(a + b, 10)


def normalise_ranges(ranges: Iterable[Sequence[int]]) -> tuple[Range, ...]:
    """Sort, and merge overlapping or adjacent 1-based inclusive ranges (:func:`gitroi.ranges.normalise`)."""
    return rng.normalise(ranges)


def lines_to_ranges(lines: Iterable[int]) -> tuple[Range, ...]:
    """Line numbers to the shortest list of inclusive ranges."""
    return normalise_ranges((n, n) for n in lines)


def count_lines(ranges: Mapping[str, Sequence[Range]]) -> int:
    return sum(b - a + 1 for rs in ranges.values() for a, b in rs)


@dataclass(frozen=True)
class SessionShare:
    """The slice of one agent session's usage given to one commit (``since`` < ts <= ``until``).

    ``models`` maps a model name to its counts: input, output, cache_write,
    cache_read, reasoning, responses and cost_usd (None when unpriced).
    """

    agent: str
    session_id: str
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    reasoning: int = 0
    cost_usd: float | None = None
    since: str | None = None
    until: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.agent, self.session_id)

    @property
    def tokens(self) -> int:
        """DESIGN.md tokens: uncached input + cache write + cache read + output."""
        return self.input + self.cache_write + self.cache_read + self.output

    @classmethod
    def from_models(cls, agent: str, session_id: str, models: Mapping[str, Mapping[str, Any]],
                    *, since: str | None, until: str | None) -> SessionShare:
        """Build a share whose totals are the sums of its per-model counts."""
        totals = {f: sum(int(m.get(f, 0) or 0) for m in models.values()) for f in TOKEN_FIELDS}
        cost: float | None = 0.0
        for m in models.values():
            cost = _add_cost(cost, m.get("cost_usd"))
        if not models:
            cost = None
        return cls(agent=agent, session_id=session_id,
                   models={k: dict(v) for k, v in sorted(models.items())},
                   cost_usd=cost, since=since, until=until, **totals)

    def to_dict(self) -> dict[str, Any]:
        models: dict[str, dict[str, Any]] = {}
        for name in sorted(self.models):
            m = self.models[name]
            entry: dict[str, Any] = {f: int(m.get(f, 0) or 0) for f in (*TOKEN_FIELDS, "responses")}
            entry["cost_usd"] = m.get("cost_usd")
            models[name] = entry
        return {
            "agent": self.agent, "session_id": self.session_id, "models": models,
            "input": self.input, "output": self.output, "cache_write": self.cache_write,
            "cache_read": self.cache_read, "reasoning": self.reasoning,
            "tokens": self.tokens, "cost_usd": self.cost_usd,
            "since": self.since, "until": self.until,
        }

    @classmethod
    def checked(cls, d: Any, where: str) -> SessionShare:
        """A session of an untrusted note, every field checked (NoteInvalid names the first bad one)."""
        if not isinstance(d, dict):
            raise nc.NoteInvalid(where, "is not an object")
        models: dict[str, dict[str, Any]] = {}
        for name, m in nc.mapping(d.get("models"), f"{where}.models").items():
            f = f"{where}.models[{json.dumps(name)[:60]}]"
            nc.text(name, f)
            if not isinstance(m, dict):
                raise nc.NoteInvalid(f, "is not an object")
            for k, v in m.items():  # every value checked; a model's entry keeps its counts only
                nc.plain(v, f"{f}.{k}")  # (what to_dict writes: an unknown key did not round-trip)
            entry: dict[str, Any] = {}
            for k in (*TOKEN_FIELDS, "responses"):
                entry[k] = nc.count(m.get(k), f"{f}.{k}")
            entry["cost_usd"] = nc.cost(m.get("cost_usd"), f"{f}.cost_usd")
            models[name] = entry
        nc.count(d.get("tokens"), f"{where}.tokens", cap=nc.MAX_NOTE_TOKENS)  # derived; checked
        return cls(
            agent=nc.text(d.get("agent"), f"{where}.agent"),
            session_id=nc.text(d.get("session_id"), f"{where}.session_id"),
            models={k: models[k] for k in sorted(models)},
            cost_usd=nc.cost(d.get("cost_usd"), f"{where}.cost_usd"),
            since=nc.when(d.get("since"), f"{where}.since"),
            until=nc.when(d.get("until"), f"{where}.until"),
            **{f: nc.count(d.get(f), f"{where}.{f}") for f in TOKEN_FIELDS},
        )


@dataclass(frozen=True)
class Note:
    """One commit's attribution.  Totals (tokens, cost, ai_lines) are derived, never stored apart."""

    attribution: str
    agents: tuple[str, ...] = ()
    sessions: tuple[SessionShare, ...] = ()
    lines_added: int = 0
    ai_ranges: Mapping[str, tuple[Range, ...]] = field(default_factory=dict)
    markers: tuple[str, ...] = ()
    source: str = ""
    minor: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.sessions)

    @property
    def cost_usd(self) -> float | None:
        """Sum of the sessions' costs; None with no session or when any part is unpriced."""
        if not self.sessions:
            return None
        cost: float | None = 0.0
        for s in self.sessions:
            cost = _add_cost(cost, s.cost_usd)
        return cost

    @property
    def ai_lines(self) -> int:
        return count_lines(self.ai_ranges)

    @classmethod
    def build(cls, *, attribution: str, agents: Iterable[str] = (),
              sessions: Iterable[SessionShare] = (), lines_added: int = 0,
              ai_ranges: Mapping[str, Iterable[Sequence[int]]] | None = None,
              markers: Iterable[str] = (), source: str | None = None) -> Note:
        """A normalised note: agents include every session's agent, all lists sorted."""
        if attribution not in ATTRIBUTIONS:
            raise ValueError(f"attribution must be one of {ATTRIBUTIONS}, not {attribution!r}")
        sess = tuple(sorted(sessions, key=lambda s: s.key))
        ags = set(agents) | {s.agent for s in sess}
        ranges = {p: normalise_ranges(rs) for p, rs in (ai_ranges or {}).items()}
        return cls(attribution=attribution, agents=tuple(sorted(ags)), sessions=sess,
                   lines_added=lines_added,
                   ai_ranges={p: ranges[p] for p in sorted(ranges) if ranges[p]},
                   markers=tuple(sorted(set(markers))), source=source or _source())

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema": SCHEMA,
            "attribution": self.attribution,
            "agents": list(self.agents),
            "sessions": [s.to_dict() for s in self.sessions],
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "lines_added": self.lines_added,
            "ai_lines": self.ai_lines,
            "ai_ranges": {p: [list(r) for r in rs] for p, rs in self.ai_ranges.items()},
            "markers": list(self.markers),
            "source": self.source,
        }
        for k in sorted(self.extra):
            d.setdefault(k, self.extra[k])
        return d

    def dumps(self) -> str:
        """Deterministic text: same note, same bytes, same blob id (so equal notes never conflict)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


_KNOWN = {"schema", "attribution", "agents", "sessions", "tokens", "cost_usd", "lines_added",
          "ai_lines", "ai_ranges", "markers", "source"}


def parse(text: str | bytes, *, commit: str = "?") -> Note:
    """Parse a note, checking every rule of :mod:`gitroi.attribution.notecheck` first.

    A note that breaks one raises :class:`~gitroi.attribution.notecheck.InvalidNote`
    (a GitroiError) naming ``commit``, the field and why, with the ``git notes``
    command to inspect it; nothing else escapes, whatever the bytes.
    """
    where = f"the gitroi note on commit {commit[:12]}"
    hint = nc.inspect_hint(commit)
    try:
        d = nc.load(text)
    except nc.NoteInvalid as exc:
        raise nc.InvalidNote(f"{where} is {exc.why}", commit=commit, field=exc.field,
                             why=exc.why, hint=hint) from None
    if not isinstance(d, dict):
        raise nc.InvalidNote(f"{where} is not a JSON object", commit=commit,
                             why="not a JSON object", hint=hint)
    schema = d.get("schema")
    m = _SCHEMA_RE.match(schema) if isinstance(schema, str) else None
    if m is None:
        raise nc.InvalidNote(f"{where} has an unknown schema {str(schema)[:60]!r} "
                             f"(expected {SCHEMA!r})", commit=commit, field="schema",
                             why="unknown schema", hint=hint)
    if int(m.group(1)) != SCHEMA_MAJOR:
        raise nc.InvalidNote(
            f"{where} uses schema {schema}, newer than this gitroi reads ({SCHEMA})",
            commit=commit, field="schema", why="newer major version",
            hint="upgrade gitroi (pip install -U gitroi)")
    try:
        return _from_dict(d, minor=int(m.group(2) or 0))
    except nc.NoteInvalid as exc:
        raise nc.InvalidNote(f"{where} is invalid: {exc}", commit=commit, field=exc.field,
                             why=exc.why, hint=hint) from None


def _from_dict(d: Mapping[str, Any], *, minor: int) -> Note:
    """A checked note; raises NoteInvalid naming the first field that breaks a rule."""
    attribution = d.get("attribution")
    if attribution not in ATTRIBUTIONS:
        raise nc.NoteInvalid("attribution", f"unknown attribution {str(attribution)[:40]!r} "
                                            f"(one of {', '.join(ATTRIBUTIONS)})")
    ranges: dict[str, tuple[Range, ...]] = {}
    for p, rs in nc.mapping(d.get("ai_ranges"), "ai_ranges").items():
        ranges[nc.path(p, f"ai_ranges[{json.dumps(p)[:60]}]")] = \
            nc.ranges(rs, f"ai_ranges[{json.dumps(p)[:60]}]")
    raw_sessions = d.get("sessions")
    if raw_sessions is not None and not isinstance(raw_sessions, list):
        raise nc.NoteInvalid("sessions", "is not a list")
    by_key: dict[tuple[str, str], SessionShare] = {}
    for i, raw in enumerate(raw_sessions or []):
        s = SessionShare.checked(raw, f"sessions[{i}]")
        cur = by_key.get(s.key)
        if cur is None or _session_rank(s) > _session_rank(cur):
            by_key[s.key] = s
    sessions = tuple(by_key[k] for k in sorted(by_key))
    if sum(s.tokens for s in sessions) > nc.MAX_NOTE_TOKENS:
        raise nc.NoteInvalid("sessions", f"more than {nc.MAX_NOTE_TOKENS:,} tokens in all")
    # derived totals are recomputed, but a note carrying NaN or -5 there is not a note to trust
    nc.count(d.get("tokens"), "tokens", cap=nc.MAX_NOTE_TOKENS)
    nc.count(d.get("ai_lines"), "ai_lines", cap=nc.MAX_COUNT)
    nc.cost(d.get("cost_usd"), "cost_usd")
    agents = set(nc.strings(d.get("agents"), "agents")) | {s.agent for s in sessions}
    return Note(
        attribution=str(attribution),
        agents=tuple(sorted(agents)),
        sessions=sessions,
        lines_added=nc.count(d.get("lines_added"), "lines_added"),
        ai_ranges={p: ranges[p] for p in sorted(ranges) if ranges[p]},
        markers=tuple(sorted(set(nc.strings(d.get("markers"), "markers")))),
        source=nc.text(d.get("source") or "", "source", empty=True),
        minor=minor,
        extra={k: nc.plain(v, k) for k, v in d.items() if k not in _KNOWN},
    )


def _session_rank(s: SessionShare) -> tuple[int, str, str]:
    """Which of two slices of one session a merge keeps: more tokens, then the later ``until``,
    then (only to be deterministic) the larger text."""
    return (s.tokens, s.until or "", json.dumps(s.to_dict(), sort_keys=True))


def merge(a: Note, b: Note) -> Note:
    """Combine two notes for the same commit; never loses a session or a range.

    * sessions: union by (agent, session_id); the same session in both keeps
      the larger slice (more tokens, then the later ``until``), never a sum,
      because both machines saw the same log;
    * attribution: the stronger kind, line > manual > commit; ranges are the
      union of the notes of that strongest kind (a commit-level note's
      "every added line" is an inference the line-level evidence replaces);
    * agents, markers: union; lines_added: the larger; source: the larger text;
      unknown keys: both kept, and where both notes have one, the value whose
      canonical JSON sorts last (so ``merge(a, b)`` and ``merge(b, a)`` are one text).
    """
    sessions: dict[tuple[str, str], SessionShare] = {s.key: s for s in a.sessions}
    for s in b.sessions:
        cur = sessions.get(s.key)
        if cur is None or _session_rank(s) > _session_rank(cur):
            sessions[s.key] = s
    sa, sb = _STRENGTH[a.attribution], _STRENGTH[b.attribution]
    attribution = a.attribution if sa >= sb else b.attribution
    ranges: dict[str, list[Range]] = {}
    for n in (a, b):
        if n.attribution == attribution:
            for p, rs in n.ai_ranges.items():
                ranges.setdefault(p, []).extend(rs)
    merged = Note.build(
        attribution=attribution, agents=set(a.agents) | set(b.agents),
        sessions=sessions.values(), lines_added=max(a.lines_added, b.lines_added),
        ai_ranges=ranges, markers=set(a.markers) | set(b.markers))
    extra = dict(a.extra)
    for k, v in b.extra.items():
        if k not in extra or _canon(v) > _canon(extra[k]):
            extra[k] = v
    return replace(merged, source=max(a.source, b.source), minor=max(a.minor, b.minor),
                   extra=extra)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def clip(note: Note, added: Mapping[str, Sequence[Range]], lines_added: int | None
         ) -> tuple[Note, str | None]:
    """``note`` with its ranges cut to the lines the commit added and git's ``lines_added``.

    Returns the note (the same object when nothing changed) and, when
    something was cut, one sentence saying what (without the commit: the
    caller names it).  ``lines_added`` None: git's count is not known (a
    partial clone left files out), the note's stands.  Cost: the number of
    ranges, whatever they claim.
    """
    kept = rng.intersect_paths(note.ai_ranges, added)
    said: list[str] = []
    if kept != dict(note.ai_ranges):
        claimed = note.ai_lines
        now = sum(rng.count(rs) for rs in kept.values())
        outside = sorted(p for p in note.ai_ranges if kept.get(p) != tuple(note.ai_ranges[p]))
        where = ", ".join(outside[:3]) + (f" (+{len(outside) - 3} more)" if len(outside) > 3 else "")
        said.append(f"claims {claimed:,} AI line(s), {claimed - now:,} of them outside the "
                    f"lines the commit added ({where}); counted {now:,}")
    if lines_added is None:
        lines_added = note.lines_added
    elif note.lines_added != lines_added:
        from gitroi.wording import plural

        said.append(f"says {plural(note.lines_added, 'line', number=f'{note.lines_added:,}')} added "
                    f"where git counts {lines_added:,}")
    if not said:
        return note, None
    return replace(note, ai_ranges=kept, lines_added=lines_added), "; ".join(said)


# --- git I/O -------------------------------------------------------------------------------


def read_note(repo: Repo, sha: str, *, ref: str = NOTES_REF) -> Note | None:
    """The note on ``sha``, or None; GitroiError (naming the commit) when it is corrupt."""
    proc = repo.git("notes", f"--ref={ref}", "show", sha, check=False)
    if not proc:
        return None
    return parse(proc, commit=sha)


def read_note_text(repo: Repo, sha: str, *, ref: str = NOTES_REF) -> bytes | None:
    out = repo.git("notes", f"--ref={ref}", "show", sha, check=False)
    return out or None


_UNREAD = b"\x00unread"


def write_note(repo: Repo, sha: str, note: Note, *, ref: str = NOTES_REF,
               replace_existing: bool = False, existing: bytes | None = _UNREAD) -> Note:
    """Attach ``note`` to ``sha``, merged with any note already there; returns what was written.

    A corrupt existing note is not silently dropped: the GitroiError from
    :func:`parse` propagates (the hook turns it into a warning).
    ``replace_existing`` is for tools that rewrite notes on purpose (post-rewrite
    re-mapping), never for attribution.  ``existing`` is the text of the note
    already on ``sha`` (None: there is none) when the caller has just read it
    (:func:`gitroi.attribution.commits.read_commit_and_note`), saving a ``git notes show``.
    """
    final = note
    if not replace_existing:
        if existing is _UNREAD:
            old = read_note(repo, sha, ref=ref)
        else:
            old = parse(existing, commit=sha) if existing else None
        if old is not None:
            final = merge(old, note)
    _write_raw(repo, sha, final.dumps(), ref=ref)
    return final


def _write_raw(repo: Repo, sha: str, text: str, *, ref: str = NOTES_REF) -> None:
    repo.git("notes", f"--ref={ref}", "add", "-f", "-F", "-", sha, input=text.encode("utf-8"))


def list_notes(repo: Repo, *, ref: str = NOTES_REF) -> dict[str, str]:
    """Every annotated commit under ``ref``, as {commit sha: note blob id} (one git call)."""
    out = repo.git("notes", f"--ref={ref}", "list", check=False)
    notes: dict[str, str] = {}
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2:
            notes[parts[1]] = parts[0]
    return notes


def read_blobs(repo: Repo, blob_ids: Iterable[str]) -> dict[str, bytes]:
    """Contents of many blobs through one ``git cat-file --batch``."""
    ids = list(dict.fromkeys(blob_ids))
    if not ids:
        return {}
    out = repo.git("cat-file", "--batch", input=("\n".join(ids) + "\n").encode("ascii"))
    result: dict[str, bytes] = {}
    pos = 0
    for oid in ids:
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split()
        pos = nl + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        result[oid] = out[pos:pos + size]
        pos += size + 1
    return result


def iter_notes(repo: Repo, *, ref: str = NOTES_REF) -> Iterator[tuple[str, Note]]:
    """(commit sha, note) for every gitroi note; a corrupt note raises GitroiError naming it."""
    listing = list_notes(repo, ref=ref)
    blobs = read_blobs(repo, listing.values())
    for sha, blob in sorted(listing.items()):
        if blob in blobs:
            yield sha, parse(blobs[blob], commit=sha)


# --- travel: sync and push -----------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    """What one :func:`fetch_and_merge` did, counted in notes."""

    fetched: int      # notes the remote had
    added: int        # notes we did not have
    merged: int       # notes both had, different, merged
    unchanged: int
    problems: tuple[str, ...] = ()


def fetch_and_merge(repo: Repo, remote: str = "origin", *, ref: str = NOTES_REF) -> SyncResult:
    """Fetch ``remote``'s notes into a temporary ref and merge them note by note with :func:`merge`.

    git's own ``notes merge`` would merge the JSON as text (or pick one side);
    this keeps every session and range from both sides.  Our notes are applied
    on top of the remote's notes tree, so remote notes on commits this clone
    does not have are kept too, and the result has the remote's notes commit as
    a parent: the next push fast-forwards.  A remote without notes is not an
    error.  A corrupt note is never dropped: of two versions the readable one
    wins, and each corrupt note is named in ``problems``.
    """
    # Under refs/notes/: `git notes --ref` prefixes anything else with it.
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", remote)
    tmp, work = f"refs/notes/gitroi-sync/{safe}", f"refs/notes/gitroi-sync/{safe}-work"
    cwd = repo.cwd
    proc = run_git(["fetch", "--quiet", "--no-tags", remote, f"+{ref}:{tmp}"], cwd=cwd,
                   check=False, env={"GIT_TERMINAL_PROMPT": "0"})
    if proc.returncode != 0:
        # Either the remote has no notes yet (fine), or it is unreachable (an error).
        ls = run_git(["ls-remote", remote, ref], cwd=cwd, check=False,
                     env={"GIT_TERMINAL_PROMPT": "0"})
        if ls.returncode == 0 and not ls.stdout.strip():
            return SyncResult(0, 0, 0, 0)
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitroiError(f"could not fetch {ref} from {remote}: {err[-1] if err else 'failed'}",
                          hint=f"check `git fetch {remote} {ref}` by hand")
    try:
        theirs_c = _rev(repo, tmp)
        if theirs_c is None:
            return SyncResult(0, 0, 0, 0)
        ours_c = _rev(repo, ref)
        theirs = list_notes(repo, ref=tmp)
        ours = list_notes(repo, ref=ref) if ours_c else {}
        problems: list[str] = []
        blobs = read_blobs(repo, [b for c, b in theirs.items() if ours.get(c) != b]
                           + [b for c, b in ours.items() if c in theirs and theirs[c] != b])
        added = sum(1 for c in theirs if c not in ours)
        unchanged = sum(1 for c, b in theirs.items() if ours.get(c) == b)
        merged = 0
        for commit, blob in sorted(theirs.items()):
            if commit not in ours:
                try:
                    parse(blobs[blob], commit=commit)
                except GitroiError as exc:
                    problems.append(exc.message)
                    added -= 1
        if ours_c is None or repo.is_ancestor(ours_c, theirs_c):
            # Nothing of ours is missing remotely: take theirs as it is (fast-forward).
            merged = sum(1 for c, b in theirs.items() if c in ours and ours[c] != b)
            repo.git("update-ref", ref, theirs_c)
            return SyncResult(len(theirs), added, merged, unchanged, tuple(problems))
        if repo.is_ancestor(theirs_c, ours_c):
            return SyncResult(len(theirs), 0, 0, len(theirs), ())
        repo.git("update-ref", work, theirs_c)
        for commit, mine in sorted(ours.items()):
            other = theirs.get(commit)
            if other == mine:
                continue
            if other is None:
                repo.git("notes", f"--ref={work}", "add", "-f", "-C", mine, commit)
                continue
            try:
                a = parse(blobs[mine], commit=commit)
            except GitroiError as exc:
                problems.append(exc.message)
                continue            # keep their readable (or equally broken) version
            try:
                b = parse(blobs[other], commit=commit)
            except GitroiError as exc:
                problems.append(exc.message)
                repo.git("notes", f"--ref={work}", "add", "-f", "-C", mine, commit)
                continue
            _write_raw(repo, commit, merge(a, b).dumps(), ref=work)
            merged += 1
        tree = repo.git_text("rev-parse", f"{work}^{{tree}}")
        new = repo.git_text("commit-tree", tree, "-p", ours_c, "-p", _rev(repo, work) or theirs_c,
                            "-m", "Notes merged by 'gitroi sync'")
        repo.git("update-ref", ref, new, ours_c)
        return SyncResult(len(theirs), added, merged, unchanged, tuple(problems))
    finally:
        repo.git("update-ref", "-d", tmp, check=False)
        repo.git("update-ref", "-d", work, check=False)


def _rev(repo: Repo, ref: str) -> str | None:
    out = repo.git("rev-parse", "--verify", "-q", ref, check=False).decode("ascii").strip()
    return out or None


def push(repo: Repo, remote: str = "origin", *, ref: str = NOTES_REF) -> tuple[bool, str]:
    """Push the notes ref; never raises.  Returns (ok, one-line message).

    A rejected push (the remote has notes we lack) is retried once after a
    :func:`fetch_and_merge`, so notes from two machines end up merged, not lost.
    """
    if not repo.git("rev-parse", "--verify", "-q", ref, check=False).strip():
        return True, "no gitroi notes to push"
    cwd = repo.cwd
    for attempt in range(2):
        proc = run_git(["push", "--quiet", "--no-verify", remote, f"{ref}:{ref}"], cwd=cwd,
                       check=False, env={"GIT_TERMINAL_PROMPT": "0"})
        if proc.returncode == 0:
            return True, f"pushed {ref} to {remote}"
        if attempt == 0:
            try:
                fetch_and_merge(repo, remote, ref=ref)
            except GitroiError as exc:
                return False, f"could not push {ref} to {remote}: {exc.message}"
    err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return False, f"could not push {ref} to {remote}: {err[-1] if err else 'unknown error'}"
