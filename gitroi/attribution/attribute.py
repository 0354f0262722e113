"""Attribution: which of a commit's added lines an agent wrote, and which tokens paid for them.

At commit time (the post-commit hook calls :func:`attribute_commit`) the
commit's added lines are matched, by the SHA-1 of each trimmed line, against
the line hashes of the file edits that agent sessions working in this
repository made to the same path.  Matched lines are the commit's AI lines;
every session whose edits landed gives the commit the tokens it spent since
its previous attributed commit (``since`` < ts <= ``until``), so a session
spanning several commits is split by time and tokens spent after the last
commit wait for the next one where its edits land.  A session whose edits
never land is exploration: nothing here ever gives its tokens to a commit.

Where no session matched, a commit still carries the marks agents leave
(trailers, bot authors: :mod:`gitroi.attribution.markers`): with a running session of
that agent (edits made through a shell are invisible to line matching) the
session's tokens go to the commit at commit level; without one, the commit
is attributed at commit level with no tokens.  A commit with neither gets no
note.

:func:`ensure_ledger` brings a whole history into the ledger cheaply (one
``git log`` stream, one notes listing) from, in order of precedence, gitroi
notes, git-ai notes, Agent Trace records, markers; :func:`rebuild` reloads
everything from those sources, so the ledger can always be recreated.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from gitroi import timeutil
from gitroi.attribution.markers import Marker, detect
from gitroi.attribution.notes import (
    NOTES_REF,
    Note,
    SessionShare,
    lines_to_ranges,
    list_notes,
    parse,
    read_blobs,
    read_note_text,
    write_note,
)
from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.sessions import line_hash, session_key, sha1

if TYPE_CHECKING:
    from sqlite_utils import Database

    from gitroi.ledger.commits import CommitRecord

# A session counts as "running at commit time" (for shell-made edits) when its
# log shows activity this close before the commit: agents that commit through a
# shell log the Bash call seconds before, a person's later commit is not theirs.
RUNNING_SLACK = timedelta(minutes=15)
# Committer dates have 1 s resolution; edits logged in that second belong to the commit.
_COMMIT_SLACK = timedelta(seconds=1)

_LOG_FORMAT = "%x01%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x00"
_FIELDS = 9


@dataclass(frozen=True)
class CommitMeta:
    """A commit's identity and message, as the ledger keeps it."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: str
    committer_name: str
    committer_email: str
    committed_at: str
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()

    def markers(self) -> list[Marker]:
        return detect(self.message, self.author_name, self.author_email,
                      self.committer_name, self.committer_email)


def _meta(fields: Sequence[str]) -> CommitMeta:
    sha, parents, an, ae, ad, cn, ce, cd, body = fields[:_FIELDS]
    return CommitMeta(sha=sha.strip(), parents=tuple(parents.split()), author_name=an,
                      author_email=ae, authored_at=_norm_time(ad), committer_name=cn,
                      committer_email=ce, committed_at=_norm_time(cd), message=body.strip("\n"))


def _norm_time(value: str) -> str:
    try:
        return timeutil.normalise(value)
    except ValueError:
        return value


# --- the diff: added lines per path ------------------------------------------------------------


@dataclass
class AddedLines:
    """Lines a commit added, per path in the commit's own version: [(line number, text)]."""

    by_path: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_path.values())

    def all_ranges(self) -> dict[str, tuple[tuple[int, int], ...]]:
        return {p: lines_to_ranges(n for n, _ in ls) for p, ls in self.by_path.items() if ls}


def _unquote(path: str) -> str:
    """git's C-style quoted path (``"a\\tb"``, octal escapes for non-ASCII) to text."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    body = path[1:-1].encode("latin-1", "backslashreplace")
    raw = body.decode("unicode_escape").encode("latin-1", "replace")
    return raw.decode("utf-8", "surrogateescape")


def parse_patch(lines: Iterable[bytes]) -> AddedLines:
    """Added lines from ``git log -p`` output, plain or combined (``--cc``) diffs.

    Context lines (any ``-U``) only advance the line number, so the result is
    the ``+`` lines of git's hunks at that context size.  In a combined diff a
    line counts as added only when it is new against every parent (all ``+``
    columns): what a merge brings from a branch was added by that branch's
    commits.  Binary files have no hunks and add nothing.
    """
    out = AddedLines()
    path: str | None = None
    ncols = 1
    lineno = 0
    in_hunk = False
    for raw in lines:
        if raw.startswith(b"diff "):
            path, in_hunk = None, False
            continue
        if not in_hunk and raw.startswith(b"+++ "):
            target = raw[4:].rstrip(b"\n").decode("utf-8", "surrogateescape")
            if target == "/dev/null":
                path = None
            else:
                target = _unquote(target)
                path = target[2:] if target.startswith("b/") else target
            continue
        if raw.startswith(b"@@"):
            at = len(raw) - len(raw.lstrip(b"@"))
            ncols = max(at - 1, 1)
            header = raw.split(b"@" * at)[1].split()
            new = header[ncols].decode("ascii") if len(header) > ncols else "+0"
            lineno = int(new[1:].split(",")[0])
            in_hunk = path is not None
            continue
        if not in_hunk or path is None:
            continue
        if raw.startswith(b"\\"):
            continue  # "\ No newline at end of file"
        prefix = raw[:ncols]
        if len(prefix) < ncols or any(c not in b"+- " for c in prefix):
            in_hunk = False
            continue
        if b"-" in prefix:
            continue  # a removed line is not in the new file
        if prefix == b"+" * ncols:
            text = raw[ncols:].rstrip(b"\n").decode("utf-8", "surrogateescape")
            out.by_path.setdefault(path, []).append((lineno, text))
        lineno += 1
    return out


def read_commit(repo: Repo, sha: str) -> tuple[CommitMeta, AddedLines]:
    """A commit's metadata and added lines in ONE git call (the hook path counts milliseconds)."""
    meta, added, _ = _read_commit(repo, sha, with_note=False)
    return meta, added


def read_commit_and_note(repo: Repo, sha: str) -> tuple[CommitMeta, AddedLines, bytes | None]:
    """:func:`read_commit` plus the text of the commit's gitroi note (None: no note), from the
    same git call (``%N``), so the hook's merge with an existing note costs no ``notes show``."""
    return _read_commit(repo, sha, with_note=True)


class CommitRead:
    """:func:`read_commit_and_note` started now and finished when asked: the post-commit
    hook has git prepare the diff while it reads the session logs."""

    def __init__(self, repo: Repo, sha: str) -> None:
        self.repo = repo
        self.sha = sha
        self._wait = repo.git_later(*_log_args(sha, with_note=True))
        self._result: tuple[CommitMeta, AddedLines, bytes | None] | None = None

    def result(self) -> tuple[CommitMeta, AddedLines, bytes | None]:
        if self._result is None:
            self._result = _parse_commit(self.repo, self.sha, self._wait(), with_note=True)
        return self._result

    def close(self) -> None:
        """Reap git when the result is not wanted (after a failure elsewhere)."""
        with contextlib.suppress(GitroiError):
            self._wait()


# One line of context, not zero: git trims a long common tail of the two versions
# before diffing only at -U0 (xdiff-interface.c), and on a file with many
# repeated lines (blank lines in a changelog) that changes which lines its
# heuristics call added.  Hunks at -U1 are those of plain ``git log --numstat``
# (checked per file on every commit of the click and claude-code-action
# corpora), which is also what the survival replay reads.
_CONTEXT = "-U1"


def _log_args(sha: str, *, with_note: bool) -> list[str]:
    fmt = _LOG_FORMAT + ("%N%x00" if with_note else "")
    notes = ["--no-notes", f"--notes={NOTES_REF}"] if with_note else []
    return ["-c", "core.quotepath=off", "log", "-1", "--cc", "-p", _CONTEXT, "-M", "--no-color",
            "--no-ext-diff", "--no-textconv", *notes, f"--format={fmt}", sha, "--"]


def _read_commit(repo: Repo, sha: str, *, with_note: bool
                 ) -> tuple[CommitMeta, AddedLines, bytes | None]:
    return _parse_commit(repo, sha, repo.git(*_log_args(sha, with_note=with_note)),
                         with_note=with_note)


def _parse_commit(repo: Repo, sha: str, out: bytes, *, with_note: bool
                  ) -> tuple[CommitMeta, AddedLines, bytes | None]:
    fields = _FIELDS + 1 if with_note else _FIELDS
    if with_note and out.count(b"\x00") != fields:
        # a note holding a NUL byte would shift the fields: read it on its own
        meta, added, _ = _read_commit(repo, sha, with_note=False)
        return meta, added, read_note_text(repo, sha)
    parts = out.lstrip(b"\x01").split(b"\x00", fields)
    if len(parts) < fields:
        raise GitroiError(f"cannot read commit {sha[:12]}")
    meta = _meta([p.decode("utf-8", "replace") for p in parts[:_FIELDS]])
    note = (parts[_FIELDS] or None) if with_note else None
    patch = parts[fields] if len(parts) > fields else b""
    return meta, parse_patch(patch.splitlines(keepends=True)), note


# --- matching edits --------------------------------------------------------------------------


def _trivial(text: str) -> bool:
    """Lines too common to prove authorship alone: blank, or only brackets and punctuation."""
    return not any(c.isalnum() for c in text)


def _roots(repo: Repo) -> list[str]:
    """Every work tree of the repository, as given and with symlinks resolved."""
    roots: list[str] = []
    for wt in repo.paths.worktrees() or [repo.workdir]:
        for p in (str(wt).rstrip("/"), os.path.realpath(wt)):
            if p not in roots:
                roots.append(p)
    return roots


def _relative(path: str, cwd: str | None, roots: Sequence[str]) -> str | None:
    """An edit's path (absolute, or relative to the session cwd) as a path in the work tree.

    String work, not pathlib: a long session has thousands of edits and this
    runs in the post-commit hook.
    """
    if not path.startswith("/"):
        if not cwd:
            return path
        path = cwd.rstrip("/") + "/" + path
    path = os.path.normpath(path)
    for root in roots:
        if path.startswith(root + "/"):
            return path[len(root) + 1:]
    real = os.path.realpath(path)
    for root in roots:
        if real.startswith(root + "/"):
            return real[len(root) + 1:]
    return None


@dataclass
class Match:
    """The added lines the agents wrote, and which sessions wrote them."""

    ranges: dict[str, tuple[tuple[int, int], ...]]
    sessions: set[str]          # session keys whose edits landed


def match_lines(added: AddedLines, edits: dict[str, dict[str, set[str]]],
                budget: dict[str, dict[str, int]] | None = None) -> Match:
    """Mark added lines whose hash one of the sessions wrote to the same path.

    ``edits`` is {path: {line hash: {session keys}}}.  A trivial line (blank,
    ``}``) counts only next to a non-trivial AI line, so a person's blank line
    between their own lines never becomes the agent's.  ``budget`` (optional)
    is {path: {hash: times the agents wrote it}}: when a commit adds a line
    more often than the agents wrote it (a person typed ``import os`` too),
    only that many copies are AI, those next to other matched lines first.
    """
    ranges: dict[str, tuple[tuple[int, int], ...]] = {}
    landed: set[str] = set()
    for path, lines in added.by_path.items():
        hashes = edits.get(path)
        if not hashes:
            continue
        lh = [line_hash(text) for _, text in lines]
        owners = [hashes.get(h, set()) for h in lh]
        trivial = [_trivial(text) for _, text in lines]
        ai = [bool(o) and not t for o, t in zip(owners, trivial, strict=True)]
        limits = (budget or {}).get(path)
        if limits:
            _apply_budget(lines, lh, owners, ai, limits)
        changed = True
        while changed:
            changed = False
            for i, (n, _) in enumerate(lines):
                if ai[i] or not owners[i]:
                    continue
                prev_ok = i > 0 and ai[i - 1] and lines[i - 1][0] == n - 1
                next_ok = i + 1 < len(lines) and ai[i + 1] and lines[i + 1][0] == n + 1
                if prev_ok or next_ok:
                    ai[i] = changed = True
        hit = [n for (n, _), a in zip(lines, ai, strict=True) if a]
        for o, a in zip(owners, ai, strict=True):
            if a:
                landed |= o
        if hit:
            ranges[path] = lines_to_ranges(hit)
    return Match(ranges=ranges, sessions=landed)


def _apply_budget(lines: Sequence[tuple[int, str]], lh: Sequence[str],
                  owners: Sequence[set[str]], ai: list[bool], limits: dict[str, int]) -> None:
    """Unmark the surplus copies of a line hash beyond what the agents wrote."""
    by_hash: dict[str, list[int]] = {}
    for i, a in enumerate(ai):
        if a:
            by_hash.setdefault(lh[i], []).append(i)

    def neighbours(i: int) -> int:
        n = lines[i][0]
        score = 0
        if i > 0 and owners[i - 1] and lines[i - 1][0] == n - 1:
            score += 1
        if i + 1 < len(lines) and owners[i + 1] and lines[i + 1][0] == n + 1:
            score += 1
        return score

    for h, idx in by_hash.items():
        limit = limits.get(h)
        if limit is None or len(idx) <= limit:
            continue
        keep = set(sorted(idx, key=lambda i: (-neighbours(i), i))[:limit])
        for i in idx:
            if i not in keep:
                ai[i] = False


def _edits_index(db: Database, sessions: Sequence[dict[str, Any]], until: str,
                 roots: Sequence[str], added: AddedLines
                 ) -> tuple[dict[str, dict[str, set[str]]], dict[str, dict[str, int]]]:
    """{path: {line hash: session keys}} and {path: {line hash: times written}},
    only for the paths and hashes this commit added."""
    from gitroi.ledger.commits import session_edits

    cwd_of = {s["key"]: s["cwd"] for s in sessions}
    wanted = {p: {line_hash(t) for _, t in ls} for p, ls in added.by_path.items()}
    paths = list(wanted) if len(wanted) <= 200 else None
    index: dict[str, dict[str, set[str]]] = {}
    counts: dict[str, dict[str, int]] = {}
    rel_cache: dict[tuple[str, str | None], str | None] = {}
    for key, path, hashes in session_edits(db, list(cwd_of), until, paths):
        cwd = cwd_of.get(key)
        ck = (path, cwd)
        if ck not in rel_cache:
            rel_cache[ck] = _relative(path, cwd, roots)
        rel = rel_cache[ck]
        if rel is None:
            continue
        want = wanted.get(rel)
        if not want:
            continue
        slot = index.setdefault(rel, {})
        count = counts.setdefault(rel, {})
        for h in hashes.split():
            if h in want:
                slot.setdefault(h, set()).add(key)
                count[h] = count.get(h, 0) + 1
    return index, counts


# --- tokens ------------------------------------------------------------------------------------


def _share(db: Database, session: dict[str, Any], sha: str, until: str) -> SessionShare:
    from gitroi.ledger.commits import covered_by_later, last_until, usage_by_model

    since = last_until(db, session["key"], before=until, exclude_commit=sha)
    if covered_by_later(db, session["key"], until, sha):
        models: dict[str, dict[str, Any]] = {}
    else:
        models = usage_by_model(db, session["key"], since, until)
    return SessionShare.from_models(session["agent"], session["session_id"], models,
                                    since=since or session.get("started_at"), until=until)


# --- the commit --------------------------------------------------------------------------------


def _import(repo: Repo, db: Database) -> None:
    """Read new log lines of this repository's sessions."""
    from gitroi.sessions.importer import import_sessions

    import_sessions(db, repo=repo)


def attribute_commit(repo: Repo, db: Database, sha: str, *, import_logs: bool = True,
                     now: str | None = None, read: CommitRead | None = None) -> Note | None:
    """Attribute one commit: write its note (merged with any existing one) and ledger rows.

    ``now`` overrides the commit's moment (default: its committer date), for a
    hook whose commit carries a rewritten date.  ``read`` is the commit's read
    started earlier (:class:`CommitRead`).  Returns the note as written, or
    None when the commit has no AI line and no marker (then nothing is written).
    """
    from gitroi.ledger.commits import candidate_sessions

    if import_logs:
        _import(repo, db)
    meta, added, old_note = read.result() if read is not None else read_commit_and_note(repo, sha)
    moment = timeutil.parse(now or meta.committed_at)
    until = timeutil.iso(moment + _COMMIT_SLACK)
    running_after = timeutil.iso(moment - RUNNING_SLACK)
    markers = meta.markers()
    marker_agents = {m.agent for m in markers}

    roots = _roots(repo) if repo.paths.workdir is not None else []
    sessions = candidate_sessions(db, roots, until)
    by_key = {s["key"]: s for s in sessions}
    if sessions:
        index, counts = _edits_index(db, sessions, until, roots, added)
        match = match_lines(added, index, counts)
    else:
        match = Match(ranges={}, sessions=set())

    shares: list[SessionShare] = []
    if match.ranges:
        attribution = "line"
        ranges = match.ranges
        shares = [_share(db, by_key[k], meta.sha, until) for k in sorted(match.sessions)]
    elif markers:
        attribution = "commit"
        ranges = added.all_ranges()
        running = [s for s in sessions if s["agent"] in marker_agents
                   and (s.get("ended_at") or "") >= running_after]
        shares = [_share(db, s, meta.sha, until) for s in running]
    else:
        return None
    note = Note.build(attribution=attribution, agents=marker_agents, sessions=shares,
                      lines_added=added.count, ai_ranges=ranges,
                      markers=[m.evidence for m in markers])
    written = write_note(repo, meta.sha, note, existing=old_note)
    from gitroi.ledger.commits import write_commits

    write_commits(db, [record_from_note(meta, written, lines_added=added.count)])
    return written


def attribute_manual(repo: Repo, db: Database, rev: str, agents: Sequence[str], *,
                     ranges: dict[str, list[tuple[int, int]]] | None = None) -> Note:
    """A person states that ``agents`` wrote the commit (or the given line ranges of it).

    For work no log or marker shows (an agent on another machine, a chat
    answer pasted in).  The note is merged like any other: a line-level note
    already on the commit keeps its ranges (line > manual > commit).
    Ranges must lie within lines the commit added, else GitroiError.
    """
    from gitroi.ledger.commits import write_commits

    sha = repo.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", "--",
                   check=False).decode("ascii", "replace").strip()
    if not sha:
        raise GitroiError(f"{rev!r} is not a commit in this repository")
    if not agents:
        raise GitroiError("name at least one agent", hint="--agent claude-code")
    meta, added = read_commit(repo, sha)
    if ranges:
        own = {p: {n for n, _ in ls} for p, ls in added.by_path.items()}
        for path, rs in ranges.items():
            for a, b in rs:
                outside = [n for n in range(a, b + 1) if n not in own.get(path, set())]
                if outside:
                    raise GitroiError(
                        f"{path}:{a}-{b} is not among the lines commit {sha[:12]} added "
                        f"(line {outside[0]})", hint=f"see `git show {sha[:12]} -- {path}`")
        chosen: dict[str, tuple[tuple[int, int], ...] | list[tuple[int, int]]] = dict(ranges)
    else:
        chosen = dict(added.all_ranges())
    note = Note.build(attribution="manual", agents=agents, lines_added=added.count,
                      ai_ranges=chosen, markers=[m.evidence for m in meta.markers()])
    written = write_note(repo, sha, note)
    write_commits(db, [record_from_note(meta, written, lines_added=added.count)])
    return written


def note_blob_id(note: Note) -> str:
    """The git blob id the note's text gets (notes are stored verbatim), without asking git."""
    data = note.dumps().encode("utf-8")
    return str(sha1(b"blob %d\x00" % len(data) + data).hexdigest())


def _session_row(s: SessionShare) -> dict[str, Any]:
    return {"session_key": session_key(s.agent, s.session_id), "agent": s.agent,
            "session_id": s.session_id, "models": json.dumps(s.to_dict()["models"], sort_keys=True),
            "input": s.input, "output": s.output, "cache_write": s.cache_write,
            "cache_read": s.cache_read, "reasoning": s.reasoning, "tokens": s.tokens,
            "cost_usd": s.cost_usd, "since_ts": s.since, "until_ts": s.until}


def _base_row(meta: CommitMeta) -> dict[str, Any]:
    return {"sha": meta.sha, "author_name": meta.author_name, "author_email": meta.author_email,
            "authored_at": meta.authored_at, "committed_at": meta.committed_at,
            "subject": meta.subject, "parents": " ".join(meta.parents)}


def record_from_note(meta: CommitMeta, note: Note, *, lines_added: int | None = None,
                     source: str = "note", source_key: str | None = None) -> CommitRecord:
    """The ledger rows of a commit attributed by a note (gitroi's own or a foreign one)."""
    from gitroi.ledger.commits import CommitRecord

    la = note.lines_added if source == "note" else (lines_added or note.lines_added)
    ai_lines = note.ai_lines if note.attribution != "commit" else la
    row = {**_base_row(meta), "attribution": note.attribution, "agents": json.dumps(list(note.agents)),
           "lines_added": la, "ai_lines": ai_lines, "tokens": note.tokens,
           "cost_usd": note.cost_usd, "note_version": 1 if source == "note" else None,
           "source": source, "source_key": source_key or f"{source}:{note_blob_id(note)}",
           "markers": json.dumps(list(note.markers))}
    return CommitRecord(row=row, sessions=[_session_row(s) for s in note.sessions],
                        ranges={p: list(rs) for p, rs in note.ai_ranges.items()})


def record_from_markers(meta: CommitMeta, markers: Sequence[Marker], lines_added: int,
                        source_key: str | None = None) -> CommitRecord:
    """Ledger rows of a commit with only markers (attribution commit) or nothing (none)."""
    from gitroi.ledger.commits import CommitRecord

    agents = sorted({m.agent for m in markers})
    row = {**_base_row(meta), "attribution": "commit" if markers else "none",
           "agents": json.dumps(agents), "lines_added": lines_added,
           "ai_lines": lines_added if markers else 0, "tokens": 0, "cost_usd": None,
           "note_version": None, "source": "markers" if markers else "none",
           "source_key": source_key or ("markers" if markers else "none"),
           "markers": json.dumps(sorted({m.evidence for m in markers}))}
    return CommitRecord(row=row)


# --- ranges of commits -------------------------------------------------------------------------


def attribute_range(repo: Repo, db: Database, rev_range: str | None = None, *,
                    import_logs: bool = True, since: str | None = None,
                    progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Attribute the commits of ``rev_range`` (oldest first, so token slices split in order).

    Without a range: the commits reachable from HEAD that have no gitroi note
    yet and were not already checked against every edit imported so far
    (``since`` limits how far back; agents delete old logs anyway), so a
    repeated catch-up costs almost nothing.  Returns counts per attribution
    kind (line, commit, none) of the commits it looked at.
    """
    if repo.head() is None:
        return {"line": 0, "commit": 0, "none": 0}
    if import_logs:
        _import(repo, db)
    args = ["rev-list", "--reverse", "--topo-order"]
    if since:
        args.append(f"--since={since}")
    args.append(rev_range or "HEAD")
    from gitroi.ledger.commits import checked_commits, edits_high_water, mark_checked

    shas = repo.git_text(*args).split()
    high = edits_high_water(db)
    if rev_range is None:
        # Catching up: skip commits with a note, and commits already checked
        # against every edit imported so far (nothing new could match them).
        noted = list_notes(repo)
        checked = checked_commits(db)
        shas = [s for s in shas if s not in noted and checked.get(s, -1) < high]
    counts = {"line": 0, "commit": 0, "none": 0}
    empty: list[str] = []
    # A commit made before any session of this repository began, with no marker,
    # cannot be attributed: decide that from one metadata stream, without its diff.
    from gitroi.ledger.commits import candidate_sessions

    roots = _roots(repo) if repo.paths.workdir is not None else []
    starts = [s["started_at"] or "" for s in candidate_sessions(db, roots, "9999")]
    first = min(starts) if starts else None
    if len(shas) > 1:
        hopeless = {hc.meta.sha for hc in iter_history(repo, [], only=shas, merge_lines=False)
                    if not hc.meta.markers()
                    and (first is None or timeutil.iso(timeutil.parse(hc.meta.committed_at)
                                                       + _COMMIT_SLACK) < first)}
    else:
        hopeless = set()
    for i, sha in enumerate(shas):
        if sha in hopeless:
            counts["none"] += 1
            empty.append(sha)
            continue
        note = attribute_commit(repo, db, sha, import_logs=False)
        counts[note.attribution if note else "none"] += 1
        if note is None:
            empty.append(sha)
        if progress:
            progress(i + 1, len(shas))
    mark_checked(db, empty, high, timeutil.now())
    ensure_ledger(repo, db)
    return counts


# --- the whole history -----------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryCommit:
    """A commit of a history stream, with the number of lines it added."""

    meta: CommitMeta
    lines_added: int


def iter_history(repo: Repo, revs: Sequence[str], *, only: Sequence[str] | None = None,
                 merge_lines: bool = True, excludes: Sequence[str] | None = None,
                 counts: bool = True) -> Iterator[HistoryCommit]:
    """Commits reachable from ``revs`` (or exactly the commits ``only``) with lines added.

    ONE ``git log --numstat`` stream, whatever the number of commits: a
    commit's count is exactly what plain ``git log --numstat`` shows for it
    (the same hunks as :func:`read_commit`'s ``-U1`` diff; never ``-U0``, whose
    hunks git makes differently).  git log shows no diff for a merge, so a
    merge's count comes from one more call for all merges together
    (:func:`merge_added`), the figure its note carries: lines new against every
    parent.  ``merge_lines=False`` skips that call for callers that only want
    the metadata.  ``counts=False``: metadata only, no diff at all (every
    ``lines_added`` is 0), for callers that need the markers, not the figures.

    In a partial clone, paths whose history has a missing blob
    (``excludes``; ``None``: found here with :func:`gitroi.git.partial.missing_blobs`)
    are left out of every diff and git never fetches (``GIT_NO_LAZY_FETCH``):
    commits are still all listed, with the lines that can be counted.
    """
    from gitroi.git import run_git
    from gitroi.git.partial import NO_LAZY_FETCH, log_pathspec, missing_blobs

    if only is not None and not only:
        return
    if not counts:
        merge_lines = False
        excludes = []
    if excludes is None:
        gap = missing_blobs(repo, list(only) if only is not None else list(revs))
        excludes = sorted(gap[1]) if gap else []
    tail = log_pathspec(excludes) or ["--"]
    env = NO_LAZY_FETCH if excludes else None
    cwd = repo.cwd
    args = ["-c", "core.quotepath=off", "log", *(("--numstat", "-M") if counts else ()), "--no-color",
            f"--format={_LOG_FORMAT}"]
    early: _MergePass | None = None
    own_early: dict[str, int] = {}
    if only is not None:
        stdin = ("\n".join(only) + "\n").encode("ascii")
        if merge_lines:
            # The merges' pass runs beside the numstat stream rather than after
            # it (a third of the load of a long history, on another core).
            merges = run_git(["rev-list", "--no-walk=unsorted", "--min-parents=2", "--stdin"],
                             cwd=cwd, env=env, input=stdin).stdout.decode("ascii").split()
            early = _MergePass(repo, merges, excludes)
        try:
            out = run_git([*args, "--no-walk=unsorted", "--stdin", *tail], cwd=cwd, env=env,
                          input=stdin).stdout
        finally:
            if early is not None:
                own_early = early.result()
    else:
        out = run_git([*args, *revs, *tail], cwd=cwd, env=env).stdout
    commits: list[HistoryCommit] = []
    for chunk in out.split(b"\x01")[1:]:
        parts = chunk.split(b"\x00", _FIELDS)
        if len(parts) < _FIELDS:
            continue
        meta = _meta([p.decode("utf-8", "replace") for p in parts[:_FIELDS]])
        added = 0
        for line in (parts[_FIELDS] if len(parts) > _FIELDS else b"").splitlines():
            first = line.split(b"\t", 1)[0]
            if first.isdigit():
                added += int(first)
        commits.append(HistoryCommit(meta=meta, lines_added=added))
    if early is not None:
        own = own_early
    else:
        merges = [hc.meta.sha for hc in commits if len(hc.meta.parents) > 1] if merge_lines else []
        own = merge_added(repo, merges, excludes) if merges else {}
    for hc in commits:
        if hc.meta.sha in own:
            yield HistoryCommit(meta=hc.meta, lines_added=own[hc.meta.sha])
        else:
            yield hc


class _MergePass:
    """:func:`merge_added` in a thread, started now: git works on it while the caller reads
    the numstat stream (both calls spend their time in git, with the GIL released)."""

    def __init__(self, repo: Repo, shas: Sequence[str], excludes: Sequence[str]) -> None:
        import threading

        self._out: dict[str, int] = {}
        self._exc: BaseException | None = None
        self._thread: threading.Thread | None = None
        if shas:
            self._thread = threading.Thread(target=self._run, args=(repo, list(shas), list(excludes)),
                                            daemon=True)
            self._thread.start()

    def _run(self, repo: Repo, shas: list[str], excludes: list[str]) -> None:
        try:
            self._out = merge_added(repo, shas, excludes)
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._exc = exc

    def result(self) -> dict[str, int]:
        if self._thread is not None:
            self._thread.join()
        if self._exc is not None:
            raise self._exc
        return self._out


def merge_added(repo: Repo, shas: Sequence[str], excludes: Sequence[str] = ()) -> dict[str, int]:
    """{merge sha: lines new against every parent}, from ONE ``git log --cc -p`` call.

    The rule of :func:`parse_patch` (all ``+`` columns): what blame gives the
    merge itself, its conflict resolutions; a clean merge adds nothing.
    ``excludes``: paths left out (a partial clone's missing blobs, see :func:`iter_history`).
    """
    from gitroi.git import run_git
    from gitroi.git.partial import NO_LAZY_FETCH, log_pathspec

    out = run_git(["-c", "core.quotepath=off", "log", "--cc", "-p", _CONTEXT, "-M",
                   "--no-color", "--no-ext-diff", "--no-textconv", "--format=%x01%H",
                   "--no-walk=unsorted", "--stdin", *(log_pathspec(excludes) or ["--"])],
                  cwd=repo.cwd,
                  env=NO_LAZY_FETCH if excludes else None,
                  input=("\n".join(shas) + "\n").encode("ascii")).stdout
    counts: dict[str, int] = {}
    for chunk in out.split(b"\x01")[1:]:
        head, _, patch = chunk.partition(b"\n")
        counts[head.decode("ascii").strip()] = parse_patch(
            patch.splitlines(keepends=True)).count
    return counts


#: Suffix of the ``source_key`` of a row written without its line counts (``lines=False``):
#: a full :func:`ensure_ledger` sees a key it does not expect and redoes the row.
NO_LINES = "#no-lines"


def ensure_ledger(repo: Repo, db: Database, rev: str | Sequence[str] = "HEAD", *,
                  problems: list[str] | None = None, lines: bool = True) -> int:
    """Bring every commit reachable from ``rev`` into the ledger; returns how many rows changed.

    Sources, strongest first: the gitroi note, a git-ai note, Agent Trace
    records, markers, nothing ('none').  Incremental: a commit whose source
    (note blob id, foreign record digest) is unchanged is skipped.  A corrupt
    note falls back to the next source and is reported in ``problems``.
    In a partial clone, files whose history has a missing blob are left out of
    the line counts (:func:`iter_history`) and reported in ``problems``.

    ``lines=False`` (the survival analysis, which needs who wrote what, not how
    many lines each commit added): one metadata stream, no diff and no merge
    pass.  Rows whose counts would come from the diff are written with
    ``lines_added`` (and a commit-level ``ai_lines``) NULL and their
    ``source_key`` marked :data:`NO_LINES`, so the next full run (``gitroi
    report``, ``sync``, ``rebuild``) fills them with the same figures as ever.
    """
    from gitroi.attribution import foreign
    from gitroi.ledger.commits import known_sources, write_commits

    if repo.head() is None:
        return 0
    revs = [rev] if isinstance(rev, str) else list(rev)
    ours = list_notes(repo)
    gitai = list_notes(repo, ref=foreign.GIT_AI_REF)
    traces = foreign.read_agent_traces(repo)
    known = known_sources(db)

    def source_of(sha: str) -> tuple[str, str]:
        if sha in ours:
            return "note", f"note:{ours[sha]}"
        if sha in gitai:
            return "git-ai", f"git-ai:{gitai[sha]}"
        if sha in traces:
            return "agent-trace", f"agent-trace:{traces[sha][0]}"
        return "", ""

    # Cheap pass first: commits are immutable, so a known commit needs work only
    # when a note (or foreign record) appeared or changed.
    stale = []
    for sha in repo.git_text("rev-list", *revs, "--").split():
        src, key = source_of(sha)
        have = known.get(sha, "?")
        if not lines and have is not None and have.endswith(NO_LINES):
            have = have[:-len(NO_LINES)]  # counts are not wanted here: the row serves
        if src and have == key:
            continue
        if not src and have in ("markers", "none"):
            continue
        stale.append(sha)
    todo: list[tuple[HistoryCommit, str, str]] = []
    excludes: list[str] | None = None
    if stale and lines:
        from gitroi.git.partial import missing_blobs

        try:
            gap = missing_blobs(repo, revs)
        except ValueError as exc:  # trees missing too: the numstat below will say what fails
            gap = None
            if problems is not None:
                problems.append(f"partial clone: cannot list the missing objects: {exc}")
        excludes = sorted(gap[1]) if gap else []
        if gap and excludes and problems is not None:
            shown = ", ".join(excludes[:5]) + (f" (+{len(excludes) - 5} more)"
                                               if len(excludes) > 5 else "")
            problems.append(
                f"partial clone: {len(gap[0])} blob(s) missing; {len(excludes)} file(s) left "
                f"out of the commits' added lines: {shown} (fetch them, or use a full clone, "
                "for complete counts)")
    for hc in iter_history(repo, revs, only=stale, excludes=excludes, counts=lines):
        src, key = source_of(hc.meta.sha)
        if not src:
            key = "markers" if hc.meta.markers() else "none"
        todo.append((hc, src, key))
    if not todo:
        return 0
    blobs = read_blobs(repo, [k.split(":", 1)[1] for _, s, k in todo if s in ("note", "git-ai")])
    records: list[CommitRecord] = []
    for hc, src, key in todo:
        note: Note | None = None
        try:
            if src == "note":
                note = parse(blobs[key.split(":", 1)[1]], commit=hc.meta.sha)
            elif src == "git-ai":
                note = foreign.parse_git_ai(blobs[key.split(":", 1)[1]], commit=hc.meta.sha)
            elif src == "agent-trace":
                note = traces[hc.meta.sha][1]
        except (GitroiError, KeyError) as exc:
            if problems is not None:
                problems.append(str(exc.message if isinstance(exc, GitroiError) else exc))
            note = None
        if note is not None:
            rec = record_from_note(hc.meta, note, lines_added=hc.lines_added, source=src,
                                   source_key=key)
        else:
            rec = record_from_markers(hc.meta, hc.meta.markers(), hc.lines_added,
                                      source_key=key if src else None)
        if not lines and not (note is not None and src == "note"):
            rec = _without_lines(rec)
        records.append(rec)
    return write_commits(db, records)


def _without_lines(rec: CommitRecord) -> CommitRecord:
    """A row whose diff-based counts were not read: NULL, and a key the next full run redoes."""
    from gitroi.ledger.commits import CommitRecord

    row = dict(rec.row)
    row["lines_added"] = None
    if row["attribution"] == "commit":
        row["ai_lines"] = None
    row["source_key"] = f"{row['source_key']}{NO_LINES}"
    return CommitRecord(row=row, sessions=rec.sessions, ranges=rec.ranges)


def rebuild(repo: Repo, db: Database, *, problems: list[str] | None = None) -> int:
    """Drop the derived commit tables and reload them from notes (then foreign records, markers).

    Covers HEAD and every local branch.  Figures come out identical to the
    ledger the hooks wrote, because both are made from the same notes.
    """
    from gitroi.ledger.commits import clear_attribution

    clear_attribution(db)
    if repo.head() is None:
        return 0
    return ensure_ledger(repo, db, ["HEAD", "--branches"], problems=problems)


# --- one commit, for `gitroi show` -------------------------------------------------------------


def describe(repo: Repo, rev: str) -> dict[str, Any]:
    """A commit's attribution as ``gitroi show --json`` prints it (from notes; no ledger needed)."""
    from gitroi.attribution import foreign

    sha = repo.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", "--",
                   check=False).decode("ascii", "replace").strip() if rev else ""
    if not sha:
        if repo.head() is None:
            raise GitroiError("this repository has no commits yet", hint="commit first")
        raise GitroiError(f"{rev!r} is not a commit in this repository",
                          hint="pass a commit id, branch or HEAD~N")
    hc = next(iter_history(repo, ["-1", sha]))
    note: Note | None = None
    source = "none"
    text = repo.git("notes", f"--ref={NOTES_REF}", "show", sha, check=False)
    if text:
        note, source = parse(text, commit=sha), "note"
    else:
        ga = repo.git("notes", f"--ref={foreign.GIT_AI_REF}", "show", sha, check=False)
        if ga:
            note, source = foreign.parse_git_ai(ga, commit=sha), "git-ai"
        else:
            tr = foreign.read_agent_traces(repo).get(sha)
            if tr:
                note, source = tr[1], "agent-trace"
    markers = hc.meta.markers()
    if note is None:
        rec = record_from_markers(hc.meta, markers, hc.lines_added)
        return {"commit": sha, "attribution": rec.row["attribution"],
                "agents": json.loads(rec.row["agents"]), "sessions": [], "tokens": 0,
                "cost_usd": None, "lines_added": hc.lines_added,
                "ai_lines": rec.row["ai_lines"], "ai_ranges": {},
                "markers": json.loads(rec.row["markers"]), "source": rec.row["source"],
                "subject": hc.meta.subject}
    lines_added = note.lines_added if source == "note" else hc.lines_added
    return {"commit": sha, "attribution": note.attribution, "agents": list(note.agents),
            "sessions": [s.to_dict() for s in note.sessions], "tokens": note.tokens,
            "cost_usd": note.cost_usd, "lines_added": lines_added,
            "ai_lines": note.ai_lines if note.attribution != "commit" else lines_added,
            "ai_ranges": {p: [list(r) for r in rs] for p, rs in note.ai_ranges.items()},
            "markers": sorted(set(note.markers) | {m.evidence for m in markers}),
            "source": source, "subject": hc.meta.subject}
