"""The ledger's commit tables, made from what the repository carries.

:func:`ensure_ledger` brings a whole history into the ledger cheaply (one
``git log`` stream, one notes listing) from, in order of precedence, gitroi
notes, git-ai notes, Agent Trace records, markers; :func:`rebuild` reloads
everything from those sources, so the ledger can always be recreated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from gitroi.attribution import markers
from gitroi.attribution.history import HistoryCommit, added_ranges, iter_history
from gitroi.attribution.notes import Note, clip, list_notes, parse, read_blobs
from gitroi.attribution.records import record_from_markers, record_from_note
from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.wording import plural

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from sqlite_utils import Database

    from gitroi.ledger.commits import CommitRecord


#: Suffix of the ``source_key`` of a row written without its line counts (``lines=False``):
#: a full :func:`ensure_ledger` sees a key it does not expect and redoes the row.
NO_LINES = "#no-lines"


def ensure_ledger(repo: Repo, db: Database, rev: str | Sequence[str] = "HEAD", *,
                  problems: list[str] | None = None, lines: bool = True,
                  progress: Callable[[int, int], None] | None = None,
                  known_upto: str | None = None) -> int:
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
    ``progress(done, total)`` counts the commits read (a first run on a long
    history reads thousands).

    ``known_upto``: a commit whose every ancestor is already in the ledger (the
    tip the last analysis brought in): only the commits after it are listed
    from git, and the ledger's own rows are checked against the notes; a
    re-analysis after one commit then walks one commit, not the history.
    """
    from gitroi.attribution import foreign
    from gitroi.ledger.commits import known_sources

    revs = [rev] if isinstance(rev, str) else list(rev)
    # A full commit id (what the analysis passes) proves the repository has commits.
    if not (len(revs) == 1 and len(revs[0]) == 40 and revs[0].isalnum()) and repo.head() is None:
        return 0
    ours = list_notes(repo)
    gitai = list_notes(repo, ref=foreign.GIT_AI_REF)
    traces = foreign.read_agent_traces(repo, problems=problems)
    sw = markers.switches(repo)
    marked, unmarked = markers.source_key(True, sw), markers.source_key(False, sw)

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
    def current(sha: str, have: str | None) -> bool:
        src, key = source_of(sha)
        if not lines and have is not None and have.endswith(NO_LINES):
            have = have[:-len(NO_LINES)]  # counts are not wanted here: the row serves
        if src:
            return have == key
        return have in (marked, unmarked)

    stale: list[str] = []
    # A first run (nothing known) wants every commit: the log below walks the history
    # itself, one git traversal fewer (unless a progress bar wants the count first).
    any_known = db.execute("SELECT 1 FROM commits LIMIT 1").fetchone() is not None
    everything = not any_known and progress is None
    walked = False
    if any_known and known_upto and len(revs) == 1 and repo.is_ancestor(known_upto, revs[0]):
        new = repo.git_text("rev-list", revs[0], f"^{known_upto}", "--").split()
        seen = set(new)
        # Rows with a usual marker key are current unless a note or record names their
        # commit: only the others are read (on a long history, a handful of 18,000).
        usual = [marked, unmarked] + ([] if lines else [marked + NO_LINES, unmarked + NO_LINES])
        part = known_sources(db, unless=usual, shas=seen | set(ours) | set(gitai) | set(traces))
        # Old rows a new or changed note (or marker switch) voids: few, each checked to be
        # in this history (a row may be of a commit rebased away); many: the whole walk.
        old = [sha for sha, have in part.items() if sha not in seen and not current(sha, have)]
        if len(old) <= 64:
            stale = [sha for sha in new if not current(sha, part.get(sha, "?"))]
            stale += [sha for sha in old if repo.is_ancestor(sha, revs[0])]
            walked = True
    if not walked:
        known = known_sources(db) if any_known else {}
        for sha in ([] if everything else repo.git_text("rev-list", *revs, "--").split()):
            if not current(sha, known.get(sha, "?")):
                stale.append(sha)
    todo: list[tuple[HistoryCommit, str, str]] = []
    found: dict[str, list[markers.Marker]] = {}  # read once per commit: a cold run reads thousands
    excludes: list[str] | None = None
    if (stale or everything) and lines:
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
                f"partial clone: {plural(len(gap[0]), 'blob')} missing; {plural(len(excludes), 'file')} left "
                f"out of the commits' added lines: {shown} (fetch them, or use a full clone, "
                "for complete counts)")
    for hc in iter_history(repo, revs, only=None if everything else stale, excludes=excludes, counts=lines):
        if progress is not None and (len(todo) & 63) == 0:
            progress(len(todo), len(stale))
        src, key = source_of(hc.meta.sha)
        if not src:
            mk = found[hc.meta.sha] = hc.meta.markers(sw)
            key = marked if mk else unmarked
        todo.append((hc, src, key))
    if progress is not None and stale:
        progress(len(todo), len(stale))
    if not todo:
        return 0
    blobs = read_blobs(repo, [k.split(":", 1)[1] for _, s, k in todo if s in ("note", "git-ai")])
    # Notes are untrusted (anyone who can push refs/notes/gitroi): their ranges are cut to
    # the lines each commit really added, read in one more diff stream of those commits only.
    real = (added_ranges(repo, [hc.meta.sha for hc, s, _ in todo if s], excludes or [])
            if lines else {})
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
                problems.append(str(exc.message if isinstance(exc, GitroiError) else exc)
                                + ("; skipped" if src != "note" else ""))
            note = None
            key = f"{key}{QUARANTINED}"  # not skipped next time: named on every run until fixed
        if note is not None and lines:
            clipped = clipped_note(note, real.get(hc.meta.sha, {}), hc, src, bool(excludes),
                                   problems)
            if clipped is not note:
                note, key = clipped, f"{key}{QUARANTINED}"  # named again next run, until fixed
        if note is not None:
            rec = record_from_note(hc.meta, note, lines_added=hc.lines_added, source=src,
                                   source_key=key)
        else:
            known_marks = found.get(hc.meta.sha)
            rec = record_from_markers(hc.meta, hc.meta.markers(sw) if known_marks is None else known_marks,
                                      hc.lines_added,
                                      source_key=key if src else None, switches=sw)
        if not lines:
            if note is not None and src == "note":
                # the note's counts serve, but its ranges were not checked against the diff:
                # the next full run does that
                rec = replace(rec, row={**rec.row,
                                        "source_key": f"{rec.row['source_key']}{NO_LINES}"})
            else:
                rec = _without_lines(rec)
        records.append(rec)
    return _write_each(db, records, problems)


#: Suffix of the ``source_key`` of a commit whose note was quarantined (invalid: the row is its
#: markers') or cut to the commit's lines: the next :func:`ensure_ledger` reads the note again
#: and names the problem again, until the note is fixed.
QUARANTINED = "#invalid"


def clipped_note(note: Note, real: dict[str, tuple[tuple[int, int], ...]], hc: HistoryCommit,
                 src: str, partial: bool, problems: list[str] | None) -> Note:
    """``note`` cut to the commit's added lines (:func:`gitroi.attribution.notes.clip`),
    the cut named in ``problems``.  In a partial clone git's count is not the whole count:
    ranges of paths it could not read are kept and the note's ``lines_added`` stands."""
    from gitroi.attribution import notecheck

    if partial:
        real = {**{p: rs for p, rs in note.ai_ranges.items() if p not in real}, **real}
    count = None if partial or src != "note" else hc.lines_added
    clipped, said = clip(note, real, count)
    if said and problems is not None:
        name = {"note": "gitroi note", "git-ai": "git-ai note"}.get(src, "Agent Trace record")
        hint = f"; {notecheck.inspect_hint(hc.meta.sha)}" if src == "note" else ""
        problems.append(f"the {name} on commit {hc.meta.sha[:12]} {said}{hint}")
    return clipped


def _write_each(db: Database, records: list[CommitRecord], problems: list[str] | None) -> int:
    """All rows in one transaction; if the database refuses one, each commit on its own, so one
    bad row never keeps the others out (and is named)."""
    import sqlite3

    from gitroi.ledger.commits import write_commits

    try:
        return write_commits(db, records)
    except (sqlite3.Error, OverflowError):
        if len(records) <= 1:
            raise
    n = 0
    for rec in records:
        try:
            n += write_commits(db, [rec])
        except (sqlite3.Error, OverflowError) as exc:
            if problems is not None:
                problems.append(f"commit {rec.row['sha'][:12]} could not be written to the "
                                f"ledger ({exc}); its attribution is left out")
    return n


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
