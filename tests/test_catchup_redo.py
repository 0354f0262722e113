"""``catchup.redo_one``: what the next commit and the next command say when they redo a hook's
job, and what becomes of the job file (gone when done, queued again when the redo fails)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitroi.attribution import catchup, pending
from gitroi.errors import GitroiError


def _job(tmp_path: Path, hook: str, args: list[str], data: str = "") -> pending.Job:
    path = pending.begin(str(tmp_path), hook, args, data, pid=0)
    assert path is not None
    job = pending.read_job(path)
    assert job is not None
    return job


def test_a_redone_rewrite_names_its_commits_and_its_file_is_gone(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[str] = []
    monkeypatch.setattr(catchup, "redo", lambda repo, db, job: done.append(job.hook))
    job = _job(tmp_path, "post-rewrite", ["d" * 40, "amend"], "a" * 40 + " " + "b" * 40 + "\n" + "c" * 40 + " " + "d" * 40)
    said = catchup.redo_one(Any, None, job, killed=True, told="x")  # type: ignore[arg-type]
    assert said == ("gitroi: the notes of 2 rewritten commits had not been carried over (the "
                    "post-rewrite hook was killed); carried over now")
    assert done == ["post-rewrite"] and pending.jobs(str(tmp_path)) == []
    one = _job(tmp_path, "post-commit", ["e" * 40])
    assert catchup.redo_one(Any, None, one, killed=True, told="x") == (  # type: ignore[arg-type]
        f"gitroi: commit {'e' * 12} had no note (its post-commit hook was killed); attributed it now")
    queued = _job(tmp_path, "post-commit", ["f" * 40])
    assert catchup.redo_one(Any, None, queued, killed=False, told="x") is None  # type: ignore[arg-type]


def test_a_failed_redo_is_queued_again_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(repo: Any, db: Any, job: pending.Job) -> None:
        raise GitroiError("the ledger is locked", hint="try again")

    monkeypatch.setattr(catchup, "redo", fail)
    job = _job(tmp_path, "post-commit", ["a" * 40])
    pending.claim(job)  # as the caller does
    said = catchup.redo_one(Any, None, job, killed=True, told="commit aaaaaaaaaaaa has no note")  # type: ignore[arg-type]
    assert said == "gitroi: warning: commit aaaaaaaaaaaa has no note; doing it now failed: the ledger is locked"
    left = pending.jobs(str(tmp_path))
    assert [(j.hook, j.state()) for j in left] == [("post-commit", "queued")]
