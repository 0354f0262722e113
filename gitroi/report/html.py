"""The HTML report: one self-contained file (inline CSS, SVG drawn by inline JS, no network).

The data is embedded as JSON and drawn by a small script into SVG, so the file
opens anywhere, offline, and a headless browser test can check that every
chart was drawn (each chart container gets ``data-rendered="1"`` and an
``<svg>``).  Charts: survival of AI lines by the week they were written (a
cohort curve per week, month, quarter or year written), tokens and cost per surviving line over time, rework by agent
and model, the PRs with the most review churn, the paths and symbols with the
most AI rework.
"""

from __future__ import annotations

import html
import json
from typing import Any

from gitroi.report.formatting import compact, headline_lines, key_label, money, pct
from gitroi.wording import plural

_CSS = """
:root{--fg:#1f2328;--mut:#59636e;--bg:#fff;--card:#f6f8fa;--bd:#d1d9e0;
--surv:#2da44e;--churn:#e16f24;--rev:#cf222e;--del:#8c959f;--un:#d0d7de;--tok:#0969da;--cost:#8250df}
*{box-sizing:border-box}body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg);margin:0;padding:24px 32px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 8px}
.sub{color:var(--mut);margin-bottom:18px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(165px,1fr));gap:10px;margin-bottom:18px}
.kpi{background:var(--card);border:1px solid var(--bd);border-radius:8px;padding:10px 12px}
.kpi .v{font-size:22px;font-weight:600}.kpi .l{color:var(--mut);font-size:12px}
.kpi .why{color:var(--mut);font-size:11px;font-style:italic;margin-top:4px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
.card{border:1px solid var(--bd);border-radius:8px;padding:14px 16px;background:#fff}
.card p.d{color:var(--mut);font-size:12px;margin:0 0 8px}
.chart svg{width:100%;height:auto;display:block}.empty{color:var(--mut);font-style:italic}
.legend span{display:inline-block;margin-right:12px;font-size:12px;color:var(--mut)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:13px;margin-top:6px}
th,td{padding:4px 8px;border-bottom:1px solid var(--bd);text-align:right}
th:first-child,td:first-child{text-align:left}th{color:var(--mut);font-weight:600}
.notes{color:var(--mut);font-size:13px;margin:8px 0 18px;padding-left:18px}
svg text{font-size:11px;fill:var(--mut)}svg .lbl{fill:var(--fg)}
svg .coh:hover{stroke-width:3.5}
"""

_JS = r"""
(function(){
"use strict";
var D = JSON.parse(document.getElementById("gitroi-data").textContent);
var NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent){var e=document.createElementNS(NS,tag);
  for(var k in attrs){e.setAttribute(k,attrs[k]);} if(parent){parent.appendChild(e);} return e;}
function txt(parent,x,y,s,anchor,cls){var t=el("text",{x:x,y:y,"text-anchor":anchor||"start"},parent);
  if(cls){t.setAttribute("class",cls);} t.textContent=s; return t;}
function svg(box,w,h){var s=el("svg",{viewBox:"0 0 "+w+" "+h,role:"img"});box.appendChild(s);return s;}
function num(n){if(n===null||n===undefined){return "-";} var a=Math.abs(n);
  if(a>=1e9){return (n/1e9).toFixed(1)+"B";} if(a>=1e6){return (n/1e6).toFixed(1)+"M";}
  if(a>=1e4){return (n/1e3).toFixed(0)+"k";} return (Math.round(n*10)/10).toLocaleString("en-US");}
function usd(n){if(n===null||n===undefined){return "-";} return n<1?"$"+n.toFixed(4):"$"+n.toFixed(2);}
function pct(n){return (n===null||n===undefined)?"-":(n*100).toFixed(1)+"%";}
function weeks(k){return k+(k===1?" week":" weeks");}
function done(box){box.setAttribute("data-rendered","1");}
function empty(box,msg){var p=document.createElement("p");p.className="empty";p.textContent=msg;
  box.appendChild(p);done(box);}
function legend(box,items){var d=document.createElement("div");d.className="legend";
  items.forEach(function(it){var s=document.createElement("span");var i=document.createElement("i");
  i.style.background=it[1];s.appendChild(i);s.appendChild(document.createTextNode(it[0]));d.appendChild(s);});
  box.appendChild(d);}

/* Survival curves: one line per cohort (week, month, ... written), share alive after k weeks. */
var VIRIDIS=[[68,1,84],[59,82,139],[33,145,140],[94,201,98],[253,231,37]];
function ramp(f){f=Math.max(0,Math.min(1,f))*0.8; var i=Math.min(3,Math.floor(f*4)), t=f*4-i,
  a=VIRIDIS[i], b=VIRIDIS[i+1]; return "rgb("+[0,1,2].map(function(j){return Math.round(a[j]+(b[j]-a[j])*t);}).join(",")+")";}
function cohort(box, C){
  var series=(C&&C.series)||[];
  if(!series.length){return empty(box,"No analysed AI lines in this period.");}
  var K=Math.max.apply(null,series.map(function(c){return c.alive.length-1;}).concat([1]));
  var lo=Math.min.apply(null,series.map(function(c){return Math.min.apply(null,c.alive);}).concat(C.overall));
  var st=(1-lo)>0.5?0.25:(1-lo)>0.2?0.1:0.05, ymin=Math.max(0,Math.floor((lo-0.01)/st)*st);
  var W=560,H=260,L=44,R=12,T=10,B=40,pw=W-L-R,ph=H-T-B,s=svg(box,W,H);
  function X(k){return L+pw*k/K;} function Y(v){return T+ph*(1-(v-ymin)/(1-ymin));}
  for(var g=ymin;g<=1.0001;g+=st){var y=Y(g);
    el("line",{x1:L,x2:W-R,y1:y,y2:y,stroke:"#eaeef2"},s);txt(s,L-4,y+4,Math.round(g*100)+"%","end");}
  var step=Math.max(1,Math.ceil(K/12)); if(step>4){step=Math.ceil(step/4)*4;}
  for(var k=0;k<=K;k+=step){txt(s,X(k),H-B+14,String(k),"middle");}
  el("line",{x1:L,x2:W-R,y1:T+ph,y2:T+ph,stroke:"#d1d9e0"},s);
  var n=series.length, big=Math.max.apply(null,series.map(function(c){return c.ai_lines;}));
  series.forEach(function(c,i){
    var col=ramp(n>1?i/(n-1):0.5), pts=c.alive.map(function(v,k){return X(k)+","+Y(v);});
    var tip=c.cohort+": "+num(c.ai_lines)+" AI lines written, "+pct(c.alive[c.alive.length-1])+
      " alive after "+weeks(c.alive.length-1)+", "+num(c.surviving)+" at the tip";
    if(c.alive.length===1){var d=el("circle",{cx:X(0),cy:Y(c.alive[0]),r:3,fill:col},s);
      el("title",{},d).textContent=tip; return;}
    var p=el("polyline",{points:pts.join(" "),fill:"none",stroke:col,"stroke-width":(0.8+2.2*Math.sqrt(c.ai_lines/big)).toFixed(2),
      "stroke-linejoin":"round","class":"coh"},s); el("title",{},p).textContent=tip;
  });
  if(n>1&&C.overall.length>1){var o=el("polyline",{points:C.overall.map(function(v,k){return X(k)+","+Y(v);}).join(" "),
    fill:"none",stroke:"#1f2328","stroke-width":2.4,"stroke-dasharray":"6 3"},s);
    el("title",{},o).textContent="all cohorts (Kaplan-Meier): "+pct(C.overall[C.overall.length-1])+" alive after "+weeks(C.overall.length-1);}
  txt(s,L,H-6,"weeks since the week written (0 = end of that week) · y: share of the cohort's AI lines alive");
  /* The legend names every cohort the chart draws, in the colour it is drawn in. */
  var items=series.map(function(c,i){return [c.cohort+" ("+num(c.ai_lines)+")",ramp(n>1?i/(n-1):0.5)];});
  if(n>1){items.push(["all cohorts","#1f2328"]);}
  legend(box,items);
  if(C.unknown_end){var p2=document.createElement("p");p2.className="empty";
    p2.textContent=num(C.unknown_end)+(C.unknown_end===1?" dead AI line has":" dead AI lines have")+" no end week (analysed before gitroi recorded it): counted at the tip; run gitroi analyze.";box.appendChild(p2);}
  done(box);
}

/* One line per series over weeks; each series scaled to its own maximum. */
function lines(box, weeks, series){
  var rows=weeks.filter(function(w){return series.some(function(sr){return w[sr[0]]!==null&&w[sr[0]]!==undefined;});});
  if(!rows.length){return empty(box,"No week has both attributed tokens and surviving AI lines, so no per-line figures.");}
  var W=560,H=240,L=50,R=50,T=14,B=34,pw=W-L-R,ph=H-T-B,s=svg(box,W,H);
  el("line",{x1:L,x2:W-R,y1:T+ph,y2:T+ph,stroke:"#d1d9e0"},s);
  var step=rows.length>1?pw/(rows.length-1):0;
  series.forEach(function(sr,si){
    var vals=rows.map(function(w){return w[sr[0]];}), mx=Math.max.apply(null,vals.filter(function(v){return v!==null;}).concat([0]));
    if(mx<=0){mx=1;}
    var pts=[]; rows.forEach(function(w,i){var v=w[sr[0]]; if(v===null||v===undefined){return;}
      var x=L+(rows.length>1?i*step:pw/2), y=T+ph*(1-v/mx); pts.push(x+","+y);
      var c=el("circle",{cx:x,cy:y,r:3,fill:sr[1]},s); var t=el("title",{},c);
      t.textContent=w.week+": "+sr[2]+" "+sr[3](v);});
    el("polyline",{points:pts.join(" "),fill:"none",stroke:sr[1],"stroke-width":2},s);
    txt(s,si===0?L-4:W-R+4,T+8,sr[3](mx),si===0?"end":"start");
    txt(s,si===0?L-4:W-R+4,T+ph,"0",si===0?"end":"start");
  });
  rows.forEach(function(w,i){if(rows.length<=12||i%Math.ceil(rows.length/10)===0){
    txt(s,L+(rows.length>1?i*step:pw/2),H-B+14,rows.length>12?w.week.slice(0,7):w.week.slice(5),"middle");}});
  legend(box,series.map(function(sr){return [sr[2],sr[1]];}));
  done(box);
}

/* Horizontal bars: items [{label, value, note}], value in [0, max]. */
function hbars(box, items, color, fmt, what){
  if(!items.length){return empty(box,"Nothing to show: no "+what+".");}
  var W=560,rowh=24,L=200,R=140,H=items.length*rowh+8,s=svg(box,W,H),pw=W-L-R;
  var mx=Math.max.apply(null,items.map(function(i){return i.value;}).concat([0]))||1;
  items.forEach(function(it,i){var y=4+i*rowh; var lab=it.label.length>34?it.label.slice(0,15)+"…"+it.label.slice(-18):it.label;
    txt(s,L-6,y+15,lab,"end","lbl");
    var r=el("rect",{x:L,y:y+4,width:Math.max(2,pw*it.value/mx),height:rowh-10,rx:2,fill:color},s);
    var t=el("title",{},r); t.textContent=it.label+": "+fmt(it.value)+(it.note?" · "+it.note:"");
    txt(s,L+Math.max(2,pw*it.value/mx)+6,y+15,fmt(it.value)+(it.note?"  "+it.note:""));});
  done(box);
}

cohort(document.getElementById("chart-cohort"), D.cohorts);
lines(document.getElementById("chart-per-line"), D.weeks, [
  ["tokens_per_surviving_line","var(--tok)","tokens per surviving line",num],
  ["cost_per_surviving_line","var(--cost)","cost per surviving line",usd]]);
function rework(rows,key){return rows.filter(function(r){return r.ai_lines>0;}).map(function(r){
  return {label:(r[key]||"(no session)"),value:r.rework_rate||0,note:num(r.churned+r.reverted)+" of "+num(r.ai_lines)};});}
hbars(document.getElementById("chart-agent"), rework(D.agents,"agent"), "var(--churn)", pct, "AI lines by agent");
hbars(document.getElementById("chart-model"), rework(D.models,"model"), "var(--churn)", pct, "AI lines by model");
hbars(document.getElementById("chart-prs"), D.prs.filter(function(p){return p.review_churn>0;}).map(function(p){
  return {label:"#"+p.pr+" "+(p.title||""),value:p.review_churn,note:"of "+num(p.ai_lines_written||0)+" written"};}),
  "var(--rev)", num, "pull requests with review churn");
hbars(document.getElementById("chart-paths"), D.paths.map(function(p){
  return {label:p.path,value:p.churned+p.reverted,note:"of "+num(p.ai_lines)};}), "var(--churn)", num, "reworked AI lines by path");
hbars(document.getElementById("chart-symbols"), D.symbols.map(function(p){
  return {label:p.symbol+" · "+p.path,value:p.churned+p.reverted,note:"of "+num(p.ai_lines)};}), "var(--churn)", num, "reworked AI lines in functions or classes");
document.body.setAttribute("data-charts-ready","1");
})();
"""


def _absent(h: dict[str, Any]) -> dict[str, str]:
    """Why each headline figure that shows "-" is absent, by card: a card never shows a bare dash."""
    sessions = bool(h.get("tokens")) or bool(h.get("exploration_sessions"))
    no_sessions = "no sessions recorded: install the hooks (gitroi install)"
    no_ai = "no AI lines in this scope"
    why: dict[str, str] = {}
    if not h.get("ai_lines"):
        why["surviving_share"] = why["rework_rate"] = no_ai
    elif h.get("surviving_share") is None:
        why["surviving_share"] = why["rework_rate"] = "not analysed yet: run gitroi analyze"
    if not sessions:
        for k in ("cost_usd", "tokens_per_surviving_line", "cost_per_surviving_line", "cost_per_merged_pr"):
            why[k] = no_sessions
        return why
    if not h.get("tokens"):
        for k in ("cost_usd", "tokens_per_surviving_line", "cost_per_surviving_line", "cost_per_merged_pr"):
            why[k] = "the recorded sessions led to no commit in scope"
        return why
    unpriced = h.get("unpriced_models") or []
    if h.get("cost_usd") is None:
        why["cost_usd"] = why["cost_per_surviving_line"] = (
            "no price for " + ", ".join(unpriced) if unpriced else "no price known")
    if not h.get("surviving"):
        why["tokens_per_surviving_line"] = why["cost_per_surviving_line"] = "no surviving AI line"
    if h.get("cost_per_merged_pr") is None:
        why["cost_per_merged_pr"] = ("no merged PR with AI work in history" if not h.get("merged_prs")
                                     else "the merged PRs' sessions have no price")
    return why


def _kpis(data: dict[str, Any]) -> str:
    h = data["headline"]
    why = _absent(h)
    cards = [
        (compact(h["tokens"]), "tokens attributed", ""),
        (money(h["cost_usd"]), "cost", "cost_usd"),
        (compact(h["ai_lines"]), f"new AI lines (+{compact(h['carried'])} moved or reformatted)"
         if h.get("carried") else "AI lines", ""),
        (pct(h["surviving_share"]), "of AI lines surviving", "surviving_share"),
        (pct(h["rework_rate"]), "rework (churned + reverted)", "rework_rate"),
        (compact(h["tokens_per_surviving_line"]), "tokens per surviving line", "tokens_per_surviving_line"),
        (money(h["cost_per_surviving_line"], small=True), "cost per surviving line",
         "cost_per_surviving_line"),
        (money(h["cost_per_merged_pr"]), f"per merged PR ({plural(h['merged_prs'], 'PR')})",
         "cost_per_merged_pr"),
        (compact(h["exploration_tokens"]), "exploration tokens (no commit)", ""),
    ]
    out = []
    for value, label, key in cards:
        reason = (why.get(key) or "not known in this scope") if key and h.get(key) is None else ""
        out.append(f'<div class="kpi"><div class="v">{html.escape(value)}</div>'
                   f'<div class="l">{html.escape(label)}</div>'
                   + (f'<div class="why">{html.escape(reason)}</div>' if reason else "")
                   + "</div>")
    return "".join(out)


def _rows_table(data: dict[str, Any]) -> str:
    keys = data.get("by") or []
    rows = data.get("rows") or []
    if not keys or not rows:
        return ""
    head = ["tokens", "cost", "AI lines", "surviving", "rework", "tokens/surv. line", "cost/surv. line"]
    out = ['<div class="card" style="margin-top:16px"><h2>By ' + html.escape(" · ".join(keys))
           + "</h2><table><tr><th>" + html.escape(" · ".join(keys)) + "</th>"
           + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in rows[:200]:
        cells = [compact(r["tokens"]), money(r["cost_usd"]), compact(r["ai_lines"]),
                 pct(r["surviving_share"]), pct(r["rework_rate"]),
                 compact(r["tokens_per_surviving_line"]),
                 money(r["cost_per_surviving_line"], small=True)]
        out.append("<tr><td>" + html.escape(key_label(r, keys)) + "</td>"
                   + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    out.append("</table></div>")
    return "".join(out)


def _unit(data: dict[str, Any]) -> str:
    return str((data.get("cohorts") or {}).get("unit") or "week")


def render_html(data: dict[str, Any]) -> str:
    """The self-contained HTML page for ``data`` (:func:`gitroi.report.figures.chart_data`)."""
    payload: dict[str, Any] = {k: data.get(k) or [] for k in ("weeks", "agents", "models", "prs", "paths",
                                                               "symbols")}
    payload["cohorts"] = data.get("cohorts") or {"unit": "week", "series": [], "overall": [],
                                                 "unknown_end": 0}
    blob = json.dumps(payload, ensure_ascii=False).replace("</", "<\\/")
    title = f"gitroi report · {data.get('repo', '')}"
    summary = " · ".join(f"{label}: {text}" for label, text in headline_lines(data)[:1])
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in data.get("notes") or [])

    def card(cid: str, heading: str, desc: str) -> str:
        return (f'<div class="card"><h2>{html.escape(heading)}</h2><p class="d">{html.escape(desc)}'
                f'</p><div class="chart" id="{cid}"></div></div>')

    charts = "".join([
        card("chart-cohort", "Survival of AI lines by " + _unit(data) + " written",
             "One line per cohort of AI lines (written in the same " + _unit(data) + "): the share "
             "still alive at the end of each following week, up to the analysed tip. Older "
             "cohorts are darker, bigger ones thicker; the dashed line is all cohorts together "
             "(Kaplan-Meier)."),
        card("chart-per-line", "Tokens and cost per surviving line over time",
             "Attributed tokens (and cost) of each week's commits divided by their AI lines "
             "still alive; each series on its own scale."),
        card("chart-agent", "Rework by agent", "Share of AI lines churned or reverted."),
        card("chart-model", "Rework by model", "Share of AI lines churned or reverted."),
        card("chart-prs", "Pull requests with the most review churn",
             "AI lines written in the PR's commits that did not reach the merge."),
        card("chart-paths", "Paths with the most AI rework", "AI lines churned or reverted."),
        card("chart-symbols", "Functions and classes with the most AI rework",
             "AI lines churned or reverted, by enclosing symbol."),
    ])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<div class="sub">What did the tokens buy? {html.escape(summary)}</div>
<div class="kpis">{_kpis(data)}</div>
{f'<ul class="notes">{notes}</ul>' if notes else ""}
<div class="grid">{charts}</div>
{_rows_table(data)}
<script type="application/json" id="gitroi-data">{blob}</script>
<script>{_JS}</script>
</body></html>
"""
