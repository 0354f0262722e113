"""What a packager and a newcomer rely on: README's two commands are the ones CI
runs, the declared lower bounds are the ones .ci/min-versions tests, and the sdist
and wheel build cleanly, pass ``twine check`` and carry the licence."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

from gitroi.survival import parse
from tests.conftest import ROOT


def _project() -> dict[str, object]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        data = tomllib.load(f)
    project = data["project"]
    assert isinstance(project, dict)
    return project


def _readme_commands() -> list[str]:
    """The fenced ``sh`` blocks of README.md's "Two commands" section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_readme_has_two_one_line_commands() -> None:
    install, test = _readme_commands()
    assert "\n" not in install and "\n" not in test
    # the first installs gitroi and runs its main job
    assert install.startswith("python3 -m venv .venv && ")
    assert re.search(r"pip install -q \. ", install) and install.endswith("gitroi report")
    # the second installs what the tests need, then runs them: it works on its
    # own, and right after the first
    assert test.startswith("python3 -m venv .venv && ")
    assert ".venv/bin/pip install -q -e '.[test]'" in test
    assert test.endswith(".venv/bin/python -m pytest -q -n 2")


def test_ci_runs_readmes_test_command() -> None:
    _, test = _readme_commands()
    script = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == test, "the last command of .ci/run must be README.md's test command"
    assert script.count(test) == 1
    assert "set -euo pipefail" in script  # a failing step fails CI


def _lower_bounds(requirements: list[str]) -> dict[str, str]:
    bounds = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)>=([0-9][0-9.]*)", req.replace(" ", ""))
        assert m, f"{req!r}: every dependency has one lower bound, written NAME>=VERSION"
        bounds[m.group(1).lower()] = m.group(2)
    return bounds


def _release(version: str) -> tuple[int, ...]:
    parts = list(parse._version_tuple(version))
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def test_min_versions_pin_every_lower_bound() -> None:
    deps = _project()["dependencies"]
    assert isinstance(deps, list)
    bounds = _lower_bounds(deps)
    pins = {}
    for line in (ROOT / ".ci" / "min-versions.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    assert set(pins) == set(bounds)
    for name, bound in bounds.items():
        # the pin is the bound itself, written in full or not (8.1 -> 8.1.0)
        assert _release(pins[name]) == _release(bound), (name, pins[name], bound)
    # the error messages of survival/parse.py name the same minimums
    for name, version in parse.MIN_VERSIONS.items():
        assert bounds[name] == version, name


def test_dev_extra_holds_the_linters_exact_pins() -> None:
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    assert all("==" in req for req in extras["dev"])
    assert {req.split("==")[0] for req in extras["dev"]} == {"ruff", "mypy"}
    # the test extra brings the linters (tests/test_quality.py runs them) and the
    # build tools of test_build_and_twine_check
    assert "gitroi[dev]" in extras["test"]
    assert {"build", "twine"} <= {re.split(r"[<>=]", req)[0] for req in extras["test"]}


def test_metadata_a_packager_expects() -> None:
    project = _project()
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    classifiers = project["classifiers"]
    assert isinstance(classifiers, list)
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # superseded by license
    urls = project["urls"]
    assert isinstance(urls, dict) and {"Homepage", "Source", "Issues"} <= set(urls)
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 the gitroi authors\n")


def test_build_and_twine_check(tmp_path: Path) -> None:
    """``python -m build`` (in its own isolated environment, as a release would) and
    ``twine check``; the licence is inside both, and the sdist carries the tests."""
    # a copy, so that build/ and *.egg-info are not written into the checkout
    # while other tests read it
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache", "*.so"))
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheel, = out.glob("gitroi-*.whl")
    sdist, = out.glob("gitroi-*.tar.gz")

    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
        assert z.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        metadata = z.read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
    assert "Requires-Dist: tree-sitter>=0.26.1" in metadata
    for shipped in ("gitroi/py.typed", "gitroi/data/prices.json", "gitroi/hook_templates/post-commit",
                    "gitroi/survival/parse.py", "gitroi/cli/__init__.py"):
        assert shipped in names, shipped
    assert not any(n.startswith("tests/") for n in names)
    # the optional accelerator: its stub always, its build where a compiler is (docs/speedups.md)
    assert "gitroi/_speedups.pyi" in names and "gitroi/_speedups.c" not in names
    if shutil.which("cc") or shutil.which("gcc"):
        assert any(re.fullmatch(r"gitroi/_speedups\..*\.so", n) for n in names), names

    with tarfile.open(sdist) as t:
        members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    assert {"LICENSE", "README.md", "pyproject.toml", "tests/conftest.py",
            "tests/fixtures/corpora/claude-code-action.bundle", "hooks/post-commit",
            "docs/notes.md", "action.yml", ".ci/run", ".ci/min-versions.txt", "setup.py",
            "gitroi/_speedups.c"} <= members
    assert not any(m.endswith(".pyc") for m in members)

    twine = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                           capture_output=True, text=True)
    assert twine.returncode == 0, twine.stdout + twine.stderr
    assert twine.stdout.count("PASSED") == 2, twine.stdout
