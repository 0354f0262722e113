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

Reading commits is :mod:`gitroi.attribution.commits`, matching lines
:mod:`gitroi.attribution.matching`; bringing a whole history into the ledger
from notes is :mod:`gitroi.attribution.rebuild`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from gitroi import timeutil
from gitroi.attribution.commits import (
    AddedLines,
    CommitMeta,
    CommitRead,
    read_commit,
    read_commit_and_note,
)
from gitroi.attribution.history import iter_history
from gitroi.attribution.markers import switches as marker_switches
from gitroi.attribution.matching import Match, edits_index, match_lines, worktree_roots
from gitroi.attribution.notes import Note, SessionShare, list_notes, write_note
from gitroi.attribution.rebuild import ensure_ledger
from gitroi.attribution.records import record_from_note
from gitroi.errors import GitroiError
from gitroi.git import Repo

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

    from sqlite_utils import Database


# A session counts as "running at commit time" (for shell-made edits) when its
# log shows activity this close before the commit: agents that commit through a
# shell log the Bash call seconds before, a person's later commit is not theirs.
RUNNING_SLACK = timedelta(minutes=15)
# Committer dates have 1 s resolution; edits logged in that second belong to the commit.
_COMMIT_SLACK = timedelta(seconds=1)


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
    The note is written before the ledger rows: it is the source of truth, and
    the ledger can be rebuilt from it (docs/reliability.md).
    """
    from gitroi.ledger.commits import write_commits

    if import_logs:
        _import(repo, db)
    decided = decide_commit(repo, db, sha, now=now, read=read)
    if decided.note is None:
        return None
    written = write_note(repo, decided.meta.sha, decided.note, existing=decided.old_note)
    write_commits(db, [record_from_note(decided.meta, decided.counted(written),
                                        lines_added=decided.added.count)])
    return written


class Decided:
    """What :func:`decide_commit` found: the commit, its added lines, the note to write (None:
    no AI line and no marker) and the text of the note already on it."""

    __slots__ = ("added", "meta", "note", "old_note", "written")

    def __init__(self, meta: CommitMeta, added: AddedLines, note: Note | None,
                 old_note: bytes | None) -> None:
        self.meta = meta
        self.added = added
        self.note = note
        self.old_note = old_note
        #: the note as written (merged with ``old_note``), once it is
        self.written: Note | None = None

    def counted(self, written: Note) -> Note:
        """``written`` as the ledger counts it: a note already on the commit (another clone's)
        may claim lines the commit never added, and only the real ones count."""
        from gitroi.attribution.notes import clip

        return clip(written, self.added.all_ranges(), self.added.count)[0]


def decide_commit(repo: Repo, db: Database, sha: str, *, now: str | None = None,
                  read: CommitRead | None = None) -> Decided:
    """The note a commit gets, from the ledger's sessions; reads the ledger, writes nothing.

    The post-commit hook writes the note this returns with git before any
    ledger row (:mod:`gitroi.attribution.postcommit`), so a locked, full or
    read-only ledger never costs the note.
    """
    from gitroi.ledger.commits import candidate_sessions

    meta, added, old_note = read.result() if read is not None else read_commit_and_note(repo, sha)
    moment = timeutil.parse(now or meta.committed_at)
    until = timeutil.iso(moment + _COMMIT_SLACK)
    running_after = timeutil.iso(moment - RUNNING_SLACK)
    markers = meta.markers_in(repo)
    marker_agents = {m.agent for m in markers}

    roots = worktree_roots(repo) if repo.paths.workdir is not None else []
    sessions = candidate_sessions(db, roots, until)
    by_key = {s["key"]: s for s in sessions}
    if sessions:
        index, counts = edits_index(db, sessions, until, roots, added)
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
        return Decided(meta, added, None, old_note)
    note = Note.build(attribution=attribution, agents=marker_agents, sessions=shares,
                      lines_added=added.count, ai_ranges=ranges,
                      markers=[m.evidence for m in markers])
    return Decided(meta, added, note, old_note)


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
        from gitroi import ranges as rng

        own = added.all_ranges()
        for path, rs in ranges.items():
            for a, b in rs:
                inside = rng.intersect(((a, b),), own.get(path, ()))
                if rng.count(inside) != b - a + 1:  # range arithmetic: --lines 1-1e9 is cheap
                    first = a if not inside or inside[0][0] > a else inside[0][1] + 1
                    raise GitroiError(
                        f"{path}:{a}-{b} is not among the lines commit {sha[:12]} added "
                        f"(line {first})", hint=f"see `git show {sha[:12]} -- {path}`")
        chosen: dict[str, tuple[tuple[int, int], ...] | list[tuple[int, int]]] = dict(ranges)
    else:
        chosen = dict(added.all_ranges())
    note = Note.build(attribution="manual", agents=agents, lines_added=added.count,
                      ai_ranges=chosen, markers=[m.evidence for m in meta.markers_in(repo)])
    written = write_note(repo, sha, note)
    write_commits(db, [record_from_note(meta, written, lines_added=added.count)])
    return written


# --- ranges of commits -------------------------------------------------------------------------


def attribute_range(repo: Repo, db: Database, rev_range: str | None = None, *,
                    import_logs: bool = True, since: str | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    problems: list[str] | None = None) -> dict[str, int]:
    """Attribute the commits of ``rev_range`` (oldest first, so token slices split in order).

    Without a range: the commits reachable from HEAD that have no gitroi note
    yet and were not already checked against every edit imported so far
    (``since`` limits how far back; agents delete old logs anyway), so a
    repeated catch-up costs almost nothing.  Returns counts per attribution
    kind (line, commit, none) of the commits it looked at: a commit that gets no
    gitroi note counts as what another tool's record (git-ai, Agent Trace) makes
    it in the ledger.  ``problems`` receives what could not be read (a record in a
    shape gitroi does not know: skipped, named).
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

    roots = worktree_roots(repo) if repo.paths.workdir is not None else []
    starts = [s["started_at"] or "" for s in candidate_sessions(db, roots, "9999")]
    first = min(starts) if starts else None
    if len(shas) > 1:
        sw = marker_switches(repo)
        hopeless = {hc.meta.sha for hc in iter_history(repo, [], only=shas, merge_lines=False)
                    if not hc.meta.markers(sw)
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
    ensure_ledger(repo, db, problems=problems)
    if empty:
        wanted = set(empty)
        for sha, attribution in db.execute(
                "SELECT sha, attribution FROM commits WHERE source IN ('git-ai', 'agent-trace')"):
            if sha in wanted and attribution in ("line", "commit"):
                counts["none"] -= 1
                counts[attribution] += 1
    return counts
