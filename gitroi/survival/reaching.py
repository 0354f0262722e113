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

Why blame and not the replay that makes every other survival figure: the two
answer different questions about a line the PR added.  Blame: is the line the
agent typed still at the head (a line the PR moved or re-indented is the PR's
line, as its note says)?  The replay: whose line is it (a moved or re-indented
line is *carried*, the older commit's)?  :func:`replay_reaching` gives the
replay's answer for the same keys; ``benchmarks/bench_reaching.py`` measures
both on real PRs and docs/action.md ("Why blame here") gives the figures;
``tests/test_reaching.py`` checks that they agree where both must.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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


def replay_reaching(repo: Repo, merge_base: str | None, head: str, keys: Iterable[Key]) -> set[Key]:
    """Which of ``keys`` reach ``head`` by the survival replay run on ``merge_base..head``.

    The keys are the AI lines (line-level ranges of their commits), the merge
    base is the boundary (its lines are of unknown origin, as with ``gitroi
    analyze --since``); a key reaches the head when a line there still has it
    as its origin.  No ledger, one ``git log -p`` stream of the range.
    """
    from gitroi.survival.codes import CSHIFT, LINE_MASK, PATH_MASK, PSHIFT
    from gitroi.survival.replay import Attribution, Replayer, ReplayState

    wanted = set(keys)
    if not wanted:
        return set()
    ranges: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for c, p, n in sorted(wanted):
        ranges.setdefault(c, {}).setdefault(p, []).append((n, n))
    attribution = Attribution(kinds=dict.fromkeys(ranges, "line"), ranges=ranges)
    state = ReplayState(window_s=0.0, fingerprint="")
    Replayer(repo, state, attribution, tokenize=_tokenizer()).run(head, boundary=merge_base)
    found: set[Key] = set()
    for codes in state.tip_files.values():
        for code in codes:
            if code & 2:   # an AI line: its origin is one of the keys' versions
                key = (state.shas[code >> CSHIFT], state.paths[(code >> PSHIFT) & PATH_MASK],
                       (code >> 2) & LINE_MASK)
                if key in wanted:
                    found.add(key)
    return found


def _tokenizer() -> Callable[[str, list[str]], list[tuple[str, ...]]] | None:
    """The lexer the replay uses to see a reformat (as ``gitroi analyze`` does)."""
    try:
        from gitroi.survival.lexer import tokenize_lines
    except ImportError:  # pragma: no cover - the lexer ships with gitroi
        return None
    return tokenize_lines
