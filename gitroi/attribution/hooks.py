"""Installing gitroi's git hooks: post-commit, post-rewrite and pre-push.

The hook scripts are tiny templated shell files (the top-level ``hooks/``
folder, shipped inside the package as ``gitroi/hook_templates``): a marker
line, the interpreter that installed gitroi baked in (with a PATH fallback),
then ``python -m gitroi.attribution.hookrun <name>``.  The model is pre-commit's
``install_uninstall``: a foreign hook already in place is moved to
``<name>.legacy`` and still runs first with its exit code respected;
uninstall puts it back; installing twice changes nothing.

Where hooks go: the *common* git dir's ``hooks/`` (so every linked worktree
shares them), or ``core.hooksPath`` when it is set.  A ``core.hooksPath``
outside the repository is a directory shared by other repositories, so
installing there needs ``--force`` (or ``--global``, which is for exactly
that).  ``--global`` installs for every repository: into a global
``core.hooksPath`` when the user has one, else into git's template
directory (``init.templateDir``), which ``git init`` and ``git clone`` copy.

This module never imports click; the CLI renders the :class:`Change` list.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from gitroi.errors import GitroiError
from gitroi.git import RepoPaths, run_git

HOOK_NAMES = ("post-commit", "post-rewrite", "pre-push")
MARKER_PREFIX = "# gitroi-hook v"
MARKER = MARKER_PREFIX + "1"
LEGACY_SUFFIX = ".legacy"
_PY_PLACEHOLDER = "@PYTHON@"
_BOOT_PLACEHOLDER = "@BOOT@"


@dataclass(frozen=True)
class Change:
    """One thing install/uninstall did (or found already done), for the user to read."""

    path: Path
    action: str   # wrote | updated | unchanged | kept-legacy | removed | restored | config | note
    detail: str = ""

    def line(self) -> str:
        text = f"{self.action:<11} {self.path}"
        return f"{text}  ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class Target:
    """Where hooks are installed, and why there."""

    hooks_dir: Path
    reason: str


# --- templates -----------------------------------------------------------------------------


def template_dir() -> Path:
    """The shipped templates: ``gitroi/hook_templates`` (a link to the top-level ``hooks/``
    in a source tree, real files in an installed wheel)."""
    return Path(__file__).resolve().parent.parent / "hook_templates"


def render(name: str, python: str | None = None) -> str:
    """The text of hook ``name`` with the interpreter path baked in, and the path of this
    gitroi's :mod:`gitroi.attribution.hookboot`, which the hook runs with ``python -S``
    (docs/hooks.md); for another interpreter than this one, no such path: the hook then runs
    ``python -m``, which finds gitroi as that interpreter would."""
    if name not in HOOK_NAMES:
        raise GitroiError(f"unknown hook {name!r}", hint=f"gitroi has {', '.join(HOOK_NAMES)}")
    path = template_dir() / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GitroiError(f"the hook template {path} is missing: {exc}",
                          hint="reinstall gitroi (pip install --force-reinstall gitroi)") from exc
    py = python or sys.executable
    if "'" in py:
        raise GitroiError(f"the interpreter path {py!r} contains a quote; cannot bake it into a hook")
    boot = boot_script() if python is None or python == sys.executable else ""
    if "'" in boot:
        boot = ""  # the hook runs `python -m` instead
    return text.replace(_PY_PLACEHOLDER, py).replace(_BOOT_PLACEHOLDER, boot)


def boot_script() -> str:
    """The script the hooks run (:mod:`gitroi.attribution.hookboot`), in this gitroi."""
    return str(Path(__file__).resolve().parent / "hookboot.py")


def is_ours(path: Path) -> bool:
    """True when ``path`` is a hook gitroi wrote (its marker is in the first lines)."""
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return MARKER_PREFIX.encode() in head


# --- where -------------------------------------------------------------------------------


def _get_config(key: str, *, scope: str | None, cwd: Path | None) -> tuple[str, str] | None:
    """(value, origin) of ``key`` as git resolves it (path-typed), or None when unset."""
    args = ["config"]
    if scope:
        args.append(f"--{scope}")
    args += ["--type=path", "--show-origin", "--get", key]
    proc = run_git(args, cwd=cwd, check=False)
    if proc.returncode != 0:
        return None
    origin, _, value = proc.stdout.decode("utf-8", "replace").rstrip("\n").partition("\t")
    return (value, origin) if value else None


def _inside(path: Path, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def target(paths: RepoPaths, *, force: bool = False, verb: str = "install") -> Target:
    """The hooks directory of a repository: ``core.hooksPath`` when set, else ``<common dir>/hooks``.

    Refuses (GitroiError with a hint) a ``core.hooksPath`` that lies outside
    the repository unless ``force``: such a directory is shared by other
    repositories, and writing there changes all of them.
    """
    cwd = paths.workdir or paths.git_dir
    got = _get_config("core.hooksPath", scope=None, cwd=cwd)
    if got is None:
        return Target(paths.common_dir / "hooks", "the repository's hooks directory")
    value, origin = got
    p = Path(value)
    if not p.is_absolute():
        # git runs hooks from the top of the work tree, and resolves a relative
        # core.hooksPath from there (the git dir in a bare repository).
        p = (paths.workdir or paths.git_dir) / p
    where = origin.removeprefix("file:")
    if _inside(p, paths.workdir) or _inside(p, paths.common_dir) or _inside(p, paths.git_dir):
        return Target(p, f"core.hooksPath is set to {value} (in {where})")
    if force:
        return Target(p, f"core.hooksPath is set to {value} (in {where}), a shared directory; "
                         "installing there because of --force")
    if all(is_ours(p / n) for n in HOOK_NAMES):
        return Target(p, f"core.hooksPath is set to {value} (in {where}), where gitroi's hooks "
                         "are already installed")
    if verb == "uninstall":
        raise GitroiError(
            f"core.hooksPath is set to {p} (in {where}), a directory outside this repository "
            "that other repositories may share; uninstalling there would remove gitroi from "
            "all of them",
            hint="run `gitroi uninstall --global` if `gitroi install --global` put it there, or "
                 "`gitroi uninstall --force` to remove it anyway")
    raise GitroiError(
        f"core.hooksPath is set to {p} (in {where}), a directory outside this repository that "
        "other repositories may share; installing there would add gitroi to all of them",
        hint="run `gitroi install --global` to do that on purpose, `gitroi install --force` to "
             "install there anyway, or `git config --unset core.hooksPath` to use this "
             "repository's own hooks directory")


# --- install / uninstall one directory --------------------------------------------------


def _write_hook(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".gitroi-tmp")
    tmp.write_text(text, encoding="utf-8")
    mode = stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    tmp.chmod(mode)
    os.replace(tmp, path)


def install_dir(hooks_dir: Path, *, python: str | None = None) -> list[Change]:
    """Install the three hooks into ``hooks_dir``; idempotent, keeps foreign hooks as ``.legacy``.

    A foreign hook that cannot be moved aside because a ``.legacy`` one is
    already there (someone replaced our hook after installing) is an error:
    chaining two foreign hooks is the user's call, not ours.
    """
    try:
        hooks_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GitroiError(f"cannot create the hooks directory {hooks_dir}: {exc}") from exc
    changes: list[Change] = []
    plan: list[tuple[str, Path, str]] = []
    for name in HOOK_NAMES:
        hook = hooks_dir / name
        legacy = hooks_dir / (name + LEGACY_SUFFIX)
        if (hook.exists() or hook.is_symlink()) and not is_ours(hook) and (
                legacy.exists() or legacy.is_symlink()):
            raise GitroiError(
                f"{hook} is another tool's hook and {legacy.name} already exists beside it, "
                "so gitroi cannot keep both",
                hint=f"merge {hook.name} into {legacy.name} (it runs before gitroi), remove "
                     f"{hook}, then run `gitroi install` again")
        plan.append((name, hook, render(name, python)))
    for name, hook, text in plan:
        legacy = hooks_dir / (name + LEGACY_SUFFIX)
        try:
            if hook.exists() or hook.is_symlink():
                if is_ours(hook):
                    if hook.read_text(encoding="utf-8", errors="replace") == text:
                        changes.append(Change(hook, "unchanged"))
                        continue
                    _write_hook(hook, text)
                    changes.append(Change(hook, "updated", "newer gitroi hook or interpreter"))
                    continue
                os.replace(hook, legacy)
                changes.append(Change(legacy, "kept-legacy",
                                      f"your existing {name} hook; it still runs first"))
            _write_hook(hook, text)
            changes.append(Change(hook, "wrote"))
        except OSError as exc:
            raise GitroiError(f"cannot write the hook {hook}: {exc}") from exc
    return changes


def uninstall_dir(hooks_dir: Path) -> list[Change]:
    """Remove gitroi's hooks from ``hooks_dir`` and put back any ``.legacy`` hook."""
    changes: list[Change] = []
    for name in HOOK_NAMES:
        hook = hooks_dir / name
        legacy = hooks_dir / (name + LEGACY_SUFFIX)
        try:
            if hook.exists() or hook.is_symlink():
                if not is_ours(hook):
                    changes.append(Change(hook, "unchanged", "not a gitroi hook; left alone"))
                    continue
                hook.unlink()
                changes.append(Change(hook, "removed"))
            if legacy.exists() or legacy.is_symlink():
                os.replace(legacy, hook)
                changes.append(Change(hook, "restored", f"from {legacy.name}"))
        except OSError as exc:
            raise GitroiError(f"cannot change the hook {hook}: {exc}") from exc
    return changes


# --- per repository --------------------------------------------------------------------


def install(paths: RepoPaths, *, force: bool = False, python: str | None = None
            ) -> tuple[Target, list[Change]]:
    """``gitroi install``: hooks for this repository (all its worktrees)."""
    t = target(paths, force=force)
    return t, install_dir(t.hooks_dir, python=python)


def uninstall(paths: RepoPaths, *, force: bool = False) -> tuple[Target, list[Change]]:
    """``gitroi uninstall``: remove this repository's gitroi hooks, restoring foreign ones."""
    t = target(paths, force=force, verb="uninstall")
    changes = uninstall_dir(t.hooks_dir)
    from gitroi.attribution.hookserver import stop

    stop(str(paths.common_dir))  # the warm hook server, if one is idling (docs/hooks.md)
    return t, changes


# --- global ------------------------------------------------------------------------------


def _config_home() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg else Path.home() / ".config"


def global_state_path() -> Path:
    """Where ``install --global`` remembers what it changed, so uninstall undoes exactly that."""
    return _config_home() / "gitroi" / "global-install.json"


def default_template_dir() -> Path:
    return _config_home() / "gitroi" / "git-template"


def _global_config_file() -> str:
    return os.environ.get("GIT_CONFIG_GLOBAL") or str(Path.home() / ".gitconfig")


def install_global(*, python: str | None = None) -> tuple[Target, list[Change]]:
    """``gitroi install --global``: hooks for every repository of this user.

    With a global ``core.hooksPath`` (every repository already runs hooks
    from there) gitroi installs into it.  Otherwise it installs into git's
    template directory, setting ``init.templateDir`` to gitroi's own when it
    is unset: every repository created or cloned from now on gets the hooks;
    an existing one gets them from ``git init`` (which copies missing template
    files) or ``gitroi install``.
    """
    changes: list[Change] = []
    state: dict[str, object] = {}
    hp = _get_config("core.hooksPath", scope="global", cwd=None)
    if hp is not None:
        hooks_dir = Path(hp[0]).expanduser()
        t = Target(hooks_dir, f"core.hooksPath is set globally to {hp[0]} (in "
                              f"{hp[1].removeprefix('file:')}): every repository runs its hooks "
                              "from there")
        state["kind"] = "hooksPath"
    else:
        td = _get_config("init.templateDir", scope="global", cwd=None)
        if td is None:
            tdir = default_template_dir()
            run_git(["config", "--global", "init.templateDir", str(tdir)])
            changes.append(Change(Path(_global_config_file()), "config",
                                  f"set init.templateDir = {tdir}"))
            state["set_template_dir"] = str(tdir)
        else:
            tdir = Path(td[0]).expanduser()
        hooks_dir = tdir / "hooks"
        t = Target(hooks_dir, f"git's template directory {tdir} (init.templateDir): repositories "
                              "created or cloned from now on get the hooks; in an existing "
                              "repository run `git init` or `gitroi install`")
        state["kind"] = "templateDir"
    changes += install_dir(hooks_dir, python=python)
    state["hooks_dir"] = str(hooks_dir)
    sp = global_state_path()
    old: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        old = json.loads(sp.read_text(encoding="utf-8"))
    if "set_template_dir" in old and "set_template_dir" not in state:
        state["set_template_dir"] = old["set_template_dir"]
    sp.parent.mkdir(parents=True, exist_ok=True)
    sp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return t, changes


def uninstall_global() -> tuple[Target | None, list[Change]]:
    """``gitroi uninstall --global``: undo what ``install --global`` did, and only that."""
    sp = global_state_path()
    try:
        state = json.loads(sp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = None
    changes: list[Change] = []
    if not isinstance(state, dict) or "hooks_dir" not in state:
        return None, changes
    hooks_dir = Path(str(state["hooks_dir"]))
    changes += uninstall_dir(hooks_dir)
    set_td = state.get("set_template_dir")
    if set_td:
        cur = _get_config("init.templateDir", scope="global", cwd=None)
        if cur is not None and Path(cur[0]).expanduser() == Path(str(set_td)):
            run_git(["config", "--global", "--unset", "init.templateDir"])
            changes.append(Change(Path(_global_config_file()), "config",
                                  "unset init.templateDir (gitroi had set it)"))
    sp.unlink()
    return Target(hooks_dir, "where `gitroi install --global` put them"), changes


def status(paths: RepoPaths) -> tuple[Path, dict[str, str]]:
    """What is installed where, for ``gitroi doctor``: per hook ``gitroi``,
    ``gitroi+legacy`` (chained to a foreign hook), ``foreign`` or ``missing``.

    Never raises for a shared ``core.hooksPath``: it reports what is there.
    """
    t = target(paths, force=True)
    out: dict[str, str] = {}
    for name in HOOK_NAMES:
        hook = t.hooks_dir / name
        if not (hook.exists() or hook.is_symlink()):
            out[name] = "missing"
        elif not is_ours(hook):
            out[name] = "foreign"
        elif os.access(t.hooks_dir / (name + LEGACY_SUFFIX), os.X_OK):
            out[name] = "gitroi+legacy"
        else:
            out[name] = "gitroi"
    return t.hooks_dir, out
