"""``gitroi report --by marker``: what each marker rule found, so a false positive shows.

Read straight from the branch's history (one ``git log --numstat`` stream), not
from the ledger: every rule is counted, those a repository switched off too
(marked ``off``), so a lead sees what switching a rule on or off would change
before doing it.  For each rule: the commits it fires on, the lines those
commits added (what commit-level attribution counts as AI when the commit has
no note), the commits no other active rule finds (what switching it off would
lose), and a few example commits.  docs/markers.md describes the rules.
"""

from __future__ import annotations

from typing import Any

from gitroi import timeutil
from gitroi.attribution.history import iter_history
from gitroi.attribution.markers import RULES, RULES_BY_ID, switches, unknown_switches
from gitroi.git import Repo
from gitroi.wording import plural

EXAMPLES = 5


def marker_counts(repo: Repo, branch: str, *, since: str | None = None,
                  until: str | None = None) -> dict[str, Any]:
    """{"branch", "tip", "commits", "ai_commits", "ai_lines", "rules": [...], "warnings"}.

    ``since``/``until``: ISO times; a commit counts when its committer date is in
    ``[since, until)``.  ``ai_*`` count the commits at least one switched-on rule finds.
    """
    sw = switches(repo)
    every = {r.id: True for r in RULES}
    tip = repo.git_text("rev-parse", "--verify", "-q", f"{branch}^{{commit}}").strip() \
        if repo.head() is not None else ""
    per: dict[str, dict[str, Any]] = {
        r.id: {"rule": r.id, "agent": r.agent, "strength": r.strength,
               "on": sw.get(r.id, r.default), "default": r.default, "commits": 0,
               "lines_added": 0, "only": 0, "examples": []}
        for r in RULES}
    total = ai_commits = ai_lines = 0
    lo = timeutil.parse(since) if since else None
    hi = timeutil.parse(until) if until else None
    for hc in (iter_history(repo, [tip]) if tip else ()):
        when = timeutil.parse(hc.meta.committed_at)
        if (lo is not None and when < lo) or (hi is not None and when >= hi):
            continue
        total += 1
        found = {m.rule for m in hc.meta.markers(every)}
        active = {rid for rid in found if per[rid]["on"]}
        if active:
            ai_commits += 1
            ai_lines += hc.lines_added
        for rid in sorted(found):
            row = per[rid]
            row["commits"] += 1
            row["lines_added"] += hc.lines_added
            if not (active - {rid}):
                row["only"] += 1
            if len(row["examples"]) < EXAMPLES:
                row["examples"].append({"commit": hc.meta.sha, "subject": hc.meta.subject,
                                        "lines_added": hc.lines_added})
    warnings = [f"git config gitroi.marker.{k} names no rule (known: docs/markers.md)"
                for k in unknown_switches(sw)]
    return {"branch": branch, "tip": tip, "commits": total, "ai_commits": ai_commits,
            "ai_lines": ai_lines, "rules": [per[r.id] for r in RULES], "warnings": warnings}


def render_marker_table(data: dict[str, Any]) -> str:
    """The rules that found something, most commits first; the others in one line."""
    tip = (data["tip"] or "")[:12] or "no commits"
    lines = [f"Markers on {data['branch']} ({tip}): {data['ai_commits']} of {plural(data['commits'], 'commit')}, "
             f"{plural(data['ai_lines'], 'line')} added, found by the rules switched on",
             ""]
    rows = sorted((r for r in data["rules"] if r["commits"]),
                  key=lambda r: (-r["commits"], r["rule"]))
    head = f"{'rule':<24} {'agent':<19} {'strength':<8} {'on':<3} {'commits':>7} " \
           f"{'lines':>8} {'only':>5}"
    lines.append(head)
    lines.append("-" * len(head))
    for r in rows:
        lines.append(f"{r['rule']:<24} {r['agent']:<19} {r['strength']:<8} "
                     f"{'yes' if r['on'] else 'off':<3} {r['commits']:>7} "
                     f"{r['lines_added']:>8} {r['only']:>5}")
    quiet = [r["rule"] for r in data["rules"] if not r["commits"]]
    if quiet:
        lines.append(f"(no commit: {', '.join(quiet)})")
    lines.append("")
    lines.append("only: commits no other switched-on rule finds (what switching the rule off "
                 "loses).  Switch a rule off: git config gitroi.marker.<rule> false")
    for r in rows:
        if RULES_BY_ID[r["rule"]].strength == "weak" or not r["on"]:
            lines.append("")
            lines.append(f"{r['rule']} ({r['strength']}{', off' if not r['on'] else ''}), "
                         "for instance:")
            for ex in r["examples"]:
                lines.append(f"  {ex['commit'][:12]} +{ex['lines_added']:<6} {ex['subject'][:60]}")
    return "\n".join(lines) + "\n"
