"""Import agent sessions into the ledger, incrementally and idempotently.

For each log file the ledger remembers (table ``log_files``) its device,
inode, size, mtime, the offset read up to, a hash of its first bytes and the
reader's state.  On the next import:

* same inode, size and mtime: the file is not opened (the post-commit hook's
  common case costs one ``stat`` per file);
* grown, same inode and same first bytes: read from the remembered offset
  with the remembered state;
* shrunk below the offset, another inode, or different first bytes: read
  again from byte 0 with a fresh state.  Nothing is deleted first: every
  record has a stable id (a Claude ``message.id``, a Codex cumulative total,
  a tool call id), so the re-read upserts the same rows, and what a rotated
  file no longer holds stays in the ledger ("nothing imported is lost").

Each file's records and its new offset are written in one transaction, so a
run killed half-way leaves the ledger as if it had stopped between two files,
and running it again gives the same ledger as one clean run.

Scope: by default only sessions whose cwd lies inside one of the
repository's work trees (``RepoPaths.worktrees()``).  Claude Code project
directories are skipped by name (their name encodes the cwd); a new log file
of another agent is peeked at (its first line holds the cwd) and, if it is
out of scope, remembered as such with its cwd so it is never opened again
unless the scope grows or ``--all`` asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitroi.sessions import Problem, Reader, ReadResult, UsageEvent, sha1
from gitroi.wording import plural

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

    from sqlite_utils import Database

    from gitroi.git import Repo
    from gitroi.sessions.pricing import PriceTable

HEAD_BYTES = 4096

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass
class AgentScan:
    """Where one agent's logs were looked for and what was found (for ``doctor``)."""

    agent: str
    roots: list[str] = field(default_factory=list)
    roots_found: list[str] = field(default_factory=list)
    files: int = 0
    files_read: int = 0
    out_of_scope: int = 0


@dataclass
class ImportSummary:
    """What one import did."""

    files_seen: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_out_of_scope: int = 0
    bytes_read: int = 0
    sessions: int = 0
    events: int = 0
    edits: int = 0
    problems: list[Problem] = field(default_factory=list)
    agents: dict[str, AgentScan] = field(default_factory=dict)

    def problem_line(self, max_files: int = 5) -> str | None:
        """One line naming the files and line numbers skipped, or None."""
        if not self.problems:
            return None
        by_file: dict[str, list[int]] = {}
        reasons: dict[str, int] = {}
        for p in self.problems:
            by_file.setdefault(p.path, []).append(p.line)
            reasons[p.reason] = reasons.get(p.reason, 0) + 1
        parts = []
        for path, lines in list(by_file.items())[:max_files]:
            nums = sorted(n for n in lines if n)
            if nums:
                shown = ",".join(map(str, nums[:10])) + (",…" if len(nums) > 10 else "")
                parts.append(f"{path}:{shown}")
            else:
                parts.append(path)
        more = len(by_file) - max_files
        why = ", ".join(f"{r} {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))
        return (f"gitroi: skipped {plural(len(self.problems), 'unreadable item')} in "
                f"{plural(len(by_file), 'file')}: "
                + "; ".join(parts) + (f"; and {plural(more, 'more file')}" if more > 0 else "")
                + f" ({why})")


def in_scope(cwd: str | None, scopes: Sequence[str] | None) -> bool:
    """Is ``cwd`` inside one of the ``scopes`` (None = everything)?"""
    if scopes is None:
        return True
    if not cwd:
        return False
    for s in scopes:
        s = s.rstrip("/") or "/"
        if cwd == s or cwd.startswith(s + "/") or s == "/":
            return True
    return False


def repo_scopes(repo: Repo) -> list[str]:
    """The work trees of ``repo``, as written and resolved (agents log either)."""
    out: list[str] = []
    for w in repo.paths.worktrees():
        for p in (str(w), str(w.resolve())):
            if p not in out:
                out.append(p)
    return out


def _head(path: Path, size: int) -> str | None:
    n = min(HEAD_BYTES, size)
    try:
        with path.open("rb") as fh:
            data = fh.read(n)
    except OSError:
        return None
    return f"{len(data)}:{sha1(data).hexdigest()}"


def _same_head(path: Path, stored: str | None) -> bool:
    if not stored or ":" not in stored:
        return False
    n_text, digest = stored.split(":", 1)
    try:
        with path.open("rb") as fh:
            data = fh.read(int(n_text))
    except (OSError, ValueError):
        return False
    return bool(sha1(data).hexdigest() == digest)


@dataclass
class _Job:
    """One log file to read, and from where."""

    reader: Reader
    path: Path
    st: os.stat_result
    start: int
    state: dict[str, Any]


def import_sessions(
    db: Database,
    *,
    repo: Repo | None = None,
    all_sessions: bool = False,
    since: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    prices: PriceTable | None = None,
    progress: Progress | None = None,
    readers: Iterable[Reader] | None = None,
    scopes: Sequence[str] | None = None,
) -> ImportSummary:
    """Read every agent's new log bytes into the ledger ``db``.

    ``repo`` (unless ``all_sessions``) limits the import to sessions whose
    cwd is inside one of its work trees; ``scopes`` gives such directories
    directly instead.  ``since`` (ISO time) skips files not modified since.
    ``prices`` defaults to the shipped table merged with the user's.
    """
    from gitroi import timeutil
    from gitroi.sessions import store as lsql

    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    if all_sessions:
        scopes = None
    elif scopes is None and repo is not None:
        scopes = repo_scopes(repo)
    if readers is None:
        from gitroi.sessions.registry import readers as all_readers

        readers = all_readers()
    since_epoch = timeutil.parse(since).timestamp() if since else None
    now = timeutil.now()

    summary = ImportSummary()
    known = lsql.log_files(db)
    jobs: list[_Job] = []
    dir_problems: list[Problem] = []
    skipped_logs: list[Any] = []
    for reader in readers:
        scan = summary.agents.setdefault(reader.agent, AgentScan(reader.agent))
        roots = reader.roots(env, home)
        tree_roots = getattr(reader, "scoped_roots", None)
        if tree_roots is not None:  # Aider keeps its history inside the work trees themselves
            trees = scopes if scopes is not None else (repo_scopes(repo) if repo is not None else [os.getcwd()])
            roots = [*roots, *tree_roots(trees)]
        scan.roots = [str(r) for r in roots]
        scan.roots_found = [str(r) for r in roots if r.exists()]
        scoped = getattr(reader, "discover_scoped", None)
        try:
            paths: Iterable[Path] = (scoped(roots, scopes, dir_problems) if scoped is not None
                                     else reader.discover(roots))
            found = list(paths)
        except OSError as exc:
            dir_problems.append(Problem(str(roots[0]) if roots else reader.agent, 0,
                                        f"unreadable directory: {exc}"))
            found = []
        peek = getattr(reader, "peek_cwd", None)
        for path in found:
            scan.files += 1
            summary.files_seen += 1
            try:
                st = path.stat()
            except OSError as exc:
                dir_problems.append(Problem(str(path), 0, f"unreadable file: {exc.strerror or exc}"))
                continue
            sp = str(path)
            row = known.get(sp)
            if row is None and since_epoch is not None and st.st_mtime < since_epoch:
                continue
            start, state = 0, {}
            if row is not None:
                if row.state.get("out_of_scope"):
                    if scopes is not None and not in_scope(row.state.get("cwd"), scopes):
                        summary.files_out_of_scope += 1
                        scan.out_of_scope += 1
                        continue
                elif (getattr(reader, "watermarked", None) is not None and reader.watermarked(path)  # type: ignore[attr-defined]
                      and row.inode == st.st_ino and row.dev == st.st_dev):
                    start, state = row.offset, row.state  # a database (OpenCode): its state says what is new
                elif (row.inode == st.st_ino and row.dev == st.st_dev and row.size == st.st_size
                      and row.mtime == st.st_mtime):
                    summary.files_unchanged += 1
                    continue
                elif row.inode == st.st_ino and st.st_size >= row.offset and _same_head(path, row.head_sha1):
                    start, state = row.offset, row.state
            elif scopes is not None and peek is not None:
                cwd = peek(path)
                if cwd is not None and not in_scope(cwd, scopes):
                    summary.files_out_of_scope += 1
                    scan.out_of_scope += 1
                    skipped_logs.append(_log(reader.agent, path, st, st.st_size, None,
                                             {"out_of_scope": True, "cwd": cwd}))
                    continue
            jobs.append(_Job(reader, path, st, start, dict(state)))

    summary.problems.extend(dir_problems)
    lsql.record_problems(db, dir_problems, now)
    lsql.write_logs(db, skipped_logs)
    total = sum(max(0, j.st.st_size - j.start) for j in jobs)
    done = 0
    seen_sessions: set[str] = set()
    table: list[PriceTable | None] = [prices]
    for job in jobs:
        _import_one(db, job, scopes, table, summary, seen_sessions, now)
        done += max(0, job.st.st_size - job.start)
        if progress is not None:
            progress(done, total)
    summary.sessions = len(seen_sessions)
    return summary


def _log(agent: str, path: Path, st: os.stat_result, offset: int, head: str | None,
         state: dict[str, Any]) -> Any:
    from gitroi.sessions.store import LogFile

    return LogFile(str(path), agent, st.st_dev, st.st_ino, st.st_size, offset, head,
                   st.st_mtime, state)


def _import_one(db: Database, job: _Job, scopes: Sequence[str] | None,
                prices: list[PriceTable | None], summary: ImportSummary,
                seen_sessions: set[str], now: str) -> None:
    from gitroi.sessions import store as lsql

    reader, path = job.reader, job.path
    scan = summary.agents[reader.agent]
    try:
        res = reader.read(path, job.start, job.state)
    except OSError as exc:
        p = Problem(str(path), 0, f"unreadable file: {exc.strerror or exc}")
        summary.problems.append(p)
        lsql.record_problems(db, [p], now)
        return
    except Exception as exc:  # a reader bug must not stop the other files
        p = Problem(str(path), 0, f"reader failed: {type(exc).__name__}: {exc}")
        summary.problems.append(p)
        lsql.record_problems(db, [p], now)
        return
    summary.files_read += 1
    scan.files_read += 1
    summary.bytes_read += max(0, res.offset - job.start)
    _refuse_absurd(res, str(path))
    keep = {k for k, s in res.sessions.items() if in_scope(s.cwd, scopes)}
    state = dict(res.state)
    many = getattr(reader, "watermarked", None) is not None and reader.watermarked(path)  # type: ignore[attr-defined]
    if scopes is not None and res.sessions and not keep and not many:
        cwd = next(iter(res.sessions.values())).cwd
        if cwd is not None:
            summary.files_out_of_scope += 1
            scan.out_of_scope += 1
            state = {"out_of_scope": True, "cwd": cwd}
    events = [(k, e) for k, e in res.events if k in keep]
    edits = [(k, e) for k, e in res.edits if k in keep]
    priced = _price(events, prices)
    log = _log(reader.agent, path, job.st, res.offset, _head(path, job.st.st_size), state)
    lsql.write_file(
        db, log,
        sessions=[res.sessions[k] for k in sorted(keep)],
        events=priced, edits=edits, problems=res.problems,
        deleted_events=[d for d in getattr(res, "deleted_events", ()) if d[0] in keep],
        deleted_edits=[d for d in getattr(res, "deleted_edits", ()) if d[0] in keep],
        keep_max=reader.agent == "claude-code", seen_at=now,
    )
    seen_sessions.update(keep)
    summary.events += len(events)
    summary.edits += len(edits)
    summary.problems.extend(res.problems)


_COUNTS = ("input", "output", "cache_write", "cache_write_1h", "cache_read", "reasoning")


def _refuse_absurd(res: ReadResult, path: str) -> None:
    """The last guard before SQLite: an event with a count outside 0..MAX_COUNT or a cost that is
    not a finite amount is dropped and named (a reader should already have named its line)."""
    import math

    from gitroi.sessions._fields import MAX_COST, MAX_COUNT

    kept: list[tuple[str, UsageEvent]] = []
    for k, e in res.events:
        bad = [f for f in _COUNTS if not 0 <= getattr(e, f) <= MAX_COUNT]
        c = e.logged_cost_usd
        if c is not None and not (math.isfinite(c) and 0 <= c <= MAX_COST):
            bad.append("logged cost")
        if bad:
            res.problems.append(Problem(path, 0, f"absurd value in usage record {e.event_id[:40]}: "
                                                 f"{', '.join(bad)}"))
        else:
            kept.append((k, e))
    res.events = kept


def _price(events: list[tuple[str, UsageEvent]],
           prices: list[PriceTable | None]) -> list[tuple[str, UsageEvent, float | None]]:
    """Events with their cost; the price table is loaded on the first event of the run."""
    if not events:
        return []
    table = prices[0]
    if table is None:
        from gitroi.sessions.pricing import PriceTable

        table = prices[0] = PriceTable.load()
    out: list[tuple[str, UsageEvent, float | None]] = []
    for k, e in events:
        cost = table.cost(e)
        if cost is None and e.logged_cost_usd is not None:
            cost = e.logged_cost_usd  # the agent's own figure, when gitroi has no price
        out.append((k, e, cost))
    return out


__all__ = ["AgentScan", "ImportSummary", "ReadResult", "import_sessions", "in_scope", "repo_scopes"]
