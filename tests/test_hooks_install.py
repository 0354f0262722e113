"""`gitroi install` / `uninstall`: templates, chaining, idempotence, hooksPath, worktrees, --global.

Every test drives the real CLI in a subprocess and real git; hooks run
through real `git commit`.  GITROI_SKIP keeps gitroi's own work out of the
chaining tests (they are about the shell wrapper), except where noted.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gitroi.attribution import hooks
from tests.conftest import ROOT, GitRepo, run_gitroi

NAMES = ("post-commit", "post-rewrite", "pre-push")


def _hooks(repo: GitRepo) -> Path:
    return repo.path / ".git" / "hooks"


def test_templates_are_tiny_marked_posix_scripts() -> None:
    for name in NAMES:
        top = ROOT / "hooks" / name
        text = top.read_text()
        assert text.startswith("#!/bin/sh\n# gitroi-hook v1\n")
        assert "@PYTHON@" in text and "gitroi.attribution.hookrun" in text and f"HOOK={name}\n" in text
        assert len(text.splitlines()) < 40
        assert os.access(top, os.X_OK)
        subprocess.run(["sh", "-n", str(top)], check=True)
        # the packaged copy is the same file
        assert (ROOT / "gitroi" / "hook_templates" / name).read_text() == text
        rendered = hooks.render(name, "/opt/py/bin/python3")
        assert "PY='/opt/py/bin/python3'" in rendered and "@PYTHON@" not in rendered


def test_install_writes_three_hooks_and_is_idempotent(repo: GitRepo) -> None:
    out = run_gitroi("install", cwd=repo.path).stdout
    hd = _hooks(repo)
    assert f"gitroi hooks in {hd} (the repository's hooks directory):" in out
    for name in NAMES:
        p = hd / name
        assert f"wrote       {p}" in out
        text = p.read_text()
        assert f"PY='{sys.executable}'" in text
        assert stat.S_IMODE(p.stat().st_mode) == 0o755
    before = {n: ((hd / n).read_bytes(), (hd / n).stat().st_mtime_ns) for n in NAMES}
    out2 = run_gitroi("install", cwd=repo.path).stdout
    assert out2.count("unchanged") == 3 and "already installed; nothing changed" in out2
    assert {n: ((hd / n).read_bytes(), (hd / n).stat().st_mtime_ns) for n in NAMES} == before
    assert sorted(p.name for p in hd.iterdir()) == sorted(NAMES)

    out3 = run_gitroi("uninstall", cwd=repo.path).stdout
    assert out3.count("removed") == 3
    assert list(hd.iterdir()) == []
    out4 = run_gitroi("uninstall", cwd=repo.path).stdout
    assert "no gitroi hooks were installed; nothing changed" in out4


def test_install_updates_an_older_gitroi_hook(repo: GitRepo) -> None:
    run_gitroi("install", cwd=repo.path)
    p = _hooks(repo) / "post-commit"
    p.write_text(p.read_text().replace(sys.executable, "/old/python"))
    out = run_gitroi("install", cwd=repo.path).stdout
    assert f"updated     {p}  (newer gitroi hook or interpreter)" in out
    assert sys.executable in p.read_text()
    assert not (p.parent / "post-commit.legacy").exists()


def _foreign(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def test_foreign_hooks_are_chained_with_stdin_and_exit_code(repo: GitRepo, tmp_path: Path) -> None:
    hd = _hooks(repo)
    log = tmp_path / "foreign.log"
    _foreign(hd / "post-commit", f'echo "post-commit $*" >> {log}\nexit 3\n')
    _foreign(hd / "post-rewrite", f'echo "post-rewrite $*" >> {log}\ncat >> {log}\n')
    _foreign(hd / "pre-push", f'echo "pre-push $*" >> {log}\ncat >> {log}\nexit 1\n')
    foreign_text = (hd / "pre-push").read_text()
    out = run_gitroi("install", cwd=repo.path).stdout
    for name in NAMES:
        assert f"kept-legacy {hd / (name + '.legacy')}  (your existing {name} hook; it still runs first)" in out
    assert (hd / "pre-push.legacy").read_text() == foreign_text

    env = {"GITROI_SKIP": "1"}
    first = repo.commit({"a.txt": "one\n"}, "first", env=env)
    repo.git("commit", "-q", "--amend", "-m", "first again", env=env)
    amended = repo.git("rev-parse", "HEAD")
    assert log.read_text() == (
        "post-commit \n"          # first commit
        "post-commit \n"          # the amend's post-commit
        f"post-rewrite amend\n{first} {amended}\n"
    )
    # post-commit exit codes do not matter to git, but the wrapper keeps it: run it directly.
    proc = subprocess.run([str(hd / "post-commit")], cwd=repo.path, env={**os.environ, **env})
    assert proc.returncode == 3

    # pre-push: the foreign hook's failure stops the push, with its stdin intact.
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    repo.git("remote", "add", "origin", str(bare))
    push = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo.path,
                          capture_output=True, text=True, env={**os.environ, **env})
    assert push.returncode == 1
    assert f"pre-push origin {bare}\nrefs/heads/main {amended} refs/heads/main {'0' * 40}\n" \
        in log.read_text()
    assert subprocess.run(["git", "rev-parse", "-q", "--verify", "refs/heads/main"], cwd=bare,
                          capture_output=True).returncode != 0

    out = run_gitroi("uninstall", cwd=repo.path).stdout
    for name in NAMES:
        assert f"restored    {hd / name}  (from {name}.legacy)" in out
    assert (hd / "pre-push").read_text() == foreign_text
    assert sorted(p.name for p in hd.iterdir()) == sorted(NAMES)


def test_non_executable_legacy_hook_is_skipped_like_git_does(repo: GitRepo, tmp_path: Path) -> None:
    hd = _hooks(repo)
    log = tmp_path / "foreign.log"
    _foreign(hd / "post-commit", f"echo ran >> {log}\n")
    (hd / "post-commit").chmod(0o644)
    run_gitroi("install", cwd=repo.path)
    repo.commit({"a": "1\n"}, "c", env={"GITROI_SKIP": "1"})
    assert not log.exists()


def test_foreign_hook_beside_existing_legacy_is_refused(repo: GitRepo) -> None:
    hd = _hooks(repo)
    _foreign(hd / "post-commit", "exit 0\n")
    _foreign(hd / "post-commit.legacy", "exit 0\n")
    proc = run_gitroi("install", cwd=repo.path, check=False)
    assert proc.returncode == 1
    assert f"Error: {hd / 'post-commit'} is another tool's hook and post-commit.legacy already exists" \
        in proc.stderr
    assert "hint: merge post-commit into post-commit.legacy" in proc.stderr
    assert not (hd / "pre-push").exists()  # nothing half-installed


def test_worktree_installs_into_common_dir(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a": "1\n"}, "base")
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    out = run_gitroi("install", cwd=wt).stdout
    assert f"gitroi hooks in {_hooks(repo)} " in out
    assert all((_hooks(repo) / n).is_file() for n in NAMES)
    assert not (repo.path / ".git" / "worktrees" / "wt" / "hooks").exists()
    # a commit in the worktree runs the shared hook
    marker = tmp_path / "ran"
    _foreign(_hooks(repo) / "post-commit.legacy", f"pwd > {marker}\n")
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "wt"], cwd=wt, check=True,
                   env={**os.environ, "GITROI_SKIP": "1"})
    assert marker.read_text().strip() == str(wt)


def test_core_hooks_path_inside_repo_is_used_and_named(repo: GitRepo) -> None:
    repo.git("config", "core.hooksPath", ".githooks")
    out = run_gitroi("install", cwd=repo.path).stdout
    hd = repo.path / ".githooks"
    assert f"gitroi hooks in {hd} (core.hooksPath is set to .githooks (in .git/config)):" in out
    assert all((hd / n).is_file() for n in NAMES)
    assert not (_hooks(repo) / "post-commit").exists()


def test_shared_core_hooks_path_is_refused_without_force(repo: GitRepo, tmp_path: Path) -> None:
    shared = tmp_path / "team-hooks"
    repo.git("config", "--global", "core.hooksPath", str(shared))
    proc = run_gitroi("install", cwd=repo.path, check=False)
    assert proc.returncode == 1
    assert f"Error: core.hooksPath is set to {shared} (in " in proc.stderr
    assert "hint: run `gitroi install --global` to do that on purpose, `gitroi install --force`" \
        in proc.stderr
    assert not shared.exists()
    out = run_gitroi("install", "--force", cwd=repo.path).stdout
    assert "a shared directory; installing there because of --force" in out
    assert all((shared / n).is_file() for n in NAMES)
    # once gitroi's hooks are there, a plain install says so instead of refusing
    out = run_gitroi("install", cwd=repo.path).stdout
    assert "where gitroi's hooks are already installed" in out and out.count("unchanged") == 3
    out = run_gitroi("uninstall", "--force", cwd=repo.path).stdout
    assert out.count("removed") == 3


def test_global_install_through_template_dir(repo: GitRepo, tmp_path: Path,
                                             isolated_env: Path) -> None:
    home = isolated_env
    out = run_gitroi("install", "--global", cwd=tmp_path).stdout
    tdir = home / ".config" / "gitroi" / "git-template"
    assert f"config      {home / '.gitconfig'}  (set init.templateDir = {tdir})" in out
    for n in NAMES:
        assert f"wrote       {tdir / 'hooks' / n}" in out
    assert subprocess.run(["git", "config", "--global", "init.templateDir"], capture_output=True,
                          text=True).stdout.strip() == str(tdir)
    # a repository created from now on has the hooks
    new = tmp_path / "new"
    subprocess.run(["git", "init", "-q", str(new)], check=True)
    assert hooks.is_ours(new / ".git" / "hooks" / "post-commit")
    # twice: nothing changes
    out2 = run_gitroi("install", "--global", cwd=tmp_path).stdout
    assert out2.count("unchanged") == 3 and "config      " not in out2
    out3 = run_gitroi("uninstall", "--global", cwd=tmp_path).stdout
    assert f"config      {home / '.gitconfig'}  (unset init.templateDir (gitroi had set it))" in out3
    assert out3.count("removed") == 3
    assert subprocess.run(["git", "config", "--global", "init.templateDir"],
                          capture_output=True).returncode == 1
    assert "not installed globally" in run_gitroi("uninstall", "--global", cwd=tmp_path).stdout


def test_global_install_into_global_hooks_path(tmp_path: Path) -> None:
    shared = tmp_path / "my-hooks"
    _foreign(shared / "pre-push", "exit 0\n")
    subprocess.run(["git", "config", "--global", "core.hooksPath", str(shared)], check=True)
    out = run_gitroi("install", "--global", cwd=tmp_path).stdout
    assert f"gitroi hooks in {shared} (core.hooksPath is set globally to {shared}" in out
    assert f"kept-legacy {shared / 'pre-push.legacy'}" in out
    out = run_gitroi("uninstall", "--global", cwd=tmp_path).stdout
    assert f"restored    {shared / 'pre-push'}  (from pre-push.legacy)" in out
    assert sorted(p.name for p in shared.iterdir()) == ["pre-push"]


def test_missing_interpreter_falls_back_to_path_or_warns(repo: GitRepo, tmp_path: Path) -> None:
    run_gitroi("install", cwd=repo.path)
    p = _hooks(repo) / "post-commit"
    p.write_text(p.read_text().replace(sys.executable, str(tmp_path / "gone" / "python")))
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(["git", "commit", "--allow-empty", "-q", "-m", "x"], cwd=repo.path,
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0
    assert proc.stderr == (f"gitroi: warning: {tmp_path / 'gone' / 'python'} is gone and gitroi is "
                           "not on PATH; post-commit skipped (reinstall gitroi and run "
                           "`gitroi install`)\n")
    # with a gitroi console script on PATH, the hook uses it
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "called"
    _foreign(bindir / "gitroi", f'echo "$*" > {log}\n')
    proc = subprocess.run(["git", "commit", "--allow-empty", "-q", "-m", "y"], cwd=repo.path,
                          capture_output=True, text=True,
                          env={**env, "PATH": f"{bindir}:/usr/bin:/bin"})
    assert proc.returncode == 0 and proc.stderr == ""
    assert log.read_text() == "hook-impl post-commit\n"


def test_pre_commit_framework_manifest() -> None:
    import yaml

    data = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    by_id = {h["id"]: h for h in data}
    assert sorted(by_id) == ["gitroi-post-commit", "gitroi-post-rewrite", "gitroi-pre-push"]
    for name in NAMES:
        h = by_id[f"gitroi-{name}"]
        assert h["stages"] == [name]
        assert h["language"] == "python"
        assert h["always_run"] is True and h["pass_filenames"] is False
        assert h["entry"] == f"gitroi hook-impl {name}"


def test_wheel_ships_the_templates(tmp_path: Path) -> None:
    """pip does not install a top-level hooks/; the wheel must carry them as package data."""
    src = tmp_path / "src"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(src)], check=True)
    # the working copy may hold uncommitted template changes: test those
    for rel in ["hooks", "gitroi/attribution/hooks.py", "pyproject.toml"]:
        subprocess.run(["cp", "-a", str(ROOT / rel), str(src / Path(rel).parent)], check=True)
    if not (src / "gitroi" / "hook_templates").is_symlink():
        os.symlink("../hooks", src / "gitroi" / "hook_templates")
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                           str(src)], capture_output=True, text=True)
    if proc.returncode != 0 and "Could not find a version" in proc.stderr:
        pytest.fail("pip could not fetch the build backend (no network?): " + proc.stderr[-300:])
    assert proc.returncode == 0, proc.stderr
    (whl,) = out.glob("gitroi-*.whl")
    with zipfile.ZipFile(whl) as z:
        names = set(z.namelist())
        for n in NAMES:
            assert f"gitroi/hook_templates/{n}" in names
            assert z.read(f"gitroi/hook_templates/{n}") == (ROOT / "hooks" / n).read_bytes()
    # an installed (non-editable) gitroi finds them: unpack and render from there
    site = tmp_path / "site"
    with zipfile.ZipFile(whl) as z:
        z.extractall(site)
    proc = subprocess.run(
        [sys.executable, "-c", "import gitroi.attribution.hooks as h, sys; "
         "print(h.template_dir()); sys.stdout.write(h.render('pre-push', '/x/py'))"],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    first, _, rest = proc.stdout.partition("\n")
    assert first == str(site / "gitroi" / "hook_templates")
    assert "PY='/x/py'" in rest and rest.startswith("#!/bin/sh\n# gitroi-hook v1\n")


def test_status_for_doctor(repo: GitRepo) -> None:
    from gitroi.git import discover

    hd = _hooks(repo)
    _foreign(hd / "pre-push", "exit 0\n")
    assert hooks.status(discover(repo.path)) == (
        hd, {"post-commit": "missing", "post-rewrite": "missing", "pre-push": "foreign"})
    run_gitroi("install", cwd=repo.path)
    assert hooks.status(discover(repo.path))[1] == {
        "post-commit": "gitroi", "post-rewrite": "gitroi", "pre-push": "gitroi+legacy"}
