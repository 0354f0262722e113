"""Parsing git's ``-U0`` patch stream into file diffs and hunks: a small pure helper.

The replay reads every diff of the history once, so this parser is on the hot
path: it dispatches on the first byte of each line and keeps counters of the
lines a hunk still owes, which is also what tells a deleted line that reads
``--- x`` from the next file's header.  Content stays bytes (non-UTF-8 files are
analysed like any other); paths are decoded with ``surrogateescape`` so they
round-trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from gitroi.speedups import C as _C

GITLINK = b"160000"
SYMLINK = b"120000"


@dataclass(slots=True)
class Hunk:
    """One ``@@ -os,oc +ns,nc @@`` block; ``dels``/``adds`` are the line contents, no newline."""

    os: int
    oc: int
    ns: int
    nc: int
    dels: list[bytes] = field(default_factory=list)
    adds: list[bytes] = field(default_factory=list)
    #: The same lines stripped (filled by the replay, which compares them several ways).
    sdels: list[bytes] = field(default_factory=list)
    sadds: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class CombinedHunk:
    """One ``@@@ -a,b -c,d +e,f @@@`` block of a merge's combined diff (``-c``).

    ``starts`` are the 1-based first lines in each parent, ``rstart``/``rcount``
    the result's; each line keeps its column prefix (one of `` +-`` per parent).
    """

    starts: list[int]
    rstart: int
    rcount: int
    lines: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class FileDiff:
    """One file's change in one commit (``old_path`` None when added, ``new_path`` None when deleted).

    ``skip`` names why the content is not tracked: ``binary`` (git found it
    binary, or it is above ``core.bigFileThreshold``), ``submodule`` (a
    gitlink) or ``symlink``.  ``blob`` is the new version's blob id (full,
    from ``--full-index``), used to classify the file version once.
    """

    old_path: str | None
    new_path: str | None
    hunks: list[Hunk] = field(default_factory=list)
    skip: str | None = None
    blob: str | None = None
    #: For a merge's combined diff: the number of parents and the hunks.
    parents: int = 0
    combined: list[CombinedHunk] = field(default_factory=list)
    #: Each parent's path of a combined diff (``--combined-all-paths``), None if absent there.
    parent_paths: list[str | None] = field(default_factory=list)


def unquote_path(raw: bytes) -> str:
    """A path as git prints it (C-quoted when it holds special bytes) to a str."""
    if raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2:
        body = raw[1:-1]
        out = bytearray()
        i = 0
        esc = {ord("n"): 10, ord("t"): 9, ord('"'): 34, ord("\\"): 92, ord("a"): 7, ord("b"): 8,
               ord("f"): 12, ord("r"): 13, ord("v"): 11}
        while i < len(body):
            c = body[i]
            if c == 92 and i + 1 < len(body):
                n = body[i + 1]
                if 48 <= n <= 55:
                    out.append(int(body[i + 1:i + 4], 8))
                    i += 4
                    continue
                out.append(esc.get(n, n))
                i += 2
                continue
            out.append(c)
            i += 1
        raw = bytes(out)
    return raw.decode("utf-8", "surrogateescape")


def _side_path(rest: bytes) -> str | None:
    """The path of a ``--- a/x`` / ``+++ b/x`` line (after the marker), None for /dev/null."""
    if rest.endswith(b"\t"):
        rest = rest[:-1]
    if rest == b"/dev/null":
        return None
    if rest.startswith(b'"'):
        p = unquote_path(rest)
        return p[2:]
    return rest[2:].decode("utf-8", "surrogateescape")


def _diff_git_path(line: bytes) -> str:
    """The path from ``diff --git a/P b/P`` when both sides are equal (mode-only changes)."""
    body = line[len(b"diff --git "):].rstrip(b"\n")
    if body.startswith(b'"'):
        end = body.index(b'"', 1)
        while body[end - 1] == 92:
            end = body.index(b'"', end + 1)
        return unquote_path(body[: end + 1])[2:]
    half = (len(body) - 1) // 2
    return body[2:half].decode("utf-8", "surrogateescape")


_HUNK = re.compile(rb"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _hunk_header(line: bytes) -> Hunk:
    m = _HUNK.match(line)
    if m is None:
        raise ValueError(f"not a hunk header: {line[:80]!r}")
    a, b, c, d = m.groups()
    return Hunk(int(a), 1 if b is None else int(b), int(c), 1 if d is None else int(d))


def _combined_header(line: bytes) -> CombinedHunk:
    n = len(line) - len(line.lstrip(b"@"))
    parts = line[n + 1:].split(b" ")
    starts: list[int] = []
    for part in parts[:n - 1]:
        starts.append(int(part[1:].split(b",")[0]))
    res = parts[n - 1][1:].split(b",")
    return CombinedHunk(starts, int(res[0]), int(res[1]) if len(res) > 1 else 1)


def _parse_combined(fd: FileDiff, header: bytes, lines: Iterator[bytes]) -> bytes | None:
    """A ``diff --combined PATH`` section (a merge's file that differs from every parent)."""
    body = header[len(b"diff --combined "):-1] if header.startswith(b"diff --combined ") \
        else header[len(b"diff --cc "):-1]
    fd.new_path = fd.old_path = unquote_path(body)
    line = next(lines, None)
    while line is not None and not line.startswith((b"@@@", b"diff ", b"\x01")):
        if line.startswith(b"index "):
            fd.blob = line[6:-1].split(b"..")[-1].split(b" ")[0].decode()
            if line.rstrip(b"\n").endswith((b" " + GITLINK, b" " + SYMLINK)):
                fd.skip = "submodule" if line.rstrip(b"\n").endswith(GITLINK) else "symlink"
        elif line.startswith((b"Binary files ", b"GIT binary patch")):
            fd.skip = fd.skip or "binary"
        elif line.startswith((b"new file mode ", b"deleted file mode ")):
            fd.skip = fd.skip or "added-or-deleted"
        elif line.startswith(b"--- "):
            fd.parent_paths.append(_side_path(line[4:-1]))
        line = next(lines, None)
    while line is not None and line.startswith(b"@@@"):
        h = _combined_header(line)
        fd.parents = len(h.starts)
        fd.combined.append(h)
        out = h.lines
        for raw in lines:
            c = raw[0]
            if c == 32 or c == 43 or c == 45:
                out.append(raw[:-1])
            elif c != 92:
                line = raw
                break
        else:
            line = None
    return line


def _parse_hunks_py(lines: Iterator[bytes], line: bytes | None,
                    strip: bool) -> tuple[list[Hunk], bytes | None]:
    """The hunks starting at ``line`` (an ``@@`` header) and the first line after them.

    With context (-U1, see replay.py) a hunk is split into -U0-style hunks at
    its context lines, so the replay only ever sees pure changes.  ``strip``:
    fill each hunk's ``sdels``/``sadds``.  The reference of
    ``gitroi._speedups.parse_hunks`` (docs/speedups.md).
    """
    hunks: list[Hunk] = []
    while line is not None and line.startswith(b"@@ "):
        hh = _hunk_header(line)
        rd, ra = hh.oc, hh.nc
        old_no = hh.os if hh.oc else hh.os + 1
        new_no = hh.ns if hh.nc else hh.ns + 1
        cur: Hunk | None = None
        line = None
        first_new = len(hunks)
        if rd == 0 or ra == 0:
            # A new or deleted file: one block, no context; take it whole.
            block = [raw[1:-1] for raw in islice(lines, rd or ra)]
            if rd:
                hunks.append(Hunk(hh.os, len(block), hh.ns, 0, dels=block))
            else:
                hunks.append(Hunk(hh.os, 0, hh.ns, len(block), adds=block))
        else:
            dels: list[bytes] = []
            adds: list[bytes] = []
            for raw in lines:
                c = raw[0]
                if c == 45:  # '-'
                    if cur is None:
                        cur = Hunk(old_no, 0, new_no - 1, 0)
                        hunks.append(cur)
                        dels, adds = cur.dels, cur.adds
                    dels.append(raw[1:-1])
                    old_no += 1
                    rd -= 1
                elif c == 43:  # '+'
                    if cur is None:
                        cur = Hunk(old_no - 1, 0, new_no, 0)
                        hunks.append(cur)
                        dels, adds = cur.dels, cur.adds
                    elif not adds:
                        cur.ns = new_no
                    adds.append(raw[1:-1])
                    new_no += 1
                    ra -= 1
                elif c == 32:  # ' ' context
                    cur = None
                    old_no += 1
                    new_no += 1
                    rd -= 1
                    ra -= 1
                elif c != 92:  # not '\ No newline at end of file': a malformed hunk
                    line = raw
                    break
                if rd <= 0 and ra <= 0:
                    break
            for h in hunks[first_new:]:
                h.oc = len(h.dels)
                h.nc = len(h.adds)
        if strip:
            for h in hunks[first_new:]:
                h.sdels = [x.strip() for x in h.dels]
                h.sadds = [x.strip() for x in h.adds]
        if line is None:
            line = next(lines, None)
        while line is not None and line.startswith(b"\\"):
            line = next(lines, None)
    return hunks, line


def parse_files(lines: Iterator[bytes], first: bytes, *,
                strip: bool = False) -> tuple[list[FileDiff], bytes | None]:
    """Parse file diffs starting at ``first`` (a ``diff --git`` line) until a non-diff line.

    Returns the diffs and the first line that does not belong to them (the next
    commit's header), or None at the end of the stream.  ``strip``: fill each
    hunk's stripped lines too (the replay compares them).  The hunks' lines are
    read by the C kernel where the optional extension is built (docs/speedups.md).
    """
    files: list[FileDiff] = []
    line: bytes | None = first
    while line is not None and line.startswith((b"diff --git ", b"diff --combined ", b"diff --cc ")):
        fd = FileDiff(None, None)
        files.append(fd)
        header = line
        if not line.startswith(b"diff --git "):
            line = _parse_combined(fd, header, lines)
            continue
        old_p: str | None = ""
        new_p: str | None = ""
        saw_sides = False
        new_file = deleted = False
        line = next(lines, None)
        # File header: everything up to the first hunk or the next file.
        while line is not None and not line.startswith((b"@@ ", b"diff ", b"\x01")):
            if line.startswith(b"--- "):
                old_p = _side_path(line[4:-1])
                saw_sides = True
            elif line.startswith(b"+++ "):
                new_p = _side_path(line[4:-1])
                saw_sides = True
            elif line.startswith(b"index "):
                parts = line[6:-1].split(b" ")
                if b".." in parts[0]:
                    fd.blob = parts[0].split(b"..")[1].decode()
                if len(parts) > 1 and parts[1] in (GITLINK, SYMLINK):
                    fd.skip = "submodule" if parts[1] == GITLINK else "symlink"
            elif line.startswith(b"rename from "):
                old_p = unquote_path(line[12:-1])
            elif line.startswith(b"rename to "):
                new_p = unquote_path(line[10:-1])
            elif line.startswith(b"new file mode "):
                new_file = True
                mode = line[14:-1]
                if mode in (GITLINK, SYMLINK):
                    fd.skip = "submodule" if mode == GITLINK else "symlink"
            elif line.startswith(b"deleted file mode "):
                deleted = True
                mode = line[18:-1]
                if mode in (GITLINK, SYMLINK):
                    fd.skip = "submodule" if mode == GITLINK else "symlink"
            elif line.startswith(b"new mode "):
                mode = line[9:-1]
                if mode in (GITLINK, SYMLINK):
                    fd.skip = "submodule" if mode == GITLINK else "symlink"
            elif line.startswith((b"Binary files ", b"GIT binary patch")):
                fd.skip = fd.skip or "binary"
            line = next(lines, None)
        if not saw_sides:
            same = _diff_git_path(header)
            if old_p == "":
                old_p = same
            if new_p == "":
                new_p = same
            if new_file:
                old_p = None
            if deleted:
                new_p = None
        fd.old_path = old_p if old_p != "" else None
        fd.new_path = new_p if new_p != "" else None
        if line is not None and line.startswith(b"@@ "):
            got = _C.parse_hunks(lines, line, Hunk, strip) if _C is not None else None
            if got is not None:
                fd.hunks, line = got
            if line is not None and line.startswith(b"@@ "):  # all of them, or from one C could not read
                more, line = _parse_hunks_py(lines, line, strip)
                fd.hunks.extend(more)
    return files, line

