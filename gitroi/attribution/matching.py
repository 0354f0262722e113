"""Line matching: which of a commit's added lines an agent's recorded edits wrote.

A commit's added lines are matched, by the SHA-1 of each trimmed line, against
the line hashes of the file edits that agent sessions working in this
repository made to the same path (:func:`match_lines`).  Trivial lines (blank,
brackets) count only next to a matched line, and a line added more often than
the agents wrote it is AI only that many times.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from gitroi.attribution.commits import AddedLines
from gitroi.attribution.notes import lines_to_ranges
from gitroi.git import Repo
from gitroi.sessions import line_hash

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

    from sqlite_utils import Database


def trivial_line(text: str) -> bool:
    """Lines too common to prove authorship alone: blank, or only brackets and punctuation."""
    return not any(c.isalnum() for c in text)


def worktree_roots(repo: Repo) -> list[str]:
    """Every work tree of the repository, as given and with symlinks resolved."""
    roots: list[str] = []
    for wt in repo.paths.worktrees() or [repo.workdir]:
        for p in (str(wt).rstrip("/"), os.path.realpath(wt)):
            if p not in roots:
                roots.append(p)
    return roots


def _relative(path: str, cwd: str | None, roots: Sequence[str]) -> str | None:
    """An edit's path (absolute, or relative to the session cwd) as a path in the work tree.

    String work, not pathlib: a long session has thousands of edits and this
    runs in the post-commit hook.
    """
    if not path.startswith("/"):
        if not cwd:
            return path
        path = cwd.rstrip("/") + "/" + path
    path = os.path.normpath(path)
    for root in roots:
        if path.startswith(root + "/"):
            return path[len(root) + 1:]
    real = os.path.realpath(path)
    for root in roots:
        if real.startswith(root + "/"):
            return real[len(root) + 1:]
    return None


@dataclass
class Match:
    """The added lines the agents wrote, and which sessions wrote them."""

    ranges: dict[str, tuple[tuple[int, int], ...]]
    sessions: set[str]          # session keys whose edits landed


def match_lines(added: AddedLines, edits: dict[str, dict[str, set[str]]],
                budget: dict[str, dict[str, int]] | None = None) -> Match:
    """Mark added lines whose hash one of the sessions wrote to the same path.

    ``edits`` is {path: {line hash: {session keys}}}.  A trivial line (blank,
    ``}``) counts only next to a non-trivial AI line, so a person's blank line
    between their own lines never becomes the agent's.  ``budget`` (optional)
    is {path: {hash: times the agents wrote it}}: when a commit adds a line
    more often than the agents wrote it (a person typed ``import os`` too),
    only that many copies are AI, those next to other matched lines first.
    """
    ranges: dict[str, tuple[tuple[int, int], ...]] = {}
    landed: set[str] = set()
    for path, lines in added.by_path.items():
        hashes = edits.get(path)
        if not hashes:
            continue
        lh = [line_hash(text) for _, text in lines]
        owners = [hashes.get(h, set()) for h in lh]
        trivial = [trivial_line(text) for _, text in lines]
        ai = [bool(o) and not t for o, t in zip(owners, trivial, strict=True)]
        limits = (budget or {}).get(path)
        if limits:
            _apply_budget(lines, lh, owners, ai, limits)
        changed = True
        while changed:
            changed = False
            for i, (n, _) in enumerate(lines):
                if ai[i] or not owners[i]:
                    continue
                prev_ok = i > 0 and ai[i - 1] and lines[i - 1][0] == n - 1
                next_ok = i + 1 < len(lines) and ai[i + 1] and lines[i + 1][0] == n + 1
                if prev_ok or next_ok:
                    ai[i] = changed = True
        hit = [n for (n, _), a in zip(lines, ai, strict=True) if a]
        for o, a in zip(owners, ai, strict=True):
            if a:
                landed |= o
        if hit:
            ranges[path] = lines_to_ranges(hit)
    return Match(ranges=ranges, sessions=landed)


def _apply_budget(lines: Sequence[tuple[int, str]], lh: Sequence[str],
                  owners: Sequence[set[str]], ai: list[bool], limits: dict[str, int]) -> None:
    """Unmark the surplus copies of a line hash beyond what the agents wrote."""
    by_hash: dict[str, list[int]] = {}
    for i, a in enumerate(ai):
        if a:
            by_hash.setdefault(lh[i], []).append(i)

    def neighbours(i: int) -> int:
        n = lines[i][0]
        score = 0
        if i > 0 and owners[i - 1] and lines[i - 1][0] == n - 1:
            score += 1
        if i + 1 < len(lines) and owners[i + 1] and lines[i + 1][0] == n + 1:
            score += 1
        return score

    for h, idx in by_hash.items():
        limit = limits.get(h)
        if limit is None or len(idx) <= limit:
            continue
        keep = set(sorted(idx, key=lambda i: (-neighbours(i), i))[:limit])
        for i in idx:
            if i not in keep:
                ai[i] = False


def edits_index(db: Database, sessions: Sequence[dict[str, Any]], until: str,
                 roots: Sequence[str], added: AddedLines
                 ) -> tuple[dict[str, dict[str, set[str]]], dict[str, dict[str, int]]]:
    """{path: {line hash: session keys}} and {path: {line hash: times written}},
    only for the paths and hashes this commit added."""
    from gitroi.ledger.commits import session_edits

    cwd_of = {s["key"]: s["cwd"] for s in sessions}
    wanted = {p: {line_hash(t) for _, t in ls} for p, ls in added.by_path.items()}
    paths = list(wanted) if len(wanted) <= 200 else None
    index: dict[str, dict[str, set[str]]] = {}
    counts: dict[str, dict[str, int]] = {}
    rel_cache: dict[tuple[str, str | None], str | None] = {}
    for key, path, hashes in session_edits(db, list(cwd_of), until, paths):
        cwd = cwd_of.get(key)
        ck = (path, cwd)
        if ck not in rel_cache:
            rel_cache[ck] = _relative(path, cwd, roots)
        rel = rel_cache[ck]
        if rel is None:
            continue
        want = wanted.get(rel)
        if not want:
            continue
        slot = index.setdefault(rel, {})
        count = counts.setdefault(rel, {})
        for h in hashes.split():
            if h in want:
                slot.setdefault(h, set()).add(key)
                count[h] = count.get(h, 0) + 1
    return index, counts
