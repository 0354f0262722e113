"""Partial clones (``git clone --filter=blob:none``): which blobs are missing, and git that won't fetch them.

A partial clone whose promisor remote is gone (or offline, or slow) cannot
show a diff that needs a blob it never fetched: ``git log --numstat`` fails,
or tries the network object by object.  Whoever reads history finds the
missing blobs first (:func:`missing_blobs`, without fetching anything), leaves
their paths out of every diff (:func:`pathspec`) and runs git with
:data:`NO_LAZY_FETCH`, so the rest of the history still counts and the gap is
named instead of failing everything.  Shared by the survival analysis and the
attribution (neither owns the other).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from gitroi.git import Repo, git_env

#: Environment for git that must not fetch a missing object from a promisor remote.
NO_LAZY_FETCH = {"GIT_NO_LAZY_FETCH": "1"}


def no_fetch_env() -> dict[str, str]:
    """git's environment (see :func:`gitroi.git.git_env`) with :data:`NO_LAZY_FETCH`."""
    return git_env(NO_LAZY_FETCH)


def pathspec(excludes: Sequence[str]) -> list[str]:
    """Pathspec arguments leaving ``excludes`` (exact paths) out; none when there is nothing to leave out."""
    if not excludes:
        return []
    return ["--", ":(top)", *(f":(top,exclude,literal){p}" for p in excludes)]


def log_pathspec(excludes: Sequence[str]) -> list[str]:
    """:func:`pathspec` for ``git log``: without history simplification, so every commit still comes
    (one that touches only excluded paths with an empty diff) with its real parents."""
    return ["--full-history", "--sparse", *pathspec(excludes)] if excludes else []


def _cwd(repo: Repo) -> str:
    return str(repo.paths.workdir or repo.paths.git_dir)


def is_partial(repo: Repo) -> bool:
    """Whether the repository has a promisor remote (one ``git config``, no object read)."""
    cfg = subprocess.run(["git", "config", "--get-regexp",
                          r"^(extensions\.partialclone|remote\..*\.promisor)$"],
                         cwd=_cwd(repo), capture_output=True, env=no_fetch_env())
    return bool(cfg.stdout.strip())


def missing_blobs(repo: Repo, revs: str | Sequence[str]) -> tuple[set[str], dict[str, int]] | None:
    """In a partial clone: the objects of the history of ``revs`` that are missing, and per path how many.

    ``revs`` is one revision or several (commit ids go to git on stdin, so a
    long list is fine; options such as ``--branches`` on the command line).
    ``None`` when the repository is not a partial clone or nothing is missing
    (the usual case costs one ``git config``).  The paths come from one
    ``git log --raw`` (object ids only, no content): every path whose history
    names a missing blob.  Raises ``ValueError`` when even that cannot be
    listed (trees missing: a ``tree:0`` filter).
    """
    from gitroi.git.patch import unquote_path

    if not is_partial(repo):
        return None
    items = [revs] if isinstance(revs, str) else list(revs)
    opts = [r for r in items if r.startswith("-")]
    stdin = "".join(r + "\n" for r in items if not r.startswith("-")).encode()
    cwd = _cwd(repo)
    out = subprocess.run(["git", "rev-list", "--objects", "--missing=print", *opts, "--stdin"],
                         cwd=cwd, input=stdin, capture_output=True, env=no_fetch_env())
    missing = {ln[1:].decode() for ln in out.stdout.splitlines() if ln.startswith(b"?")}
    if not missing:
        return None
    raw = subprocess.run(["git", "-c", "core.quotepath=false", "log", "--raw", "--no-abbrev",
                          "--no-renames", "-m", "--format=", *opts, "--stdin"],
                         cwd=cwd, input=stdin, capture_output=True, env=no_fetch_env())
    if raw.returncode != 0:
        raise ValueError(raw.stderr.decode("utf-8", "replace").strip())
    paths: dict[str, set[str]] = {}
    for line in raw.stdout.split(b"\n"):
        if not line.startswith(b":"):
            continue
        meta, _, rawpath = line.partition(b"\t")
        parts = meta.split(b" ")
        hit = [o for o in (parts[2].decode(), parts[3].decode()) if o in missing]
        if hit:
            paths.setdefault(unquote_path(rawpath), set()).update(hit)
    return missing, {p: len(v) for p, v in paths.items()}
