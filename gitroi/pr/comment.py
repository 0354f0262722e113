"""The pull request report as compact Markdown: the PR comment and the job summary.

Input is the ``gitroi.pr/1`` dict of :mod:`gitroi.pr.analysis`; output is one
string that starts with the hidden marker :data:`gitroi.pr.github.COMMENT_MARKER`
(so the next run finds and edits this comment instead of adding a second) and
fits on one screen: a headline sentence, tokens and cost by agent and model, a
Mermaid pie GitHub renders (AI lines that reached the head vs. churned in
review), and the files and symbols with the most rework, folded.  No prompt
text exists in the input, so none can reach the comment.

The comment speaks only for gitroi: every string that comes from a note or the
repository (agent and model names, paths, symbols, titles) goes through
:func:`text` (plain text: HTML, Markdown and mentions neutralised) or
:func:`code` (a code span that cannot be closed early), so a crafted note cannot
inject HTML, ping ``@org/team``, open a heading, break the table or leave a
``<details>`` unclosed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from gitroi.pr.github import COMMENT_MARKER

MAX_MODEL_ROWS = 8
MAX_REWORK_ROWS = 8


def _n(value: int | float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _usd(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if 0 < value < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}%"


#: Longest string from a note shown in the comment (a name, a path).
MAX_SHOWN = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Punctuation GitHub may read as syntax inside a line (emphasis, code, links, images, tables,
# strikethrough, #123 references, autolinks, $math$); a backslash makes each literal.  Nothing
# from a note ever starts a line, so line-start syntax (-, +, 1.) cannot arise.
_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#!|~:$])")
ZWJ = "\u200d"  # after an @ it keeps GitHub from linking (and notifying) a user or team


def _plain(value: object) -> str:
    s = _CONTROL.sub(" ", str(value))
    return s if len(s) <= MAX_SHOWN else s[:MAX_SHOWN - 1] + "…"


def text(value: object) -> str:
    """Untrusted text as inert Markdown: no HTML, no mention, no heading, list, link or table
    break.  ``&``, ``<`` and ``>`` become entities; other Markdown punctuation is
    backslash-escaped; ``@`` is followed by a zero-width joiner."""
    s = _plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_PUNCT.sub(r"\\\1", s)
    return s.replace("@", "@" + ZWJ)


def code(value: object, *, in_table: bool = True) -> str:
    """Untrusted text as a code span that stays one: backticks cannot close it (they become
    ``'``), no newline, and in a table ``|`` is escaped (GFM reads ``\\|`` there as ``|``)."""
    s = _plain(value).replace("`", "'").strip() or "·"
    if in_table:
        s = s.replace("|", "\\|")
    return f"`{s}`"


def render_markdown(data: Mapping[str, Any], *, title: str | None = None,
                    note: str | None = None) -> str:
    """The report comment.  ``note`` adds one italic line (e.g. why the comment was not posted)."""
    from gitroi import __version__

    lines: list[str] = [COMMENT_MARKER,
                        f"### {text(title) if title else 'gitroi: what the tokens bought in this pull request'}",
                        ""]
    if note:
        lines += [f"_{text(note)}_", ""]
    ai = int(data.get("ai_lines") or 0)
    commits = int(data.get("commits") or 0)
    if not data.get("attributed_commits"):
        lines += [f"No AI attribution found on the {commits} commit{'s' if commits != 1 else ''} "
                  "of this pull request.", "",
                  "Agents' work is recorded by `gitroi install` (git hooks) on the machine where "
                  "the agent runs; notes travel under `refs/notes/gitroi`."]
    else:
        churned = int(data.get("churned") or 0) + int(data.get("deleted_later") or 0)
        lines += [
            f"**{_n(data.get('tokens'))} tokens** · **{_usd(data.get('cost_usd'))}** → "
            f"**{_n(ai)} AI line{'s' if ai != 1 else ''}** of {_n(data.get('lines_added'))} added · "
            f"**{_n(data.get('surviving'))} reached the head** · "
            f"**{_n(churned)} churned in review ({_pct(data.get('review_churn'))})** · "
            f"**{_n(data.get('tokens_per_surviving_line'))} tokens / surviving line**"
            + (f" ({_usd(data.get('cost_per_surviving_line'))})"
               if data.get("cost_per_surviving_line") is not None else ""),
            "",
        ]
        rows = list(data.get("by_model") or [])
        if rows:
            lines += ["| agent | model | tokens | input | cache write | cache read | output | cost |",
                      "|---|---|--:|--:|--:|--:|--:|--:|"]
            for r in rows[:MAX_MODEL_ROWS]:
                lines.append(
                    f"| {text(r['agent'])} | {code(r['model'])} | {_n(r['tokens'])} "
                    f"| {_n(r['input'])} | {_n(r['cache_write'])} | {_n(r['cache_read'])} "
                    f"| {_n(r['output'])} | {_usd(r['cost_usd'])} |")
            if len(rows) > MAX_MODEL_ROWS:
                lines.append(f"| … | {len(rows) - MAX_MODEL_ROWS} more | | | | | | |")
            lines.append("")
        unpriced = data.get("unpriced_models") or []
        if unpriced:
            lines += ["Not in the price table (no cost): "
                      f"{', '.join(code(m, in_table=False) for m in unpriced[:MAX_MODEL_ROWS])}"
                      + (f" and {len(unpriced) - MAX_MODEL_ROWS} more" if len(unpriced) > MAX_MODEL_ROWS
                         else "") + ".", ""]
        if ai:
            lines += ["```mermaid", "pie showData title AI lines in this pull request",
                      f'    "reached the head" : {int(data.get("surviving") or 0)}',
                      f'    "churned in review" : {churned}', "```", ""]
        rework = list(data.get("rework") or [])
        if rework:
            lines += ["<details><summary>Most rework (AI lines churned in review)</summary>", "",
                      "| file | symbol | churned | of AI lines |", "|---|---|--:|--:|"]
            for r in rework[:MAX_REWORK_ROWS]:
                sym = code(r["symbol"]) if r.get("symbol") else "·"
                lines.append(f"| {code(r['path'])} | {sym} | {_n(r['churned'])} | {_n(r['ai_lines'])} |")
            lines += ["", "</details>", ""]
    kinds = data.get("attribution") or {}
    how = ", ".join(f"{_n(v)} {text(k)}-level" for k, v in kinds.items())
    base, head = (re.sub(r"[^0-9a-f]", "", str(data.get(k) or ""))[:7] for k in ("base", "head"))
    lines.append(f"<sub>{commits} commit{'s' if commits != 1 else ''}"
                 + (f" ({how})" if how else "")
                 + f" · base `{base}` · head `{head}` · gitroi {__version__}</sub>")
    return "\n".join(lines) + "\n"
