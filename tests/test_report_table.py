"""The terminal table of ``gitroi report``: one column per key, fitted to the width, no empty columns."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitroi.ledger import memory_ledger
from gitroi.report.figures import compute
from gitroi.report.render import (
    NO_TOKENS,
    render_markdown,
    render_table,
    shorten,
    terminal_width,
)
from tests.report_scenario import ROOT, fill

LONG = "packages/frontend/src/components/settings/notifications/"


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    d = memory_ledger()
    fill(d)
    return compute(d, by=["path", "symbol", "agent", "week"], roots=[ROOT], repo_name="golden")


def _long_rows(data: dict[str, Any]) -> dict[str, Any]:
    """The scenario's figures under long paths and symbols that differ only at their end."""
    data = copy.deepcopy(data)
    template = data["rows"][0]
    rows = []
    for i, (name, sym, agent) in enumerate([
            ("EmailPreferencesPanel.tsx", "NotificationSettings.onEmailChange", "claude-code"),
            ("SmsPreferencesPanel.tsx", "NotificationSettings.onSmsChange", "codex"),
            ("PushPreferencesPanel.tsx", "", "gemini-cli")]):
        r = dict(template)
        r.update(path=LONG + name, symbol=sym, agent=agent, week="2026-01-05",
                 tokens=1_234_567 * (i + 1), ai_lines=1_200 + i)
        rows.append(r)
    data["rows"] = rows
    return data


def test_long_keys_fit_80_columns_and_keep_their_ends(base: dict[str, Any]) -> None:
    data = _long_rows(base)
    data["by"] = ["path", "symbol", "agent"]
    lines = render_table(data, 80).splitlines()
    assert max(len(x) for x in lines) <= 80
    head = lines.index("path                         symbol           agent        tokens AI lines  surv")
    assert lines[head + 1:head + 5] == [
        "-" * 80,
        "…/EmailPreferencesPanel.tsx  …onEmailChange   claude-code    1.2M    1,200 75.0%",
        "…/SmsPreferencesPanel.tsx    …gs.onSmsChange  codex          2.5M    1,201 75.0%",
        "…/PushPreferencesPanel.tsx   (module)         gemini-cli     3.7M    1,202 75.0%"]
    # With a fourth key the file names and the symbols' last parts stay whole; figures go.
    data["by"] = ["path", "symbol", "agent", "week"]
    lines = render_table(data, 80).splitlines()
    assert max(len(x) for x in lines) <= 80
    head = lines.index("path                         symbol            agent        week        AI lines")
    assert lines[head + 2:head + 5] == [
        "…/EmailPreferencesPanel.tsx  …s.onEmailChange  claude-code  2026-01-05     1,200",
        "…/SmsPreferencesPanel.tsx    …ngs.onSmsChange  codex        2026-01-05     1,201",
        "…/PushPreferencesPanel.tsx   (module)          gemini-cli   2026-01-05     1,202"]


def test_whole_numbers_right_aligned_when_they_fit(base: dict[str, Any]) -> None:
    data = copy.deepcopy(base)
    data["by"] = ["agent", "week"]
    data["rows"] = [{**r, "tokens": t} for r, t in zip(base["rows"][:2], (1_234_567, 800),
                                                        strict=True)]
    lines = render_table(data, 80).splitlines()
    head = lines.index(
        "agent        week           tokens  cost AI lines   surv rework tok/surv  $/surv")
    # Figure columns close up to one space so that every figure and whole numbers fit.
    assert lines[head + 1:head + 4] == [
        "-" * 80,
        "claude-code  2026-01-05  1,234,567 $0.40        8  75.0%  25.0%    133.3 $0.0667",
        "aider        2026-01-05        800     -        4 100.0%   0.0%        -       -"]


def test_wider_and_narrower_terminals(base: dict[str, Any]) -> None:
    data = _long_rows(base)
    wide = render_table(data, 200).splitlines()
    assert max(len(x) for x in wide) <= 200
    assert sum("/notifications/SmsPreferencesPanel.tsx" in x for x in wide) == 1
    assert sum("NotificationSettings.onSmsChange" in x for x in wide) == 1
    assert any("3,703,701" in x for x in wide)   # room for whole numbers
    for width in (60, 50, 40):
        narrow = render_table(data, width).splitlines()
        assert max(len(x) for x in narrow) <= width, width
        assert sum("2026-01-05" in x for x in narrow) == 3   # weeks are never cut


def _markers_only(base: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(base)
    data["by"] = ["agent"]
    data["rows"] = [{**base["rows"][0], "agent": "claude-code", "tokens": 0, "cost_usd": None,
                     "ai_lines": 8181, "surviving": 5181, "surviving_share": 0.6333,
                     "rework_rate": 0.1401, "tokens_per_surviving_line": None,
                     "cost_per_surviving_line": None}]
    data["headline"].update(tokens=0, input=0, cache_write=0, cache_read=0, output=0,
                            cost_usd=None, tokens_per_surviving_line=None,
                            cost_per_surviving_line=None, cost_per_merged_pr=None,
                            exploration_tokens=0, exploration_sessions=0)
    return data


def test_markers_only_drops_empty_columns_and_says_why(base: dict[str, Any]) -> None:
    lines = render_table(_markers_only(base), 80).splitlines()
    assert lines[2] == "Tokens      none recorded (attribution from commit trailers only; install the"
    assert lines[3] == "            hooks to record sessions: gitroi install)"
    text = "\n".join(lines)
    assert NO_TOKENS.startswith("none recorded") and "Per line" not in text
    assert "Cost" not in text and "Exploration" not in text and "per merged PR" not in text
    i = lines.index("agent        AI lines   surv  rework")
    assert lines[i + 1:i + 4] == [
        "-" * 36,
        "claude-code     8,181  63.3%   14.0%",
        "no token figures: these commits are attributed from trailers, no session logs"]


def test_markdown_one_column_per_key_without_empty_ones(base: dict[str, Any]) -> None:
    md = render_markdown(_markers_only(base)).splitlines()
    i = md.index("| agent | AI lines | surviving | rework |")
    assert md[i + 1:i + 5] == [
        "|---|---:|---:|---:|", "| claude-code | 8,181 | 5,181 (63.3%) | 14.0% |", "",
        "_No token figures: these commits are attributed from trailers, no session logs._"]
    assert f"| **Tokens** | {NO_TOKENS} |" in md
    two = render_markdown(base).splitlines()
    assert "| a.py | f | claude-code | 2026-01-05 | 800 | $0.40 | 8 | 6 (75.0%) | 25.0% | " \
        "133.3 | $0.0667 |" in two


def test_shorten_keeps_the_end_of_paths_and_the_start_of_names() -> None:
    assert shorten("base-action/src/entrypoints/prepare.ts", 28, keep_end=True) == \
        "…/src/entrypoints/prepare.ts"
    assert shorten("a/b.py", 28, keep_end=True) == "a/b.py"
    assert shorten("claude-code-action-bot", 12) == "claude-code…"
    assert shorten("Outer.inner_method", 10, keep_end=True) == "…er_method"


def test_terminal_width_is_80_at_most_when_not_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    monkeypatch.setenv("COLUMNS", "200")
    assert terminal_width() == 80
    monkeypatch.setenv("COLUMNS", "64")
    assert terminal_width() == 64


def test_sessions_recorded_but_none_attributed_is_not_blamed_on_trailers(
        base: dict[str, Any]) -> None:
    data = _markers_only(base)
    data["headline"].update(exploration_tokens=4_321, exploration_sessions=2)
    text = render_table(data, 80)
    assert "Tokens      none attributed to the 3 commits: the recorded sessions led to no\n" \
           "            commit in scope (see Exploration)\n" in text
    assert "Exploration 4,321 tokens in 2 sessions that led to no commit" in text
    assert "no token figures: no recorded session led to these commits\n" in text
    assert NO_TOKENS not in text and "trailers" not in text
