"""``gitroi analyze``: attribution in, replay, classification, outcomes out to the ledger.

Orchestration only (the engine is ``replay.py``, the rules ``outcomes.py``,
the syntax ``parse.py``, the SQL ``ledger/survival.py``).  Incremental: the
replay state at the analysed tip is pickled under the common git dir
(``gitroi/survival-<branch>.pickle``, uncompressed: zlib cost a re-analysis
more than the replay of one commit) and named in the ``analyses`` row; a
later run whose tip descends from it replays only the new commits.  A
rewritten history (the stored tip is no longer an ancestor), another window,
another ``--since`` or changed attribution recompute from scratch.
"""

from __future__ import annotations

import pickle
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.survival.classify import Classifier
from gitroi.survival.history import LogProcess, NeedsFullReplay, missing_blobs, start_log
from gitroi.survival.outcomes import DEFAULT_WINDOW_DAYS
from gitroi.survival.replay import (
    DEFAULT_MAX_FILE_BYTES,
    STATE_VERSION,
    Attribution,
    Progress,
    Replayer,
    ReplayState,
)
from gitroi.survival.rows import Snapshot, all_rows, row_delta, tip_stats
from gitroi.wording import plural

if TYPE_CHECKING:
    from sqlite_utils import Database


@dataclass
class AnalysisResult:
    """What a run did, for the CLI to print."""

    branch: str | None
    tip: str | None
    mode: str                      # full | incremental | unchanged | empty
    commits_replayed: int = 0
    rows_written: int = 0
    seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    #: Why this branch was measured, when that is not plain (``gitroi.git.branch``).
    branch_note: str = ""


def _state_path(repo: Repo, branch: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", branch)
    return repo.paths.common_dir / "gitroi" / f"survival-{safe}.pickle"


def _load_state(path: Path) -> ReplayState | None:
    try:
        st = pickle.loads(path.read_bytes())
    except Exception:  # a missing, old or corrupt snapshot only costs a full replay
        return None
    if not isinstance(st, ReplayState) or st.version != STATE_VERSION:
        return None
    return st


def _save_state(path: Path, st: ReplayState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(st, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)
    path.with_name(path.name + ".z").unlink(missing_ok=True)  # the compressed snapshot of gitroi <= 0.1


def _load_attribution(repo: Repo, db: Database, tip: str, problems: list[str] | None = None,
                      known_upto: str | None = None, fresh: bool | Callable[[], bool] = False
                      ) -> Attribution:
    """Fill the ledger from notes and markers (H3's ``ensure_ledger``), then read it.

    ``known_upto``: the tip of the last analysis, whose history the ledger holds;
    ``fresh``: the caller has just brought the whole history in (``gitroi report``),
    or a function that does it now and says whether it did (see :func:`analyze`).
    """
    from gitroi.ledger import survival as lsurv

    problems = problems if problems is not None else []
    if callable(fresh):
        fresh = fresh()
    try:
        from gitroi.attribution.rebuild import ensure_ledger
    except ImportError:
        ensure_ledger = None  # type: ignore[assignment]
    if ensure_ledger is not None and not fresh:
        try:
            # Who wrote what is all the replay needs: no diff of every commit for
            # line counts (the next full ensure_ledger fills them, same figures).
            ensure_ledger(repo, db, tip, lines=False, known_upto=known_upto)
        except GitroiError as exc:  # analyse with what the ledger already holds
            problems.append(f"attribution not refreshed: {exc}")
    kinds, agents, ranges, sessions = lsurv.load_attribution(db)
    return Attribution(kinds=kinds, agents=agents, ranges=ranges, sessions=sessions)


def _tokenizer() -> Callable[[str, list[str]], list[tuple[str, ...]]] | None:
    try:
        # The lexer, not parse.py: tree-sitter is imported by the classification alone.
        from gitroi.survival.lexer import tokenize_lines
    except ImportError:
        return None
    return tokenize_lines  # type: ignore[return-value]


def analyze(
    repo: Repo,
    db: Database,
    *,
    branch: str | None = None,
    window_days: float = DEFAULT_WINDOW_DAYS,
    since: str | None = None,
    progress: Progress | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ledger_fresh: bool | Callable[[], bool] = False,
) -> AnalysisResult:
    """Analyse ``branch`` (default: the main branch) and store the outcomes in the ledger.

    ``ledger_fresh``: every commit of the branch was just brought into the ledger
    (``ensure_ledger`` with line counts, as ``gitroi report`` does first), so the
    attribution is read as it is, without walking the history again.  It may
    also be a function that brings the history in and returns whether it did:
    it is called once git's log stream (and the classification worker) have
    started, so git writes the diffs the replay reads while the ledger fills
    (``gitroi report``'s diff for line counts runs beside it instead of before).

    ``progress(done, total)`` counts the commits replayed (:mod:`gitroi.progress`
    draws it on a terminal).
    """
    from gitroi import timeutil
    from gitroi.git.branch import resolve_branch
    from gitroi.ledger import survival as lsurv

    t0 = time.perf_counter()
    chosen = resolve_branch(repo, branch)
    if chosen is None:
        return AnalysisResult(branch, None, "empty", message="empty repository: no commits to analyse")
    branch, tip, note = chosen.name, chosen.tip, chosen.note
    since_sha: str | None = None
    if since:
        since_sha = repo.git("rev-parse", "--verify", "-q", f"{since}^{{commit}}", check=False).decode().strip()
        if not since_sha:
            raise GitroiError(f"--since {since!r} is not a commit (analyze --since takes a commit, not a date)",
                              hint="pass a commit, tag or branch; " + repo.branch_hint())
    missing = _missing(repo, tip)
    excluded = tuple(sorted(missing[1])) if missing else ()
    window_s = float(window_days) * 86400.0
    spath = _state_path(repo, branch)
    row = lsurv.analysis_row(db, branch)
    st: ReplayState | None = None
    if row is not None and row.get("state_path"):
        st = _load_state(Path(row["state_path"]))
    usable = (st is not None and st.tip is not None and st.window_s == window_s
              and st.max_file_bytes == max_file_bytes and st.since == since_sha
              and st.excluded == excluded and row is not None and row["tip"] == st.tip)
    # Start git's stream now: loading the attribution below takes a while, and
    # only a change to an already analysed commit's attribution voids the plan.
    planned: str | None = None
    if usable and st is not None and st.tip != tip and repo.is_ancestor(st.tip or "", tip):
        planned = st.tip
    log_proc = None
    classifier: Classifier | None = None
    if not (usable and st is not None and st.tip == tip):
        if planned is None:
            # A full run: its classification goes to a worker process now, before
            # the log stream's pipe exists (the fork would inherit it).
            classifier = Classifier(repo, tip, {})
        log_proc = start_log(repo, max_file_bytes, _revs(tip, planned or since_sha), excluded)
    try:
        problems: list[str] = []
        attribution = _load_attribution(repo, db, tip, problems,
                                        known_upto=st.tip if usable and st is not None else None,
                                        fresh=ledger_fresh)
        mode = "full"
        exclude: str | None = None
        if usable and st is not None and st.fingerprint == attribution.fingerprint(st.shas):
            if st.tip == tip and row is not None:
                return AnalysisResult(branch, tip, "unchanged", seconds=time.perf_counter() - t0,
                                      stats=_json_stats(row.get("stats")),
                                      message=f"{branch} is analysed up to {tip[:12]}; nothing new",
                                      branch_note=note)
            if planned is not None:
                mode, exclude = "incremental", planned
        if mode == "full":
            st = ReplayState(window_s=window_s, fingerprint="", since=since_sha, max_file_bytes=max_file_bytes,
                             excluded=excluded)
            if planned is not None and log_proc is not None:  # the plan was incremental: restart
                _stop(log_proc)
                log_proc = start_log(repo, max_file_bytes, _revs(tip, since_sha), excluded)
        assert st is not None
        before = st.commits
        previous_tip = st.tip
        if mode != "full":
            # Incremental: a few versions to parse, fewer than a worker's start-up costs.
            if classifier is not None:
                classifier.close()
            classifier = Classifier(repo, tip, {p: v[0] for p, v in st.tip_syntax.items()}, inline=True)
        elif classifier is None:
            # Planned incremental, turned full: the log's reading thread runs, so no fork now.
            classifier = Classifier(repo, tip, {}, inline=True)
        classifier.bind(st)
        snapshot: Snapshot | None = None
        if mode == "incremental":
            last = lsurv.last_analysis(db)
            if last is not None and last["branch"] == branch and last["tip"] == previous_tip:
                # The ledger holds this state's rows: only what the new commits change is written.
                snapshot = Snapshot.of(st)
        replayer = Replayer(repo, st, attribution, max_file_bytes=max_file_bytes, tokenize=_tokenizer(),
                            progress=progress, classifier=classifier)
        proc, log_proc = log_proc, None
        try:
            replayer.run(tip, exclude=exclude, boundary=since_sha if mode == "full" else None, log_proc=proc)
        except NeedsFullReplay:
            mode, exclude, snapshot = "full", None, None
            st = ReplayState(window_s=window_s, fingerprint="", since=since_sha, max_file_bytes=max_file_bytes,
                             excluded=excluded)
            before = 0
            classifier.close()
            classifier = Classifier(repo, tip, {})
            classifier.bind(st)
            replayer = Replayer(repo, st, attribution, max_file_bytes=max_file_bytes, tokenize=_tokenizer(),
                                progress=progress, classifier=classifier)
            replayer.run(tip, boundary=since_sha)
    except BaseException:
        if classifier is not None:
            classifier.close()
        raise
    finally:
        if log_proc is not None:
            _stop(log_proc)
    st.fingerprint = attribution.fingerprint(st.shas)
    classifier.finish()
    stats = _stats(st)
    stats["missing_blobs"] = _missing_stats(missing)
    # A figure computed on part of the history says so (docs/survival.md, "Partial history").
    stats["shallow"] = (repo.paths.common_dir / "shallow").is_file()
    stats["since"] = since_sha
    stats["partial"] = bool(stats["shallow"] or since_sha or stats.get("unknown_origin_lines")
                            or stats["missing_blobs"]["files"])
    stats["branch_note"] = note
    stats["token_checks"] = replayer.token_checks
    stats["inconsistencies"] = replayer.mismatches
    if problems:
        stats["problems"] = problems
    stats["ai_commits"] = [s for s in st.shas if s in attribution.kinds]
    analysis = {"branch": branch, "tip": tip, "window_days": float(window_days), "analysed_at": timeutil.now(),
                "commits": st.commits, "state_path": str(spath), "stats": stats}
    _save_state(spath, st)
    if snapshot is not None:
        delta, cdelta = row_delta(st, snapshot)
        written = lsurv.write_delta(db, outcomes=delta, carried=cdelta, analysis=analysis)
    else:
        outcomes, carried = all_rows(st)
        written = lsurv.write_results(db, outcomes=outcomes, carried=carried, analysis=analysis)
    n = st.commits - before
    return AnalysisResult(branch, tip, mode, commits_replayed=n, rows_written=written,
                          seconds=time.perf_counter() - t0, stats=stats,
                          message=f"analysed {branch} at {tip[:12]}: {plural(n, 'commit')} replayed ({mode})",
                          branch_note=note)


def _revs(tip: str, stop: str | None) -> list[str]:
    return [tip] + ([f"^{stop}"] if stop else [])


def _stop(proc: LogProcess) -> None:
    """End a log stream that will not be read."""
    proc.stop()


def _missing(repo: Repo, tip: str) -> tuple[set[str], dict[str, int]] | None:
    """A partial clone's missing blobs and the paths they belong to (``history.missing_blobs``).

    The analysis goes on around them: those paths are left out of every diff
    (their lines count nowhere) and the summary names them.  Only a clone
    missing trees too (``--filter=tree:0``) cannot be analysed at all.
    """
    try:
        return missing_blobs(repo, tip)
    except ValueError as exc:
        raise GitroiError(
            f"this is a partial clone and the history of {tip[:12]} cannot even be listed without "
            f"fetching: {exc}",
            hint="fetch what is missing (`git fetch --refetch origin`, or `git backfill` with git >= 2.49), "
                 "or analyse a full clone") from None


#: How many of the paths left out for missing blobs the stats name.
MISSING_PATHS_SHOWN = 20


def _missing_stats(missing: tuple[set[str], dict[str, int]] | None) -> dict[str, Any]:
    if not missing:
        return {"blobs": 0, "files": 0, "paths": []}
    objects, paths = missing
    return {"blobs": len(objects), "files": len(paths), "paths": sorted(paths)[:MISSING_PATHS_SHOWN]}


def _json_stats(raw: Any) -> dict[str, Any]:
    import json

    try:
        v = json.loads(raw or "{}")
    except ValueError:
        return {}
    return v if isinstance(v, dict) else {}


def _stats(st: ReplayState) -> dict[str, Any]:
    """The run's figures beside the rows (skipped files, lines at the tip, the tip's time)."""
    stats: dict[str, Any] = {"skipped_files": {k: len(v) for k, v in sorted(st.skipped.items())}, **tip_stats(st)}
    tip_idx = st.sha_index.get(st.tip or "")
    if tip_idx is not None:
        # The last moment the analysis observed: cohort curves stop at its week.
        from gitroi import timeutil

        stats["tip_committed_at"] = timeutil.from_epoch_ms(st.times[tip_idx] * 1000)
    return stats
