"""Renderers of the report data (:func:`gitroi.report.figures.compute`): table, JSON, CSV, Markdown.

All renderers are pure functions of the data dict, so golden files pin them
exactly.  The terminal table fits 80 columns: long keys are shortened in the
middle, big numbers are compacted (``1.2M``); the other formats keep exact
values.  HTML lives in :mod:`gitroi.report.html`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

FORMATS = ("table", "json", "csv", "markdown", "html")
ROW_LIMIT_TABLE = 25
_CSV_FIGURES = ("tokens", "input", "cache_write", "cache_read", "output", "reasoning", "cost_usd",
                "ai_lines", "surviving", "churned", "reverted", "deleted_later", "unanalysed",
                "surviving_share", "rework_rate", "tokens_per_surviving_line",
                "cost_per_surviving_line", "merged_prs", "cost_per_merged_pr", "commits",
                "carried")
_PR_EXTRA = ("title", "method", "merged_at", "ai_lines_written", "ai_lines_merged", "review_churn")


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


def _short(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2):]


def key_label(row: dict[str, Any], keys: list[str]) -> str:
    parts = []
    for k in keys:
        v = row.get(k)
        if k == "pr":
            parts.append("no PR" if v is None else f"#{v}")
        elif k == "symbol":
            parts.append(v or "(module)")
        elif k == "model":
            parts.append(v or "(no session)")
        else:
            parts.append("-" if v in (None, "") else str(v))
    return " · ".join(parts)


def headline_lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline as (label, text) pairs, shared by the table and Markdown renderers."""
    h = data["headline"]
    ai = h["ai_lines"]
    carried = h.get("carried") or 0
    split = (f"input {compact(h['input'])} · cache write {compact(h['cache_write'])} · "
             f"cache read {compact(h['cache_read'])} · output {compact(h['output'])}")
    out = [
        ("Tokens", f"{compact(h['tokens'])} attributed to {h['commits']} commit(s) ({split})"),
        ("Cost", money(h["cost_usd"])
         + (f" (no price for {', '.join(h['unpriced_models'])})" if h["unpriced_models"] else "")),
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
        ("Per line", f"{compact(h['tokens_per_surviving_line'])} tokens · "
         f"{money(h['cost_per_surviving_line'], small=True)} per surviving line"),
        ("PRs", f"{h['merged_prs']} merged with AI work · {money(h['cost_per_merged_pr'])} per "
         f"merged PR · review churn {compact(h['review_churn'])} AI lines"),
        ("Exploration", f"{compact(h['exploration_tokens'])} tokens in "
         f"{h['exploration_sessions']} session(s) that led to no commit (shown, not counted above)"),
    ]
    return out


def _title(data: dict[str, Any]) -> str:
    span = ""
    if data.get("since") or data.get("until"):
        span = f" · {(data.get('since') or '')[:10]}..{(data.get('until') or '')[:10]}"
    return f"gitroi report · {data.get('repo', '')}{span}"


def render_table(data: dict[str, Any], width: int = 80) -> str:
    """The terminal report: headline block, then up to 25 rows, all within ``width`` columns."""
    lines = [_title(data), "=" * min(width, len(_title(data)))]
    for label, text in headline_lines(data):
        lines.extend(_wrap(f"{label:<12}", text, width))
    rows = data.get("rows") or []
    keys = data.get("by") or []
    if keys:
        lines.append("")
        head = ("", "tokens", "cost", "AI", "surv", "rework", "tok/surv", "$/surv")
        nums = [8, 9, 7, 6, 7, 9, 8]
        keyw = width - sum(nums) - len(nums)
        shown = sorted(rows, key=lambda r: -(r["ai_lines"] + r["tokens"] / 1e9))[:ROW_LIMIT_TABLE] \
            if len(rows) > ROW_LIMIT_TABLE else rows
        label = " · ".join(keys)
        lines.append(_short(label, keyw).ljust(keyw) + "".join(
            " " + h.rjust(w) for h, w in zip(head[1:], nums, strict=True)))
        lines.append("-" * width)
        for r in shown:
            cells = (compact(r["tokens"]), money(r["cost_usd"]), compact(r["ai_lines"]),
                     pct(r["surviving_share"]), pct(r["rework_rate"]),
                     compact(r["tokens_per_surviving_line"]),
                     money(r["cost_per_surviving_line"], small=True))
            lines.append(_short(key_label(r, keys), keyw).ljust(keyw) + "".join(
                " " + c.rjust(w) for c, w in zip(cells, nums, strict=True)))
        if len(rows) > len(shown):
            lines.append(f"(top {len(shown)} of {len(rows)} rows by AI lines; "
                         "--format json/csv for all)")
        if "pr" in keys:
            churn = [r for r in rows if r.get("review_churn")]
            if churn:
                lines.append("review churn: " + ", ".join(
                    f"#{r['pr']} {r['review_churn']}" for r in
                    sorted(churn, key=lambda r: -r["review_churn"])[:8]))
    notes = data.get("notes") or []
    if notes:
        lines.append("")
        for n in notes:
            lines.extend(_wrap("note: ", n, width))
    return "\n".join(lines) + "\n"


def _wrap(prefix: str, text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=prefix,
                         subsequent_indent=" " * len(prefix)) or [prefix.rstrip()]


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_csv(data: dict[str, Any]) -> str:
    """One row per group (or the headline alone without --by), exact values."""
    keys = data.get("by") or []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    extra = list(_PR_EXTRA) if "pr" in keys else []
    w.writerow([*keys, *_CSV_FIGURES, *extra])
    rows = data.get("rows") if keys else [data["headline"]]
    for r in rows or []:
        w.writerow([_cell(r.get(c)) for c in (*keys, *_CSV_FIGURES, *extra)])
    return buf.getvalue()


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


def render_markdown(data: dict[str, Any], *, max_rows: int = 50) -> str:
    """The report as GitHub-flavoured Markdown (PR comments, job summaries, docs)."""
    h = data["headline"]
    out = [f"### {_title(data)}", "", "| | |", "|---|---|"]
    for label, text in headline_lines(data):
        out.append(f"| **{label}** | {text.replace('|', '/')} |")
    keys = data.get("by") or []
    rows = data.get("rows") or []
    if keys and rows:
        extra = ["review churn"] if "pr" in keys else []
        header = [" · ".join(keys), "tokens", "cost", "AI lines", "surviving", "rework",
                  "tokens/surviving line", "cost/surviving line", *extra]
        out += ["", "| " + " | ".join(header) + " |",
                "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        for r in rows[:max_rows]:
            cells = [key_label(r, keys).replace("|", "/"), f"{r['tokens']:,}", money(r["cost_usd"]),
                     f"{r['ai_lines']:,}", f"{r['surviving']:,} ({pct(r['surviving_share'])})",
                     pct(r["rework_rate"]), compact(r["tokens_per_surviving_line"]),
                     money(r["cost_per_surviving_line"], small=True)]
            if extra:
                cells.append("-" if r.get("review_churn") is None else str(r["review_churn"]))
            out.append("| " + " | ".join(cells) + " |")
        if len(rows) > max_rows:
            out.append(f"\n_{len(rows) - max_rows} more rows in `gitroi report --format json`._")
    notes = data.get("notes") or []
    if notes:
        out.append("")
        out += [f"> {n}" for n in notes]
    _ = h
    return "\n".join(out) + "\n"


def render(data: dict[str, Any], fmt: str) -> str:
    """Render ``data`` in one of :data:`FORMATS`."""
    if fmt == "html":
        from gitroi.report.html import render_html

        return render_html(data)
    table: dict[str, Callable[[dict[str, Any]], str]] = {
        "table": render_table, "json": render_json, "csv": render_csv,
        "markdown": render_markdown}
    return table[fmt](data)
