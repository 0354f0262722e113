"""The hook's cache of what Python compiles (gitroi/attribution/compilecache.py: dataclass
methods, regular expressions), and its phase trace (gitroi/attribution/hooktrace.py): on real
commits through the installed hooks, and on classes and patterns made with and without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GitRepo
from tests.test_hooks_speed import _attributed, _commit, _story

MADE = '''
import dataclasses, re, sys
from re import _compiler
from gitroi.attribution import compilecache
plain_compile = _compiler.compile
if sys.argv[1] == "cached":
    compilecache.install()

PATTERNS = [(r"^[ \\t]*co-authored-by:[ \\t]*(.*?)[ \\t]*<([^>\\n]*)>[ \\t]*$", re.I | re.M),
            (r"(?P<year>\\d{4})-(?P<month>\\d\\d)|(?i:claude)", 0), (rb"\\x00+(?=end)", re.S)]
for text, flags in PATTERNS:
    re.purge()
    made = re.compile(text, flags)
    assert made == plain_compile(text, flags), text  # the same matcher code, flags, pattern
    subject = b"a\\x00\\x00end" if isinstance(text, bytes) else "Co-authored-by: A <a@x>\\n2026-02 Claude"
    print(made.groups, made.groupindex, [m.span() for m in made.finditer(subject)])

@dataclasses.dataclass(frozen=True)
class Edit:
    """An edit."""
    path: str
    lines: tuple[int, ...] = ()
    cost: float | None = None

@dataclasses.dataclass(order=True)
class Row:
    """A row."""
    n: int
    tags: list[str] = dataclasses.field(default_factory=list)

a, b = Edit("x.py", (1, 2)), Edit("x.py", (1, 2))
try:
    a.path = "y"  # type: ignore[misc]
    frozen = "no"
except dataclasses.FrozenInstanceError:
    frozen = "yes"
r = Row(2)
r.tags.append("t")
print(repr(a), a == b, hash(a) == hash(b), frozen, repr(r), Row(1) < r, Row(1).tags,
      [f.name for f in dataclasses.fields(Edit)], dataclasses.replace(a, cost=0.5),
      dataclasses.asdict(r), Edit.__init__.__qualname__)
compilecache.save()
'''


def _cache_file(home: Path) -> Path:
    return home / ".cache" / "gitroi" / f"hook-compiled.{sys.implementation.cache_tag}.marshal"


def test_classes_made_from_the_cache_are_the_same(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", MADE, mode], capture_output=True, text=True,
                           env=env) for mode in ("plain", "cached", "cached")]
    assert [r.stderr for r in runs] == ["", "", ""]
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout
    assert "Edit(path='x.py', lines=(1, 2), cost=None) True True yes" in runs[0].stdout
    assert "2 {'year': 1, 'month': 2} [(24, 31), (32, 38)]" in runs[0].stdout
    cache = tmp_path / "cache" / "gitroi" / f"hook-compiled.{sys.implementation.cache_tag}.marshal"
    assert cache.stat().st_size > 0


def test_hook_writes_the_cache_once_and_reads_it(repo: GitRepo, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    t = _story(repo, tmp_path, monkeypatch)
    cache = _cache_file(Path(os.environ["HOME"]))
    assert not cache.exists()
    proc = _commit(repo, {})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert _attributed(repo) == ("line", {"app.py": [[5, 6]]}, 2, 26459)
    assert cache.stat().st_size > 10_000  # the hook's ~20 classes, several methods each
    import marshal

    kept = marshal.loads(cache.read_bytes()[4:])
    assert len(kept["classes"]) > 60 and len(kept["patterns"]) > 20
    stats = []
    for n, (old, new) in enumerate([("hi", "hello"), ("hello", "hey")]):
        t.edit(f"2026-02-12T16:1{n}:27.718Z", f"msg_{n}", f"toolu_{n}", repo.path / "app.py",
               f"    print(f'{old} {{name}}')", f"    print(f'{new} {{name}}')",
               input=3, output=9, cache_write=10, cache_read=20)
        subprocess.run(["git", "add", "-A"], cwd=repo.path, check=True)
        date = f"2026-02-12T16:1{n}:50Z"
        proc = subprocess.run(["git", "commit", "-q", "-m", new], cwd=repo.path,
                              capture_output=True, text=True,
                              env={**os.environ, "GIT_AUTHOR_DATE": date,
                                   "GIT_COMMITTER_DATE": date})
        assert (proc.returncode, proc.stderr) == (0, "")
        note = json.loads(repo.git("notes", "--ref=gitroi", "show", "HEAD"))
        assert note["attribution"] == "line" and note["ai_ranges"] == {"app.py": [[6, 6]]}
        st = cache.stat()
        stats.append((st.st_ino, st.st_mtime_ns))
    # the second commit priced new usage (one more class); the third made classes of shapes
    # all in the cache: read, not rewritten
    assert stats[0] == stats[1]


def test_a_corrupt_cache_is_ignored_and_replaced(repo: GitRepo, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _story(repo, tmp_path, monkeypatch)
    cache = _cache_file(Path(os.environ["HOME"]))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"\x00not marshal data")
    proc = _commit(repo, {})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert _attributed(repo) == ("line", {"app.py": [[5, 6]]}, 2, 26459)
    from importlib.util import MAGIC_NUMBER

    assert cache.read_bytes().startswith(MAGIC_NUMBER)


def test_an_unwritable_cache_only_means_compiling(repo: GitRepo, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _story(repo, tmp_path, monkeypatch)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder would be\n")
    proc = _commit(repo, {"XDG_CACHE_HOME": str(blocker)})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert _attributed(repo) == ("line", {"app.py": [[5, 6]]}, 2, 26459)


def test_the_trace_names_every_phase(repo: GitRepo, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed hook does the work in its own process (no worker: one trace line) while
    the script waits on its pipe."""
    _story(repo, tmp_path, monkeypatch)
    monkeypatch.delenv("GITROI_HOOK_FOREGROUND")  # the default: the deadline is watched
    trace = tmp_path / "trace.jsonl"
    proc = _commit(repo, {"GITROI_HOOK_TRACE": str(trace)})
    assert (proc.returncode, proc.stderr) == (0, "")
    [line] = [json.loads(x) for x in trace.read_text().splitlines()]
    assert [m[0] for m in line["marks"]] == [
        "started", "imported the hook", "job recorded", "locked", "started git log",
        "opened the ledger", "read the session logs", "decided", "wrote the note",
        "wrote the rows", "committed the ledger", "job finished"]
    cpu = [m[2] for m in line["marks"]]
    assert cpu == sorted(cpu)


def test_a_cache_of_another_python_is_not_used(tmp_path: Path) -> None:
    """Same file name and magic number, another exact version: compiled afresh, rewritten."""
    import marshal
    from importlib.util import MAGIC_NUMBER

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cache = tmp_path / "cache" / "gitroi" / f"hook-compiled.{sys.implementation.cache_tag}.marshal"
    first = subprocess.run([sys.executable, "-c", MADE, "cached"], capture_output=True, text=True,
                           env=env)
    data = marshal.loads(cache.read_bytes()[len(MAGIC_NUMBER):])
    assert data["version"][0] == sys.hexversion
    data["version"] = (sys.hexversion - 1, data["version"][1])
    data["classes"] = {k: compile("raise SystemExit('stale code ran')", "<string>", "exec")
                       for k in data["classes"]}
    cache.write_bytes(MAGIC_NUMBER + marshal.dumps(data))
    again = subprocess.run([sys.executable, "-c", MADE, "cached"], capture_output=True, text=True,
                           env=env)
    assert (again.returncode, again.stderr, again.stdout) == (0, "", first.stdout)
    assert marshal.loads(cache.read_bytes()[len(MAGIC_NUMBER):])["version"][0] == sys.hexversion
