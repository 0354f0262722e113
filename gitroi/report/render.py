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
import shutil
import sys
import textwrap
from collections.abc import Callable
from os import PathLike
from pathlib import PurePath
from typing import Any

from gitroi.report.formatting import (
    NO_TOKENS,
    compact,
    headline_lines,
    key_cell,
    key_label,
    money,
    pct,
)

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "NO_TOKENS",
    "compact",
    "format_for_path",
    "headline_lines",
    "key_cell",
    "key_label",
    "money",
    "pct",
    "render",
    "render_csv",
    "render_json",
    "render_markdown",
    "render_table",
]

FORMATS = ("table", "json", "csv", "markdown", "html")
#: File extension -> format, for ``report -o FILE`` without ``--format``.
EXTENSIONS = {".html": "html", ".htm": "html", ".json": "json", ".csv": "csv", ".md": "markdown",
              ".markdown": "markdown", ".txt": "table"}
ROW_LIMIT_TABLE = 25
_CSV_FIGURES = ("tokens", "input", "cache_write", "cache_read", "output", "reasoning", "cost_usd",
                "ai_lines", "surviving", "churned", "reverted", "deleted_later", "unanalysed",
                "surviving_share", "rework_rate", "tokens_per_surviving_line",
                "cost_per_surviving_line", "merged_prs", "cost_per_merged_pr", "commits",
                "carried")
_PR_EXTRA = ("title", "method", "merged_at", "ai_lines_written", "ai_lines_merged", "review_churn")


def terminal_width() -> int:
    """Columns for the terminal table: the terminal's width on a TTY, at most 80 otherwise.

    Piped or redirected output (CI logs, files, ``| less``) stays within 80
    columns so it reads the same everywhere; ``COLUMNS`` can narrow it.
    """
    cols = shutil.get_terminal_size((80, 24)).columns
    if not sys.stdout.isatty():
        cols = min(cols, 80)
    return max(cols, 40)


# Figure columns of the terminal table: (row key, header, kind).  Kinds format the value;
# "count" and "ratio" fall back to compact form (1.2M) only when full numbers do not fit.
_TABLE_FIGURES = (("tokens", "tokens", "count"), ("cost_usd", "cost", "money"),
                  ("ai_lines", "AI lines", "count"), ("surviving_share", "surv", "pct"),
                  ("rework_rate", "rework", "pct"), ("tokens_per_surviving_line", "tok/surv", "ratio"),
                  ("cost_per_surviving_line", "$/surv", "small_money"))
# Dropped first when even the shortest keys do not fit (AI lines always stays).
_DROP_ORDER = ("cost_per_surviving_line", "tokens_per_surviving_line", "cost_usd", "rework_rate",
               "tokens", "surviving_share")
_KEY_HEADER = {"pr": "PR"}
# Narrowest a key column gets before figure columns are dropped; weeks and PR numbers are
# never cut (a cut date or number is wrong, not short).
_KEY_MIN = {"week": 10, "pr": 5, "agent": 11, "model": 12, "path": 16, "symbol": 10,
            "author": 10, "repo": 8}
_TAIL_KEYS = ("path", "symbol")   # their distinguishing part is the end
_SEP = "  "


def shorten(text: str, width: int, *, keep_end: bool = False) -> str:
    """``text`` within ``width`` columns, marked with "…" where cut.

    Names keep their start; paths and symbols keep their end, where files and
    functions differ ("…/src/entrypoints/prepare.ts"), cut at a "/" when that
    loses little.
    """
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    if not keep_end:
        return text[: width - 1] + "…"
    tail = text[len(text) - (width - 1):]
    cut = tail.find("/")
    if 0 < cut <= len(tail) // 4:
        tail = tail[cut:]
    elif "/" not in text and tail.startswith("."):   # a symbol: "…method", not "….method"
        tail = tail[1:]
    return "…" + tail


def _person(text: str, width: int) -> str:
    """"Ann Lee <ann@example.com>" without its address when the whole does not fit."""
    if len(text) > width and " <" in text:
        return text.split(" <", 1)[0]
    return text


def _number(x: float | None, *, full: bool) -> str:
    if x is None:
        return "-"
    if not full:
        return compact(x)
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.1f}"


def _figure(kind: str, v: Any, *, full: bool) -> str:
    if kind == "count" or kind == "ratio":
        return _number(v, full=full)
    if kind == "money":
        return money(v)
    if kind == "small_money":
        return money(v, small=True)
    return pct(v)


def _key_min(key: str, texts: list[str]) -> int:
    """Narrowest useful width of a key column: paths show every file name whole (up to 30
    columns), symbols their last part (up to 24), other keys their :data:`_KEY_MIN`."""
    least = _KEY_MIN.get(key, 8)
    if key == "path":
        return max(least, min(30, 2 + max((len(t.rsplit("/", 1)[-1]) for t in texts), default=0)))
    if key == "symbol":
        return max(least, min(24, 1 + max((len(t.rsplit(".", 1)[-1]) for t in texts), default=0)))
    return least


def _fit(natural: list[int], mins: list[int], budget: int) -> list[int]:
    """Key column widths within ``budget``: the widest columns give way first, none below its min."""
    def widths(cap: int) -> list[int]:
        return [min(n, max(cap, m)) for n, m in zip(natural, mins, strict=True)]

    lo, hi = 0, max(natural, default=0)
    while lo < hi:   # the largest cap whose widths fit
        mid = (lo + hi + 1) // 2
        if sum(widths(mid)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    got = widths(lo)
    spare = budget - sum(got)
    for i, n in enumerate(natural):   # hand out what the integer cap left over
        if spare <= 0:
            break
        add = min(spare, n - got[i])
        got[i] += add
        spare -= add
    return got


def _empty_figures(rows: list[dict[str, Any]]) -> set[str]:
    """Figure columns with nothing to say in any row (None, or 0 tokens, everywhere)."""
    empty = set()
    for col, _, kind in _TABLE_FIGURES:
        if col == "ai_lines":
            continue
        blank: tuple[Any, ...] = (None, 0) if kind != "pct" else (None,)
        if all(r.get(col) in blank for r in rows):
            empty.add(col)
    return empty


def _why_dropped(data: dict[str, Any], empty: set[str]) -> list[str]:
    h = data["headline"]
    out = []
    if "tokens" in empty:
        if h.get("exploration_sessions"):
            out.append("no token figures: no recorded session led to these commits")
        else:
            out.append("no token figures: these commits are attributed from trailers, "
                       "no session logs")
    elif "cost_usd" in empty:
        models = h.get("unpriced_models") or []
        out.append("no cost figures: no price for "
                   + (", ".join(models) if models else "the models used"))
    if "surviving_share" in empty:
        out.append("no survival figures: no AI line here is analysed yet (gitroi analyze)")
    return out


def table_rows(data: dict[str, Any], rows: list[dict[str, Any]], width: int) -> list[str]:
    """The ``--by`` rows as aligned columns within ``width``: one column per key, then figures.

    Widths come from the content.  When it does not fit: full numbers give way
    to compact ones (1.2M), then key columns are shortened (widest first, names
    keeping their start, paths and symbols their end), then the least important
    figure columns go; figure columns close up to one space apart when that
    saves a figure or whole numbers.  Columns empty in every row are left out
    (the caller says why).
    """
    wide, lost = _layout(data, rows, width, gap=2)
    if lost:
        tight, lost_tight = _layout(data, rows, width, gap=1)
        if lost_tight < lost:
            return tight
    return wide


def _layout(data: dict[str, Any], rows: list[dict[str, Any]], width: int,
            gap: int) -> tuple[list[str], tuple[int, int]]:
    """Lines of the table with ``gap`` spaces between figure columns, and what it lost
    (figure columns dropped, whether numbers were compacted)."""
    keys = list(data.get("by") or [])
    empty = _empty_figures(data.get("rows") or rows)
    figs = [f for f in _TABLE_FIGURES if f[0] not in empty]
    key_text = [[key_cell(r, k) for k in keys] for r in rows]
    heads = [_KEY_HEADER.get(k, k) for k in keys]
    natural = [max([len(heads[i])] + [len(t[i]) for t in key_text]) for i in range(len(keys))]
    mins = [min(natural[i], _key_min(k, [t[i] for t in key_text])) for i, k in enumerate(keys)]

    def cells(full: bool) -> list[list[str]]:
        return [[_figure(kind, r.get(col), full=full) for col, _, kind in figs] for r in rows]

    def fig_widths(fc: list[list[str]]) -> list[int]:
        return [max([len(f[1])] + [len(c[j]) for c in fc]) for j, f in enumerate(figs)]

    def seps() -> int:
        return len(_SEP) * len(keys) + gap * (len(figs) - 1) if figs else \
            len(_SEP) * (len(keys) - 1)

    def budget(fw: list[int]) -> int:
        return width - sum(fw) - seps()

    fc = cells(True)
    fw = fig_widths(fc)
    compacted = budget(fw) < sum(mins)
    if compacted:
        fc = cells(False)
        fw = fig_widths(fc)
    drop = [c for c in _DROP_ORDER if c not in empty]
    dropped = 0
    while budget(fw) < sum(mins) and drop:
        gone = drop.pop(0)
        j = next(i for i, f in enumerate(figs) if f[0] == gone)
        del figs[j]
        for c in fc:
            del c[j]
        del fw[j]
        dropped += 1
    room = budget(fw)
    if room < sum(mins):   # still too narrow: weeks and PRs whole, the others share the rest
        whole = [k in ("week", "pr") for k in keys]
        fixed = sum(n for n, w in zip(natural, whole, strict=True) if w)
        share = max(3, (room - fixed) // max(whole.count(False), 1))
        mins = [n if w else min(n, share) for n, w in zip(natural, whole, strict=True)]
    # Names give way first (their start says enough), then paths and symbols too.
    first = [natural[i] if k in _TAIL_KEYS else mins[i] for i, k in enumerate(keys)]
    kw = _fit(natural, first, room) if sum(first) <= room else \
        _fit(natural, mins, max(room, sum(mins)))

    def line(keycells: list[str], figcells: list[str]) -> str:
        left = _SEP.join(shorten(_person(t, kw[i]) if keys[i] == "author" else t, kw[i],
                                 keep_end=keys[i] in _TAIL_KEYS).ljust(kw[i])
                         for i, t in enumerate(keycells))
        right = (" " * gap).join(c.rjust(fw[j]) for j, c in enumerate(figcells))
        return (left + (_SEP + right if figcells else "")).rstrip()[:width]

    out = [line(heads, [f[1] for f in figs])]
    out.append("-" * min(width, sum(kw) + sum(fw) + seps()))
    out += [line(t, c) for t, c in zip(key_text, fc, strict=True)]
    return out, (dropped, int(compacted))


def _title(data: dict[str, Any]) -> str:
    span = ""
    if data.get("since") or data.get("until"):
        span = f" · {(data.get('since') or '')[:10]}..{(data.get('until') or '')[:10]}"
    what = "gitroi org report" if str(data.get("schema", "")).startswith("gitroi.org-report") \
        else "gitroi report"
    return f"{what} · {data.get('repo', '')}{span}"


#: ``--by`` keys that are dates: their views read in date order, oldest first.
DATE_KEYS = ("week",)


def shown_rows(rows: list[dict[str, Any]], keys: list[str],
               limit: int = ROW_LIMIT_TABLE) -> tuple[list[dict[str, Any]], str]:
    """The rows the terminal table shows, and how they were picked (for the "N of M" line).

    A date view (``--by week`` first) is a time line: in date order (then the
    other keys), the latest ``limit`` rows.  Any other view keeps the rows'
    order when they fit, else shows the ``limit`` rows with the most AI lines
    (then tokens), in that order.
    """
    if keys and keys[0] in DATE_KEYS:
        ordered = sorted(rows, key=lambda r: tuple((r.get(k) is None, str(r.get(k) or "")) for k in keys))
        return ordered[-limit:], "the latest"
    if len(rows) <= limit:
        return rows, "all"
    top = sorted(rows, key=lambda r: -(r["ai_lines"] + r["tokens"] / 1e9))[:limit]
    return top, "the top, by AI lines,"


def render_table(data: dict[str, Any], width: int = 80) -> str:
    """The terminal report: headline block, then up to 25 rows, every line within ``width``.

    Prose wraps at 80 columns at most (long lines are hard to read); the rows
    may use a wider terminal for their keys.
    """
    text_w = min(width, 80)
    title = _title(data)
    lines = [title, "=" * min(text_w, len(title))]
    for label, text in headline_lines(data):
        lines.extend(_wrap(f"{label:<12}", text, text_w))
    rows = data.get("rows") or []
    keys = data.get("by") or []
    if keys and not rows:
        lines += ["", f"(no rows by {' · '.join(keys)} in this scope)"]
    if keys and rows:
        lines.append("")
        shown, which = shown_rows(rows, keys)
        lines += table_rows(data, shown, width)
        if len(rows) > len(shown):
            lines.extend(_wrap("", f"{which} {len(shown)} of {len(rows)} rows; "
                               "--format json/csv for all", text_w))
        for why in _why_dropped(data, _empty_figures(rows)):
            lines.extend(_wrap("", why, text_w))
        if "pr" in keys:
            churn = [r for r in rows if r.get("review_churn")]
            if churn:
                lines.extend(_wrap("review churn: ", ", ".join(
                    f"#{r['pr']} {r['review_churn']}" for r in
                    sorted(churn, key=lambda r: -r["review_churn"])[:8]), text_w))
    notes = data.get("notes") or []
    if notes:
        lines.append("")
        for n in notes:
            lines.extend(_wrap("note: ", n, text_w))
    return "\n".join(lines) + "\n"


def _wrap(prefix: str, text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=prefix,
                         subsequent_indent=" " * len(prefix), break_on_hyphens=False) \
        or [prefix.rstrip()]


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


# Markdown figure columns: (header, row key telling whether the column says anything, cell).
_MD_FIGURES: tuple[tuple[str, str, Callable[[dict[str, Any]], str]], ...] = (
    ("tokens", "tokens", lambda r: f"{r['tokens']:,}"),
    ("cost", "cost_usd", lambda r: money(r["cost_usd"])),
    ("AI lines", "ai_lines", lambda r: f"{r['ai_lines']:,}"),
    ("surviving", "ai_lines", lambda r: f"{r['surviving']:,} ({pct(r['surviving_share'])})"),
    ("rework", "rework_rate", lambda r: pct(r["rework_rate"])),
    ("tokens/surviving line", "tokens_per_surviving_line",
     lambda r: _number(r["tokens_per_surviving_line"], full=True)),
    ("cost/surviving line", "cost_per_surviving_line",
     lambda r: money(r["cost_per_surviving_line"], small=True)),
)


def render_markdown(data: dict[str, Any], *, max_rows: int = 50) -> str:
    """The report as GitHub-flavoured Markdown (PR comments, job summaries, docs).

    Like the terminal table: one column per ``--by`` key, figure columns empty
    in every row left out with a line saying why.
    """
    out = [f"### {_title(data)}", "", "| | |", "|---|---|"]
    for label, text in headline_lines(data):
        out.append(f"| **{label}** | {text.replace('|', '/')} |")
    keys = data.get("by") or []
    rows = data.get("rows") or []
    if keys and rows:
        empty = _empty_figures(rows)
        figs = [f for f in _MD_FIGURES if f[1] not in empty]
        extra = ["review churn"] if "pr" in keys else []
        header = [*(_KEY_HEADER.get(k, k) for k in keys), *(f[0] for f in figs), *extra]
        out += ["", "| " + " | ".join(header) + " |",
                "|" + "|".join(["---"] * len(keys) + ["---:"] * (len(header) - len(keys))) + "|"]
        for r in rows[:max_rows]:
            cells = [key_cell(r, k).replace("|", "/") for k in keys]
            cells += [f[2](r) for f in figs]
            if extra:
                cells.append("-" if r.get("review_churn") is None else f"{r['review_churn']:,}")
            out.append("| " + " | ".join(cells) + " |")
        if len(rows) > max_rows:
            out.append(f"\n_{len(rows) - max_rows} more rows in `gitroi report --format json`._")
        why = _why_dropped(data, empty)
        if why:
            out += [""] + [f"_{w[0].upper()}{w[1:]}._" for w in why]
    notes = data.get("notes") or []
    if notes:
        out.append("")
        out += [f"> {n}" for n in notes]
    return "\n".join(out) + "\n"


def format_for_path(path: str | PathLike[str]) -> str | None:
    """The format a file name asks for by its extension (``x.html`` -> html), None if it says none."""
    return EXTENSIONS.get(PurePath(path).suffix.lower())


def render(data: dict[str, Any], fmt: str, *, width: int | None = None) -> str:
    """Render ``data`` in one of :data:`FORMATS`.

    ``width`` is the table's width; None means the terminal's (a file written
    with ``-o`` passes 80, since a wide terminal says nothing of the reader's).
    """
    if fmt == "html":
        from gitroi.report.html import render_html

        return render_html(data)
    table: dict[str, Callable[[dict[str, Any]], str]] = {
        "table": render_table, "json": render_json, "csv": render_csv,
        "markdown": render_markdown}
    if fmt == "table":
        return render_table(data, width or terminal_width())
    return table[fmt](data)
