"""A reader's results folded the way the importer folds them, for the reader tests."""

from __future__ import annotations

from gitroi.sessions import FileEdit, ReadResult, UsageEvent


class Ledger:
    """What the importer does with results: delete withdrawn ids, then upsert by id."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], UsageEvent] = {}
        self.edits: dict[tuple[str, str], FileEdit] = {}

    def apply(self, r: ReadResult) -> None:
        for k in r.deleted_events:
            self.events.pop(k, None)
        for k in r.deleted_edits:
            self.edits.pop(k, None)
        for key, ev in r.events:
            self.events[(key, ev.event_id)] = ev
        for key, ed in r.edits:
            self.edits[(key, ed.edit_id)] = ed
