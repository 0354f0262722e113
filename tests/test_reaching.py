"""The two engines of "does this AI line reach the head" agree on a PR (issue 9, part 5).

The PR comment and the report's merged-PR review churn use
:func:`gitroi.survival.reaching.reaching` (``git blame -w -M -C`` of the PR's
range); the survival reports use the replay.  docs/action.md gives the
measured reason the PR side keeps blame.  Here both answer for the same keys
on a generated PR that has what review does to AI lines: a block moved to
another file, a re-indent, a formatter re-spacing, lines rewritten and lines
deleted.  Both must find exactly the lines worked out by hand.
"""

from __future__ import annotations

from gitroi.git import Repo
from gitroi.survival.reaching import Key, reaching, replay_reaching
from tests.conftest import GitRepo

HELPERS = "".join(f"def helper_{i}(value):\n    return value * {i} + compute_offset({i})\n\n" for i in range(4))


def _pr(repo: GitRepo) -> tuple[str, str, dict[str, str]]:
    base = repo.commit({"app.py": "import os\n\n\ndef main():\n    return os.getcwd()\n"}, "base")
    repo.git("checkout", "-q", "-b", "pr")
    c: dict[str, str] = {}
    # 1. the agent writes helpers and a loop into app.py
    loop = ("def process(items):\n    total = 0\n    for item in items:\n"
            "        total += transform_item(item)\n    return total\n")
    c["write"] = repo.commit({"app.py": "import os\n\n\ndef main():\n    return os.getcwd()\n\n\n"
                              + HELPERS + loop}, "agent writes helpers and process")
    # 2. review: the helpers move to their own module (a move across files)
    c["move"] = repo.commit({"helpers.py": HELPERS,
                             "app.py": "import os\n\n\ndef main():\n    return os.getcwd()\n\n\n" + loop},
                            "move helpers to helpers.py")
    # 3. a formatter re-spaces the loop (whitespace only), then a rewrite and a deletion
    spaced = loop.replace("total = 0", "total  =  0").replace("total += ", "total  +=  ")
    c["format"] = repo.commit({"app.py": "import os\n\n\ndef main():\n    return os.getcwd()\n\n\n" + spaced},
                              "run the formatter")
    final = spaced.replace("    return total\n", "    return round(total, 2)\n")
    helpers = HELPERS.replace("def helper_3(value):\n    return value * 3 + compute_offset(3)\n\n", "")
    c["review"] = repo.commit({"app.py": "import os\n\n\ndef main():\n    return os.getcwd()\n\n\n" + final,
                               "helpers.py": helpers}, "review: round the total, drop helper_3")
    head = repo.git("rev-parse", "HEAD")
    return base, head, c


def test_blame_and_the_replay_agree_on_a_reviewed_pr(repo: GitRepo) -> None:
    base, head, c = _pr(repo)
    r = Repo.discover(repo.path)
    # The agent's lines: every non-blank line the first PR commit added to app.py (helpers, loop).
    written = repo.git("show", f"{c['write']}:app.py").split("\n")
    keys: set[Key] = {(c["write"], "app.py", n) for n in range(8, len(written) + 1) if written[n - 1].strip()}
    expected = set()
    for _c, _p, n in sorted(keys):
        text = written[n - 1]
        if "helper_3" in text or "compute_offset(3)" in text:   # deleted in review
            continue
        if "return total" in text:                             # rewritten in review
            continue
        expected.add(n)
    by_blame = reaching(r, base, head, keys)
    by_replay = replay_reaching(r, base, head, keys)
    assert {k[2] for k in by_blame} == expected
    assert by_replay == by_blame
    assert len(keys) - len(by_blame) == 3    # helper_3's two lines and `return total`
