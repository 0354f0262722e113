"""Reading whole lines of an append-only log from a byte offset.

Shared by the Claude Code, Codex, Gemini CLI and Aider readers.  An agent may be writing the file
while gitroi reads it, so only lines that end in a newline are consumed: a
trailing partial line is left for the next read, and the returned offset
points just after the last whole line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitroi.sessions import Problem


@dataclass(frozen=True)
class Line:
    """One whole line: where it starts in the file, its 1-based number, its bytes."""

    start: int
    number: int
    raw: bytes  # without the trailing newline (and without a trailing CR)


def read_whole_lines(path: Path, offset: int, first_number: int) -> tuple[list[Line], int]:
    """Every whole line of ``path`` from ``offset``; and the offset after the last one.

    ``first_number`` is the 1-based number of the line that starts at
    ``offset`` (readers keep the count in their state), so problems can name
    the line.  Raises ``OSError`` when the file cannot be read.
    """
    chunks, end = read_raw_lines(path, offset)
    lines: list[Line] = []
    pos = offset
    number = first_number
    for chunk in chunks:
        raw = chunk[:-1] if chunk.endswith(b"\r") else chunk
        lines.append(Line(pos, number, raw))
        pos += len(chunk) + 1
        number += 1
    return lines, end


def read_raw_lines(path: Path, offset: int) -> tuple[list[bytes], int]:
    """The whole lines of ``path`` from ``offset`` as bytes (newline cut, CR kept); and the offset after the last one.

    The bare form of :func:`read_whole_lines` for the Claude Code and Codex
    readers, which need no per-line start or number and read hundreds of
    megabytes.  No whole line gives ``([], offset)``.  Raises ``OSError``.
    """
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    return data[:end].split(b"\n"), offset + end + 1


def decode(raw: bytes) -> str | None:
    """UTF-8 text of a line, or None when it is not valid UTF-8 (counted as a problem)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def iter_files(root: Path, patterns: tuple[str, ...]) -> Iterator[Path]:
    """Files under ``root`` matching any glob pattern, sorted, each once; unreadable dirs skipped."""
    seen: set[Path] = set()
    for pattern in patterns:
        try:
            found = sorted(root.glob(pattern))
        except OSError:
            continue
        for p in found:
            if p in seen:
                continue
            seen.add(p)
            try:
                if p.is_file():
                    yield p
            except OSError:
                continue


def walk_logs(d: Path, problems: list[Problem], *, prefix: str = "", suffix: str = ".jsonl") -> Iterator[Path]:
    """Every ``prefix*suffix`` file below ``d``, depth first in name order, symlinked dirs not followed.

    A directory that cannot be read is recorded as a :class:`Problem` naming
    it (an unreadable folder must not hide the rest); one that vanished while
    walking is skipped silently, since agents delete old transcripts.
    """
    try:
        entries = sorted(os.scandir(d), key=lambda e: e.name)
    except FileNotFoundError:
        return
    except OSError as exc:
        problems.append(Problem(str(d), 0, f"unreadable directory: {exc.strerror or exc}"))
        return
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                yield from walk_logs(Path(e.path), problems, prefix=prefix, suffix=suffix)
            elif e.name.startswith(prefix) and e.name.endswith(suffix) and e.is_file():
                yield Path(e.path)
        except OSError:
            continue
