"""What the AI work in one pull request cost and how much of it held up, from notes and git alone.

A pull request is small, its history is on the runner, and its notes came with
``refs/notes/gitroi``: so this needs neither the ledger nor the network.  Its
commits are ``git rev-list --no-merges HEAD ^BASE`` (merges of the base branch
into the PR branch bring no PR work).  Their notes give tokens and cost by
agent and model and the AI-written line ranges, each in its commit's own file
version; a commit attributed at commit level (markers, no transcript) counts
every line it added, as DESIGN.md defines.

*Review churn* is the AI lines written in the PR that do not reach its head
(DESIGN.md: "AI lines written in the PR that did not reach the merge").  Which
lines reach the head is read from one ``git blame --line-porcelain -w -M -C
MERGE_BASE..HEAD`` per file the PR changed: a whitespace-only change keeps a
line, a block moved within or across files keeps its origin, and blame's
history walk stops at the merge base, so a PR costs about its own size.  When
some AI line is not found, a second pass without ``-w`` runs: ``-w`` hands a
line that a PR commit only re-spaced (a formatter run) to the older commit,
and the re-spacing commit's line, present at the head, must not count as lost.  Lines
that did not reach the head are split into *churned* (written within the
churn window of the head commit) and *deleted later* (the PR lived longer than
the window); review churn counts both.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from gitroi.attribution.history import added_ranges
from gitroi.attribution.notes import Note, clip, list_notes, parse, read_blobs
from gitroi.errors import GitroiError
from gitroi.git import Repo
from gitroi.survival.reaching import Key, reaching

SCHEMA = "gitroi.pr/1"
_SHA = re.compile(r"^[0-9a-f]{40}$")

@dataclass
class ModelRow:
    agent: str
    model: str
    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    reasoning: int = 0
    responses: int = 0
    cost_usd: float | None = 0.0

    @property
    def tokens(self) -> int:
        return self.input + self.cache_write + self.cache_read + self.output

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "model": self.model, "tokens": self.tokens,
                "input": self.input, "output": self.output, "cache_write": self.cache_write,
                "cache_read": self.cache_read, "reasoning": self.reasoning,
                "responses": self.responses,
                "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6)}


@dataclass
class ReworkRow:
    path: str
    symbol: str
    ai_lines: int = 0
    churned: int = 0


@dataclass
class PRAnalysis:
    """The figures of one pull request; :meth:`to_dict` is the ``gitroi.pr/1`` JSON."""

    base: str
    head: str
    merge_base: str | None
    window_days: float
    commits: list[dict[str, Any]] = field(default_factory=list)
    by_model: list[ModelRow] = field(default_factory=list)
    rework: list[ReworkRow] = field(default_factory=list)
    tokens: int = 0
    cost_usd: float | None = None
    lines_added: int = 0
    ai_lines: int = 0
    surviving: int = 0
    churned: int = 0
    deleted_later: int = 0
    unpriced_models: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def review_churn(self) -> float | None:
        """Share of the PR's AI lines that did not reach its head (0..1), None without AI lines."""
        if not self.ai_lines:
            return None
        return round((self.churned + self.deleted_later) / self.ai_lines, 4)

    @property
    def tokens_per_surviving_line(self) -> float | None:
        return round(self.tokens / self.surviving, 2) if self.surviving else None

    @property
    def cost_per_surviving_line(self) -> float | None:
        if not self.surviving or self.cost_usd is None:
            return None
        return round(self.cost_usd / self.surviving, 6)

    def to_dict(self) -> dict[str, Any]:
        attributed = [c for c in self.commits if c["attribution"] != "none"]
        kinds: dict[str, int] = defaultdict(int)
        for c in attributed:
            kinds[c["attribution"]] += 1
        return {
            "schema": SCHEMA,
            "base": self.base, "head": self.head, "merge_base": self.merge_base,
            "window_days": self.window_days,
            "commits": len(self.commits),
            "attributed_commits": len(attributed),
            "attribution": dict(sorted(kinds.items())),
            "tokens": self.tokens,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "lines_added": self.lines_added,
            "ai_lines": self.ai_lines,
            "surviving": self.surviving,
            "churned": self.churned,
            "deleted_later": self.deleted_later,
            "review_churn": self.review_churn,
            "tokens_per_surviving_line": self.tokens_per_surviving_line,
            "cost_per_surviving_line": self.cost_per_surviving_line,
            "by_model": [r.to_dict() for r in self.by_model],
            "rework": [{"path": r.path, "symbol": r.symbol, "ai_lines": r.ai_lines,
                        "churned": r.churned} for r in self.rework],
            "unpriced_models": self.unpriced_models,
            "commit_list": self.commits,
            "problems": self.problems,
        }


def resolve(repo: Repo, rev: str, *, what: str) -> str:
    """Full SHA of ``rev`` or a GitroiError saying how to get the history onto the runner."""
    if rev.startswith("-"):
        raise GitroiError(f"{what} {rev!r} looks like an option, not a revision")
    out = repo.git("rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}",
                   check=False).decode().strip()
    if not _SHA.match(out):
        raise GitroiError(
            f"{what} {rev!r} is not a commit in this repository",
            hint="fetch the full history (actions/checkout with `fetch-depth: 0`, or "
                 "`git fetch --unshallow`) and the base branch")
    return out


def _numstat(repo: Repo, commits: list[str]) -> dict[str, int]:
    """Lines added per commit (binary files count 0), one ``git show`` for them all."""
    if not commits:
        return {}
    out = repo.git("show", "--numstat", "--format=%x00%H", "--no-renames", *commits)
    added: dict[str, int] = {}
    current = ""
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("\0"):
            current = line[1:].strip()
            added[current] = 0
        elif current and line.strip():
            first = line.split("\t", 1)[0]
            if first.isdigit():
                added[current] += int(first)
    return added


def _commit_times(repo: Repo, shas: Iterable[str]) -> dict[str, int]:
    shas = list(shas)
    if not shas:
        return {}
    out = repo.git("show", "-s", "--format=%H %ct", *shas).decode().split()
    return {out[i]: int(out[i + 1]) for i in range(0, len(out) - 1, 2)}


def analyse_pr(repo: Repo, *, base: str, head: str = "HEAD", window_days: float = 14.0,
               symbols: bool = True) -> PRAnalysis:
    """Figures for the commits in ``head`` but not in ``base`` (see the module docstring)."""
    base_sha = resolve(repo, base, what="base")
    head_sha = resolve(repo, head, what="head")
    mb = repo.git("merge-base", base_sha, head_sha, check=False).decode().strip() or None
    commits = repo.git("rev-list", "--reverse", "--topo-order", "--no-merges", head_sha,
                       f"^{base_sha}").decode().split()
    result = PRAnalysis(base=base_sha, head=head_sha, merge_base=mb, window_days=window_days)
    listing = list_notes(repo)
    blobs = read_blobs(repo, [listing[c] for c in commits if c in listing])
    notes: dict[str, Note] = {}
    for c in commits:
        if c in listing and listing[c] in blobs:
            try:
                notes[c] = parse(blobs[listing[c]], commit=c)
            except GitroiError as exc:
                result.problems.append(exc.message)
    # A note claims ranges; only the lines its commit really added count (never expanded
    # before this cut: a claimed [1, 1e9] costs what the commit's lines cost).
    real = added_ranges(repo, list(notes))
    for c, parsed in list(notes.items()):
        notes[c], said = clip(parsed, real.get(c, {}), None)
        if said:
            result.problems.append(f"the gitroi note on commit {c[:12]} {said}")
    added = _numstat(repo, commits)
    models: dict[tuple[str, str], ModelRow] = {}
    unpriced: set[str] = set()
    ai_keys: dict[Key, None] = {}
    cost: float | None = 0.0
    for c in commits:
        note = notes.get(c)
        result.lines_added += added.get(c, 0)
        if note is None:
            result.commits.append({"commit": c, "attribution": "none", "agents": [], "tokens": 0,
                                   "cost_usd": None, "ai_lines": 0, "surviving": 0})
            continue
        ranges: Mapping[str, Iterable[tuple[int, int]]] = note.ai_ranges
        if note.attribution == "commit" and not note.ai_ranges:
            # the added lines the ledger counts (attribution's -U1 read, not -U0: see there)
            ranges = real.get(c, {})
        keys = [(c, p, n) for p, rs in ranges.items() for a, b in rs for n in range(a, b + 1)]
        for k in keys:
            ai_keys[k] = None
        for s in note.sessions:
            for model, m in (s.models or {"(unknown model)": {}}).items():
                row = models.setdefault((s.agent, model), ModelRow(s.agent, model))
                for f in ("input", "output", "cache_write", "cache_read", "reasoning", "responses"):
                    setattr(row, f, getattr(row, f) + int(m.get(f, 0) or 0))
                if not s.models:
                    row.input += s.input
                    row.output += s.output
                    row.cache_write += s.cache_write
                    row.cache_read += s.cache_read
                    row.reasoning += s.reasoning
                mc = m.get("cost_usd") if s.models else s.cost_usd
                if mc is None:
                    row.cost_usd = None
                    unpriced.add(model)
                elif row.cost_usd is not None:
                    row.cost_usd += float(mc)
        result.tokens += note.tokens
        cost = None if cost is None or note.cost_usd is None else cost + note.cost_usd
        result.commits.append({"commit": c, "attribution": note.attribution,
                               "agents": list(note.agents), "tokens": note.tokens,
                               "cost_usd": note.cost_usd, "ai_lines": len(keys), "surviving": 0})
    result.cost_usd = cost if notes and any(n.sessions for n in notes.values()) else None
    result.ai_lines = len(ai_keys)
    result.by_model = sorted(models.values(), key=lambda r: (-r.tokens, r.agent, r.model))
    result.unpriced_models = sorted(unpriced)
    if not ai_keys:
        return result

    survivors = reaching(repo, mb, head_sha, ai_keys)
    times = _commit_times(repo, {k[0] for k in ai_keys} | {head_sha})
    window = timedelta(days=window_days).total_seconds()
    per_commit_surviving: dict[str, int] = defaultdict(int)
    rework: dict[tuple[str, str], ReworkRow] = {}
    lost: list[Key] = []
    for k in ai_keys:
        if k in survivors:
            result.surviving += 1
            per_commit_surviving[k[0]] += 1
        else:
            lost.append(k)
            if times[head_sha] - times.get(k[0], times[head_sha]) <= window:
                result.churned += 1
            else:
                result.deleted_later += 1
    names = _symbols_for(repo, [(k[0], k[1], k[2]) for k in ai_keys]) if symbols else {}
    for k in ai_keys:
        sym = names.get(k, "")
        rrow = rework.setdefault((k[1], sym), ReworkRow(k[1], sym))
        rrow.ai_lines += 1
    for k in lost:
        rework[(k[1], names.get(k, ""))].churned += 1
    result.rework = sorted((r for r in rework.values() if r.churned),
                           key=lambda r: (-r.churned, -r.ai_lines, r.path, r.symbol))
    for entry in result.commits:
        entry["surviving"] = per_commit_surviving.get(entry["commit"], 0)
    return result


def _read_versions(repo: Repo, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, bytes]]:
    """{(commit, path): (blob id, content)} through one ``git cat-file --batch`` of ``commit:path``."""
    pairs = [(c, p) for c, p in pairs if "\n" not in p]
    if not pairs:
        return {}
    data = repo.git("cat-file", "--batch",
                    input="".join(f"{c}:{p}\n" for c, p in pairs).encode("utf-8", "surrogateescape"))
    found: dict[tuple[str, str], tuple[str, bytes]] = {}
    pos = 0
    for pair in pairs:
        nl = data.index(b"\n", pos)
        header = data[pos:nl].split()
        pos = nl + 1
        if len(header) != 3 or header[1] != b"blob":
            if len(header) == 3 and header[2].isdigit():   # a tree or commit: skip its body
                pos += int(header[2]) + 1
            continue
        size = int(header[2])
        found[pair] = (header[0].decode(), data[pos:pos + size])
        pos += size + 1
    return found


def _symbols_for(repo: Repo, keys: list[Key]) -> dict[Key, str]:
    """Enclosing function/class of each (commit, path, line), from the commit's file version.

    Uses the survival analyser's tree-sitter layer (``survival.parse.classify``,
    cached by blob id); a file no grammar reads gives no symbol, and the rework
    table then groups its lines by file only.
    """
    try:
        from gitroi.survival.parse import classify
    except ImportError:  # pragma: no cover - the parser ships with gitroi
        return {}
    by_file: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c, p, n in keys:
        by_file[(c, p)].append(n)
    out: dict[Key, str] = {}
    blobs = _read_versions(repo, list(by_file))
    for (c, p), lines in by_file.items():
        if (c, p) not in blobs:
            continue
        oid, blob = blobs[(c, p)]
        try:
            syntax = classify(p, blob, cache_key=oid)
        except GitroiError:  # a missing or too-old grammar: the user must hear of it
            raise
        except Exception:  # a grammar failing on odd input must not sink the PR report
            continue
        for n in lines:
            if 0 < n <= len(syntax.symbol) and syntax.symbol[n - 1]:
                out[(c, p, n)] = syntax.symbol[n - 1]
    return out
