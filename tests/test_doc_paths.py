"""The docs name only modules and files that exist, and nothing outside the project:
after a move (gitroi/*.py into subpackages) a stale path in a doc or docstring fails
here instead of sending a newcomer to a file that is gone."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from tests.conftest import ROOT

# what the docs may name that is not a module (besides versioned formats such as
# gitroi.note/1): the marker names, the Action's step id, workflow file names
NOT_MODULES = ("gitroi.note", "gitroi.marker", "gitroi.outputs", "gitroi.yml",
               "gitroi.export.schema")  # (a Parquet metadata key)


def _texts() -> list[Path]:
    return sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "gitroi").rglob("*.py"),
                   *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "scripts").glob("*.py"),
                   *(p for p in (ROOT / "hooks").iterdir() if p.is_file()), ROOT / "action.yml"])


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_named_paths_and_modules_exist() -> None:
    stale = []
    for path in _texts():
        text = path.read_text()
        rel = path.relative_to(ROOT)
        for m in re.finditer(r"\bgitroi/[A-Za-z0-9_/]+\.py\b", text):
            if not (ROOT / m.group()).is_file():
                stale.append(f"{rel}: {m.group()}")
        # (a name followed by /N is a versioned format: gitroi.verify/1)
        for m in re.finditer(r"(?<![\w/.-])gitroi(?:\.[a-z_]\w*)+(?![\w/])", text):
            if not m.group().startswith(NOT_MODULES) and not _resolves(m.group()):
                stale.append(f"{rel}: {m.group()}")
    assert not stale, "names of modules or files that do not exist:\n" + "\n".join(stale)


def test_docs_do_not_point_outside_the_project() -> None:
    # the workplace's shared folder is not there for a user or a fresh clone
    # (benchmarks may default to the shared corpora folder beside the project when present,
    # and say so)
    checked = [p for p in _texts() if p.relative_to(ROOT).parts[0] != "benchmarks"]
    outside = [f"{p.relative_to(ROOT)}: {m.group()}" for p in checked
               for m in re.finditer(r"(?:\.\./|/work/)shared\b[^\s`)]*", p.read_text())]
    assert not outside, "\n".join(outside)
