"""Carrying notes over when history is rewritten: amend, rebase, cherry-pick, squash.

A rewritten commit is a new object, so its note must be rebuilt from the old
commits' notes.  Line numbers cannot be copied: a rebase onto a changed base,
a squash of several commits, or an amend that adds a line shifts them.  So
:func:`remap` matches *content*: the old AI lines (read from each old
commit's own file versions at the note's ranges) are hashed with the same
trimmed-line SHA-1 the session readers use, and the new commit's added lines
with a matching hash on the same path (or on a path the old commits touched
but the new one does not, for a rename) become the new AI ranges.  A changed
patch therefore still maps right, and a line the rewrite dropped is simply no
longer attributed.  Blank and punctuation-only lines count only next to a
matched line, exactly as at commit time (:func:`gitroi.attribution.match_lines`).

Sessions: the old notes are unioned by (agent, session id).  Two slices of
one session that do not overlap in time (two commits of a squash, or an
amended commit plus what post-commit attributed to the amend) are *summed*;
an identical or overlapping slice (the same commit seen twice) counts once.

The same function serves the post-rewrite hook (amend, rebase), the
post-commit hook of a cherry-pick, and the GitHub Action's squash and rebase
merges (:mod:`gitroi.mergemap`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gitroi.attribution import AddedLines, match_lines, read_commit
from gitroi.git import Repo
from gitroi.notes import _STRENGTH, Note, SessionShare, read_blobs, read_note, write_note
from gitroi.sessions import line_hash


def _old_ai_hashes(repo: Repo, notes: Sequence[tuple[str, Note]]) -> dict[str, set[str]]:
    """{path: hashes of the AI lines} over the old commits' notes, read in one cat-file call."""
    specs: list[tuple[str, str, tuple[tuple[int, int], ...]]] = []
    for sha, note in notes:
        if note.attribution == "commit":
            continue  # no ranges of its own: "every added line", handled by the caller
        for path, ranges in note.ai_ranges.items():
            specs.append((f"{sha}:{path}", path, ranges))
    blobs = read_blobs(repo, [s for s, _, _ in specs])
    out: dict[str, set[str]] = {}
    for spec, path, ranges in specs:
        data = blobs.get(spec)
        if data is None:
            continue
        lines = data.decode("utf-8", "surrogateescape").splitlines()
        slot = out.setdefault(path, set())
        for start, end in ranges:
            for n in range(start, min(end, len(lines)) + 1):
                slot.add(line_hash(lines[n - 1]))
    return out


def map_ranges(added: AddedLines, old_hashes: dict[str, set[str]]
               ) -> dict[str, tuple[tuple[int, int], ...]]:
    """The new commit's added lines whose content was AI-written in the old commits.

    A path the new commit adds lines to is matched against the old AI lines of
    the same path; a path the old commits had but the new one does not (a
    rename) lends its lines to every path without old AI lines of its own.
    """
    orphan: set[str] = set()
    for path, hashes in old_hashes.items():
        if path not in added.by_path:
            orphan |= hashes
    edits: dict[str, dict[str, set[str]]] = {}
    for path in added.by_path:
        hashes = old_hashes.get(path) or orphan
        if hashes:
            edits[path] = {h: {"old"} for h in hashes}
    return match_lines(added, edits).ranges


def _overlap(a: SessionShare, b: SessionShare) -> bool:
    a0, a1 = a.since or "", a.until or "\uffff"
    b0, b1 = b.since or "", b.until or "\uffff"
    return (a0 < b1 and b0 < a1) or (a0, a1) == (b0, b1)


def _add_models(a: dict[str, dict[str, Any]], b: dict[str, Any]) -> None:
    for model, counts in b.items():
        cur = a.setdefault(model, {})
        for k, v in counts.items():
            if k == "cost_usd":
                if k in cur and (cur[k] is None or v is None):
                    cur[k] = None
                else:
                    cur[k] = round((cur.get(k) or 0.0) + v, 10) if v is not None else None
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


def remap(repo: Repo, old_shas: list[str], new_sha: str) -> Note | None:
    """Give ``new_sha`` the union of the notes of ``old_shas``, ranges re-mapped by content.

    Whatever note ``new_sha`` already has (post-commit attributed an amend, or an
    earlier run) is kept and combined, never lost.  Returns the note written, or
    None when no old commit has a note (then nothing is written).  A corrupt
    old or existing note raises the GitroiError of :func:`gitroi.notes.parse`.
    """
    olds = [(sha, n) for sha in dict.fromkeys(old_shas) if sha != new_sha
            for n in [read_note(repo, sha)] if n is not None]
    if not olds:
        return None
    existing = read_note(repo, new_sha)
    _, added = read_commit(repo, new_sha)

    kinds = [n.attribution for _, n in olds]
    attribution = max(kinds, key=lambda k: _STRENGTH[k])
    if attribution == "commit":
        ranges: dict[str, tuple[tuple[int, int], ...]] = added.all_ranges()
    else:
        ranges = map_ranges(added, _old_ai_hashes(repo, [(s, n) for s, n in olds
                                                          if n.attribution != "commit"]))
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
    return write_note(repo, new_sha, note, replace_existing=True)
