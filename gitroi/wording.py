"""Words for counts and kinds, so every message reads right ("1 AI line", "2 AI lines").

A base module: the report, the PR comment and the CLI all print counts, and
one helper keeps ``(s)`` and "1 lines" out of all of them.
"""

from __future__ import annotations

#: Irregular plurals; anything else takes an ``s``.
_IRREGULAR = {"was": "were", "is": "are", "has": "have", "this": "these", "it": "they",
              "entry": "entries", "binary": "binaries", "repository": "repositories",
              "PR": "PRs", "child": "children"}


def plural_of(word: str) -> str:
    """``line`` -> ``lines``; the last word of a phrase is the one that changes."""
    head, _, last = word.rpartition(" ")
    if last in _IRREGULAR:
        out = _IRREGULAR[last]
    elif last.endswith(("s", "x", "ch", "sh")):
        out = last + "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        out = last[:-1] + "ies"
    else:
        out = last + "s"
    return f"{head} {out}" if head else out


def plural(n: float, word: str, many: str | None = None, *, number: str | None = None) -> str:
    """``plural(1, "AI line")`` -> ``1 AI line``; ``plural(2, "AI line")`` -> ``2 AI lines``.

    ``many`` overrides the plural form; ``number`` the way ``n`` is written
    (``"1.2M"`` from ``compact``), the word still agreeing with ``n``.
    """
    form = word if n == 1 else (many or plural_of(word))
    return f"{number if number is not None else n} {form}"


#: How a commit was attributed (``attribution`` in notes and the ledger), in words.
ATTRIBUTION_WORDS = {
    "line": "line level (the lines an agent wrote, matched from its session log)",
    "commit": "commit level (every added line counts, from the commit's AI markers)",
    "manual": "manual (a person stated which agent wrote it)",
    "none": "none",
}

#: Where an attribution came from (``source``), in words.
SOURCE_WORDS = {
    "note": "gitroi note",
    "git-ai": "git-ai note",
    "agent-trace": "Agent Trace record",
    "markers": "commit trailers and author",
}


def describe_attribution(attribution: str, source: str) -> str:
    """``attribution: ...`` of ``gitroi show``: never ``none (none)``."""
    if attribution == "none":
        return ("none: no gitroi note, no git-ai or Agent Trace record and no AI marker "
                "(Co-Authored-By trailer, agent author) on this commit")
    what = ATTRIBUTION_WORDS.get(attribution, attribution)
    where = SOURCE_WORDS.get(source, source)
    return f"{what}, from the {where}" if where and where != "none" else what
