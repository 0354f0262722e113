"""One branch, stated; honest empty states (issue 11, items 5 and 6).

analyze, survival, verify and report choose the branch with one function and
say which branch and tip they measured; a window without AI commits, a
reversed range and a shallow clone say why the figures are missing; figures
on a partial history are marked in every format.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitroi.git import Repo
from gitroi.git.branch import resolve_branch
from tests.conftest import GitRepo, run_gitroi
from tests.test_survival import CLAUDE, day


def _history(repo: GitRepo) -> list[str]:
    shas = [repo.commit({"a.py": "def f():\n    return 0\n"}, "base", date=day(0))]
    for i in range(1, 5):
        body = "def f():\n    return 0\n" + "".join(f"\ndef g{k}():\n    return {k}\n" for k in range(i))
        shas.append(repo.commit({"a.py": body}, f"add g{i}" + CLAUDE, date=day(10 * i)))
    return shas


def _clone(src: GitRepo, dest: Path, *args: str) -> GitRepo:
    subprocess.run(["git", "clone", "-q", *args, f"file://{src.path}", str(dest)], check=True)
    return GitRepo(dest)


def test_local_main_behind_origin_main_all_commands_measure_origin_main(repo: GitRepo, tmp_path: Path) -> None:
    shas = _history(repo)
    clone = _clone(repo, tmp_path / "clone")
    clone.git("reset", "-q", "--hard", shas[2])  # local main is 2 commits behind origin/main
    chosen = resolve_branch(Repo.discover(clone.path))
    assert chosen is not None
    assert (chosen.name, chosen.tip) == ("origin/main", shas[-1])
    assert "local main is 2 commits behind origin/main; measuring origin/main" in chosen.note
    db = str(tmp_path / "l.db")
    out = run_gitroi("--db", db, "analyze", cwd=clone.path)
    assert f"analysed origin/main at {shas[-1][:12]}" in out.stdout
    assert "behind origin/main" in out.stderr
    surv = json.loads(run_gitroi("--db", db, "survival", "--json", cwd=clone.path).stdout)
    assert (surv["branch"], surv["tip"]) == ("origin/main", shas[-1])
    assert "behind" in surv["branch_note"]
    rep = json.loads(run_gitroi("--db", db, "report", "--format", "json", cwd=clone.path).stdout)
    assert (rep["branch"], rep["tip"]) == ("origin/main", shas[-1])
    assert rep["partial"] is None
    md = run_gitroi("--db", db, "report", "--format", "markdown", cwd=clone.path).stdout
    assert f"· origin/main at {shas[-1][:12]}" in md.splitlines()[0]
    csv_text = run_gitroi("--db", db, "report", "--format", "csv", cwd=clone.path).stdout
    assert csv_text.splitlines()[0].endswith(",branch,tip,partial_unknown_origin_lines")
    assert csv_text.splitlines()[1].endswith(f",origin/main,{shas[-1]},")
    # -b overrides everywhere.
    rep_b = json.loads(run_gitroi("--db", db, "report", "-b", "main", "--format", "json", cwd=clone.path).stdout)
    assert (rep_b["branch"], rep_b["tip"]) == ("main", shas[2])
    surv_b = json.loads(run_gitroi("--db", db, "survival", "-b", "main", "--json", cwd=clone.path).stdout)
    assert (surv_b["branch"], surv_b["tip"]) == ("main", shas[2])


def test_local_main_ahead_is_measured_and_detached_head_is_said(repo: GitRepo, tmp_path: Path) -> None:
    shas = _history(repo)
    clone = _clone(repo, tmp_path / "clone")
    ahead = clone.commit({"b.py": "x = 1\n"}, "local work", date=day(60))
    chosen = resolve_branch(Repo.discover(clone.path))
    assert chosen is not None and (chosen.name, chosen.tip) == ("main", ahead)
    assert "main is 1 commit ahead of origin/main (not pushed); measuring main" in chosen.note
    clone.git("checkout", "-q", "--detach", shas[1])
    db = str(tmp_path / "l.db")
    out = run_gitroi("--db", db, "report", "--format", "json", cwd=clone.path)
    rep = json.loads(out.stdout)
    assert (rep["branch"], rep["tip"]) == ("main", ahead)
    assert f"HEAD is detached at {shas[1][:12]}; measuring main (pass -b HEAD" in rep["branch_note"]
    table = run_gitroi("--db", db, "report", cwd=clone.path)
    assert f"· main at {ahead[:12]}" in table.stdout.splitlines()[0]
    assert "HEAD is detached" in table.stderr
    head = json.loads(run_gitroi("--db", db, "report", "-b", "HEAD", "--format", "json", cwd=clone.path).stdout)
    assert (head["branch"], head["tip"]) == ("HEAD", shas[1])


def test_unknown_branch_lists_the_branches(repo: GitRepo, tmp_path: Path) -> None:
    _history(repo)
    proc = run_gitroi("--db", str(tmp_path / "l.db"), "analyze", "-b", "nope", cwd=repo.path, check=False)
    assert proc.returncode == 1
    assert "branch 'nope' does not exist" in proc.stderr and "branches here: main" in proc.stderr


def test_window_without_ai_commits_names_those_outside_it(repo: GitRepo, tmp_path: Path) -> None:
    _history(repo)  # AI commits on days 10, 20, 30, 40 of 2026
    db = str(tmp_path / "l.db")
    out = run_gitroi("--db", db, "report", "--since", "2026-01-13", "--until", "2026-01-20", cwd=repo.path)
    assert ("No AI commits between 2026-01-13 and 2026-01-20 on main; 4 AI commits outside it, "
            "nearest on 2026-01-11 (before) and 2026-01-21 (after).") in " ".join(out.stdout.split())
    assert "install" not in out.stdout


def test_reversed_range_is_an_error(repo: GitRepo, tmp_path: Path) -> None:
    _history(repo)
    proc = run_gitroi("--db", str(tmp_path / "l.db"), "report", "--since", "2026-02-01", "--until", "2026-01-01",
                      cwd=repo.path, check=False)
    assert proc.returncode == 1
    assert "is after --until" in proc.stderr and "swap them" in proc.stderr


@pytest.mark.parametrize("depth", [1, 2])
def test_shallow_clone_is_said_and_marked_partial_everywhere(repo: GitRepo, tmp_path: Path, depth: int) -> None:
    _history(repo)
    repo.commit({"c.txt": "plain\n"}, "human work", date=day(50))
    clone = _clone(repo, tmp_path / "shallow", f"--depth={depth}")
    db = str(tmp_path / "l.db")
    out = run_gitroi("--db", db, "analyze", cwd=clone.path).stdout
    assert "partial history: this is a shallow clone" in out and "git fetch --unshallow" in out
    assert "fetch-depth: 0" in out
    surv = json.loads(run_gitroi("--db", db, "survival", "--json", cwd=clone.path).stdout)
    assert surv["partial"] and surv["shallow"] and surv["unknown_origin_lines"] > 0
    unknown = surv["unknown_origin_lines"]
    table = run_gitroi("--db", db, "report", cwd=clone.path).stdout
    flat = " ".join(table.split())
    if depth == 1:
        # One commit, no AI evidence in it: the reason is the depth, not the hooks.
        assert "No AI evidence in this shallow clone (1 commit of history)" in flat
        assert "git fetch --unshallow" in flat
        return
    assert "(partial history)" in table.splitlines()[0]
    assert (f"{unknown:,} line{'' if unknown == 1 else 's'} at the tip {'is' if unknown == 1 else 'are'} "
            "of unknown origin") in flat
    rep = json.loads(run_gitroi("--db", db, "report", "--format", "json", cwd=clone.path).stdout)
    assert rep["partial"] == {"unknown_origin_lines": unknown, "shallow": True, "since": None}
    csv_line = run_gitroi("--db", db, "report", "--format", "csv", cwd=clone.path).stdout.splitlines()[1]
    assert csv_line.endswith(f",{unknown}")
    md = run_gitroi("--db", db, "report", "--format", "markdown", cwd=clone.path).stdout
    assert "(partial history)" in md.splitlines()[0] and "unknown origin" in md
    html = run_gitroi("--db", db, "report", "--format", "html", cwd=clone.path).stdout
    assert "(partial history)" in html and "unknown origin" in html
