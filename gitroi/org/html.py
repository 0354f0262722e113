"""The HTML organisation report: one self-contained page with Vega-Lite charts, drawn offline.

Hundreds of repositories need what hand-drawn SVG does badly (legends,
tooltips, many series, long sorted bars), so the charts are Vega-Lite specs
rendered by the vendored Vega, Vega-Lite and vega-embed builds
(``gitroi/org/vendor``, BSD-3-Clause, see ``SOURCE.txt``), inlined into the
page: it opens from a CI artifact or a mail attachment with no network.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from gitroi.report.formatting import headline_lines

_VENDOR = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
#: Most bars in one chart; more repositories than this are charted by their spend.
MAX_BARS = 40
#: Colours of those lines (Tableau 10, as Vega's scheme), and of the others' line.
_LINE_COLOURS = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2",
                 "#ff9da6", "#9d755d", "#bab0ac")
_OTHERS_COLOUR = "#6b7280"
#: Charts as wide as the page; bar charts' heights are set from their bar count (a "step"
#: height with a fitted width makes Vega-Lite warn on the console).
_FIT_X = {"type": "fit-x", "contains": "padding"}


def _script(name: str) -> str:
    text = resources.files("gitroi.org").joinpath("vendor", name).read_text(encoding="utf-8")
    return text.replace("</script", "<\\/script")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _bars(rows: list[dict[str, Any]], key: str, field: str, title: str | dict[str, str],
          fmt: str, tooltip: list[dict[str, Any]]) -> dict[str, Any]:
    values = [r for r in rows if r.get(field) is not None]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": "container",
        "height": 18 * max(1, len({r.get(key) for r in values})),
        "autosize": _FIT_X,
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": key, "type": "nominal", "sort": "-x", "title": None,
                  "axis": {"labelLimit": 320}},
            "x": {"field": field, "type": "quantitative", "title": None,
                  "axis": {"format": fmt}},
            "tooltip": [{"field": key, "type": "nominal"}, *tooltip],
        },
    }


def specs(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Vega-Lite specs of the page, by element id."""
    charts = data.get("charts") or {}
    money = {"type": "quantitative", "format": "$,.4f"}
    tip = [
        {"field": "cost_per_surviving_line", "title": "cost / surviving line", **money},
        {"field": "cost_usd", "title": "cost", "type": "quantitative", "format": "$,.2f"},
        {"field": "surviving", "title": "surviving AI lines", "type": "quantitative",
         "format": ","},
        {"field": "ai_lines", "title": "AI lines", "type": "quantitative", "format": ","},
        {"field": "merged_prs", "title": "merged PRs", "type": "quantitative"},
    ]
    out: dict[str, dict[str, Any]] = {}
    repos = [r for r in charts.get("repos") or [] if r.get("cost_per_surviving_line") is not None]
    # Long titles are clipped to the chart's width: what qualifies one goes in its subtitle.
    title: str | dict[str, str] = "Cost per surviving AI line, by repository"
    if len(repos) > MAX_BARS:
        # Hundreds of bars are unreadable: the repositories that spend most; all are in the table.
        repos = sorted(repos, key=lambda r: -(r.get("cost_usd") or 0))[:MAX_BARS]
        title = {"text": "Cost per surviving AI line, by repository",
                 "subtitle": f"the {MAX_BARS} that spend most; every repository is in the "
                             "table below"}
    out["chart-repos"] = _bars(repos, "repo", "cost_per_surviving_line", title, "$,.4f", tip)
    months = [r for r in charts.get("months") or [] if r.get("month")]
    out["chart-time"] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Cost per surviving AI line, by month the lines were written",
        "width": "container", "height": 260,
        "data": {"values": months},
        "layer": [
            {"mark": {"type": "line", "point": True, "tooltip": True},
             "encoding": {
                 "x": {"field": "month", "type": "temporal", "timeUnit": "yearmonth",
                       "title": "month"},
                 "y": {"field": "cost_per_surviving_line", "type": "quantitative",
                       "title": "cost / surviving line (USD)", "axis": {"format": "$,.4f"}},
                 "tooltip": [{"field": "month", "type": "temporal", "timeUnit": "yearmonth",
                              "format": "%b %Y", "title": "month"}, *tip]}},
        ],
    }
    lines = _repo_lines(charts.get("repos") or [], charts.get("repo_months") or [], tip)
    if lines is not None:
        out["chart-repo-time"] = lines
    spend = [
        {"provider": r["provider"], "kind": kind, "cost_usd": r.get(col) or 0,
         "tokens": r.get(tok) or 0}
        for r in charts.get("providers") or []
        for kind, col, tok in (("attributed to commits", "cost_usd", "tokens"),
                               ("exploration", "exploration_cost_usd", "exploration_tokens"))
        if (r.get(col) or 0) or (r.get(tok) or 0)]
    out["chart-providers"] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Spend by provider (attributed and exploration)",
        "width": "container", "height": 26 * max(1, len({v["provider"] for v in spend})),
        "autosize": _FIT_X,
        "data": {"values": spend},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "provider", "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": "cost_usd", "type": "quantitative", "stack": "zero",
                  "title": "USD", "axis": {"format": "$,.0f"}},
            "color": {"field": "kind", "type": "nominal", "title": None,
                      "legend": {"orient": "bottom"}},
            "tooltip": [{"field": "provider", "type": "nominal"},
                        {"field": "kind", "type": "nominal", "title": "spent on"},
                        {"field": "cost_usd", "type": "quantitative", "format": "$,.2f",
                         "title": "cost"},
                        {"field": "tokens", "type": "quantitative", "format": ","}],
        },
    }
    out["chart-rework"] = _bars(
        charts.get("agents") or [], "agent", "rework_rate",
        "Rework rate by agent (churned + reverted AI lines / AI lines)", ".1%",
        [{"field": "rework_rate", "title": "rework rate", "type": "quantitative", "format": ".1%"},
         {"field": "churned", "type": "quantitative", "format": ","},
         {"field": "reverted", "type": "quantitative", "format": ","},
         {"field": "ai_lines", "title": "AI lines", "type": "quantitative", "format": ","}])
    return out


def _repo_lines(repos: list[dict[str, Any]], series_months: list[dict[str, Any]],
                tip: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Cost per surviving line over time, one line per repository that spends most.

    With hundreds of repositories a line each is a tangle: the ten that spend
    most have their own (coloured, in the legend in order of spend; a click on
    a name brings its line forward), the others are one grey line, their cost
    over their surviving lines (``gitroi.org.report._series_months``: a ratio
    of sums, never an average of ratios).  None when no month has surviving lines.
    """
    spend = {r["repo"]: r.get("cost_usd") or 0 for r in repos}
    names = {r["series"] for r in series_months}
    top = [n for n in sorted(spend, key=lambda name: (-spend[name], name)) if n in names]
    rest = sorted(names - set(top))
    values = [{k: r.get(k) for k in ("series", "month", "cost_per_surviving_line", "cost_usd",
                                     "surviving", "ai_lines", "merged_prs")}
              for r in series_months if r.get("month") and
              r.get("cost_per_surviving_line") is not None]
    if not values:
        return None
    colours = [*_LINE_COLOURS[:len(top)], *[_OTHERS_COLOUR for _ in rest]]
    others = len(spend) - len(top)
    title: dict[str, str] = {"text": "Cost per surviving AI line by month, per repository"}
    if others:
        title["subtitle"] = (f"the {len(top)} that spend most; the other {others} together "
                             "(dashed)")
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": "container", "height": 300,
        "data": {"values": values},
        "params": [{"name": "pick", "select": {"type": "point", "fields": ["series"]},
                    "bind": "legend"}],
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "month", "type": "temporal", "timeUnit": "yearmonth",
                  "title": "month"},
            "y": {"field": "cost_per_surviving_line", "type": "quantitative",
                  "title": "cost / surviving line (USD)", "axis": {"format": "$,.4f"}},
            "color": {"field": "series", "type": "nominal", "title": "repository (click to pick)",
                      "scale": {"domain": [*top, *rest], "range": colours},
                      "legend": {"orient": "bottom", "columns": 2, "labelLimit": 420}},
            "opacity": {"condition": {"param": "pick", "value": 1}, "value": 0.15},
            **({"strokeDash": {"condition": {"test": f"datum.series === {_json(rest[0])}",
                                             "value": [5, 3]}, "value": [1, 0]}}
               if rest else {}),
            "tooltip": [{"field": "series", "type": "nominal", "title": "repository"},
                        {"field": "month", "type": "temporal", "timeUnit": "yearmonth",
                         "format": "%b %Y", "title": "month"}, *tip[:4]],
        },
    }


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2433;
background:#f6f7f9}main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}p.sub{color:#5b6475;margin:0 0 18px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;background:#fff;
padding:16px;border-radius:8px;box-shadow:0 1px 2px #0001}dt{font-weight:600}dd{margin:0}
section{background:#fff;border-radius:8px;box-shadow:0 1px 2px #0001;padding:16px;margin:16px 0}
.chart{width:100%}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:right}
th:first-child,td:first-child{text-align:left}ul.notes{color:#5b6475}
"""


def _fmt(v: Any, kind: str = "") -> str:
    if v is None:
        return "–"
    if kind == "usd":
        return f"${v:,.4f}" if abs(v) < 1 else f"${v:,.2f}"
    if kind == "pct":
        return f"{v:.1%}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _repo_table(rows: list[dict[str, Any]]) -> str:
    cols = [("repo", "repository", ""), ("tokens", "tokens", ""), ("cost_usd", "cost", "usd"),
            ("ai_lines", "AI lines", ""), ("surviving", "surviving", ""),
            ("rework_rate", "rework", "pct"), ("cost_per_surviving_line", "cost/surviving line",
                                               "usd"), ("merged_prs", "merged PRs", "")]
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t, _ in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c), k))}</td>" for c, _, k in cols)
        + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_org_html(data: dict[str, Any]) -> str:
    """The whole page: headline, four charts, the repositories table, notes; scripts inlined."""
    title = f"gitroi org report · {data.get('repo', '')}"
    span = ""
    if data.get("since") or data.get("until"):
        span = f" · {(data.get('since') or '')[:10]}..{(data.get('until') or '')[:10]}"
    head = "".join(f"<dt>{html.escape(label)}</dt><dd>{html.escape(text)}</dd>"
                   for label, text in headline_lines(data))
    charts = "".join(f'<section><div id="{cid}" class="chart"></div></section>'
                     for cid in specs(data))
    rows = data.get("rows") or []
    extra = ""
    if rows and data.get("by") and data["by"] != ["repo"]:
        keys = data["by"]
        th = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        tb = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(k)))}</td>" for k in keys)
                     + f"<td>{_fmt(r.get('tokens'))}</td><td>{_fmt(r.get('cost_usd'), 'usd')}</td>"
                     f"<td>{_fmt(r.get('ai_lines'))}</td><td>{_fmt(r.get('surviving'))}</td></tr>"
                     for r in rows)
        extra = (f"<section><h2>By {html.escape(' · '.join(keys))}</h2><table><thead><tr>{th}"
                 "<th>tokens</th><th>cost</th><th>AI lines</th><th>surviving</th></tr></thead>"
                 f"<tbody>{tb}</tbody></table></section>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in data.get("notes") or [])
    scripts = "".join(f"<script>{_script(n)}</script>" for n in _VENDOR)
    # Each chart marks itself drawn, the page when all are: what the headless check waits for.
    run = ("<script>const SPECS=" + _json(specs(data)) + ";"
           "Promise.all(Object.entries(SPECS).map(([id,spec])=>"
           "vegaEmbed('#'+id,spec,{actions:false,renderer:'svg'}).then(()=>"
           "document.getElementById(id).setAttribute('data-rendered','1')).catch(e=>{"
           "document.getElementById(id).textContent='chart failed: '+e;console.error(e);})))"
           ".then(()=>document.body.setAttribute('data-charts-ready','1'));"
           "</script>")
    repos = (data.get("charts") or {}).get("repos") or []
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style>{scripts}</head>
<body><main><h1>{html.escape(title)}</h1>
<p class="sub">What did the tokens buy, across {len(data.get('repositories') or [])} repositories{html.escape(span)}.
Tokens are those attributed to commits; surviving lines are AI lines still present at each repository's analysed tip (docs/org.md).</p>
<dl>{head}</dl>
{charts}
<section><h2>Repositories</h2>{_repo_table(repos)}</section>
{extra}
{'<section><h2>Notes</h2><ul class="notes">' + notes + '</ul></section>' if notes else ''}
</main>{run}</body></html>
"""
