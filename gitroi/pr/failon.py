"""``fail-on``: the thresholds that turn a pull request report into a failed check.

A comma-separated list of conditions, each ``METRIC OP NUMBER`` or the word
``comment``::

    review-churn>0.3, tokens-per-surviving-line>=5000, comment

Metrics are the Action's outputs (``tokens``, ``cost-usd``, ``ai-lines``,
``surviving-lines``, ``tokens-per-surviving-line``, ``review-churn``, a share
from 0 to 1); ``comment`` fails when the report comment could not be posted
(by default a failed comment is only a warning: the report still reaches the
job summary).  A metric with no value (no AI lines, no surviving line) never
trips its condition.  The grammar is parsed before anything runs, so a typo
fails fast with the accepted names.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitroi.errors import GitroiError

#: fail-on metric -> key of the gitroi.pr/1 report.
METRICS = {
    "tokens": "tokens",
    "cost-usd": "cost_usd",
    "ai-lines": "ai_lines",
    "surviving-lines": "surviving",
    "tokens-per-surviving-line": "tokens_per_surviving_line",
    "review-churn": "review_churn",
}
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
}
_COND = re.compile(r"^\s*([a-z-]+)\s*(>=|<=|==|>|<)\s*([0-9]+(?:\.[0-9]+)?)\s*$")


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    limit: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.limit:g}"


@dataclass(frozen=True)
class FailOn:
    conditions: tuple[Condition, ...] = ()
    comment: bool = False

    def check(self, report: Mapping[str, Any], *, comment_status: str | None = None) -> list[str]:
        """The conditions that hold, as sentences (empty: pass)."""
        hits: list[str] = []
        for c in self.conditions:
            value = report.get(METRICS[c.metric])
            if value is not None and _OPS[c.op](float(value), c.limit):
                hits.append(f"{c.metric} is {value:g}, and fail-on says {c}")
        if self.comment and comment_status == "failed":
            hits.append("the report comment could not be posted, and fail-on says comment")
        return hits


def parse_fail_on(text: str | None) -> FailOn:
    """Parse the ``fail-on`` input; GitroiError naming the bad part."""
    conditions: list[Condition] = []
    comment = False
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if part in ("comment", "comment-failed"):
            comment = True
            continue
        m = _COND.match(part)
        if m is None or m.group(1) not in METRICS:
            raise GitroiError(
                f"fail-on: cannot read {part!r}",
                hint=f"write METRIC>NUMBER with METRIC one of {', '.join(METRICS)}, or `comment`; "
                     "e.g. review-churn>0.3")
        conditions.append(Condition(m.group(1), m.group(2), float(m.group(3))))
    return FailOn(tuple(conditions), comment)
