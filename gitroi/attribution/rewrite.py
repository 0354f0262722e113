"""Carrying notes over when history is rewritten: amend, rebase, cherry-pick, squash.

A rewritten commit is a new object, so its note must be rebuilt from the old
commits' notes.  Line numbers cannot be copied: a rebase onto a changed base,
a squash of several commits, or an amend that adds a line shifts them.  One
matcher, :func:`remap`, serves every case (the post-rewrite hook, a
cherry-pick's post-commit, the GitHub Action's squash and rebase merges in
:mod:`gitroi.pr.mergemap`).  A line of the new commit is AI when it is one of the
lines the new commit added and it is one of the old commits' AI lines that
still exist at the old commits' last version (the PR head of a squash; the
old commit itself for an amend or a rebased commit):

* :func:`replay` follows the old AI lines from commit to commit up to that
  head through the ``-U1`` hunks (merges and renames included), so a line a
  later commit rewrote or deleted is no longer the agent's, whatever its text;
* where the new commit has a file exactly as the head has it (a squash), those
  are its AI line numbers; elsewhere they are matched by content (the
  trimmed-line SHA-1 of the session readers) on the same path, each old line
  claimed once, so a line the new commit adds twice but the agent wrote once
  is AI once (then, for an upstream rename under a rebase, on any path);
* blank and punctuation-only lines count only next to a matched line, as at
  commit time (:func:`gitroi.attribution.matching.match_lines`).

On the click corpus (a squash of 92 commits through 69 merges, notes on 82)
this gives the 4,423 lines ``git blame`` of the head gives the noted commits
(under the same rule for blank lines);
the previous matcher (content of each old commit's AI lines, a rename lost
unless the new path had no AI lines of its own) found 4,405, the Action's own
one 4,519.

Sessions: the old notes are unioned by (agent, session id).  Two slices of
one session that do not overlap in time (two commits of a squash, or an
amended commit plus what post-commit attributed to the amend) are *summed*;
an identical or overlapping slice (the same commit seen twice) counts once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitroi.attribution.commits import AddedLines, read_commit, unquote_path
from gitroi.attribution.matching import trivial_line
from gitroi.attribution.notes import (
    _STRENGTH,
    Note,
    SessionShare,
    _add_cost,
    lines_to_ranges,
    read_blobs,
    read_note,
    write_note,
)
from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.ranges import RangeSet
from gitroi.sessions import line_hash

# --- which old AI lines reach the old commits' last version ----------------------------------

#: How far back along the first-parent chain the replay reads at most (a squash of a long PR);
#: old commits beyond it fall back to "every AI line of the note".
_REPLAY_LIMIT = 5000


@dataclass
class _FileDiff:
    """One file of one commit's diff: where its lines went, and which it added."""

    old: str | None
    new: str | None
    hunks: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # (o, oc, n, nc, body)


def _path(raw: bytes) -> str | None:
    name = raw.rstrip(b"\n").decode("utf-8", "surrogateescape")
    if name == "/dev/null":
        return None
    name = unquote_path(name.rstrip("\t"))
    return name[2:] if name[:2] in ("a/", "b/") else name


_HEADER = re.compile(rb"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


def _parse_log(out: bytes) -> list[tuple[str, list[_FileDiff]]]:
    """``git diff-tree --stdin -p`` output as [(commit, [file diffs])], in the order asked.

    Hunk bodies are consumed by their header's counts, so a removed line that
    starts with ``-- `` is never taken for a file header.
    """
    commits: list[tuple[str, list[_FileDiff]]] = []
    files: list[_FileDiff] = []
    cur: _FileDiff | None = None
    left_old = left_new = 0
    body: list[str] = []
    for raw in out.split(b"\n"):
        if left_old > 0 or left_new > 0:
            c = raw[:1]
            if c == b"\\":
                continue
            ch = c.decode("ascii", "replace") or " "
            body.append(ch)
            if ch != "+":
                left_old -= 1
            if ch != "-":
                left_new -= 1
            if left_old <= 0 and left_new <= 0 and cur is not None:
                o, oc, n, nc, _ = cur.hunks[-1]
                cur.hunks[-1] = (o, oc, n, nc, "".join(body))
            continue
        if _HEADER.match(raw):
            files = []
            commits.append((raw.decode("ascii"), files))
            cur = None
        elif raw.startswith(b"diff "):
            cur = _FileDiff(None, None)
            files.append(cur)
            m = re.match(rb'diff --(?:git|cc|combined) (.+)$', raw)
            if m and not m.group(1).startswith(b'"'):  # "a/x b/x" for an unchanged name
                half = m.group(1).split(b" b/", 1)
                if len(half) == 2 and half[0] == b"a/" + half[1]:
                    cur.old = cur.new = half[1].decode("utf-8", "surrogateescape")
        elif cur is None:
            continue
        elif raw.startswith(b"rename from "):
            cur.old = _path(raw[12:])
        elif raw.startswith(b"rename to "):
            cur.new = _path(raw[10:])
        elif raw.startswith(b"--- "):
            cur.old = _path(raw[4:])
        elif raw.startswith(b"+++ "):
            cur.new = _path(raw[4:])
        elif raw.startswith(b"@@"):
            m = _HUNK.match(raw)
            if m:
                o, oc, n, nc = (int(m.group(1)), int(m.group(2) or 1),
                                int(m.group(3)), int(m.group(4) or 1))
                cur.hunks.append((o, oc, n, nc, ""))
                left_old, left_new, body = oc, nc, []
    return commits


_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _shift(pos: list[int], hunks: Sequence[tuple[int, int, int, int, str]]) -> list[int]:
    """Line numbers of the old file version -> the new one; a removed line drops out."""
    out: list[int] = []
    i, delta = 0, 0
    for o_start, o_count, n_start, n_count, body in hunks:
        o = o_start if o_count else o_start + 1
        n = n_start if n_count else n_start + 1
        while i < len(pos) and pos[i] < o:
            out.append(pos[i] + delta)
            i += 1
        kept: dict[int, int] = {}
        for ch in body:
            if ch == "+":
                n += 1
            elif ch == "-":
                o += 1
            else:
                kept[o] = n
                o += 1
                n += 1
        while i < len(pos) and pos[i] < o:
            if pos[i] in kept:
                out.append(kept[pos[i]])
            i += 1
        delta = n - o
    out.extend(p + delta for p in pos[i:])
    return out


def _added(hunks: Sequence[tuple[int, int, int, int, str]]) -> list[int]:
    nums: list[int] = []
    for _, _, n_start, n_count, body in hunks:
        n = n_start if n_count else n_start + 1
        for ch in body:
            if ch != "-":
                if ch == "+":
                    nums.append(n)
                n += 1
    return nums


def _within(ranges: Iterable[Sequence[int]], lines: Iterable[int]) -> list[int]:
    """The ``lines`` (real line numbers) that ``ranges`` (a note's claim) hold: the claim is
    tested, never expanded, so its cost is the real lines' (gitroi/ranges.py)."""
    claim = RangeSet((r[0], r[1]) for r in ranges)
    return [n for n in lines if n in claim]


def replay(repo: Repo, notes: dict[str, Note], head: str, exclude: Sequence[str]
           ) -> tuple[dict[str, list[int]], set[str]]:
    """The old commits' AI lines that reach ``head``, as {path: line numbers in head}.

    Every commit from ``exclude`` to ``head`` is walked oldest first, merges
    and the branches they bring included (a PR that merged the main branch in,
    or a helper branch): each old commit's AI lines (its note's ranges, or every
    line it added for a commit-level note) are placed in its own file versions
    and carried through the diff to each child (``-U1`` hunks, renames found),
    so a line a later commit rewrote or deleted drops out, a renamed file takes
    its lines along, and a merge keeps what either side brings.  Two git calls
    whatever the length: ``rev-list --parents``, then one ``diff-tree --stdin``
    fed every (commit, parent) pair.  Returns the lines and the old commits the
    walk reached (others: the caller's fallback).
    """
    listing = repo.git("rev-list", "--reverse", "--topo-order", "--parents",
                       f"--max-count={_REPLAY_LIMIT}", head, *(f"^{x}" for x in exclude),
                       "--").decode("ascii").split("\n")
    graph = [(parts[0], parts[1:]) for line in listing if (parts := line.split())]
    if not graph:
        return {}, set()
    pairs = [f"{c} {p}" if p else c for c, parents in graph for p in (parents or [""])]
    out = repo.git("-c", "core.quotepath=off", "diff-tree", "--stdin", "--always", "--root",
                   "-p", "-U1", "-M", "--no-color", "--no-ext-diff", "--no-textconv",
                   input=("\n".join(pairs) + "\n").encode("ascii"))
    blocks = iter(_parse_log(out))
    children: Counter[str] = Counter(p for _, parents in graph for p in parents)
    states: dict[str, dict[str, list[int]]] = {}
    seen: set[str] = set()
    for sha, parents in graph:
        state: dict[str, set[int]] = {}
        first: list[_FileDiff] = []
        for i, parent in enumerate(parents or [""]):
            header, files = next(blocks, ("", []))
            if header != sha:
                raise GitroiError(f"cannot follow the AI lines through commit {sha[:12]}",
                                  hint="git diff-tree answered out of order")
            if i == 0:
                first = files
            base = dict(states.get(parent, {}))
            for f in files:
                pos = base.pop(f.old, []) if f.old else []
                if f.new is not None and pos:
                    state.setdefault(f.new, set()).update(_shift(pos, f.hunks))
            for path, pos in base.items():  # files this parent's diff did not touch
                state.setdefault(path, set()).update(pos)
            if parent:
                children[parent] -= 1
                if children[parent] <= 0:
                    states.pop(parent, None)
        note = notes.get(sha)
        if note is not None:
            seen.add(sha)
            own = {f.new: _added(f.hunks) for f in first if f.new is not None}
            if note.attribution == "commit":
                fresh = own
            else:
                fresh = {p: _within(rs, own.get(p, ())) for p, rs in note.ai_ranges.items()}
            for path, nums in fresh.items():
                state.setdefault(path, set()).update(nums)
        states[sha] = {p: sorted(v) for p, v in state.items() if v}
    return states.get(graph[-1][0], {}), seen  # topo order: ``head`` comes last


@dataclass
class Carried:
    """The old AI lines a new commit may take: ``exact`` line numbers for files the new
    commit has exactly as the old head has them (a squash), line hashes for the rest."""

    exact: dict[str, set[int]] = field(default_factory=dict)
    hashes: dict[str, Counter[str]] = field(default_factory=dict)


def carried_lines(repo: Repo, notes: Sequence[tuple[str, Note]], *, head: str,
                  exclude: Sequence[str], new: str | None = None) -> Carried:
    """The old commits' AI lines still there at ``head``, as :class:`Carried`.

    When ``head`` is the only old commit (amend, rebase, cherry-pick), it is its
    own last version: its note's lines, read from its own files, as hashes.
    Otherwise (a squash) :func:`replay` follows the lines from ``exclude`` to
    ``head``; where ``new`` has a file exactly as ``head`` has it, they are its
    line numbers already (no guessing among identical lines), elsewhere their
    hashes.  Old commits off that first-parent chain count all their AI lines,
    read from their own versions.  One ``cat-file --batch`` reads every file.
    """
    where: dict[tuple[str, str], list[int]] = {}
    claimed: dict[tuple[str, str], list[tuple[int, int]]] = {}
    reached: set[str] = set()
    survivors: dict[str, list[int]] = {}
    if [sha for sha, _ in notes] != [head]:
        survivors, reached = replay(repo, dict(notes), head, exclude)
    for sha, note in notes:
        if sha in reached or note.attribution == "commit":
            continue  # a commit-level note off the chain: "every added line", the caller's case
        for path, rs in note.ai_ranges.items():
            claimed.setdefault((sha, path), []).extend(rs)
    specs = [f"{c}:{p}" for c, p in claimed] + [f"{head}:{p}" for p in survivors]
    if new is not None:
        specs += [f"{new}:{p}" for p in survivors]
    blobs = read_blobs(repo, specs)
    out = Carried()
    for path, nums in survivors.items():
        mine = blobs.get(f"{head}:{path}")
        if mine is not None and new is not None and blobs.get(f"{new}:{path}") == mine:
            out.exact[path] = set(nums)
        else:
            where.setdefault((head, path), []).extend(nums)
    for (c, path), claim in claimed.items():
        data = blobs.get(f"{c}:{path}")
        if data is not None:  # the claim cut to the file's real length before any expansion
            n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
            where.setdefault((c, path), []).extend(_within(claim, range(1, n_lines + 1)))
    for (c, path), nums in where.items():
        data = blobs.get(f"{c}:{path}")
        if data is None:
            continue
        lines = data.decode("utf-8", "surrogateescape").splitlines()
        slot = out.hashes.setdefault(path, Counter())
        for n in nums:
            if 0 < n <= len(lines):
                slot[line_hash(lines[n - 1])] += 1
    return out


def map_ranges(added: AddedLines, carried: Carried) -> dict[str, tuple[tuple[int, int], ...]]:
    """The new commit's added lines that are old AI lines, each old line claimed at most once.

    An added line matches a carried line of the same path with the same hash; a
    line added twice but carried once is AI once (the copy with more candidate
    neighbours first).  Blank and punctuation-only lines count only next to a
    matched line, also within their budget.  Lines carried by number
    (``carried.exact``) are taken as they are, under the same rule for trivial
    lines.  Carried lines of a path the new commit does not touch (an upstream
    rename under a rebase) are then offered to any added line still unmatched.
    """
    budget = {p: Counter(c) for p, c in carried.hashes.items()}
    pool: Counter[str] = Counter()
    for path, counts in budget.items():
        if path not in added.by_path:
            pool.update(counts)
    paths = sorted(added.by_path)
    hashes = {p: [line_hash(t) for _, t in added.by_path[p]] for p in paths}
    trivial = {p: [trivial_line(t) for _, t in added.by_path[p]] for p in paths}
    ai = {p: [n in carried.exact.get(p, ()) and not t
              for (n, _), t in zip(added.by_path[p], trivial[p], strict=True)] for p in paths}

    def claim(path: str, pools: Sequence[Counter[str]], strong: bool) -> bool:
        lines, lh, tr, mark = added.by_path[path], hashes[path], trivial[path], ai[path]
        free = carried.exact.get(path, set()) if not strong else set()
        want = [i for i in range(len(lines)) if not mark[i] and tr[i] != strong
                and (lines[i][0] in free or any(pl[lh[i]] > 0 for pl in pools))]
        if strong:
            def score(i: int) -> int:
                n = lines[i][0]
                near = [j for j in (i - 1, i + 1) if 0 <= j < len(lines)
                        and abs(lines[j][0] - n) == 1]
                return sum(1 for j in near if any(pl[lh[j]] > 0 for pl in pools) or mark[j])
            want.sort(key=lambda i: (-score(i), i))
        else:
            want = [i for i in want if (i > 0 and mark[i - 1] and lines[i - 1][0] == lines[i][0] - 1)
                    or (i + 1 < len(lines) and mark[i + 1] and lines[i + 1][0] == lines[i][0] + 1)]
        hit = False
        for i in want:
            if lines[i][0] in free:
                mark[i] = hit = True
                continue
            for pl in pools:
                if pl[lh[i]] > 0:
                    pl[lh[i]] -= 1
                    mark[i] = hit = True
                    break
        return hit

    for round_pools in ("own", "pool"):
        for path in paths:
            pools = [budget.get(path, Counter())] if round_pools == "own" else [pool]
            claim(path, pools, True)
        for path in paths:
            pools = [budget.get(path, Counter()), pool]
            while claim(path, pools, False):
                pass
    return {p: lines_to_ranges(n for (n, _), a in zip(added.by_path[p], ai[p], strict=True) if a)
            for p in paths if any(ai[p])}


def _overlap(a: SessionShare, b: SessionShare) -> bool:
    a0, a1 = a.since or "", a.until or "\uffff"
    b0, b1 = b.since or "", b.until or "\uffff"
    return (a0 < b1 and b0 < a1) or (a0, a1) == (b0, b1)


def _add_models(a: dict[str, dict[str, Any]], b: dict[str, Any]) -> None:
    for model, counts in b.items():
        cur = a.setdefault(model, {})
        for k, v in counts.items():
            if k == "cost_usd":
                cur[k] = _add_cost(cur.get(k, 0.0), v)
            else:
                cur[k] = int(cur.get(k, 0) or 0) + int(v or 0)


def combine_sessions(shares: Iterable[SessionShare]) -> list[SessionShare]:
    """Union by session; disjoint time slices of one session add up, overlapping ones count once."""
    by_key: dict[tuple[str, str], list[SessionShare]] = {}
    for s in shares:
        slices = by_key.setdefault(s.key, [])
        for i, cur in enumerate(slices):
            if _overlap(cur, s):
                if (s.tokens, s.until or "") > (cur.tokens, cur.until or ""):
                    slices[i] = s
                break
        else:
            slices.append(s)
    out: list[SessionShare] = []
    for (agent, sid), slices in sorted(by_key.items()):
        if len(slices) == 1:
            out.append(slices[0])
            continue
        models: dict[str, dict[str, Any]] = {}
        for s in slices:
            _add_models(models, {m: dict(c) for m, c in s.models.items()})
        sinces = [s.since for s in slices if s.since]
        untils = [s.until for s in slices if s.until]
        out.append(SessionShare.from_models(agent, sid, models,
                                            since=min(sinces) if sinces else None,
                                            until=max(untils) if untils else None))
    return out


def remap(repo: Repo, old_shas: list[str], new_sha: str, *, head: str | None = None,
          exclude: Sequence[str] = (), write: bool = True,
          problems: list[str] | None = None) -> Note | None:
    """Give ``new_sha`` the union of the notes of ``old_shas``, ranges re-mapped by content.

    The new commit's AI lines are its added lines whose content is one of the
    old commits' AI lines that reach their last version (``head``; by default
    the last of ``old_shas``, a squash's PR head), each old line claimed once:
    :func:`carried_lines` and :func:`map_ranges`.  ``exclude`` bounds the walk
    to ``head`` (default: the first old commit's parents; the Action passes the
    merge commit).  Whatever note ``new_sha`` already has (post-commit
    attributed an amend, or an earlier run) is kept and combined, never lost.
    Returns the note written (``write=False``: that would be written), or None
    when no old commit has a note.  A corrupt old or existing note raises the
    GitroiError of :func:`gitroi.attribution.notes.parse`; with ``problems`` (a
    list) it is quarantined instead: left out, named there, and every other note
    is carried (the Action maps a squash whose commits hold one bad note).
    """
    def read(sha: str) -> Note | None:
        try:
            return read_note(repo, sha)
        except GitroiError as exc:
            if problems is None:
                raise
            problems.append(exc.message)
            return None

    order = [sha for sha in dict.fromkeys(old_shas) if sha != new_sha]
    olds = [(sha, n) for sha in order for n in [read(sha)] if n is not None]
    if not olds:
        return None
    existing = read(new_sha)
    _, added = read_commit(repo, new_sha)

    kinds = [n.attribution for _, n in olds]
    attribution = max(kinds, key=lambda k: _STRENGTH[k])
    if attribution == "commit":
        ranges: dict[str, tuple[tuple[int, int], ...]] = added.all_ranges()
    else:
        ranges = map_ranges(added, carried_lines(repo, olds, head=head or order[-1],
                                                 exclude=exclude or [f"{order[0]}^@"],
                                                 new=new_sha))
    shares = [s for _, n in olds for s in n.sessions]
    agents = {a for _, n in olds for a in n.agents}
    markers = {m for _, n in olds for m in n.markers}
    if existing is not None:
        shares += list(existing.sessions)
        agents |= set(existing.agents)
        markers |= set(existing.markers)
        if _STRENGTH[existing.attribution] > _STRENGTH[attribution]:
            attribution, ranges = existing.attribution, {}
        if existing.attribution == attribution:
            merged: dict[str, list[tuple[int, int]]] = {p: list(r) for p, r in ranges.items()}
            for p, rs in existing.ai_ranges.items():
                merged.setdefault(p, []).extend(rs)
            ranges = {p: tuple(r) for p, r in merged.items()}
    note = Note.build(attribution=attribution, agents=agents, sessions=combine_sessions(shares),
                      lines_added=added.count, ai_ranges=ranges, markers=markers)
    return write_note(repo, new_sha, note, replace_existing=True) if write else note
