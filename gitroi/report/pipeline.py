"""The main job: bring the ledger up to date for a report, doing only what is missing.

``gitroi report`` and the GitHub Action both call :func:`prepare` before
:func:`gitroi.report.figures.compute`.  Each step is incremental on its own
(the importer reads appended log bytes only, ``ensure_ledger`` skips commits
whose note did not change, the survival analysis resumes from its cached tip,
PRs already recorded are skipped), so a second run costs little.  A step
whose module is missing or fails is recorded in ``problems`` and the report
goes on with what the ledger has: a report with a gap beats no report.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.progress import Progress

if TYPE_CHECKING:
    from sqlite_utils import Database

@dataclass
class Prepared:
    """What :func:`prepare` did, for the CLI's one-line summary and the Action's log."""

    branch: str | None = None
    tip: str | None = None
    #: Why this branch was measured, when that is not plain (``gitroi.git.branch``).
    branch_note: str = ""
    sessions_imported: int = 0
    commits_loaded: int = 0
    commits_attributed: int = 0
    analysed: bool = False
    prs_recorded: int = 0
    steps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"branch": self.branch, "tip": self.tip, "branch_note": self.branch_note,
                "sessions_imported": self.sessions_imported,
                "commits_loaded": self.commits_loaded,
                "commits_attributed": self.commits_attributed, "analysed": self.analysed,
                "prs_recorded": self.prs_recorded, "steps": self.steps,
                "problems": self.problems}


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with the keyword arguments it accepts (the other modules evolve in parallel)."""
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return fn(*args, **kwargs)


def _problem(out: Prepared, step: str, exc: BaseException) -> None:
    if isinstance(exc, GitroiError):
        msg = f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message
    else:
        msg = f"{type(exc).__name__}: {exc}"
    out.problems.append(f"{step}: {msg}")


def prepare(repo: Repo, db: Database, *, branch: str | None = None, import_logs: bool = True,
            attribute: bool = True, analyse: bool = True, prs: bool = True,
            prices_path: Path | None = None, progress: Progress | None = None) -> Prepared:
    """Import sessions, load attribution, analyse survival and find PRs for ``branch``.

    ``branch`` defaults to the repository's main branch.  Never raises for a
    failing step (see ``problems``); raises :class:`GitroiError` only when the
    branch does not exist.
    """
    from gitroi.ledger.figures import set_branch_commits
    from gitroi.ledger.views import create_views
    from gitroi.report.figures import providers

    out = Prepared()
    # Each step counts what it does (log MB read, commits read, replayed, files parsed,
    # PRs); the bar is drawn only on a terminal and only for steps that take a while.
    bar = progress if progress is not None else Progress(None)
    if repo.head() is None:
        out.steps.append("empty repository: nothing to do")
        return out
    from gitroi.git.branch import resolve_branch

    chosen = resolve_branch(repo, branch)
    if chosen is None:
        out.steps.append("empty repository: nothing to do")
        return out
    branch, tip = chosen.name, chosen.tip
    out.branch, out.tip, out.branch_note = branch, tip, chosen.note
    try:
        from gitroi.sessions.importer import repo_scopes

        out.roots = repo_scopes(repo)
    except Exception:
        out.roots = [str(p) for p in repo.paths.worktrees()]

    if import_logs:
        try:
            from gitroi.sessions.importer import import_sessions

            prices = None
            if prices_path is not None:
                from gitroi.sessions.pricing import PriceTable

                prices = PriceTable.load(prices_path)
            summary = _call(import_sessions, db, repo=repo, prices=prices,
                            progress=bar.stage("reading agent logs", "MB", scale=1_000_000))
            out.sessions_imported = int(getattr(summary, "sessions", 0) or 0)
            said = summary.problem_line() if hasattr(summary, "problem_line") else None
            if said:  # file:line of every log line skipped, and why
                out.problems.append("import: " + said.removeprefix("gitroi: "))
            out.steps.append("import")
        except ImportError:
            out.problems.append("import: the session importer is not available")
        except Exception as exc:
            _problem(out, "import", exc)

    from gitroi.report.prs import head_refs

    refs = head_refs(repo) if prs else []
    attributed = False

    def fill_ledger() -> bool:
        """Bring the branch's whole history into the ledger, counts and all; True when done."""
        nonlocal attributed
        if attributed or not attribute:
            return False
        attributed = True
        try:
            from gitroi.attribution.attribute import attribute_range
            from gitroi.attribution.rebuild import ensure_ledger

            if import_logs and _has_sessions(db, out.roots):
                since = _first_session(db, out.roots)
                counts = _call(attribute_range, repo, db, None, import_logs=False,
                               since=since, progress=bar.stage("attributing commits", "commits"))
                out.commits_attributed = int(sum(v for k, v in counts.items() if k != "none"))
            out.commits_loaded = int(_call(ensure_ledger, repo, db, [branch, *refs],
                                           problems=out.problems,
                                           progress=bar.stage("reading commits", "commits")))
            out.steps.append("attribution")
            return True
        except ImportError:
            out.problems.append("attribution: not available")
        except Exception as exc:
            _problem(out, "attribution", exc)
        return False

    if analyse:
        try:
            import importlib

            survival = importlib.import_module("gitroi.survival.analyze")
            fn = getattr(survival, "analyze", None) or getattr(survival, "analyse", None)
            if fn is None:
                raise ImportError("gitroi.survival.analyze has no analyze()")
            # The ledger is filled once the analysis has started git's log stream: the
            # diffs it reads are written while the line counts' own diff is read.
            stage: list[Callable[[int, int], None]] = []

            def replaying(done: int, total: int) -> None:
                if not stage:  # its stage begins after the ledger's ("reading commits")
                    stage.append(bar.stage("replaying history", "commits"))
                stage[0](done, total)

            _call(fn, repo, db, branch=branch, progress=replaying, ledger_fresh=fill_ledger)
            out.analysed = True
            out.steps.append("analysis")
        except ImportError:
            out.problems.append("analysis: the survival analyser is not available; "
                                "AI lines are reported without outcomes")
        except Exception as exc:
            _problem(out, "analysis", exc)
    fill_ledger()  # when there was no analysis, or it stopped before its ledger step

    if prs:
        try:
            from gitroi.report.prs import record

            out.prs_recorded = int(_call(record, repo, db, branch,
                                         progress=bar.stage("reading pull requests", "PRs")))
            out.steps.append("prs")
        except Exception as exc:
            _problem(out, "prs", exc)

    bar.finish()
    shas = repo.git_text("rev-list", branch).split()
    set_branch_commits(db, branch, shas)
    # Views follow the code's definitions even on a ledger made by an older gitroi; their
    # providers are the price table's.
    create_views(db, provider_of=providers())
    return out


def default_branch(repo: Repo) -> str:
    """The branch every command measures by default (``gitroi.git.branch.resolve_branch``)."""
    from gitroi.git.branch import resolve_branch

    chosen = resolve_branch(repo)
    return chosen.name if chosen is not None else "HEAD"


def _has_sessions(db: Database, roots: list[str]) -> bool:
    return _first_session(db, roots) is not None


def _first_session(db: Database, roots: list[str]) -> str | None:
    from gitroi.ledger.exploration import first_session_start

    return first_session_start(db, roots)
