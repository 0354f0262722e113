"""One time syntax for every ``--since``/``--until``, and one for every ``--window`` (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gitroi import timeutil
from gitroi.errors import GitroiError

NOW = datetime(2026, 3, 10, 15, 30, 0, tzinfo=UTC)


def _local_midnight(days_back: int) -> str:
    local = NOW.astimezone()
    day = (local - timedelta(days=days_back)).date()
    return timeutil.iso(datetime(day.year, day.month, day.day, tzinfo=local.tzinfo))


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-31", "2026-01-31T00:00:00.000Z"),
    ("2026-01-31T12:00Z", "2026-01-31T12:00:00.000Z"),
    ("2026-01-31T12:00:00+02:00", "2026-01-31T10:00:00.000Z"),
    ("30d", "2026-02-08T15:30:00.000Z"),
    ("2w", "2026-02-24T15:30:00.000Z"),
    ("36h", "2026-03-09T03:30:00.000Z"),
    ("now", "2026-03-10T15:30:00.000Z"),
    ("  Today ", None),
    ("yesterday", None),
])
def test_accepted_forms(text: str, expected: str | None) -> None:
    if expected is None:
        expected = _local_midnight(0 if "today" in text.lower() else 1)
    assert timeutil.parse_since(text, now=NOW) == expected


def test_yesterday_is_the_day_before_today() -> None:
    today = timeutil.parse(timeutil.parse_since("today", now=NOW))
    yesterday = timeutil.parse(timeutil.parse_since("yesterday", now=NOW))
    assert timedelta(hours=23) <= today - yesterday <= timedelta(hours=25)
    assert today <= NOW


@pytest.mark.parametrize("text", ["garbage", "2026-13-01", "last week", "", "3x"])
def test_anything_else_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time: use an ISO date"):
        timeutil.parse_since(text, now=NOW)


def test_option_errors_name_the_option_and_the_syntax() -> None:
    with pytest.raises(GitroiError) as err:
        timeutil.time_option("garbage", "--until")
    assert err.value.message == "--until 'garbage' is not a time"
    assert "30d" in (err.value.hint or "") and "yesterday" in (err.value.hint or "")
    assert timeutil.time_option(None, "--since") is None
    assert timeutil.window_option("2w") == 14.0
    with pytest.raises(GitroiError, match="--window 'soon' is not a duration"):
        timeutil.window_option("soon")
