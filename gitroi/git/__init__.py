"""Git access for gitroi: repository discovery and one way to run git.

pygit2 is the tool for objects, trees and notes; git's own CLI is used where
it is faster or pygit2 lacks the feature (the bulk history stream, notes
merge, push/fetch).  Every subprocess goes through :func:`run_git`, which
strips ``GIT_*`` variables leaked by an enclosing hook (see pre-commit's
``no_git_env``: inside a hook ``GIT_INDEX_FILE`` and ``GIT_DIR`` point at the
repository that is committing, not at the one we may be asked about) and turns
failures into a :class:`GitroiError` naming the command.

This module deliberately does not import pygit2 at module level: the
post-commit hook must stay fast and imports only what it uses.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gitroi.errors import GitroiError
from gitroi.git import spawn
from gitroi.git.spawn import GitResult

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    import pygit2

# Variables git sets for hooks that would redirect a nested git call.
_KEEP_GIT_VARS = {"GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSL_CAINFO", "GIT_SSL_NO_VERIFY",
                  "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                  "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE",
                  "GIT_TERMINAL_PROMPT", "GIT_ASKPASS", "GIT_TRACE", "GIT_TRACE2"}


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a git subprocess, without hook-scoped ``GIT_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP_GIT_VARS}
    if extra:
        env.update(extra)
    return env


def run_git(
    args: Sequence[str],
    *,
    cwd: str | Path | None = None,
    input: bytes | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> GitResult:
    """Run ``git ARGS`` and return the finished process (stdout and stderr as bytes).

    With ``check`` (the default) a non-zero exit raises :class:`GitroiError`
    carrying the command, exit code and git's own stderr.  git is started by
    :mod:`gitroi.git.spawn` (no ``subprocess``: the post-commit hook counts
    its import).
    """
    cmd = ["git", *args]
    try:
        if spawn.AVAILABLE:
            proc = spawn.run(args, cwd=cwd, input=input, env=git_env(env))
        else:  # pragma: no cover - Windows
            import subprocess

            done = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True,
                                  env=git_env(env), check=False)
            proc = GitResult(cmd, done.returncode, done.stdout, done.stderr)
    except FileNotFoundError as exc:
        raise GitroiError("git is not installed or not on PATH", hint="install git") from exc
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise GitroiError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}: {err}")
    return proc


def stream_git(args: Sequence[str], *, cwd: str | Path | None = None, input: bytes | None = None,
               env: Mapping[str, str] | None = None, chunk: int = 1 << 20) -> Iterator[bytes]:
    """``git ARGS``'s stdout in chunks as git writes it; a failure raises :class:`GitroiError`
    at the end, as :func:`run_git` does.

    For the long history streams: the caller parses one part while git writes the
    next, on the other core, instead of waiting for all of it.  Leaving the loop
    early stops git.
    """
    import subprocess
    import threading

    cmd = ["git", *args]
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=git_env(env))
    except FileNotFoundError as exc:
        raise GitroiError("git is not installed or not on PATH", hint="install git") from exc
    err: list[bytes] = []

    def feed() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(input or b"")
            proc.stdin.close()
        except OSError:  # git stopped early; its exit code says why
            pass

    helpers = [threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else b""),
                                daemon=True)]
    if input is not None:
        helpers.append(threading.Thread(target=feed, daemon=True))
    for t in helpers:
        t.start()
    finished = False
    try:
        out = proc.stdout
        assert isinstance(out, io.BufferedReader)
        while True:
            data = out.read1(chunk)
            if not data:
                break
            yield data
        finished = True
    finally:
        if not finished:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()
        rc = proc.wait()
        for t in helpers:
            t.join()
    if rc != 0:
        msg = b"".join(err).decode("utf-8", "replace").strip()
        raise GitroiError(f"`{' '.join(cmd)}` failed with exit code {rc}: {msg}")


def start_git(args: Sequence[str], *, cwd: str | Path | None = None) -> Callable[[], bytes]:
    """Start ``git ARGS`` now; the function returned waits for it and returns its stdout,
    raising :class:`GitroiError` on failure as :func:`run_git` does.

    For a caller with other work to do meanwhile (the post-commit hook reads
    the session logs while git prepares the commit's diff).  Call the function
    even when the result is no longer wanted, to reap the process.
    """
    cmd = ["git", *args]
    if not spawn.AVAILABLE:  # pragma: no cover - Windows: git runs now
        done = run_git(args, cwd=cwd, check=False)
        finish: Callable[[], GitResult] = lambda: done  # noqa: E731
    else:
        try:
            finish = spawn.start(args, cwd=cwd, env=git_env()).finish
        except FileNotFoundError as exc:
            raise GitroiError("git is not installed or not on PATH", hint="install git") from exc

    def wait() -> bytes:
        proc = finish()
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()
            raise GitroiError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}: {err}")
        return proc.stdout

    return wait


@dataclass(frozen=True)
class RepoPaths:
    """Where a repository lives: its work tree, its own git dir and the common one.

    Linked worktrees have their own ``git_dir`` but share ``common_dir``;
    the ledger and the hooks live in the common dir so all worktrees share them.
    ``workdir`` is None for a bare repository.
    """

    workdir: Path | None
    git_dir: Path
    common_dir: Path

    @property
    def default_ledger(self) -> Path:
        return self.common_dir / "gitroi" / "ledger.db"

    def worktrees(self) -> list[Path]:
        """Every work tree of this repository: the main one and linked ones.

        A plain repository (``<workdir>/.git`` is the common dir, no
        ``worktrees/`` in it) has no linked work tree, so git is not asked:
        the post-commit hook counts each subprocess.  Otherwise ``git worktree
        list`` runs once per ``RepoPaths`` for as long as the ``worktrees/``
        directory does not change (the hook asks twice: import, attribution).
        """
        try:
            mark = os.stat(self.common_dir / "worktrees").st_mtime_ns
        except OSError:
            mark = None
            if self.workdir is not None and self.git_dir == self.common_dir == self.workdir / ".git":
                return [self.workdir]
        cached = self.__dict__.get("_worktrees")
        if cached is not None and cached[0] == mark:
            return list(cached[1])
        out = run_git(["worktree", "list", "--porcelain", "-z"], cwd=self.common_dir, check=False)
        trees: list[Path] = []
        for field in out.stdout.decode("utf-8", "replace").split("\0"):
            if field.startswith("worktree "):
                trees.append(Path(field[len("worktree "):]))
        if not trees and self.workdir is not None:
            trees.append(self.workdir)
        if out.returncode == 0:
            object.__setattr__(self, "_worktrees", (mark, tuple(trees)))  # frozen: a cache only
        return trees


def discover(path: str | Path = ".") -> RepoPaths:
    """Find the repository that contains ``path``.

    Raises :class:`GitroiError` when there is none, naming the path.
    """
    p = Path(path).resolve()
    proc = run_git(
        ["rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir", "--show-toplevel"],
        cwd=p if p.is_dir() else p.parent,
        check=False,
    )
    if proc.returncode != 0:
        # --show-toplevel fails in a bare repository; retry without it.
        proc = run_git(
            ["rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir"],
            cwd=p if p.is_dir() else p.parent,
            check=False,
        )
        if proc.returncode != 0:
            raise GitroiError(
                f"{p} is not inside a git repository",
                hint="cd into a git repository, or name one with -C: gitroi -C PATH/TO/REPO ...",
            )
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    git_dir, common = Path(lines[0]), Path(lines[1])
    workdir = Path(lines[2]) if len(lines) > 2 and lines[2] else None
    return RepoPaths(workdir=workdir, git_dir=git_dir, common_dir=common)


class Repo:
    """A repository: its paths plus a lazily opened pygit2 handle."""

    def __init__(self, paths: RepoPaths) -> None:
        self.paths = paths
        #: Answers of :meth:`is_ancestor` for full commit ids: a commit's ancestry never changes.
        self._ancestry: dict[tuple[str, str], bool] = {}

    @classmethod
    def discover(cls, path: str | Path = ".") -> Repo:
        return cls(discover(path))

    @property
    def workdir(self) -> Path:
        if self.paths.workdir is None:
            raise GitroiError(f"{self.paths.git_dir} is a bare repository; this needs a work tree")
        return self.paths.workdir

    @cached_property
    def pygit(self) -> pygit2.Repository:
        import pygit2

        return pygit2.Repository(str(self.paths.git_dir))

    @property
    def cwd(self) -> Path:
        """Where git runs for this repository: the work tree, or the git dir when bare."""
        return self.paths.workdir or self.paths.git_dir

    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        """Run git in this repository and return stdout bytes."""
        return run_git(args, cwd=self.cwd, input=input, check=check).stdout

    def git_later(self, *args: str) -> Callable[[], bytes]:
        """:func:`start_git` in this repository: git runs while the caller goes on."""
        return start_git(args, cwd=self.cwd)

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit ``a`` is an ancestor of (or equal to) ``b``; False when either is unknown.

        Asked of two full ids, the answer is kept: an analysis asks it of the same
        pair in several places, and each ask is a git process.
        """
        key = (a, b)
        known = self._ancestry.get(key)
        if known is not None:
            return known
        answer = run_git(["merge-base", "--is-ancestor", a, b], cwd=self.cwd, check=False).returncode == 0
        if len(a) == len(b) == 40 and answer:  # "no" may mean "not fetched yet": asked again
            self._ancestry[key] = answer
        return answer

    def git_text(self, *args: str) -> str:
        return self.git(*args).decode("utf-8", "replace").rstrip("\n")

    def head(self) -> str | None:
        """The commit HEAD points at, or None in an empty repository."""
        out = run_git(["rev-parse", "--verify", "-q", "HEAD^{commit}"],
                      cwd=self.paths.workdir or self.paths.git_dir, check=False)
        return out.stdout.decode().strip() or None

    def main_branch(self) -> str:
        """The repository's main branch: origin's HEAD, else main, master, else HEAD."""
        cwd = self.paths.workdir or self.paths.git_dir
        proc = run_git(["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"], cwd=cwd, check=False)
        name = proc.stdout.decode().strip()
        if name:
            return name
        for cand in ("main", "master", "trunk"):
            if run_git(["rev-parse", "--verify", "-q", f"refs/heads/{cand}"], cwd=cwd, check=False).returncode == 0:
                return cand
        return "HEAD"

    def branch_names(self) -> list[str]:
        """Local branches, then remote-tracking ones (``origin/main``), without ``origin/HEAD``."""
        out = self.git("for-each-ref", "--format=%(refname:short)%00%(symref)",
                       "refs/heads/", "refs/remotes/", check=False).decode("utf-8", "replace")
        names = []
        for line in out.splitlines():
            name, _, symref = line.partition("\0")
            if name and not symref:
                names.append(name)
        return names

    def branch_hint(self, limit: int = 12) -> str:
        """A hint that names the branches there are (what ``--branch`` can take)."""
        names = self.branch_names()
        if not names:
            return "this repository has no branch yet: make a first commit"
        shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
        return f"branches here: {shown}"

    def check_revisions(self, spec: str, *, what: str = "revision") -> None:
        """GitroiError naming the first revision of ``spec`` (``A``, ``A..B``, ``A...B``) git cannot find.

        Before a command hands ``spec`` to git, so the user reads which name is
        wrong and which branches exist, not git's multi-line fatal.
        """
        import re as _re

        text = spec.strip()
        if not text:
            raise GitroiError(f"empty {what}", hint=self.branch_hint())
        if text.startswith("-"):
            raise GitroiError(f"{what} {spec!r} looks like an option, not a revision")
        parts = _re.split(r"\.\.\.?", text, maxsplit=1)
        for part in parts:
            rev = part.lstrip("^")
            rev = _re.sub(r"\^[!@]$|\^-\d*$", "", rev)
            if not rev:   # "A.." and "..B" mean HEAD on the empty side
                rev = "HEAD"
            ok = self.git("rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}",
                          check=False).strip()
            if not ok:
                raise GitroiError(f"{rev!r} is not a commit or branch in this repository"
                                  + (f" (in {what} {spec!r})" if rev != text else ""),
                                  hint=self.branch_hint())

    def remote_names(self) -> list[str]:
        """The configured remotes (``git remote``)."""
        return self.git("remote", check=False).decode("utf-8", "replace").split()

    def check_remote(self, remote: str) -> None:
        """GitroiError when ``remote`` is neither a configured remote nor a URL or path git can use."""
        names = self.remote_names()
        if remote in names:
            return
        if "/" in remote or ":" in remote or Path(remote).exists():
            return   # a URL or a path: git fetch takes those as they are
        if names:
            raise GitroiError(f"no remote named {remote!r} in this repository",
                              hint=f"remotes here: {', '.join(names)} (e.g. gitroi sync {names[0]})")
        raise GitroiError(f"no remote named {remote!r}: this repository has no remote",
                          hint=f"add one: git remote add {remote} URL, then run gitroi sync again")

    def canonical_contacts(self, contacts: Iterable[str]) -> dict[str, str]:
        """``Name <email>`` -> the person ``.mailmap`` says it is (``git check-mailmap``).

        Contacts the mailmap does not name map to themselves.  One git call per
        200 contacts; without a ``.mailmap`` (or ``mailmap.file``) git answers
        each with itself.
        """
        todo = sorted({c for c in contacts if c and "<" in c and c.rstrip().endswith(">")})
        out: dict[str, str] = {}
        for i in range(0, len(todo), 200):
            chunk = todo[i:i + 200]
            proc = run_git(["check-mailmap", *chunk], cwd=self.cwd, check=False)
            answers = proc.stdout.decode("utf-8", "replace").splitlines()
            if proc.returncode != 0 or len(answers) != len(chunk):
                continue   # an odd contact git refuses: keep this chunk as written
            out.update(zip(chunk, answers, strict=True))
        return out
