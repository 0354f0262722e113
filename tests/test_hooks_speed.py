"""What keeps the post-commit hook fast, checked on a real `git commit` with the hooks
installed: the modules its process loads, and the git commands it runs (two: the commit's
diff with its note, and the note's write)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gitroi
from gitroi.attribution.commits import CommitRead, read_commit, read_commit_and_note
from gitroi.attribution.notes import Note, read_note, write_note
from gitroi.git import Repo
from tests.conftest import ROOT, GitRepo, run_gitroi
from tests.test_attribution_claude_log import Transcript, codex_rollout, codex_usage

HEAVY = {"click", "sqlite_utils", "tree_sitter", "pygit2", "github3"}

# Loaded by the hook process through PYTHONPATH (the hook runs `sitecustomize` as `site`
# would): writes "name type" of every module in sys.modules when the process ends (the hook
# leaves through os._exit), and whether the interpreter started without `site` (-S) and had
# it run since (site.main() defines builtins.quit).
PROBE = '''
import builtins, os, sys
_real_exit = os._exit

def _dump():
    path = os.environ.get("PROBE_MODULES_OUT")
    if path and "gitroi.attribution.postcommit" in sys.modules:
        with open(path, "a") as f:
            f.write("".join(f"{n} {type(m).__name__}\\n" for n, m in sorted(sys.modules.items())))
            f.write(f"(no_site) {sys.flags.no_site}\\n(site_ran) {hasattr(builtins, 'quit')}\\n")
            dt = sys.modules.get("datetime")
            f.write(f"(datetime) {getattr(dt, '__name__', None)}\\n")

def _exit(code):
    _dump()
    _real_exit(code)

os._exit = _exit
'''

def _story(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Transcript:
    """A repository with gitroi installed, its ledger made, and an agent edit to commit."""
    root = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    monkeypatch.setenv("GITROI_HOOK_FOREGROUND", "1")
    repo.commit({"app.py": "import os\n\n\ndef main():\n    print('hi')\n"}, "base",
                date="2026-02-12T15:00:00Z")
    run_gitroi("install", cwd=repo.path)
    t = Transcript(root, repo.path)
    t.edit("2026-02-12T16:02:27.718Z", "msg_A", "toolu_A", repo.path / "app.py", "    print('hi')",
           "    name = os.environ.get('USER', 'world')\n    print(f'hi {name}')",
           input=3, output=9, cache_write=15005, cache_read=11442)
    run_gitroi("sessions", "import", cwd=repo.path)  # the ledger exists, as after a first commit
    return t


def _commit(repo: GitRepo, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    date = "2026-02-12T16:05:00Z"
    subprocess.run(["git", "add", "-A"], cwd=repo.path, check=True)
    return subprocess.run(["git", "commit", "-q", "-m", "greet by name"], cwd=repo.path,
                          capture_output=True, text=True,
                          env={**os.environ, **env, "GIT_AUTHOR_DATE": date,
                               "GIT_COMMITTER_DATE": date})


def _attributed(repo: GitRepo) -> tuple[object, ...]:
    d = json.loads(run_gitroi("show", "HEAD", "--json", cwd=repo.path).stdout)
    return d["attribution"], d["ai_ranges"], d["lines_added"], d["tokens"]


def _probed_commit(repo: GitRepo, tmp_path: Path) -> dict[str, str]:
    """Commit with the probe's sitecustomize on the path: the modules the hook loaded, and how."""
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(PROBE)
    out = tmp_path / "modules.txt"
    proc = _commit(repo, {"PYTHONPATH": str(probe), "PROBE_MODULES_OUT": str(out)})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert _attributed(repo) == ("line", {"app.py": [[5, 6]]}, 2, 26459)
    return dict(line.split() for line in out.read_text().splitlines())


def test_hook_process_loads_no_heavy_module(repo: GitRepo, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _story(repo, tmp_path, monkeypatch)
    modules = _probed_commit(repo, tmp_path)
    assert "gitroi.attribution.attribute" in modules and "gitroi.sessions.claude_code" in modules
    loaded = {name.split(".")[0] for name, kind in modules.items() if kind == "module"}
    assert loaded & HEAVY == set()
    # sqlite-utils is only the hook's stand-in; logging is not needed at all, nor typing
    # (~2.5 ms: the hook's modules take Any, Literal, Protocol under TYPE_CHECKING only)
    assert modules.get("sqlite_utils") == "_Stub" and "sqlite_utils.db" not in modules
    assert "logging" not in modules
    assert "typing" not in modules
    # git is spawned without `subprocess` (gitroi/git/spawn.py: ~4 ms of imports saved)
    assert "subprocess" not in modules and "threading" not in modules
    # only the readers of agents whose log folders exist here are loaded (Aider's always)
    readers = {n for n in modules if n.startswith("gitroi.sessions.") and n.split(".")[2] in
               {"claude_code", "codex", "gemini", "opencode", "aider"}}
    assert readers == {"gitroi.sessions.claude_code", "gitroi.sessions.aider"}
    # pathlib's urllib.parse (with ipaddress) is a stand-in: the hook never makes a file: URI
    assert modules.get("urllib.parse") == "_Stub" and "ipaddress" not in modules
    # datetime is CPython's C module itself (datetime.py would build its Python twin first)
    assert modules["(datetime)"] == "_datetime"
    # started with `python -S` (hooks/, gitroi.attribution.hookboot), and nothing it imported
    # needed site-packages, so `site` never ran (~16 ms with an editable install's finder)
    assert modules["(no_site)"] == "1" and modules["(site_ran)"] == "False"
    # the note names this gitroi's version, found without site-packages on sys.path
    note = json.loads(repo.git("notes", "--ref=gitroi", "show", "HEAD"))
    assert note["source"] == f"gitroi {gitroi.__version__}" != "gitroi 0.0.0"


def test_hook_sets_site_up_when_an_import_needs_it(repo: GitRepo, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The first commit after `gitroi install` creates the ledger from the baked schema, without
    sqlite-utils (nor `site`).  A ledger an older gitroi left a migration behind does take
    sqlite-utils (in site-packages): the hook started without `site` sets it up then, and
    attributes."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    monkeypatch.setenv("GITROI_HOOK_FOREGROUND", "1")
    repo.commit({"app.py": "import os\n\n\ndef main():\n    print('hi')\n"}, "base",
                date="2026-02-12T15:00:00Z")
    run_gitroi("install", cwd=repo.path)
    hook = (repo.path / ".git" / "hooks" / "post-commit").read_text()
    assert f"BOOT='{ROOT / 'gitroi' / 'attribution' / 'hookboot.py'}'" in hook
    t = Transcript(tmp_path / "claude", repo.path)
    t.edit("2026-02-12T16:02:27.718Z", "msg_A", "toolu_A", repo.path / "app.py", "    print('hi')",
           "    name = os.environ.get('USER', 'world')\n    print(f'hi {name}')",
           input=3, output=9, cache_write=15005, cache_read=11442)
    ledger = repo.path / ".git" / "gitroi" / "ledger.db"
    assert not ledger.exists()
    modules = _probed_commit(repo, tmp_path)
    assert modules["(no_site)"] == "1" and modules["(site_ran)"] == "False"
    assert "sqlite_utils.db" not in modules and ledger.is_file()
    # an older gitroi's ledger: one migration missing
    import sqlite3

    conn = sqlite3.connect(str(ledger))
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm070_report_model_providers'")
    conn.execute("DROP TABLE model_providers")
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.close()
    repo.git("notes", "--ref=refs/notes/gitroi", "remove", "HEAD")
    repo.git("reset", "-q", "--soft", "HEAD~1")
    (tmp_path / "again").mkdir()
    modules = _probed_commit(repo, tmp_path / "again")
    assert modules["(no_site)"] == "1" and modules["(site_ran)"] == "True"
    assert modules.get("sqlite_utils") == "module" and "sqlite_utils.db" in modules


def test_hook_runs_two_git_commands(repo: GitRepo, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _story(repo, tmp_path, monkeypatch)
    trace = tmp_path / "trace2.log"  # every git process logs its command line here
    proc = _commit(repo, {"GIT_TRACE2": str(trace)})
    assert (proc.returncode, proc.stderr) == (0, "")
    argvs = [line.split(" start ", 1)[1].split() for line in trace.read_text().splitlines()
             if " start " in line and " maintenance run --auto" not in line]
    # the user's `git commit`, then the hook's two (run in the work tree by `git -C`, spawned
    # without `subprocess`): no rev-parse, no worktree list
    top = str(repo.path.resolve())
    calls = [argv[3:6] if argv[1:3] == ["-C", top] else argv[1:4] for argv in argvs]
    assert calls == [["commit", "-q", "-m"], ["-c", "core.quotepath=off", "log"],
                     ["notes", "--ref=refs/notes/gitroi", "add"]]
    assert [argv[1:3] for argv in argvs[1:]] == [["-C", top]] * 2
    assert _attributed(repo) == ("line", {"app.py": [[5, 6]]}, 2, 26459)


def test_worktrees_without_git_for_a_plain_repository(repo: GitRepo,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    repo.commit({"a.py": "x\n"}, "one")
    paths = Repo.discover(repo.path).paths
    monkeypatch.setattr("gitroi.git.run_git", lambda *a, **k: pytest.fail("git was run"))
    assert paths.worktrees() == [repo.path.resolve()]


def test_worktrees_listed_once_until_one_is_added(repo: GitRepo, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import gitroi.git as g

    repo.commit({"a.py": "x\n"}, "one")
    repo.git("worktree", "add", "-q", str(tmp_path / "wt1"))
    paths = Repo.discover(repo.path).paths
    calls: list[list[str]] = []
    real = g.run_git

    def counting(args: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
        calls.append(list(args))
        return real(args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(g, "run_git", counting)
    first = [repo.path.resolve(), (tmp_path / "wt1").resolve()]
    assert paths.worktrees() == first
    assert paths.worktrees() == first
    assert len(calls) == 1
    real(["worktree", "add", "-q", str(tmp_path / "wt2")], cwd=repo.path)
    assert paths.worktrees() == [*first, (tmp_path / "wt2").resolve()]
    assert len(calls) == 2


def test_hook_finds_the_repository_as_git_does(repo: GitRepo, tmp_path: Path) -> None:
    from gitroi.attribution.fastgit import discover_repo

    repo.commit({"a.py": "x\n"}, "one")
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"))
    for top in (repo.path, tmp_path / "wt"):
        assert discover_repo(str(top)).paths == Repo.discover(top).paths
    # in a subdirectory (not where git runs hooks) git is asked
    (repo.path / "sub").mkdir()
    assert discover_repo(str(repo.path / "sub")).paths == Repo.discover(repo.path).paths


def test_commit_and_note_read_in_one_call(repo: GitRepo) -> None:
    repo.commit({"a.py": "x\ny\n"}, "one")
    r = Repo.discover(repo.path)
    sha = repo.git("rev-parse", "HEAD")
    meta, added, note = read_commit_and_note(r, sha)
    assert (meta, added, note) == (*read_commit(r, sha), None)
    first = write_note(r, sha, Note.build(attribution="commit", agents=["codex"], lines_added=2,
                                          ai_ranges={"a.py": [(1, 2)]}))
    _, _, text = read_commit_and_note(r, sha)
    assert text == first.dumps().encode()
    pending = CommitRead(r, sha)
    assert pending.result() == read_commit_and_note(r, sha)
    pending.close()
    # the note read with the commit is merged exactly as one read by `git notes show`
    more = Note.build(attribution="line", agents=["claude-code"], lines_added=2,
                      ai_ranges={"a.py": [(2, 2)]})
    assert write_note(r, sha, more, existing=text) == write_note(r, sha, more)
    assert read_note(r, sha) == write_note(r, sha, more)
    assert read_note(r, sha).attribution == "line"  # type: ignore[union-attr]


def test_inspect_stand_in_loads_on_first_use() -> None:
    code = (
        "import sys\n"
        "from gitroi.attribution.lazymodules import defer_inspect\n"
        "defer_inspect()\n"
        "import gitroi.attribution.attribute, gitroi.sessions.importer\n"
        "before = type(sys.modules['inspect']).__name__\n"
        "from dataclasses import dataclass\n"
        "@dataclass\n"
        "class NoDoc:\n"
        "    a: int\n"
        "print(before, type(sys.modules['inspect']).__name__, NoDoc.__doc__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stderr == ""
    assert out.stdout.split() == ["_Stub", "module", "NoDoc(a:", "int)"]


def test_sqlite_utils_stand_in_loads_on_use() -> None:
    """`from sqlite_utils import Database` keeps the stand-in (found without a look-up that, in a
    hook started with `python -S`, would set `site` up); calling Database loads the package."""
    code = (
        "import sys\n"
        "from gitroi.attribution.lazymodules import defer_sqlite_utils\n"
        "defer_sqlite_utils()\n"
        "from sqlite_utils import Database\n"
        "kinds = [type(sys.modules['sqlite_utils']).__name__]\n"
        "db = Database(memory=True)\n"
        "kinds.append(type(sys.modules['sqlite_utils']).__name__)\n"
        "print(*kinds, type(db) is sys.modules['sqlite_utils'].Database)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stderr == ""
    assert out.stdout.split() == ["_Stub", "module", "True"]


def _as_the_hook_runs(code: str) -> str:
    """``code``'s output in a Python started with ``-S``, as the hooks run it (``site``, an
    editable install's finder, would import things first); it must say nothing on stderr."""
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stderr == ""
    return out.stdout


def test_urllib_parse_stand_in_loads_on_first_use() -> None:
    code = (
        "import sys\n"
        "from gitroi.attribution.lazymodules import defer_urllib_parse\n"
        "defer_urllib_parse()\n"
        "import pathlib, urllib.parse\n"
        "before = type(sys.modules['urllib.parse']).__name__, 'ipaddress' in sys.modules\n"
        "uri = pathlib.Path('/tmp/a b').as_uri()\n"
        "print(*before, uri, type(sys.modules['urllib.parse']).__name__,\n"
        "      urllib.parse.quote('c d'), urllib.parse is sys.modules['urllib.parse'])\n")
    assert _as_the_hook_runs(code).split() == ["_Stub", "False", "file:///tmp/a%20b", "module", "c%20d", "True"]


def test_readers_of_absent_agents_are_not_loaded(tmp_path: Path) -> None:
    from gitroi.sessions.registry import readers

    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    env = {"CODEX_HOME": str(tmp_path / "no-codex"), "OPENCODE_DATA_DIR": str(tmp_path / "oc")}
    present = [r.agent for r in readers(present=(env, home))]
    assert present == ["gemini-cli", "aider"]
    (tmp_path / "oc").mkdir()
    (home / ".claude" / "projects").mkdir(parents=True)
    present = [r.agent for r in readers(present=(env, home))]
    assert present == ["claude-code", "gemini-cli", "opencode", "aider"]
    # each present reader's roots are the ones the check looked at
    for r in readers(present=(env, home)):
        assert any(p.exists() for p in r.roots(env, home)) or r.agent == "aider"


def test_hook_attributes_a_codex_edit_with_only_present_readers(
        repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook loads the Codex reader because $CODEX_HOME exists, and attributes its edit."""
    home = tmp_path / "codex"
    monkeypatch.setenv("CODEX_HOME", str(home))
    repo.commit({"README.md": "# demo\n"}, "base", date="2026-02-23T19:00:00Z")
    run_gitroi("install", cwd=repo.path)
    usage = codex_usage(1000, 200, 50, 10)
    codex_rollout(home, repo.path, "calc.py", [{"total_token_usage": usage, "last_token_usage": usage}])
    (repo.path / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\nPI = 3\n")
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(PROBE)
    out = tmp_path / "modules.txt"
    subprocess.run(["git", "add", "-A"], cwd=repo.path, check=True)
    date = "2026-02-23T19:40:00Z"
    proc = subprocess.run(["git", "commit", "-q", "-m", "calc"], cwd=repo.path, capture_output=True,
                          text=True, env={**os.environ, "GIT_AUTHOR_DATE": date,
                                          "GIT_COMMITTER_DATE": date, "PYTHONPATH": str(probe),
                                          "PROBE_MODULES_OUT": str(out)})
    assert (proc.returncode, proc.stderr) == (0, "")
    note = json.loads(repo.git("notes", "--ref=gitroi", "show", "HEAD"))
    assert note["ai_ranges"] == {"calc.py": [[1, 2]]} and note["tokens"] == 1050
    assert [s["agent"] for s in note["sessions"]] == ["codex"]
    modules = {line.split()[0] for line in out.read_text().splitlines()}
    assert "gitroi.sessions.codex" in modules and "gitroi.sessions.gemini" not in modules


def test_datetime_from_c_has_the_public_api() -> None:
    code = (
        "import sys\n"
        "from gitroi.attribution.lazymodules import datetime_from_c\n"
        "datetime_from_c()\n"
        "import datetime, sqlite3\n"
        "from datetime import UTC, timedelta\n"
        "d = datetime.datetime.fromisoformat('2026-02-12T16:05:00+01:00').astimezone(UTC)\n"
        "print(datetime.__name__, d.isoformat(), (d + timedelta(days=1)).date(),\n"
        "      sorted(set(datetime.__all__) if hasattr(datetime, '__all__') else []))\n")
    name, iso, day, _ = _as_the_hook_runs(code).split(" ", 3)
    assert (name, iso, day) == ("_datetime", "2026-02-12T15:05:00+00:00", "2026-02-13")
    import _datetime
    import datetime

    public = {"date", "datetime", "time", "timedelta", "timezone", "tzinfo", "MINYEAR",
              "MAXYEAR", "UTC"}
    assert public <= set(dir(_datetime)) and set(datetime.__all__) == public


def test_hook_without_its_boot_script_runs_python_m(repo: GitRepo, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook whose boot script is gone (gitroi moved, or installed for another interpreter:
    BOOT is empty) runs `python -m gitroi.attribution.hookrun`, with `site`, and attributes."""
    _story(repo, tmp_path, monkeypatch)
    hook = repo.path / ".git" / "hooks" / "post-commit"
    text = hook.read_text()
    boot = f"BOOT='{ROOT / 'gitroi' / 'attribution' / 'hookboot.py'}'"
    assert boot in text
    hook.write_text(text.replace(boot, f"BOOT='{tmp_path / 'gone' / 'hookboot.py'}'"))
    modules = _probed_commit(repo, tmp_path)
    assert modules["(no_site)"] == "0"
    # another interpreter than the one installing: no boot script baked in
    from gitroi.attribution.hooks import render

    assert "BOOT=''" in render("post-commit", "/opt/other/python3")
    assert boot in render("post-commit")
