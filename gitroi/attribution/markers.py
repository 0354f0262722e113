"""Commit-level attribution from what a commit says about itself: identities, trailers, subject.

Where no session log exists (old history, another machine, a bot) the only
evidence that an agent took part is the marks agents and their integrations
leave on commits.  Those marks are matched by the stable part of the agent's
identity, never by a display name: a bot's e-mail (``<id>+<login>@users.
noreply.github.com``, where the numeric id varies and the login does not),
a vendor's fixed address (``noreply@anthropic.com``, ``cursoragent@cursor.com``),
or a trailer only the tool writes.  ``Claude Shannon <claude.shannon@example.org>``
is a person; ``Copilot App <223556219+Copilot@users.noreply.github.com>`` is not.

All rules sit in one table, :data:`RULES`.  Each has an id (the name a
repository uses to switch it off, ``git config gitroi.marker.<id> false``), the
agent it names, a strength and where the variant was seen.  *Strong* rules are
identities and trailers: text a person does not type by accident.  *Weak* rules
read ordinary prose (a subject prefix) and so demand a second feature of the
tool's own output before they fire.  ``gitroi report --by marker`` counts what
each rule found, so a false positive shows (docs/markers.md).

Each :class:`Marker` carries the rule that found it and an evidence string
such as ``co-author:claude`` that lands in the note's ``markers`` list and in
the ledger.  Trailers are matched as whole lines anywhere in the message, not
only in the final paragraph: squash merges on GitHub list the squashed
commits' trailers mid-body, and those still say an agent wrote part of the
change.  Plain prose mentioning an agent ("bump Claude Code to 2.1") is *not* a
marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Literal

    from gitroi.git import Repo

    Strength = Literal["strong", "weak"]
    #: Where a rule looks: an identity (author, committer, each Co-authored-by trailer), the
    #: author name alone, the committer name alone, or the message text.
    Field = Literal["email", "author-name", "committer-name", "message", "subject"]

CONFIG_SECTION = "gitroi.marker"


@dataclass(frozen=True)
class Marker:
    """One agent's mark on a commit, the rule that found it and the text that shows it."""

    agent: str       # claude-code, codex, aider, copilot, cursor, gemini-code-assist, jules, ...
    evidence: str    # e.g. "co-author:claude", "footer:claude-code", "author:claude[bot]"
    rule: str = ""   # the id of the rule in RULES


@dataclass(frozen=True)
class Rule:
    """One way an agent marks its commits.

    ``pattern`` is matched (full match, lower-cased) against an e-mail for
    ``email`` rules, against the name for the name rules, and searched in the
    message (or its subject) for the others.  ``also`` is a second pattern a
    weak rule needs in the message before it fires.  ``tag`` names the match
    in the evidence string (``<role>:<tag>`` for identities).  ``default``:
    whether the rule is on when the repository's config says nothing.
    """

    id: str
    agent: str
    strength: Strength
    field: Field
    pattern: str
    tag: str
    seen: str
    also: str = ""
    default: bool = True

    def compiled(self) -> re.Pattern[str]:
        return _compiled(self.pattern, self.field)


_CACHE: dict[tuple[str, str], re.Pattern[str]] = {}


def _compiled(pattern: str, field: str) -> re.Pattern[str]:
    key = (pattern, field)
    rx = _CACHE.get(key)
    if rx is None:
        flags = re.IGNORECASE | (re.MULTILINE if field == "message" else 0)
        rx = _CACHE[key] = re.compile(pattern, flags)
    return rx


def _bot(login: str) -> str:
    """A GitHub account's no-reply address, with or without the numeric id (older form)."""
    return r"(?:\d+\+)?" + re.escape(login) + r"@users\.noreply\.github\.com"


#: Every marker gitroi knows, with where each variant was seen.
RULES: tuple[Rule, ...] = (
    # --- Claude Code -----------------------------------------------------------------------
    Rule("claude-noreply", "claude-code", "strong", "email", r"noreply@anthropic\.com", "claude",
         "Claude Code's default trailer `Co-Authored-By: Claude <noreply@anthropic.com>` (also "
         "`Claude Opus 4.6 (1M context)`, `Claude Sonnet 4.6`): 279 commits of "
         "anthropics/claude-code-action; Claude Code's `includeCoAuthoredBy` setting"),
    Rule("claude-bot", "claude-code", "strong", "email", _bot("claude[bot]"), "claude[bot]",
         "the Claude GitHub app: `claude[bot] <209825114+claude[bot]@users.noreply.github.com>` "
         "in anthropics/claude-code-action (25 trailers; 5 more carry id 41898282)"),
    Rule("claude-code-footer", "claude-code", "strong", "message",
         r"generated with \[?claude code\]?", "claude-code",
         "Claude Code's commit footer `🤖 Generated with [Claude Code](https://claude.ai/code)`: "
         "anthropics/claude-code-action history"),
    # --- GitHub Copilot --------------------------------------------------------------------
    Rule("copilot-noreply", "copilot", "strong", "email", _bot("copilot"), "copilot",
         "the GitHub account `Copilot`, whatever the id and display name: `Copilot App "
         "<223556219+Copilot@...>` (Copilot CLI trailer), `Copilot Autofix powered by AI "
         "<175728472+Copilot@...>`, `copilot-swe-agent[bot] <198982749+Copilot@...>` (coding "
         "agent), all in one Copilot-heavy public history (issue 11)"),
    Rule("copilot-github", "copilot", "strong", "email", r"copilot@github\.com", "copilot",
         "`Copilot <copilot@github.com>` in the same Copilot-heavy history (issue 11)"),
    Rule("copilot-bot", "copilot", "strong", "email",
         r"(?:\d+\+)?(?:copilot|copilot-swe-agent)\[bot\]@users\.noreply\.github\.com",
         "copilot[bot]",
         "`167198135+copilot[bot]@users.noreply.github.com` (Copilot chat), listed with the "
         "other agents' addresses in public attribution tables"),
    # --- Cursor ----------------------------------------------------------------------------
    Rule("cursor-agent", "cursor", "strong", "email", r"cursoragent@cursor\.com", "cursoragent",
         "Cursor's agents: `Co-authored-by: Cursor <cursoragent@cursor.com>` (vllm-project/vllm "
         "#53623) and the author of Cursor cloud agent commits"),
    Rule("cursor-bot", "cursor", "strong", "email", _bot("cursor[bot]"), "cursor[bot]",
         "`cursor[bot] <206951365+cursor[bot]@users.noreply.github.com>` (Cursor's GitHub app)"),
    Rule("cursor-made-with", "cursor", "strong", "message", r"^[ \t]*made-with:[ \t]*cursor\b",
         "made-with-cursor",
         "the `Made-with: Cursor` trailer Cursor adds (`git commit --trailer \"Made-with: Cursor\"`)"),
    # --- OpenAI Codex ----------------------------------------------------------------------
    Rule("codex-noreply", "codex", "strong", "email", r"noreply@openai\.com", "codex",
         "`Co-authored-by: Codex <noreply@openai.com>` (Codex CLI commits)"),
    Rule("codex-bot", "codex", "strong", "email",
         r"(?:\d+\+)?(?:chatgpt-codex-connector|openai-codex)\[bot\]@users\.noreply\.github\.com",
         "chatgpt-codex-connector[bot]",
         "Codex cloud: `chatgpt-codex-connector[bot] <199175422+chatgpt-codex-connector[bot]@"
         "users.noreply.github.com>`; `215057067+openai-codex[bot]@...`"),
    # --- Google ----------------------------------------------------------------------------
    Rule("gemini-code-assist-bot", "gemini-code-assist", "strong", "email",
         _bot("gemini-code-assist[bot]"), "gemini-code-assist[bot]",
         "`gemini-code-assist[bot] <176961590+gemini-code-assist[bot]@users.noreply.github.com>` "
         "(sgl-project/sglang trailers; Gemini CLI's suggested trailer)"),
    Rule("jules-bot", "jules", "strong", "email", _bot("google-labs-jules[bot]"),
         "google-labs-jules[bot]",
         "Jules: `google-labs-jules[bot] <161369871+google-labs-jules[bot]@users.noreply."
         "github.com>`"),
    # --- Devin -----------------------------------------------------------------------------
    Rule("devin-bot", "devin", "strong", "email", _bot("devin-ai-integration[bot]"),
         "devin-ai-integration[bot]",
         "Devin: `Co-Authored-By: Devin <158243242+devin-ai-integration[bot]@users.noreply."
         "github.com>`"),
    # --- aider -----------------------------------------------------------------------------
    Rule("aider-author", "aider", "strong", "author-name", r".*\S \(aider\)", "aider",
         "aider ≥ 0.39 (--attribute-author, on by default) names the author `<your name> "
         "(aider)` on the commits of its own edits (Aider-AI/aider aider/repo.py)"),
    Rule("aider-co-author", "aider", "strong", "email", r"(?:aider|noreply)@aider\.(?:chat|dev)",
         "aider",
         "aider ≥ 0.83 --attribute-co-authored-by: `Co-authored-by: aider (<model>) "
         "<noreply@aider.chat>`, `<aider@aider.chat>` from 0.85 (Aider-AI/aider aider/repo.py)"),
    Rule("aider-committer", "aider", "weak", "committer-name", r".*\S \(aider\)", "aider",
         "aider ≥ 0.39 names the committer `<your name> (aider)` on every commit it makes, "
         "including the user's own changes it commits (/commit, dirty files before an edit), "
         "so off unless a repository turns it on (Aider-AI/aider aider/repo.py docstring)",
         default=False),
    Rule("aider-subject", "aider", "weak", "subject", r"aider: ", "aider",
         "aider ≤ 0.38 (May 2023 - June 2024) prefixed `aider: ` to the subjects of its commits "
         "and put the chat in the body (`# Context:` then `USER:`, from July 2023 `# Aider chat "
         "conversation:`): 655 of the 667 `aider: ` subjects in Aider-AI/aider's own history. "
         "A person's `aider: ...` subject about a module named aider has no such body",
         also=r"^# (?:aider chat conversation:|context:\s*\n+(?:user|assistant):)"),
    # --- other coding agents ---------------------------------------------------------------
    Rule("amp", "amp", "strong", "email", r"amp@ampcode\.com", "amp",
         "Sourcegraph Amp's trailer `Co-authored-by: Amp <amp@ampcode.com>` (its "
         "`amp.git.commit.coauthor.enabled` setting), often with `Amp-Thread-ID:`"),
    Rule("opencode", "opencode", "strong", "email", r"noreply@opencode\.ai", "opencode",
         "opencode's trailer `Co-Authored-By: opencode <noreply@opencode.ai>`"),
    Rule("junie", "junie", "strong", "email", r"junie@jetbrains\.com", "junie",
         "JetBrains Junie's trailer `Co-authored-by: Junie <junie@jetbrains.com>`"),
    Rule("droid-bot", "droid", "strong", "email", _bot("factory-droid[bot]"), "factory-droid[bot]",
         "Factory's Droid: `factory-droid[bot] <138933559+factory-droid[bot]@users.noreply."
         "github.com>` (git-ai-project/git-ai history)"),
    Rule("firebender", "firebender", "strong", "email", r"help@firebender\.com", "firebender",
         "Firebender's trailer `Co-authored-by: Firebender <help@firebender.com>` (10 commits "
         "of git-ai-project/git-ai)"),
    # --- Entire ----------------------------------------------------------------------------
    Rule("entire-checkpoint", "entire", "strong", "message", r"^[ \t]*entire-checkpoint:[ \t]*\S",
         "entire-checkpoint",
         "Entire links an agent session to the commit with an `Entire-Checkpoint: <id>` trailer"),
)

RULES_BY_ID = {r.id: r for r in RULES}
#: Switches with every rule on: what :func:`detect` finds under any configuration, at most.
ALL_ON = {r.id: True for r in RULES}
_EVIDENCE_KIND = {"message": "trailer", "subject": "subject"}
_COAUTHOR = re.compile(r"^[ \t]*co-authored-by:[ \t]*(.*?)[ \t]*<([^>\n]*)>[ \t]*$",
                       re.IGNORECASE | re.MULTILINE)


def _evidence(rule: Rule, role: str) -> str:
    if rule.id == "claude-code-footer":
        return "footer:claude-code"
    if rule.field in ("message", "subject"):
        return f"{_EVIDENCE_KIND[rule.field]}:{rule.tag}"
    return f"{role}:{rule.tag}"


def _active(switches: dict[str, bool] | None) -> list[Rule]:
    sw = switches or {}
    return [r for r in RULES if sw.get(r.id, r.default)]


_Compiled = list[tuple[Rule, re.Pattern[str]]]
_PLANS: dict[tuple[tuple[str, bool], ...], dict[str, _Compiled]] = {}


def _plan(switches: dict[str, bool] | None
          ) -> tuple[dict[str, _Compiled], dict[str, re.Pattern[str]], dict[tuple[str, str], list[Rule]]]:
    """The active rules by field, patterns compiled, their alternation per field
    (:data:`_ANY`) and the identities matched so far (:data:`_HITS`): built once per
    configuration.

    ``detect`` runs for every commit of a history on a cold analysis; looking
    rules up and compiling per call was a fifth of that analysis.
    """
    key = tuple(sorted(switches.items())) if switches else ()
    plan = _PLANS.get(key)
    if plan is None:
        plan = {}
        active = _active(switches)
        for r in active:
            group = "text" if r.field in ("message", "subject") else r.field
            plan.setdefault(group, []).append((r, r.compiled()))
        _PLANS[key] = plan
        _ANY[key] = _any_rule(active)
        _HITS[key] = {}
    return plan, _ANY[key], _HITS[key]


#: Per configuration: (field, identity) -> the rules whose pattern it matches in full.  A
#: history has few distinct emails and names, each matched against every rule once.
_HITS: dict[tuple[tuple[str, bool], ...], dict[tuple[str, str], list[Rule]]] = {}


def _hits(plan: dict[str, _Compiled], hits: dict[tuple[str, str], list[Rule]], field: str,
          value: str) -> list[Rule]:
    got = hits.get((field, value))
    if got is None:
        if len(hits) > 50_000:  # a history of one-off identities: bounded memory
            hits.clear()
        got = hits[(field, value)] = [r for r, rx in plan.get(field, []) if rx.fullmatch(value)]
    return got


#: Per configuration: one alternation of the active message rules and one of the subject
#: rules, so that the commits no rule marks (nearly all of a history) cost a match per field.
_ANY: dict[tuple[tuple[str, bool], ...], dict[str, re.Pattern[str]]] = {}


def _any_rule(rules: list[Rule]) -> dict[str, re.Pattern[str]]:
    by: dict[str, list[str]] = {}
    for r in rules:
        if r.field in ("message", "subject"):  # identities are looked up in _HITS instead
            by.setdefault(r.field, []).append(f"(?:{r.pattern})")
    return {f: _compiled("|".join(ps), f) for f, ps in by.items()}


def detect(message: str, author_name: str = "", author_email: str = "",
           committer_name: str = "", committer_email: str = "", *,
           switches: dict[str, bool] | None = None) -> list[Marker]:
    """Every agent marker on a commit, each (agent, evidence) once, in a stable order.

    ``switches`` is {rule id: on?} from the repository's config (:func:`switches`);
    rules it does not name keep their default.
    """
    plan, any_rule, hits = _plan(switches)
    identities = [("author", author_email), ("committer", committer_email)]
    identities += [("co-author", e) for _, e in _COAUTHOR.findall(message)]
    subject = message.split("\n", 1)[0]
    if not _maybe(plan, hits, any_rule, identities, author_name, committer_name, message, subject):
        return []
    found: list[Marker] = []
    for role, email in identities:
        for r in _hits(plan, hits, "email", email.strip()):
            found.append(Marker(r.agent, _evidence(r, role), r.id))
        if role == "author":
            found += [Marker(r.agent, _evidence(r, "author"), r.id)
                      for r in _hits(plan, hits, "author-name", author_name.strip())]
        elif role == "committer":
            found += [Marker(r.agent, _evidence(r, "committer"), r.id)
                      for r in _hits(plan, hits, "committer-name", committer_name.strip())]
    # In the rules' order, as before: message and subject rules interleaved.
    for r, rx in plan.get("text", []):
        if r.field == "message":
            if rx.search(message):
                found.append(Marker(r.agent, _evidence(r, ""), r.id))
        elif rx.match(subject):
            if r.also and not _compiled(r.also, "message").search(message):
                continue
            found.append(Marker(r.agent, _evidence(r, ""), r.id))
    out: dict[tuple[str, str], Marker] = {}
    for m in found:
        out.setdefault((m.agent, m.evidence), m)
    return list(out.values())


def _maybe(plan: dict[str, _Compiled], hits: dict[tuple[str, str], list[Rule]],
           any_rule: dict[str, re.Pattern[str]], identities: list[tuple[str, str]],
           author_name: str, committer_name: str, message: str, subject: str) -> bool:
    """Whether any active rule could fire: False for a commit no rule marks, in a few matches
    (identities are looked up in :data:`_HITS`, texts matched against one alternation)."""
    for _, e in identities:
        if _hits(plan, hits, "email", e.strip()):
            return True
    if _hits(plan, hits, "author-name", author_name.strip()):
        return True
    if _hits(plan, hits, "committer-name", committer_name.strip()):
        return True
    rx = any_rule.get("message")
    if rx is not None and rx.search(message):
        return True
    rx = any_rule.get("subject")
    return rx is not None and rx.match(subject) is not None


def parse_switches(config_lines: Iterable[str]) -> dict[str, bool]:
    """{rule id: on?} from ``git config --get-regexp`` output lines (``gitroi.marker.<id> <value>``).

    A key naming no rule is ignored here (``gitroi doctor`` reports it); a value git
    would not read as a boolean leaves the rule at its default.
    """
    out: dict[str, bool] = {}
    prefix = CONFIG_SECTION + "."
    for line in config_lines:
        key, _, value = line.strip().partition(" ")
        if not key.lower().startswith(prefix):
            continue
        rid = key[len(prefix):].lower()
        v = value.strip().lower()
        if v in ("false", "no", "off", "0"):
            out[rid] = False
        elif v in ("true", "yes", "on", "1", ""):
            out[rid] = True
    return out


def switches(repo: Repo) -> dict[str, bool]:
    """The repository's rule switches (``git config gitroi.marker.<rule-id> false``), one git call."""
    out = repo.git("config", "--get-regexp", r"^gitroi\.marker\.", check=False)
    return parse_switches(out.decode("utf-8", "replace").splitlines())


def unknown_switches(sw: dict[str, bool]) -> list[str]:
    """Config keys that name no rule (a typo switches nothing off)."""
    return sorted(k for k in sw if k not in RULES_BY_ID)


#: Bumped whenever :data:`RULES` changes what it finds: a ledger row made from markers
#: carries it in its ``source_key``, so the next run re-reads every marker-only commit.
RULES_VERSION = 3


def source_key(found: bool, sw: dict[str, bool] | None = None) -> str:
    """The ledger ``source_key`` of a row made from markers (``found``) or from nothing.

    It names the rules' version and the switches that differ from the defaults, so
    changing either makes those rows stale (and only those).
    """
    base = f"{'markers' if found else 'none'}/r{RULES_VERSION}"
    changed = sorted(f"{k}={'on' if v else 'off'}" for k, v in (sw or {}).items()
                     if k in RULES_BY_ID and v != RULES_BY_ID[k].default)
    return base + ("/" + ",".join(changed) if changed else "")
