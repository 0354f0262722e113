"""What a report measured, and why a figure is missing: branch, tip, partial history, empty windows.

Every format states the branch and the tip commit the figures come from
(``branch``, ``tip`` in the data; the title of the table, Markdown and HTML;
two CSV columns), and marks figures computed on a partial history (a shallow
clone, ``analyze --since``) with the count of lines of unknown origin.  When
the figures are empty, :func:`empty_reason` says why in terms a user can act
on: the window holds none of the AI commits there are (with the nearest
dates), or the clone is shallow (and how to deepen it).  docs/report.md.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gitroi.wording import plural

if TYPE_CHECKING:
    from sqlite_utils import Database

    from gitroi.git import Repo

DEEPEN_HINT = ("deepen it for complete figures: `git fetch --unshallow` (in GitHub Actions: actions/checkout "
               "with `fetch-depth: 0`; its default, depth 1, holds one commit)")


def _analysis_stats(db: Database, branch: str | None) -> dict[str, Any]:
    if not branch:
        return {}
    row = db.execute("SELECT stats FROM analyses WHERE branch = ?", [branch]).fetchone()
    if row is None:
        return {}
    try:
        v = json.loads(row[0] or "{}")
    except ValueError:
        return {}
    return v if isinstance(v, dict) else {}


def state_scope(data: dict[str, Any], db: Database, branch: str | None, tip: str | None, note: str) -> None:
    """Add ``branch``, ``tip``, ``branch_note`` and ``partial`` to a report's data, and a note when partial.

    ``partial`` is None for a complete history, else ``{"unknown_origin_lines": N,
    "shallow": bool, "since": sha or None}``.
    """
    data["branch"] = branch
    data["tip"] = tip
    data["branch_note"] = note
    stats = _analysis_stats(db, branch)
    unknown = int(stats.get("unknown_origin_lines") or 0)
    shallow = bool(stats.get("shallow"))
    since = stats.get("since")
    partial: dict[str, Any] | None = None
    if shallow or since or unknown:
        partial = {"unknown_origin_lines": unknown, "shallow": shallow, "since": since}
        why = "a shallow clone" if shallow else f"analysed from {str(since)[:12]} (--since)"
        text = (f"Partial history ({why}): {plural(unknown, 'line', number=f'{unknown:,}')} at the tip "
                f"{'is' if unknown == 1 else 'are'} of unknown origin and "
                "count in no figure; the survival figures cover the commits analysed only.")
        if shallow:
            text += " To " + DEEPEN_HINT + "."
        data.setdefault("notes", []).insert(0, text)
    data["partial"] = partial


def empty_reason(db: Database, repo: Repo | None, data: dict[str, Any], since: str | None,
                 until: str | None) -> str | None:
    """Why a report has no AI figures, when the history says more than "no evidence"; None otherwise."""
    if since or until:
        rows = db.execute(
            "SELECT committed_at FROM commits WHERE attribution != 'none' AND committed_at IS NOT NULL "
            "AND (NOT EXISTS (SELECT 1 FROM branch_commits) OR sha IN (SELECT sha FROM branch_commits)) "
            "ORDER BY committed_at").fetchall()
        times = [r[0] for r in rows]
        if times:
            before = [t for t in times if since and t < since]
            after = [t for t in times if until and t >= until]
            lo = (since or "the beginning")[:10]
            hi = (until or "now")[:10]
            near = []
            if before:
                near.append(f"{before[-1][:10]} (before)")
            if after:
                near.append(f"{after[0][:10]} (after)")
            return (f"No AI commits between {lo} and {hi} on {data.get('branch') or 'the branch'}; "
                    f"{plural(len(before) + len(after), 'AI commit', number=f'{len(before) + len(after):,}')} "
                    "outside it, nearest on "
                    + " and ".join(near) + ". Widen --since/--until to include them.")
    if repo is not None and (repo.paths.common_dir / "shallow").is_file():
        n = repo.git("rev-list", "--count", data.get("tip") or "HEAD", check=False).decode().strip()
        return (f"No AI evidence in this shallow clone ({plural(int(n), 'commit') if n.isdigit() else '? commits'} of history): "
                "AI commits may lie "
                f"beyond its depth. To {DEEPEN_HINT}.")
    return None
