"""The optional C kernels (``gitroi._speedups``) give exactly what their Python twins give.

Each kernel is checked against its pure-Python reference on random and edge
inputs, then a whole analysis (a generated AI-heavy history with merges,
moves, reformats and reverts, and the claude-code-action corpus) is run both
ways and every row compared (docs/speedups.md).  Under CI, where a C compiler
exists the extension must have been built: an install that silently fell back
to Python there would lose the speed without a test noticing (elsewhere, a
checkout not reinstalled since the extension came skips, saying so).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gitroi.speedups as speedups
from gitroi.git import Repo
from gitroi.ledger import open_ledger
from gitroi.ledger import survival as lsurv
from gitroi.survival import replay
from gitroi.survival.analyze import analyze
from gitroi.survival.codes import CSHIFT
from gitroi.survival.replay import make_code, merge_deaths_py
from tests.aiheavy import generate
from tests.conftest import corpus

_HAVE_COMPILER = shutil.which(sysconfig.get_config_var("CC").split()[0] if sysconfig.get_config_var("CC")
                              else "cc") is not None and Path(sysconfig.get_paths()["include"],
                                                              "Python.h").is_file()


_IN_CI = bool(os.environ.get("CI"))  # read at import: the isolated_env fixture clears CI


@pytest.fixture
def kernels() -> Any:
    if speedups.C is None:
        why = speedups.describe()
        if _HAVE_COMPILER and not why.endswith("(GITROI_PURE is set)"):
            why = ("a C compiler and Python.h are here but gitroi._speedups is not built (or is "
                   "stale): reinstall (`pip install -e .`) and read the build's warning")
            if _IN_CI:
                pytest.fail(why)
        pytest.skip(why)
    return speedups.C


def test_gitroi_pure_turns_the_extension_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITROI_PURE", "1")
    assert speedups.load() == (None, "pure Python (GITROI_PURE is set)")
    monkeypatch.setenv("GITROI_PURE", "0")
    module, why = speedups.load()
    assert (module is None) == why.startswith("pure Python (")
    if speedups.C is not None:
        assert module is speedups.C and why == "compiled (gitroi._speedups)"


def test_the_kernels_are_those_the_stub_and_the_loader_name(kernels: Any) -> None:
    """A kernel added to _speedups.c is listed in KERNELS and the stub, with ABI bumped in both."""
    built = {n for n in dir(kernels) if not n.startswith("_") and callable(getattr(kernels, n))}
    stub = (Path(speedups.__file__).parent / "_speedups.pyi").read_text()
    assert built == set(speedups.KERNELS) == set(re.findall(r"^def (\w+)\(", stub, re.M))
    assert kernels.ABI == speedups.ABI


def test_a_stale_build_is_not_used(kernels: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build from an older checkout (another ABI, or a kernel missing): pure Python, said so."""
    stale = (None, "pure Python (gitroi._speedups is a stale build: reinstall gitroi)")
    monkeypatch.setattr(kernels, "ABI", speedups.ABI - 1)
    assert speedups.load() == stale
    monkeypatch.setattr(kernels, "ABI", speedups.ABI)
    monkeypatch.delattr(kernels, "new_codes")
    assert speedups.load() == stale


def test_a_fresh_process_honours_gitroi_pure() -> None:
    code = "import gitroi.speedups as s, gitroi.survival.replay as r; print(s.describe(), r._C is None)"
    out = subprocess.run([sys.executable, "-c", code], env={"GITROI_PURE": "1", "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "pure Python (GITROI_PURE is set) True"


def _random_case(rng: random.Random) -> tuple[list[list[int]], list[list[int]], set[int]]:
    pool = [make_code(rng.randrange(0, 4), rng.randrange(0, 3), rng.randrange(1, 9), rng.randrange(2),
                      rng.randrange(2)) for _ in range(rng.randrange(1, 40))]
    if rng.random() < 0.2:  # the largest codes: commit indexes near 2^20
        pool += [make_code((1 << 20) - rng.randrange(1, 4), 5, 7, 1, 1), (1 << 64) - 1]

    def lists(n: int) -> list[list[int]]:
        return [[rng.choice(pool) for _ in range(rng.randrange(0, 30))] for _ in range(n)]

    return lists(rng.randrange(0, 6)), lists(rng.randrange(0, 6)), set(rng.sample(pool, min(len(pool), rng.randrange(0, 4))))


def test_merge_deaths_matches_the_python_twin(kernels: Any) -> None:
    rng = random.Random(12)
    for _ in range(3000):
        held, now, known = _random_case(rng)
        want = merge_deaths_py(held, now, set(known))
        got = kernels.merge_deaths(held, now, known)
        assert got == want, (held, now, known)
        assert kernels.merge_deaths(held, now, frozenset(known)) == want


def test_merge_held_matches_the_python_twin(kernels: Any) -> None:
    rng = random.Random(3)
    lists = [[], [1], [1], [2, 3], [4]]  # two equal lists that are different objects
    for _ in range(2000):
        views = [{f"p{rng.randrange(8)}": rng.choice(lists) for _ in range(rng.randrange(0, 8))}
                 for _ in range(rng.randrange(0, 4))]
        files = {f"p{rng.randrange(8)}": rng.choice(lists) for _ in range(rng.randrange(0, 8))}
        got = kernels.merge_held(views, files)
        want = replay.merge_held_py(views, files)
        assert got == want
        assert [id(x) for x in got[0]] == [id(x) for x in want[0]]  # the very lists, in order
    with pytest.raises(TypeError):
        kernels.merge_held([[1]], {})


def test_new_codes_matches_the_python_twin(kernels: Any) -> None:
    rng = random.Random(8)
    texts = [b"", b"x = 1", b"# note", b"//", b"/* c */", b"*", b"return", b"#!"]
    for _ in range(3000):
        n = rng.randrange(1, 12)
        adds = [rng.choice(texts) for _ in range(n)]
        acodes = [-1 if rng.random() < 0.7 else make_code(3, 1, rng.randrange(1, 99), 0, 1) for _ in range(n)]
        ns = rng.choice([0, 1, 7, (1 << 20) - 3, 1 << 21])
        base = (rng.choice([1, 5, (1 << 20) - 1]) << 22) | rng.randrange(0, 40)
        flag = rng.choice([0, 2])
        pre = rng.choice([(), (b"#",), (b"//", b"/*", b"*"), (b"",)])
        want, got = list(acodes), list(acodes)
        done = kernels.new_codes(got, adds, ns, base, flag, pre)
        replay.new_codes_py(want, adds, ns, base, flag, pre)
        assert done and got == want, (acodes, adds, ns, base, flag, pre)
    # what it leaves to the twin, untouched: a code above 64 bits, unequal lengths, other types
    for args in (([-1], [b"x"], 1, 1 << 42, 0, ()), ([-1, -1], [b"x"], 1, 5, 0, ()),
                 ([-1], ["x"], 1, 5, 0, ()), ([-1], [b"x"], 1, 5, 0, ("#",)), ([-1], [b"x"], -1, 5, 0, ()),
                 ([-1.0], [b"x"], 1, 5, 0, ()), ([-1], [b"x"], 1, 5, 1, ())):
        acodes = list(args[0])
        assert kernels.new_codes(acodes, *args[1:]) is False and acodes == args[0]


def test_merge_deaths_in_order_and_once() -> None:
    a, b, c, u = make_code(1, 0, 1, 0, 1), make_code(2, 0, 1, 1, 1), make_code(3, 0, 1, 0, 0), make_code(0, 0, 4, 0, 1)
    for fn in filter(None, (merge_deaths_py, speedups.C and speedups.C.merge_deaths)):
        dead, dups = fn([[c, a, c], [b, a, u]], [[a], [a, u, u]], set())
        assert (dead, dups) == ([c, b], [a])  # u is of unknown origin: held twice, never a dup
        assert fn([[c]], [[b, b, a, a]], {b}) == ([c], [a])  # b is known already


def test_merge_deaths_declines_what_it_cannot_hold(kernels: Any) -> None:
    """Codes outside 0..2^64-1 or not ints: None, and the caller runs the Python twin."""
    for bad in (-1, 1 << 64, 1.0, True, "x"):
        assert kernels.merge_deaths([[1, bad]], [[2]], set()) is None
        assert kernels.merge_deaths([[1]], [[2, bad]], set()) is None
    assert kernels.CSHIFT == CSHIFT and kernels.ABI == speedups.ABI
    with pytest.raises(TypeError):
        kernels.merge_deaths([[1]], [[2]], [])
    with pytest.raises(TypeError):
        kernels.merge_deaths([[1]], (2,), set())


# ------------------------------------------------------------------ the patch parser's hunks

_PIECES = [b"diff --git a/x b/x\n", b"--- a/x\n", b"+++ b/x\n", b"@@ -1,2 +1,3 @@\n", b"@@ -3 +4 @@\n",
           b"@@ -0,0 +1,2 @@\n", b"@@ -5,2 +4,0 @@\n", b"@@ -1 +x @@\n", b"@@ -1,2,3 +1 @@\n",
           b"@@ -99999999999999999999,1 +1 @@\n", b"@@\n", b"@@ -2,1 +2,1 @@ def f():\n", b"+a\n",
           b"-b\n", b" c\n", b"+  padded \t\n", b"-\tb  \n", b"+\n", b"-\n", b" \n", b"++d\n",
           b"\\ No newline at end of file\n", b"Binary files differ\n", b"\x01C next\n", b"x\n", b"+no newline"]


def _parse_both_ways(lines: list[bytes], monkeypatch: pytest.MonkeyPatch, strip: bool) -> list[Any]:
    from gitroi.git import patch

    out = []
    for c in (speedups.C, None):
        monkeypatch.setattr(patch, "_C", c)
        it = iter(lines)
        try:
            files, line = patch.parse_files(it, next(it), strip=strip)
            out.append(([(f.old_path, f.new_path, f.skip, f.hunks) for f in files], line, list(it)))
        except ValueError as e:  # "not a hunk header", raised by the Python twin either way
            out.append(("ValueError", str(e), list(it)))
    return out


def test_parse_hunks_matches_the_python_twin(kernels: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    for _ in range(4000):
        body = [rng.choice(_PIECES) if rng.random() < 0.9 else bytes(rng.randrange(256)
                for _ in range(rng.randrange(0, 6))) + b"\n" for _ in range(rng.randrange(0, 25))]
        lines = [b"diff --git a/x b/x\n", b"--- a/x\n", b"+++ b/x\n", *body]
        compiled, pure = _parse_both_ways(lines, monkeypatch, strip=rng.random() < 0.7)
        assert compiled == pure, lines


def test_parse_hunks_splits_at_context_and_strips() -> None:
    from gitroi.git.patch import Hunk, _parse_hunks_py

    lines = [b"-a\n", b"+ a \n", b" ctx\n", b"+b\n", b"\\ No newline at end of file\n", b"diff --git\n"]
    for fn in filter(None, (speedups.C and speedups.C.parse_hunks,
                            lambda it, line, _t, strip: _parse_hunks_py(it, line, strip))):
        hunks, line = fn(iter(lines), b"@@ -1,2 +1,3 @@ f\n", Hunk, True)
        assert line == b"diff --git\n"
        assert hunks == [Hunk(1, 1, 1, 1, [b"a"], [b" a "], [b"a"], [b"a"]),
                         Hunk(2, 0, 3, 1, [], [b"b"], [], [b"b"])]


# ------------------------------------------------------------------ whole analyses, both ways


def _rows(path: Path) -> dict[str, Any]:
    """A cold analysis's figures and every row it wrote (the ledger removed first)."""
    shutil.rmtree(path / ".git" / "gitroi", ignore_errors=True)
    db = open_ledger(path / ".git" / "gitroi" / "ledger.db")
    try:
        result = analyze(Repo.discover(path), db)
        summary = lsurv.summary(db)
        summary.pop("analysed_at", None)
        out: dict[str, Any] = {"summary": summary, "message": result.message}
        for table in ("line_outcomes", "line_carried", "commits"):
            out[table] = db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4").fetchall()
            out[table].sort(key=repr)
        return out
    finally:
        db.close()


class _Counting:
    """The extension, counting each kernel's calls and its refusals (None or False)."""

    def __init__(self, c: Any) -> None:
        self.c = c
        self.calls: dict[str, int] = dict.fromkeys(speedups.KERNELS, 0)
        self.declined: dict[str, int] = dict.fromkeys(speedups.KERNELS, 0)

    def __getattr__(self, name: str) -> Any:
        kernel = getattr(self.c, name)
        if name not in self.calls:
            return kernel

        def counted(*args: Any) -> Any:
            self.calls[name] += 1
            res = kernel(*args)
            self.declined[name] += res is None or res is False
            return res
        return counted


def _both_ways(path: Path, monkeypatch: pytest.MonkeyPatch, kernels: Any) -> Iterator[dict[str, Any]]:
    from gitroi.git import patch

    counting = _Counting(kernels)
    monkeypatch.setattr(replay, "_C", counting)
    monkeypatch.setattr(patch, "_C", counting)
    yield _rows(path)
    assert all(counting.calls.values()), counting.calls  # every kernel ran, and none declined
    assert not any(counting.declined.values()), counting.declined
    monkeypatch.setattr(replay, "_C", None)
    monkeypatch.setattr(patch, "_C", None)
    yield _rows(path)


def _clone(source: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True)
    return dest


def test_a_generated_history_gives_the_same_rows_both_ways(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernels: Any) -> None:
    clone = _clone(generate(tmp_path / "src.git", 600, seed=23), tmp_path / "clone")
    compiled, pure = _both_ways(clone, monkeypatch, kernels)
    assert compiled["summary"]["commits_analysed"] == 600
    assert compiled["line_outcomes"] and compiled == pure


def test_claude_code_action_gives_the_same_rows_both_ways(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernels: Any) -> None:
    clone = _clone(corpus("claude-code-action"), tmp_path / "cca")
    compiled, pure = _both_ways(clone, monkeypatch, kernels)
    assert compiled == pure
