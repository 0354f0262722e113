"""What became of a line: the outcome classes and the rules that pick one.

Definitions (DESIGN.md, "Survival analysis"): a line is *surviving* when it is
alive at the analysed tip; otherwise it ended in some commit D, and it is
*reverted* when D is a ``git revert`` of the line's commit ("This reverts
commit X") or D restores the content the line's commit had replaced; else
*churned* when D came within the window after the line's commit, else
*deleted_later*.  Who ended it: the *same session* (D shares an agent session
with the line's commit), another *ai* commit, or a *person*.

The rules are pure functions over small integers so the replay can call them
per dead line without allocating; the enums are the names used in the ledger
and the JSON.
"""

from __future__ import annotations

import enum
import re

DEFAULT_WINDOW_DAYS = 14.0


class Outcome(enum.IntEnum):
    SURVIVING = 0
    CHURNED = 1
    REVERTED = 2
    DELETED_LATER = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class EndedBy(enum.IntEnum):
    NONE = 0          # still alive
    SAME_SESSION = 1  # the ending commit shares an agent session with the line's commit
    AI = 2            # another AI-attributed commit
    PERSON = 3        # a commit with no AI attribution

    @property
    def label(self) -> str:
        return "" if self is EndedBy.NONE else self.name.lower()


OUTCOME_LABELS = tuple(o.label for o in Outcome)
ENDED_BY_LABELS = tuple(e.label for e in EndedBy)

_REVERTS = re.compile(rb"This reverts commit ([0-9a-f]{7,40})")


def revert_targets(message: bytes) -> list[bytes]:
    """Commit ids a message says it reverts (``git revert`` writes the full id)."""
    return _REVERTS.findall(message)


def outcome_of_death(
    born: int, died: int, window_s: float, *, reverted: bool
) -> Outcome:
    """The outcome of a line that ended at time ``died`` (epoch seconds), born at ``born``.

    A revert wins over timing; otherwise the window (inclusive) separates
    churn from a line that lived its life.
    """
    if reverted:
        return Outcome.REVERTED
    if died - born <= window_s:
        return Outcome.CHURNED
    return Outcome.DELETED_LATER


def ended_by(
    ender_sessions: frozenset[str], line_sessions: frozenset[str], ender_is_ai: bool
) -> EndedBy:
    """Who ended a line: its own session again, another AI commit, or a person."""
    if ender_sessions and line_sessions and not ender_sessions.isdisjoint(line_sessions):
        return EndedBy.SAME_SESSION
    return EndedBy.AI if ender_is_ai else EndedBy.PERSON
