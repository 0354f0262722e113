"""The ledger rows of one commit, made from its note or from its markers alone."""

from __future__ import annotations

import json
from collections.abc import Sequence

from gitroi.attribution.commits import CommitMeta
from gitroi.attribution.markers import Marker
from gitroi.attribution.markers import source_key as marker_source_key
from gitroi.attribution.notes import Note, SessionShare
from gitroi.sessions import session_key, sha1

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

    from gitroi.ledger.commits import CommitRecord


def note_blob_id(note: Note) -> str:
    """The git blob id the note's text gets (notes are stored verbatim), without asking git."""
    data = note.dumps().encode("utf-8")
    return str(sha1(b"blob %d\x00" % len(data) + data).hexdigest())


def _session_row(s: SessionShare) -> dict[str, Any]:
    return {"session_key": session_key(s.agent, s.session_id), "agent": s.agent,
            "session_id": s.session_id, "models": json.dumps(s.to_dict()["models"], sort_keys=True),
            "input": s.input, "output": s.output, "cache_write": s.cache_write,
            "cache_read": s.cache_read, "reasoning": s.reasoning, "tokens": s.tokens,
            "cost_usd": s.cost_usd, "since_ts": s.since, "until_ts": s.until}


def _base_row(meta: CommitMeta) -> dict[str, Any]:
    return {"sha": meta.sha, "author_name": meta.author_name, "author_email": meta.author_email,
            "authored_at": meta.authored_at, "committed_at": meta.committed_at,
            "subject": meta.subject, "parents": " ".join(meta.parents)}


def record_from_note(meta: CommitMeta, note: Note, *, lines_added: int | None = None,
                     source: str = "note", source_key: str | None = None) -> CommitRecord:
    """The ledger rows of a commit attributed by a note (gitroi's own or a foreign one)."""
    from gitroi.ledger.commits import CommitRecord

    la = note.lines_added if source == "note" else (lines_added or note.lines_added)
    ai_lines = note.ai_lines if note.attribution != "commit" else la
    row = {**_base_row(meta), "attribution": note.attribution, "agents": json.dumps(list(note.agents)),
           "lines_added": la, "ai_lines": ai_lines, "tokens": note.tokens,
           "cost_usd": note.cost_usd, "note_version": 1 if source == "note" else None,
           "source": source, "source_key": source_key or f"{source}:{note_blob_id(note)}",
           "markers": json.dumps(list(note.markers))}
    return CommitRecord(row=row, sessions=[_session_row(s) for s in note.sessions],
                        ranges={p: list(rs) for p, rs in note.ai_ranges.items()})


def record_from_markers(meta: CommitMeta, markers: Sequence[Marker], lines_added: int,
                        source_key: str | None = None,
                        switches: dict[str, bool] | None = None) -> CommitRecord:
    """Ledger rows of a commit with only markers (attribution commit) or nothing (none)."""
    from gitroi.ledger.commits import CommitRecord

    row = {**_base_row(meta), "attribution": "commit" if markers else "none",
           "agents": _json_set({m.agent for m in markers}) if markers else "[]", "lines_added": lines_added,
           "ai_lines": lines_added if markers else 0, "tokens": 0, "cost_usd": None,
           "note_version": None, "source": "markers" if markers else "none",
           "source_key": source_key or marker_source_key(bool(markers), switches),
           "markers": _json_set({m.evidence for m in markers}) if markers else "[]"}
    return CommitRecord(row=row)


_JSON_SETS: dict[frozenset[str], str] = {}


def _json_set(items: set[str]) -> str:
    """``json.dumps(sorted(items))``, each distinct set encoded once (a history has a handful)."""
    key = frozenset(items)
    text = _JSON_SETS.get(key)
    if text is None:
        if len(_JSON_SETS) > 4096:
            _JSON_SETS.clear()
        text = _JSON_SETS[key] = json.dumps(sorted(key))
    return text
