"""The one way the ledger is written: a transaction that turns a held lock into a clear error.

A module of its own so that the query modules (which ``migrations`` reaches
through ``reports.create_views``) import it without importing the package's
``__init__``, which imports ``migrations``: no import cycle.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from gitroi.errors import GitroiError

TYPE_CHECKING = False  # not from typing: sqlite-utils is imported only where a ledger is opened
if TYPE_CHECKING:
    from sqlite_utils import Database


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """All writes happen inside one of these, so a killed run leaves no half-state.

    Translates a lock held past the busy timeout into a :class:`GitroiError`.
    """
    try:
        with db.atomic():
            yield db
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise GitroiError(
                f"the ledger is locked by another process: {exc}",
                hint="another gitroi may be running; try again when it finishes",
            ) from exc
        raise
