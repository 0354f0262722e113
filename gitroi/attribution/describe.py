"""One commit's attribution, for ``gitroi show``: from notes, no ledger needed."""

from __future__ import annotations

import json
from typing import Any

from gitroi.attribution.history import added_ranges, iter_history
from gitroi.attribution.markers import switches
from gitroi.attribution.notes import NOTES_REF, Note, parse
from gitroi.attribution.rebuild import clipped_note
from gitroi.attribution.records import record_from_markers
from gitroi.errors import GitroiError
from gitroi.git import Repo


def describe(repo: Repo, rev: str) -> dict[str, Any]:
    """A commit's attribution as ``gitroi show --json`` prints it (from notes; no ledger needed).

    Another tool's record in a shape gitroi does not know is named in ``warnings``
    and the next source serves: gitroi note, git-ai note, Agent Trace record, markers.
    """
    from gitroi.attribution import foreign

    sha = repo.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", "--",
                   check=False).decode("ascii", "replace").strip() if rev else ""
    if not sha:
        if repo.head() is None:
            raise GitroiError("this repository has no commits yet", hint="commit first")
        raise GitroiError(f"{rev!r} is not a commit in this repository",
                          hint="pass a commit id, branch or HEAD~N")
    hc = next(iter_history(repo, ["-1", sha]))
    note: Note | None = None
    source = "none"
    warnings: list[str] = []
    # Strongest source first.  A note that breaks a rule of docs/notes.md is quarantined
    # (anyone can push notes): named in the warnings, and the next source serves, as does
    # another tool's record that cannot be read.
    text = repo.git("notes", f"--ref={NOTES_REF}", "show", sha, check=False)
    if text:
        try:
            note, source = parse(text, commit=sha), "note"
        except GitroiError as exc:
            warnings.append(str(exc))
    ga = repo.git("notes", f"--ref={foreign.GIT_AI_REF}", "show", sha, check=False) \
        if note is None else b""
    if ga:
        try:
            found = foreign.parse_git_ai(ga, commit=sha)
        except GitroiError as exc:
            warnings.append(f"{exc.message}; skipped")
        else:
            if found is not None:
                note, source = found, "git-ai"
    if note is None:
        tr = foreign.read_agent_traces(repo, problems=warnings).get(sha)
        if tr:
            note, source = tr[1], "agent-trace"
    sw = switches(repo)
    markers = hc.meta.markers(sw)
    if note is None:
        rec = record_from_markers(hc.meta, markers, hc.lines_added, switches=sw)
        return {"commit": sha, "attribution": rec.row["attribution"],
                "agents": json.loads(rec.row["agents"]), "sessions": [], "tokens": 0,
                "cost_usd": None, "lines_added": hc.lines_added,
                "ai_lines": rec.row["ai_lines"], "ai_ranges": {},
                "markers": json.loads(rec.row["markers"]), "source": rec.row["source"],
                "subject": hc.meta.subject, "warnings": warnings}
    from gitroi.git.partial import missing_blobs

    try:
        gap = missing_blobs(repo, [sha])
    except ValueError:  # trees missing too: the ranges cannot be checked here
        pass
    else:  # a note's ranges cut to the lines the commit added, the cut said
        excludes = sorted(gap[1]) if gap else []
        note = clipped_note(note, added_ranges(repo, [sha], excludes).get(sha, {}), hc, source,
                            bool(excludes), warnings)
    lines_added = note.lines_added if source == "note" else hc.lines_added
    return {"commit": sha, "attribution": note.attribution, "agents": list(note.agents),
            "sessions": [s.to_dict() for s in note.sessions], "tokens": note.tokens,
            "cost_usd": note.cost_usd, "lines_added": lines_added,
            "ai_lines": note.ai_lines if note.attribution != "commit" else lines_added,
            "ai_ranges": {p: [list(r) for r in rs] for p, rs in note.ai_ranges.items()},
            "markers": sorted(set(note.markers) | {m.evidence for m in markers}),
            "source": source, "subject": hc.meta.subject, "warnings": warnings}
