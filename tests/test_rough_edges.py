"""A newcomer's rough edges (issue 9, part 6), each through the real CLI on a real repository.

Errors name what is wrong and hint at something that works; output is in the
format the file name asks for, date views read in date order, counts agree
with their nouns, one person is one row.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitroi.git import Repo
from gitroi.report.formatting import headline_lines
from gitroi.report.render import render_table, shown_rows
from gitroi.wording import describe_attribution, plural, plural_of
from tests.conftest import GitRepo, run_gitroi

CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"


def _small(repo: GitRepo) -> None:
    repo.commit({"a.py": "a = 1\n"}, "init")
    repo.commit({"b.py": "def b():\n    return 2\n"}, "add b" + CLAUDE)


def _error(proc: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """(message, hint) of a one-error exit, checking it is a user error (exit 1, no traceback)."""
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("Error: ") and lines[-1].startswith("hint: "), proc.stderr
    return lines[0][len("Error: "):], lines[-1][len("hint: "):]


# --- time syntax ------------------------------------------------------------------------------


def test_one_time_syntax_in_every_command(repo: GitRepo) -> None:
    _small(repo)
    assert run_gitroi("report", "--since", "yesterday", "--until", "now", cwd=repo.path).returncode == 0
    assert run_gitroi("attribute", "--since", "30d", cwd=repo.path).returncode == 0
    msg, hint = _error(run_gitroi("attribute", "--since", "garbage", cwd=repo.path, check=False))
    assert msg == "--since 'garbage' is not a time"
    assert "2026-01-31" in hint and "30d" in hint and "yesterday" in hint
    msg, _ = _error(run_gitroi("report", "--until", "soonish", cwd=repo.path, check=False))
    assert msg == "--until 'soonish' is not a time"
    msg, _ = _error(run_gitroi("sessions", "import", "--since", "last tuesday", cwd=repo.path,
                               check=False))
    assert msg == "--since 'last tuesday' is not a time"
    msg, _ = _error(run_gitroi("pr", "report", "--base", "main", "--window", "a while",
                               cwd=repo.path, check=False))
    assert msg == "--window 'a while' is not a duration"
    # Where a commit is meant, --help says so.
    assert "a commit, not a date" in " ".join(run_gitroi("analyze", "--help", cwd=repo.path).stdout.split())
    assert "yesterday" in run_gitroi("report", "--help", cwd=repo.path).stdout


# --- revisions, branches, remotes -------------------------------------------------------------


def test_a_bad_revision_is_named_with_the_branches_there_are(repo: GitRepo) -> None:
    _small(repo)
    repo.git("branch", "feature")
    msg, hint = _error(run_gitroi("attribute", "nope..main", cwd=repo.path, check=False))
    assert msg == "'nope' is not a commit or branch in this repository (in REV-RANGE 'nope..main')"
    assert hint == "branches here: feature, main"
    out = run_gitroi("attribute", "main~1..main", cwd=repo.path).stdout
    assert out.startswith("attributed 1 commit: 0 line-level, 1 commit-level")
    r = Repo.discover(repo.path)
    for ok in ("main", "main..", "..main", "^main", "main^!", "main~1...feature", "HEAD~1"):
        r.check_revisions(ok)


def test_report_branch_nope_lists_the_branches(repo: GitRepo) -> None:
    _small(repo)
    repo.git("branch", "release")
    msg, hint = _error(run_gitroi("report", "--branch", "nope", cwd=repo.path, check=False))
    assert msg.startswith("branch 'nope' does not exist")
    assert hint == "branches here: main, release (pass one with --branch NAME)"
    _, hint = _error(run_gitroi("analyze", "--branch", "nope", cwd=repo.path, check=False))
    assert hint.startswith("branches here: main, release")


def test_sync_without_the_remote_says_what_to_add(repo: GitRepo, tmp_path: Path) -> None:
    _small(repo)
    msg, hint = _error(run_gitroi("sync", cwd=repo.path, check=False))
    assert msg == "no remote named 'origin': this repository has no remote"
    assert hint == "add one: git remote add origin URL, then run gitroi sync again"
    bare = tmp_path / "up.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    repo.git("remote", "add", "upstream", str(bare))
    msg, hint = _error(run_gitroi("sync", cwd=repo.path, check=False))
    assert (msg, hint) == ("no remote named 'origin' in this repository",
                           "remotes here: upstream (e.g. gitroi sync upstream)")
    assert "fetched 0 notes from upstream" in run_gitroi("sync", "upstream", cwd=repo.path).stdout


# --- outside a repository ---------------------------------------------------------------------


def test_outside_a_repository_the_hints_lead_somewhere(repo: GitRepo, tmp_path: Path) -> None:
    _small(repo)
    outside = tmp_path / "outside"
    outside.mkdir()
    _, hint = _error(run_gitroi("report", cwd=outside, check=False))
    assert "gitroi -C PATH/TO/REPO" in hint
    # ... and following the hint works
    assert "AI lines" in run_gitroi("-C", str(repo.path), "report", cwd=outside).stdout
    # --db with a ledger that does not exist: an error, and no empty file left behind
    msg, hint = _error(run_gitroi("--db", "x.db", "report", cwd=outside, check=False))
    assert "x.db does not exist" in msg and "install" not in msg + hint
    assert not (outside / "x.db").exists()
    # --db with a real ledger works outside the repository
    ledger = tmp_path / "kept.db"
    run_gitroi("--db", str(ledger), "report", cwd=repo.path)
    out = run_gitroi("--db", str(ledger), "report", "--format", "json", cwd=outside).stdout
    assert json.loads(out)["headline"]["ai_lines"] == 2


def test_doctor_exits_1_when_it_found_an_error(repo: GitRepo, tmp_path: Path) -> None:
    _small(repo)
    bad = tmp_path / "not-a-ledger.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    proc = run_gitroi("--db", str(bad), "doctor", cwd=repo.path, check=False)
    assert proc.returncode == 1
    assert "Error:      cannot open the ledger" in proc.stdout
    proc = run_gitroi("--db", str(bad), "doctor", "--json", cwd=repo.path, check=False)
    assert proc.returncode == 1 and "cannot open the ledger" in json.loads(proc.stdout)["error"]
    assert run_gitroi("doctor", cwd=repo.path).returncode == 0


# --- output -----------------------------------------------------------------------------------


def test_output_format_follows_the_file_extension(repo: GitRepo, tmp_path: Path) -> None:
    _small(repo)
    for name, check in (("r.html", lambda t: t.startswith("<!DOCTYPE html>")),
                        ("r.json", lambda t: json.loads(t)["schema"] == "gitroi.report/1"),
                        ("r.csv", lambda t: t.splitlines()[0].startswith("scope,")
                         or "," in t.splitlines()[0]),
                        ("r.md", lambda t: t.startswith("### gitroi report")),
                        ("r.txt", lambda t: t.startswith("gitroi report"))):
        proc = run_gitroi("report", "--no-update", "-o", str(tmp_path / name), cwd=repo.path)
        assert check((tmp_path / name).read_text()), name
        assert "warning" not in proc.stderr
    # an explicit --format wins; the mismatch is a warning
    proc = run_gitroi("report", "--no-update", "--format", "json", "-o", str(tmp_path / "x.html"),
                      cwd=repo.path)
    assert json.loads((tmp_path / "x.html").read_text())["schema"] == "gitroi.report/1"
    assert "warning: " in proc.stderr and "x.html ends in .html but --format json" in proc.stderr


def _rows(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        week = f"2026-{1 + i // 4:02d}-{1 + 7 * (i % 4):02d}"
        rows.append({"week": week, "ai_lines": (i * 7919) % 101, "tokens": 0, "cost_usd": None,
                     "surviving": 0, "surviving_share": None, "rework_rate": None, "churned": 0,
                     "reverted": 0, "deleted_later": 0, "tokens_per_surviving_line": None,
                     "cost_per_surviving_line": None, "merged_prs": 0, "commits": 1})
    return rows


def _headline() -> dict[str, Any]:
    keys = ("ai_lines", "carried", "tokens", "exploration_sessions", "exploration_tokens", "commits",
            "surviving", "churned", "reverted", "deleted_later", "unanalysed", "merged_prs",
            "review_churn", "ai_lines_line_level", "ai_lines_commit_level")
    h: dict[str, Any] = dict.fromkeys(keys, 0)
    h.update(surviving_share=None, rework_rate=None, cost_per_merged_pr=None, cost_usd=None,
             tokens_per_surviving_line=None, cost_per_surviving_line=None, unpriced_models=[])
    return h


def test_week_view_is_in_date_order_and_shows_the_latest_weeks() -> None:
    rows = _rows(30)
    shown, which = shown_rows(list(reversed(rows)), ["week"])
    assert [r["week"] for r in shown] == sorted(r["week"] for r in rows)[-25:]
    assert which == "the latest"
    text = render_table({"headline": _headline(), "by": ["week"], "rows": rows, "repo": "x"})
    weeks = [ln.split()[0] for ln in text.splitlines() if ln[:4] == "2026"]
    assert weeks == sorted(weeks) and len(weeks) == 25
    assert "the latest 25 of 30 rows" in text
    # other views keep the most AI lines first
    agents = [{**r, "agent": f"a{i}"} for i, r in enumerate(rows)]
    top, _ = shown_rows(agents, ["agent"])
    assert [r["ai_lines"] for r in top] == sorted((r["ai_lines"] for r in agents), reverse=True)[:25]


def test_week_view_end_to_end_is_in_date_order(repo: GitRepo) -> None:
    # More AI lines in the later week would sort it first by AI lines.
    repo.commit({"a.py": "a\n"}, "one" + CLAUDE, date="2026-01-05T10:00:00Z")
    repo.commit({"b.py": "b1\nb2\nb3\nb4\n"}, "two" + CLAUDE, date="2026-01-14T10:00:00Z")
    repo.commit({"c.py": "c1\nc2\n"}, "three" + CLAUDE, date="2026-01-21T10:00:00Z")
    text = run_gitroi("report", "--by", "week", cwd=repo.path).stdout
    weeks = [ln.split()[0] for ln in text.splitlines() if ln.startswith("2026-")]
    assert weeks == ["2026-01-05", "2026-01-12", "2026-01-19"]
    md = run_gitroi("report", "--by", "week", "--format", "markdown", cwd=repo.path).stdout
    assert md.index("2026-01-05") < md.index("2026-01-12") < md.index("2026-01-19")


# --- words ------------------------------------------------------------------------------------


def test_plurals_and_attribution_words() -> None:
    assert plural(1, "AI line") == "1 AI line"
    assert plural(2, "AI line") == "2 AI lines"
    assert plural(0, "session") == "0 sessions"
    assert plural(1_200_000, "token", number="1.2M") == "1.2M tokens"
    assert [plural_of(w) for w in ("entry", "day", "blob", "patch", "PR", "was")] == \
        ["entries", "days", "blobs", "patches", "PRs", "were"]
    h = {**_headline(), "review_churn": 1, "merged_prs": 1, "commits": 1}
    prs = dict(headline_lines({"headline": h}))["PRs"]
    assert prs.endswith("review churn 1 AI line")
    assert dict(headline_lines({"headline": {**h, "review_churn": 2}}))["PRs"].endswith("2 AI lines")
    assert "(none)" not in describe_attribution("none", "none")
    assert describe_attribution("commit", "markers").endswith("from the commit trailers and author")


def test_show_says_what_the_attribution_is(repo: GitRepo) -> None:
    _small(repo)
    plain = run_gitroi("show", "HEAD~1", cwd=repo.path).stdout
    assert "attribution: none: no gitroi note" in plain and "none (none)" not in plain
    ai = run_gitroi("show", "HEAD", cwd=repo.path).stdout
    assert "attribution: commit level (every added line counts, from the commit's AI markers), " \
        "from the commit trailers and author" in ai
    assert "agents: claude" in ai


# --- one person, one row ----------------------------------------------------------------------


def test_by_author_respects_mailmap(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"a.py": "a1\na2\n"}, "one" + CLAUDE, author="Ann <ann@old.example>")
    repo.commit({"b.py": "b1\nb2\nb3\n"}, "two" + CLAUDE, author="Ann Smith <ann@new.example>")
    repo.commit({"c.py": "c1\n"}, "three" + CLAUDE, author="Bob <bob@example>")

    def authors(fmt: str = "json") -> Any:
        out = run_gitroi("report", "--by", "author", "--format", fmt, cwd=repo.path).stdout
        return {r["author"]: r["ai_lines"] for r in json.loads(out)["rows"]} if fmt == "json" else out

    assert authors() == {"Ann <ann@old.example>": 2, "Ann Smith <ann@new.example>": 3,
                         "Bob <bob@example>": 1}
    repo.commit({".mailmap": "Ann Smith <ann@new.example> <ann@old.example>\n"}, "mailmap")
    assert authors() == {"Ann Smith <ann@new.example>": 5, "Bob <bob@example>": 1}
    page = authors("html")
    assert "Ann Smith &lt;ann@new.example&gt;" in page and "ann@old.example" not in page


# --- the HTML report --------------------------------------------------------------------------


def test_cards_explain_an_absent_figure(repo: GitRepo, tmp_path: Path) -> None:
    _small(repo)
    run_gitroi("report", "-o", str(tmp_path / "r.html"), cwd=repo.path)
    page = (tmp_path / "r.html").read_text()


    cards = re.findall(r'<div class="kpi"><div class="v">([^<]*)</div><div class="l">([^<]*)</div>'
                       r'(?:<div class="why">([^<]*)</div>)?</div>', page)
    assert len(cards) == 9
    dashes = [c for c in cards if c[0] == "-"]
    assert len(dashes) == 4
    for _value, label, why in dashes:
        assert why == "no sessions recorded: install the hooks (gitroi install)", label


NODE = shutil.which("node") or shutil.which("nodejs")

_FAKE_DOM = r"""
function Node(tag){this.tag=tag;this.children=[];this.attrs={};this.style={};this.textContent="";
  this.className="";}
Node.prototype.appendChild=function(c){this.children.push(c);return c;};
Node.prototype.setAttribute=function(k,v){this.attrs[k]=String(v);};
function all(n,f,out){out=out||[];if(f(n)){out.push(n);}n.children.forEach(function(c){all(c,f,out);});return out;}
var boxes={};
var document={
  createElementNS:function(ns,tag){return new Node(tag);},
  createElement:function(tag){return new Node(tag);},
  createTextNode:function(t){var n=new Node("#text");n.textContent=t;return n;},
  getElementById:function(id){if(id==="gitroi-data"){return {textContent:DATA};}
    if(!boxes[id]){boxes[id]=new Node("div");}return boxes[id];},
  body:new Node("body")};
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs)")
@pytest.mark.parametrize("n", [1, 5, 16])
def test_the_legend_names_every_cohort_the_chart_draws(tmp_path: Path, n: int) -> None:
    from gitroi.report import html

    series = [{"cohort": f"2026-W{i + 1:02d}", "ai_lines": 10 + i, "surviving": 5,
               "alive": [1.0, 0.9, 0.8][: 1 + (i % 3)]} for i in range(n)]
    payload = {"weeks": [], "agents": [], "models": [], "prs": [], "paths": [], "symbols": [],
               "cohorts": {"unit": "week", "series": series, "overall": [1.0, 0.9, 0.8],
                           "unknown_end": 0}}
    script = ("var DATA=" + json.dumps(json.dumps(payload)) + ";\n" + _FAKE_DOM + html._JS + r"""
var box=boxes["chart-cohort"];
var drawn=all(box,function(x){return (x.tag==="polyline"&&x.attrs["class"]==="coh")||x.tag==="circle";});
var legend=all(box,function(x){return x.className==="legend";})[0];
var names=legend.children.map(function(s){return s.children[1].textContent;});
var colours=legend.children.map(function(s){return s.children[0].style.background;});
var strokes=drawn.map(function(x){return x.attrs.stroke||x.attrs.fill;});
console.log(JSON.stringify({drawn:drawn.length,names:names,colours:colours,strokes:strokes}));
""")
    js = tmp_path / "run.js"
    js.write_text(script)
    out = json.loads(subprocess.run([str(NODE), str(js)], capture_output=True, text=True,
                                    check=True).stdout)
    assert out["drawn"] == n
    cohort_names = [name for name in out["names"] if name != "all cohorts"]
    assert cohort_names == [f"{s['cohort']} ({s['ai_lines']})" for s in series]
    assert out["colours"][:n] == out["strokes"]          # each named in the colour it is drawn in
    assert ("all cohorts" in out["names"]) == (n > 1)
