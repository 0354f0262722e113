"""A missing, too-old or incompatible grammar or tree-sitter is a GitroiError that
names the package and the pip command, never a silent text fallback that would put
every line at module level and shift the survival figures."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitroi.errors import GitroiError
from gitroi.survival import parse
from gitroi.survival.languages import GRAMMARS
from tests.conftest import GitRepo, run_gitroi

GO = b"package m\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n"


@pytest.fixture(autouse=True)
def _fresh_grammars(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test loads grammars anew, and leaves the real ones for the next test."""
    monkeypatch.setattr(parse, "_LOADED", {})
    monkeypatch.setattr(parse, "_FAILED", {})
    parse.clear_cache()
    yield
    parse.clear_cache()


def test_real_grammar_names_the_function() -> None:
    assert parse.classify("m.go", GO).symbol[2:5] == ["Add"] * 3


def test_absent_grammar_is_an_error_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tree_sitter_go", None)  # import raises ImportError
    with pytest.raises(GitroiError) as info:
        parse.classify("m.go", GO)
    assert "the go grammar (tree-sitter-go) is not installed" in info.value.message
    assert info.value.hint == "pip install 'tree-sitter-go>=0.23'"
    # remembered: the second file of the language fails the same way, without a retry
    monkeypatch.delitem(sys.modules, "tree_sitter_go")
    with pytest.raises(GitroiError, match="tree-sitter-go"):
        parse.classify("n.go", GO)
    # other languages are unaffected
    assert parse.classify("a.py", b"def f():\n    pass\n").symbol == ["f", "f"]


def test_too_old_grammar_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parse._installed
    monkeypatch.setattr(parse, "_installed",
                        lambda pkg: "0.21.0" if pkg == "tree-sitter-go" else real(pkg))
    with pytest.raises(GitroiError) as info:
        parse.classify("m.go", GO)
    assert info.value.message == ("tree-sitter-go 0.21.0 is installed, but gitroi needs "
                                  "tree-sitter-go>=0.23 to read go files")
    assert info.value.hint == "pip install -U 'tree-sitter-go>=0.23'"


def test_tree_sitter_without_query_cursor_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # what tree-sitter 0.24 gives: the import of QueryCursor fails
    monkeypatch.setattr(parse, "_TREE_SITTER_IMPORT_ERROR",
                        ImportError("cannot import name 'QueryCursor' from 'tree_sitter'"))
    with pytest.raises(GitroiError) as info:
        parse.classify("a.py", b"x = 1\n")
    assert "cannot be used by gitroi: cannot import name 'QueryCursor'" in info.value.message
    assert info.value.hint == "pip install -U 'tree-sitter>=0.26.1'"
    real = parse._installed
    monkeypatch.setattr(parse, "_FAILED", {})
    monkeypatch.setattr(parse, "_installed",
                        lambda pkg: "0.24.0" if pkg == "tree-sitter" else real(pkg))
    with pytest.raises(GitroiError, match=r"tree-sitter 0.24.0 is installed, but gitroi needs "
                                          r"tree-sitter>=0.26.1 to read source files"):
        parse.classify("a.py", b"x = 1\n")


def test_grammar_the_query_does_not_fit_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # an older grammar without a node type gitroi's query names fails like this
    monkeypatch.setitem(GRAMMARS, "go", dataclasses.replace(GRAMMARS["go"], query="(no_such_node) @def"))
    with pytest.raises(GitroiError) as info:
        parse.classify("m.go", GO)
    assert "does not work with tree-sitter" in info.value.message
    assert "gitroi's go query" in info.value.message
    assert "'tree-sitter-go>=0.23'" in (info.value.hint or "")


def test_version_tuple() -> None:
    assert parse._version_tuple("0.23.6") == (0, 23, 6)
    assert parse._version_tuple("0.25.0rc1") == (0, 25, 0)
    assert parse._version_tuple("0.25") < parse._version_tuple("0.25.1")


def _shadow(tmp_path: Path, version: str | None) -> dict[str, str]:
    """A PYTHONPATH entry that hides the real tree_sitter_go: absent (its import
    raises), or an installed distribution of ``version``."""
    site = tmp_path / "shadow"
    site.mkdir()
    if version is None:
        (site / "tree_sitter_go.py").write_text("raise ImportError('No module named tree_sitter_go')\n")
    else:
        (site / "tree_sitter_go").mkdir()
        (site / "tree_sitter_go" / "__init__.py").write_text("def language(): raise RuntimeError\n")
        info = site / f"tree_sitter_go-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tree-sitter-go\nVersion: {version}\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


@pytest.mark.parametrize(("version", "mode", "expected"), [
    (None, "fork", "Error: the go grammar (tree-sitter-go) is not installed"),
    (None, "inline", "Error: the go grammar (tree-sitter-go) is not installed"),
    ("0.21.0", "fork", "Error: tree-sitter-go 0.21.0 is installed, but gitroi needs tree-sitter-go>=0.23"),
])
def test_analyze_stops_with_the_error(repo: GitRepo, tmp_path: Path,
                                      version: str | None, mode: str, expected: str) -> None:
    # "fork": classification in survival/classify.py's worker process, whose error
    # must reach the user as the same message; "inline": in the analysing process
    repo.commit({"m.go": GO.decode()}, "go code\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    env = {**_shadow(tmp_path, version), **({"GITROI_CLASSIFY": "inline"} if mode == "inline" else {})}
    proc = run_gitroi("analyze", cwd=repo.path, env=env, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert expected in proc.stderr
    assert "hint: pip install" in proc.stderr and "'tree-sitter-go>=0.23'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_report_warns_with_the_fix(repo: GitRepo, tmp_path: Path) -> None:
    # report goes on with what it has (its design), but says why survival is missing
    repo.commit({"m.go": GO.decode()}, "go code\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    proc = run_gitroi("report", cwd=repo.path, env=_shadow(tmp_path, None))
    assert ("warning: analysis: the go grammar (tree-sitter-go) is not installed" in proc.stderr)
    assert "(hint: pip install 'tree-sitter-go>=0.23')" in proc.stderr
    assert "not analysed 5" in proc.stdout


def test_installed_version_is_read_from_the_dist_info_name(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Without importing importlib.metadata: pip's ``<name>-<version>.dist-info`` folder says it."""
    site = tmp_path / "site"
    (site / "tree_sitter_fake-1.2.3.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    monkeypatch.setattr(parse, "_LISTINGS", {})
    assert parse._installed("tree-sitter-fake") == "1.2.3"
    assert parse._installed("Tree_Sitter.Fake") == "1.2.3"
    # Two installs in one folder: importlib.metadata decides (here: it knows neither).
    (site / "tree_sitter_fake-1.0.0.dist-info").mkdir()
    monkeypatch.setattr(parse, "_LISTINGS", {})
    assert parse._installed("tree-sitter-fake") is None
    assert parse._installed("tree-sitter") is not None  # the real one, further down sys.path
