"""Which AI lines written in a range of commits reach its head: the review-churn test.

A pull request's *review churn* is the AI lines written in the PR that do not
reach its head (DESIGN.md).  The PR comment (:mod:`gitroi.pr.analysis`) and
the report's merged-PR figures (:mod:`gitroi.report.prs`) both ask this module,
so the two figures are one.  Lines are ``(commit, path in that commit, line)``
keys, the form notes give AI lines in.

Which lines reach the head is read from one ``git blame --line-porcelain -w
-M -C MERGE_BASE..HEAD`` per file the range changed: a whitespace-only change
keeps a line, a block moved within or across files keeps its origin, and
blame's history walk stops at the merge base, so a PR costs about its own
size.  When some line is not found, a second pass without ``-w`` runs: ``-w``
hands a line that a later commit only re-spaced (a formatter run) to the older
commit, and the re-spacing commit's line, present at the head, must not count
as lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gitroi.git import Repo
from gitroi.git.patch import unquote_path

Key = tuple[str, str, int]   # (commit, path in that commit, line)


def _survivors(repo: Repo, merge_base: str | None, head: str, commits: set[str], *,
               ignore_whitespace: bool = True) -> set[Key]:
    """Lines at ``head`` that came from the PR's commits: {(commit, orig path, orig line)}."""
    if merge_base:
        names = repo.git("diff", "--name-only", "-z", "--no-renames", "--diff-filter=AMRC",
                         merge_base, head)
    else:
        names = repo.git("ls-tree", "-r", "-z", "--name-only", head)
    found: set[Key] = set()
    span = f"{merge_base}..{head}" if merge_base else head
    for raw in names.split(b"\0"):
        if not raw:
            continue
        path = raw.decode("utf-8", "surrogateescape")
        ws = ["-w"] if ignore_whitespace else []
        proc = repo.git("blame", "--line-porcelain", *ws, "-M", "-C", span, "--", path, check=False)
        sha = ""
        orig_line = 0
        for line in proc.split(b"\n"):
            if len(line) > 41 and line[40:41] == b" " and re.match(rb"^[0-9a-f]{40} ", line):
                parts = line.split()
                sha, orig_line = parts[0].decode(), int(parts[1])
            elif line.startswith(b"filename ") and sha in commits:
                found.add((sha, unquote_path(line[9:]), orig_line))
    return found


def reaching(repo: Repo, merge_base: str | None, head: str, keys: Iterable[Key]) -> set[Key]:
    """Which of ``keys`` (commit, path, line) are still at ``head``: the review-churn test.

    `blame -w` gives a line whose whitespace a PR commit changed (a formatter run) to the
    older commit, so that commit's added line looks lost although it is at the head.
    When some key is not found, blame once more without -w: a line is there if either
    pass finds it.
    """
    keys = set(keys)
    commits = {k[0] for k in keys}
    found = _survivors(repo, merge_base, head, commits) & keys
    if found != keys:
        found |= _survivors(repo, merge_base, head, commits, ignore_whitespace=False) & keys
    return found
