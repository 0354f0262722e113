"""Numbers, labels and the headline as text: what every report renderer shares.

``render`` (table, Markdown, CSV, JSON) and ``html`` both use these, so they
live apart from either: neither renderer imports the other's module for them.
"""

from __future__ import annotations

from typing import Any

from gitroi.wording import plural


def compact(n: float | None) -> str:
    """1234 -> '1,234'; 1234567 -> '1.2M'; None -> '-'."""
    if n is None:
        return "-"
    a = abs(n)
    if a >= 1e9:
        return f"{n / 1e9:.1f}B"
    if a >= 1e6:
        return f"{n / 1e6:.1f}M"
    if a >= 1e5:
        return f"{n / 1e3:.0f}k"
    if float(n).is_integer():
        return f"{int(n):,}"
    return f"{n:,.1f}"


def money(x: float | None, *, small: bool = False) -> str:
    if x is None:
        return "-"
    if small or abs(x) < 0.1:
        return f"${x:.4f}"
    return f"${x:,.2f}"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def key_cell(row: dict[str, Any], key: str) -> str:
    """One ``--by`` key of a row as text ("no PR", "(module)", "(no session)" for the blanks)."""
    v = row.get(key)
    if key == "pr":
        return "no PR" if v is None else f"#{v}"
    if key == "symbol":
        return str(v or "(module)")
    if key == "model":
        return str(v or "(no session)")
    return "-" if v in (None, "") else str(v)


def key_label(row: dict[str, Any], keys: list[str]) -> str:
    """All ``--by`` keys of a row in one cell (Markdown, HTML)."""
    return " · ".join(key_cell(row, k) for k in keys)


NO_TOKENS = ("none recorded (attribution from commit trailers only; install the hooks to "
             "record sessions: gitroi install)")


def headline_lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline as (label, text) pairs, shared by the table and Markdown renderers.

    Without any attributed token the token, cost and per-line figures would be
    rows of zeros and dashes: one line says why instead (and how to get them).
    """
    h = data["headline"]
    ai = h["ai_lines"]
    carried = h.get("carried") or 0
    tokens = h["tokens"] or 0
    sessions = h.get("exploration_sessions") or 0
    out: list[tuple[str, str]] = []
    if tokens:
        split = (f"input {compact(h['input'])} · cache write {compact(h['cache_write'])} · "
                 f"cache read {compact(h['cache_read'])} · output {compact(h['output'])}")
        out.append(("Tokens", f"{compact(tokens)} attributed to {plural(h['commits'], 'commit')} ({split})"))
        out.append(("Cost", money(h["cost_usd"]) + (
            f" (no price for {', '.join(h['unpriced_models'])})" if h["unpriced_models"] else "")))
    elif sessions:
        out.append(("Tokens", f"none attributed to the {plural(h['commits'], 'commit')}: the recorded "
                    "sessions led to no commit in scope (see Exploration)"))
    else:
        out.append(("Tokens", NO_TOKENS))
    out += [
        ("AI lines", f"{compact(ai)}" + (" new" if carried else "")
         + (f" ({compact(h['ai_lines_line_level'])} line-level, "
            f"{compact(h['ai_lines_commit_level'])} commit-level)" if ai else "")
         + (f" · +{compact(carried)} moved or reformatted, carried from older commits"
            if carried else "")),
        ("Surviving", f"{compact(h['surviving'])} ({pct(h['surviving_share'])}) · churned "
         f"{compact(h['churned'])} · reverted {compact(h['reverted'])} · deleted later "
         f"{compact(h['deleted_later'])}"
         + (f" · not analysed {compact(h['unanalysed'])}" if h["unanalysed"] else "")),
        ("Rework", f"{pct(h['rework_rate'])} of AI lines churned or reverted"),
    ]
    if tokens:
        out.append(("Per line", f"{compact(h['tokens_per_surviving_line'])} tokens · "
                    f"{money(h['cost_per_surviving_line'], small=True)} per surviving line"))
    per_pr = h.get("cost_per_merged_pr")
    out.append(("PRs", f"{h['merged_prs']} merged with AI work"
                + (f" · {money(per_pr)} per merged PR" if per_pr is not None else "")
                + " · review churn " + plural(h["review_churn"], "AI line", number=compact(h["review_churn"]))))
    if tokens or sessions:
        out.append(("Exploration", f"{compact(h['exploration_tokens'])} tokens in "
                    f"{plural(sessions, 'session')} that led to no commit (shown, not counted above)"))
    return out
