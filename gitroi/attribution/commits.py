"""A commit as attribution reads it: identity, message, and the lines it added per path.

One ``git log -1 --cc -p -U1`` call gives a commit's metadata and its added
lines (:func:`read_commit`; the post-commit hook counts milliseconds, so it can
also carry the commit's gitroi note, :func:`read_commit_and_note`, or run while
the hook reads the session logs, :class:`CommitRead`).  :func:`parse_patch`
turns plain or combined diffs into added lines: in a merge only lines new
against every parent count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gitroi import timeutil
from gitroi.attribution.markers import ALL_ON, Marker, detect, switches
from gitroi.attribution.notes import NOTES_REF, lines_to_ranges, read_note_text
from gitroi.errors import GitroiError
from gitroi.git import Repo

LOG_FORMAT = "%x01%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x00"
LOG_FIELDS = 9


@dataclass(frozen=True)
class CommitMeta:
    """A commit's identity and message, as the ledger keeps it."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: str
    committer_name: str
    committer_email: str
    committed_at: str
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()

    def markers(self, switches: dict[str, bool] | None = None) -> list[Marker]:
        """The agents' marks on this commit; ``switches``: the repository's rule switches
        (:func:`gitroi.attribution.markers.switches`), None for every rule's default."""
        return detect(self.message, self.author_name, self.author_email,
                      self.committer_name, self.committer_email, switches=switches)

    def markers_in(self, repo: Repo) -> list[Marker]:
        """:meth:`markers` under ``repo``'s switches, read only when some rule fires at all:
        the post-commit hook spends no git call on the config of a commit without a mark."""
        if not self.markers(ALL_ON):
            return []
        return self.markers(switches(repo))


def commit_meta(fields: Sequence[str]) -> CommitMeta:
    sha, parents, an, ae, ad, cn, ce, cd, body = fields[:LOG_FIELDS]
    return CommitMeta(sha=sha.strip(), parents=tuple(parents.split()), author_name=an,
                      author_email=ae, authored_at=_norm_time(ad), committer_name=cn,
                      committer_email=ce, committed_at=_norm_time(cd), message=body.strip("\n"))


def _norm_time(value: str) -> str:
    """git's strict ISO date (``%aI``) to the canonical form; a UTC one without parsing it.

    A cold analysis normalises two dates per commit of the history: the fast
    path is a third of ``ensure_ledger``'s per-commit time saved.
    """
    if len(value) == 25 and value[10] == "T":
        if value.endswith("+00:00"):
            return value[:19] + ".000Z"
        try:
            return f"{datetime.fromisoformat(value).astimezone(UTC):%Y-%m-%dT%H:%M:%S}.000Z"
        except ValueError:
            pass
    try:
        return timeutil.normalise(value)
    except ValueError:
        return value


# --- the diff: added lines per path ------------------------------------------------------------


@dataclass
class AddedLines:
    """Lines a commit added, per path in the commit's own version: [(line number, text)]."""

    by_path: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_path.values())

    def all_ranges(self) -> dict[str, tuple[tuple[int, int], ...]]:
        return {p: lines_to_ranges(n for n, _ in ls) for p, ls in self.by_path.items() if ls}


def unquote_path(path: str) -> str:
    """git's C-style quoted path (``"a\\tb"``, octal escapes for non-ASCII) to text."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    body = path[1:-1].encode("latin-1", "backslashreplace")
    raw = body.decode("unicode_escape").encode("latin-1", "replace")
    return raw.decode("utf-8", "surrogateescape")


def parse_patch(lines: Iterable[bytes]) -> AddedLines:
    """Added lines from ``git log -p`` output, plain or combined (``--cc``) diffs.

    Context lines (any ``-U``) only advance the line number, so the result is
    the ``+`` lines of git's hunks at that context size.  In a combined diff a
    line counts as added only when it is new against every parent (all ``+``
    columns): what a merge brings from a branch was added by that branch's
    commits.  Binary files have no hunks and add nothing.
    """
    out = AddedLines()
    path: str | None = None
    ncols = 1
    lineno = 0
    in_hunk = False
    for raw in lines:
        if raw.startswith(b"diff "):
            path, in_hunk = None, False
            continue
        if not in_hunk and raw.startswith(b"+++ "):
            # git ends a path holding a space with a TAB on these header lines
            target = raw[4:].rstrip(b"\n").removesuffix(b"\t").decode("utf-8", "surrogateescape")
            if target == "/dev/null":
                path = None
            else:
                target = unquote_path(target)
                path = target[2:] if target.startswith("b/") else target
            continue
        if raw.startswith(b"@@"):
            at = len(raw) - len(raw.lstrip(b"@"))
            ncols = max(at - 1, 1)
            header = raw.split(b"@" * at)[1].split()
            new = header[ncols] if len(header) > ncols else b"+0"
            try:
                lineno = int(new[1:].split(b",")[0])
            except ValueError:  # not a hunk header git writes: its lines are not read
                in_hunk = False
                continue
            in_hunk = path is not None
            continue
        if not in_hunk or path is None:
            continue
        if raw.startswith(b"\\"):
            continue  # "\ No newline at end of file"
        prefix = raw[:ncols]
        if len(prefix) < ncols or any(c not in b"+- " for c in prefix):
            in_hunk = False
            continue
        if b"-" in prefix:
            continue  # a removed line is not in the new file
        if prefix == b"+" * ncols:
            text = raw[ncols:].rstrip(b"\n").decode("utf-8", "surrogateescape")
            out.by_path.setdefault(path, []).append((lineno, text))
        lineno += 1
    return out


def read_commit(repo: Repo, sha: str) -> tuple[CommitMeta, AddedLines]:
    """A commit's metadata and added lines in ONE git call (the hook path counts milliseconds)."""
    meta, added, _ = _read_commit(repo, sha, with_note=False)
    return meta, added


def read_commit_and_note(repo: Repo, sha: str) -> tuple[CommitMeta, AddedLines, bytes | None]:
    """:func:`read_commit` plus the text of the commit's gitroi note (None: no note), from the
    same git call (``%N``), so the hook's merge with an existing note costs no ``notes show``."""
    return _read_commit(repo, sha, with_note=True)


class CommitRead:
    """:func:`read_commit_and_note` started now and finished when asked: the post-commit
    hook has git prepare the diff while it reads the session logs."""

    def __init__(self, repo: Repo, sha: str) -> None:
        self.repo = repo
        self.sha = sha
        self._wait = repo.git_later(*_log_args(sha, with_note=True))
        self._result: tuple[CommitMeta, AddedLines, bytes | None] | None = None

    def result(self) -> tuple[CommitMeta, AddedLines, bytes | None]:
        if self._result is None:
            self._result = _parse_commit(self.repo, self.sha, self._wait(), with_note=True)
        return self._result

    def close(self) -> None:
        """Reap git when the result is not wanted (after a failure elsewhere)."""
        with contextlib.suppress(GitroiError):
            self._wait()


# One line of context, not zero: git trims a long common tail of the two versions
# before diffing only at -U0 (xdiff-interface.c), and on a file with many
# repeated lines (blank lines in a changelog) that changes which lines its
# heuristics call added.  Hunks at -U1 are those of plain ``git log --numstat``
# (checked per file on every commit of the click and claude-code-action
# corpora), which is also what the survival replay reads.
DIFF_CONTEXT = "-U1"


def _log_args(sha: str, *, with_note: bool) -> list[str]:
    fmt = LOG_FORMAT + ("%N%x00" if with_note else "")
    notes = ["--no-notes", f"--notes={NOTES_REF}"] if with_note else []
    return ["-c", "core.quotepath=off", "log", "-1", "--cc", "-p", DIFF_CONTEXT, "-M", "--no-color",
            "--no-ext-diff", "--no-textconv", *notes, f"--format={fmt}", sha, "--"]


def _read_commit(repo: Repo, sha: str, *, with_note: bool
                 ) -> tuple[CommitMeta, AddedLines, bytes | None]:
    return _parse_commit(repo, sha, repo.git(*_log_args(sha, with_note=with_note)),
                         with_note=with_note)


def _parse_commit(repo: Repo, sha: str, out: bytes, *, with_note: bool
                  ) -> tuple[CommitMeta, AddedLines, bytes | None]:
    fields = LOG_FIELDS + 1 if with_note else LOG_FIELDS
    if with_note and out.count(b"\x00") != fields:
        # a note holding a NUL byte would shift the fields: read it on its own
        meta, added, _ = _read_commit(repo, sha, with_note=False)
        return meta, added, read_note_text(repo, sha)
    parts = out.lstrip(b"\x01").split(b"\x00", fields)
    if len(parts) < fields:
        raise GitroiError(f"cannot read commit {sha[:12]}")
    meta = commit_meta([p.decode("utf-8", "replace") for p in parts[:LOG_FIELDS]])
    note = (parts[LOG_FIELDS] or None) if with_note else None
    patch = parts[fields] if len(parts) > fields else b""
    return meta, parse_patch(patch.splitlines(keepends=True)), note
