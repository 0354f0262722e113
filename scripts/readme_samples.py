"""Regenerate README.md's sample outputs by running the real commands.

    python scripts/readme_samples.py                 # rewrite README.md
    python scripts/readme_samples.py --check         # exit 1 with a diff when README.md differs
    python scripts/readme_samples.py --only shop,sessions

Each sample is the fenced block between ``<!-- sample:NAME -->`` and
``<!-- /sample:NAME -->`` in README.md, made afresh by building its scenario in
a temporary folder and running gitroi (``python -m gitroi`` of this checkout)
and git there:

* ``corpus``: a clone of ``tests/fixtures/corpora/claude-code-action.bundle``
  (anthropics/claude-code-action, 763 commits), ``gitroi report`` and
  ``gitroi survival``;
* ``shop``: a small repository where a Claude Code session (a transcript
  written here in Claude Code's format, as the agent would) edits ``cart.py``
  and writes ``test_cart.py`` and a person adds two lines; ``gitroi install``,
  a real ``git commit`` through the hooks, ``gitroi show HEAD``, ``gitroi report``;
* ``sessions``: the Claude Code and Codex samples of ``tests/fixtures/samples``
  as a repository's sessions (their working directory rewritten to it),
  ``gitroi sessions import`` and ``gitroi sessions list``.

Nothing from the machine leaks in: HOME, the agents' log folders and git's
configuration point into the temporary folder, dates are fixed (so commit ids
are stable) and TZ is UTC. The temporary folder's path is shown as
``/tmp/demo`` so the text does not change from run to run.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLES = ROOT / "tests" / "fixtures" / "samples"
BUNDLE = ROOT / "tests" / "fixtures" / "corpora" / "claude-code-action.bundle"
SHOWN_ROOT = "/tmp/demo"
sys.path.insert(0, str(ROOT))
# The transcript writer the tests use (the Claude Code sample's shape and session id).
from tests.test_attribution_claude_log import SID, Transcript  # noqa: E402


class Scene:
    """A temporary folder with its own HOME and agent log folders, and a transcript
    of what was run there (commands and their real output)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lines: list[str] = []
        home = root / "home"
        home.mkdir()
        gitconfig = home / ".gitconfig"
        gitconfig.write_text("[user]\n\tname = Dana Developer\n\temail = dana@example.com\n"
                             "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
                             "[advice]\n\tdetachedHead = false\n")
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("GIT_", "GITROI_", "GITHUB_", "INPUT_", "RUNNER_"))
                and k not in ("CI", "CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME",
                              "OPENCODE_DATA_DIR", "COLUMNS", "LINES")}
        self.env: dict[str, str] = {
            **keep, "HOME": str(home), "TZ": "UTC", "LC_ALL": "C.UTF-8",
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"), "GIT_CONFIG_GLOBAL": str(gitconfig),
            "GIT_CONFIG_NOSYSTEM": "1", "CLAUDE_CONFIG_DIR": str(root / "claude"),
            "CODEX_HOME": str(root / "codex"),
            # the post-commit work done before git returns, so `show` right after is complete
            "GITROI_HOOK_FOREGROUND": "1",
            # gitroi of this checkout, also inside the hooks git runs
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }

    def run(self, cwd: Path, *args: str, shown: str | None = None, date: str | None = None,
            quiet: bool = False) -> str:
        """Run a command (``gitroi ...`` is this checkout's), record ``$ shown`` and its output."""
        env = dict(self.env)
        if date:
            env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        argv = [sys.executable, "-m", "gitroi", *args[1:]] if args[0] == "gitroi" else list(args)
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise SystemExit(f"readme_samples: `{shlex.join(args)}` exited {proc.returncode}:\n{out}")
        if not quiet:
            self.lines.append("$ " + (shown or shlex.join(args)))
            self.lines.extend(out.rstrip("\n").split("\n") if out.strip() else [])
        return proc.stdout

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines).replace(str(self.root), SHOWN_ROOT) + "\n"


def _git_repo(scene: Scene, name: str) -> Path:
    repo = scene.root / name
    repo.mkdir()
    scene.run(repo, "git", "init", "-q", "-b", "main", quiet=True)
    return repo


# --------------------------------------------------------------------------- corpus


def corpus(scene: Scene) -> str:
    """anthropics/claude-code-action: trailers only, no session logs."""
    scene.run(scene.root, "git", "clone", "-q", str(BUNDLE), "claude-code-action", quiet=True)
    repo = scene.root / "claude-code-action"
    scene.run(repo, "gitroi", "report")
    scene.run(repo, "gitroi", "survival")
    return scene.text()


# --------------------------------------------------------------------------- shop


CART = '''\
def total(items):
    return sum(item.price * item.qty for item in items)
'''

TEST_CART = '''\
from cart import total
from collections import namedtuple

Item = namedtuple("Item", "price qty")
assert total([Item(60, 2)]) == 108
'''


def shop(scene: Scene) -> str:
    """Claude Code edits cart.py and writes test_cart.py; a person adds the TAX constant."""
    repo = _git_repo(scene, "shop")
    cart = repo / "cart.py"
    cart.write_text(CART)
    scene.run(repo, "git", "add", "cart.py", quiet=True)
    scene.run(repo, "git", "commit", "-q", "-m", "cart: total", date="2026-02-12T15:00:00Z", quiet=True)
    scene.run(repo, "gitroi", "install")
    t = Transcript(scene.root / "claude", repo)
    t.edit("2026-02-12T16:02:27.718Z", "msg_1", "toolu_1", cart, "    return sum(item.price * item.qty for item in items)",
           "    amount = sum(item.price * item.qty for item in items)\n"
           "    if amount > 100:\n        amount *= 0.9\n    return amount",
           input=1000, output=400, cache_write=6000, cache_read=30000)
    t.write("2026-02-12T16:03:10.000Z", "msg_2", "toolu_2", repo / "test_cart.py", TEST_CART,
            input=500, output=250, cache_write=3000, cache_read=38000)
    cart.write_text("TAX = 0.2\n\n" + cart.read_text())  # the person: a constant, a blank line
    scene.run(repo, "git", "add", "test_cart.py", quiet=True)
    scene.run(repo, "git", "commit", "-q", "-am", "cart: discount over 100", date="2026-02-12T16:05:00Z",
              shown="git commit -am 'cart: discount over 100'")
    scene.run(repo, "gitroi", "show", "HEAD")
    scene.run(repo, "gitroi", "report")
    return scene.text()


# --------------------------------------------------------------------------- sessions


def sessions(scene: Scene) -> str:
    """The Claude Code and Codex samples, their working directory made the repository's."""
    repo = _git_repo(scene, "shop")
    scene.run(repo, "git", "commit", "-q", "--allow-empty", "-m", "start", date="2026-02-12T15:00:00Z",
              quiet=True)
    claude = (SAMPLES / "claude-code-sample.jsonl").read_text()
    claude = claude.replace("/home/USER/projects/spotter-worktrees/spotter-dov", str(repo))
    folder = "".join(c if c.isalnum() else "-" for c in str(repo))
    dest = scene.root / "claude" / "projects" / folder / f"{SID}.jsonl"
    dest.parent.mkdir(parents=True)
    dest.write_text(claude)
    codex = (SAMPLES / "codex-sample.jsonl").read_text().replace("/redacted/path/ea96e59ed9", str(repo))
    meta = json.loads(codex.split("\n", 1)[0])["payload"]
    stamp = meta["timestamp"][:19].replace(":", "-")
    dest = scene.root / "codex" / "sessions" / stamp[:4] / stamp[5:7] / stamp[8:10] / \
        f"rollout-{stamp}-{meta['id']}.jsonl"
    dest.parent.mkdir(parents=True)
    dest.write_text(codex)
    scene.run(repo, "gitroi", "sessions", "import")
    scene.run(repo, "gitroi", "sessions", "list")
    return scene.text()


SCENARIOS: dict[str, Callable[[Scene], str]] = {"corpus": corpus, "shop": shop, "sessions": sessions}


# --------------------------------------------------------------------------- README


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- sample:{name} -->\n```\n)(.*?)(```\n<!-- /sample:{name} -->)", re.S)


def render(readme: str, names: list[str]) -> str:
    """README.md's text with the named samples made afresh."""
    for name in names:
        pattern = _block(name)
        if not pattern.search(readme):
            raise SystemExit(f"readme_samples: README.md has no <!-- sample:{name} --> block")
        with tempfile.TemporaryDirectory(prefix="gitroi-readme-") as tmp:
            text = SCENARIOS[name](Scene(Path(tmp).resolve()))
        readme = pattern.sub(lambda m, t=text: m.group(1) + t + m.group(3), readme)
    return readme


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="do not write: exit 1 when README.md differs")
    ap.add_argument("--only", help=f"comma-separated samples ({', '.join(SCENARIOS)}); default all")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        ap.error(f"unknown sample(s): {', '.join(unknown)}")
    old = README.read_text()
    new = render(old, names)
    if args.check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       "README.md", "README.md (regenerated)"))
            print(f"README.md's samples ({', '.join(names)}) differ from what gitroi prints: "
                  "run python scripts/readme_samples.py", file=sys.stderr)
            return 1
        return 0
    if new != old:
        README.write_text(new)
    print(f"README.md: {', '.join(names)} {'rewritten' if new != old else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
