"""Entry point of the gitroi GitHub Action: event and inputs in, one ``gitroi`` command out.

The Action's ``action.yml`` passes every input through ``env:`` (never
pasted into a script, so a hostile branch name or input cannot inject shell),
as ``GITROI_IN_<NAME>``.  This file maps each of them to a ``gitroi`` flag
explicitly, refuses values that look like flags, decides what to do from
``GITHUB_EVENT_NAME`` and the payload at ``GITHUB_EVENT_PATH``, runs the CLI
with the interpreter it was started with, and writes ``GITHUB_OUTPUT`` and
``GITHUB_STEP_SUMMARY``.

* ``pull_request`` opened / synchronize / reopened / ready_for_review:
  ``gitroi pr comment`` (report comment, summary, outputs);
* ``pull_request`` closed with ``merged: true``: ``gitroi pr map-merge``;
* ``push`` to the default branch: ``gitroi pr map-merge --before --after``;
  a mapping that fails is a warning, not a failed job (it can be re-run);
* anything else: a one-line summary, success.

Pull requests from forks get ``--no-post`` and no push: their token is
read-only, so the report goes to the job summary only.  The token is read by
gitroi from the environment and never appears on a command line or in output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from gitroi.pr.github import PullRequestInfo

PR_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
_WINDOW = re.compile(r"^\d+[smhdw]?$")


class InputError(Exception):
    """An input the Action refuses (flag-like, malformed)."""


def _input(name: str, default: str = "") -> str:
    """``GITROI_IN_<NAME>``, stripped; a value starting with '-' is refused (no flag smuggling)."""
    value = os.environ.get(f"GITROI_IN_{name.upper().replace('-', '_')}", "").strip() or default
    if value.startswith("-"):
        raise InputError(f"input {name!r} must not start with '-' (got a flag-like value)")
    if "\n" in value or "\0" in value:
        raise InputError(f"input {name!r} must be a single line")
    return value


def _safe(value: str, what: str) -> str:
    if not value or value.startswith("-") or any(c in value for c in "\n\0"):
        raise InputError(f"{what} {value!r} from the event payload is not usable")
    return value


def _append(path_var: str, text: str) -> None:
    path = os.environ.get(path_var)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)


def _set_outputs(values: dict[str, str]) -> None:
    lines = []
    for key, value in values.items():
        if "\n" in value:
            delim = f"gitroi_{uuid.uuid4().hex}"
            lines.append(f"{key}<<{delim}\n{value}\n{delim}\n")
        else:
            lines.append(f"{key}={value}\n")
    _append("GITHUB_OUTPUT", "".join(lines))


def _gitroi(args: list[str]) -> tuple[int, dict[str, Any] | None]:
    """Run ``python -m gitroi ARGS``; stdout is JSON, stderr goes to the job log as is."""
    cmd = [sys.executable, "-m", "gitroi", *args]
    print("gitroi " + " ".join(args), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError:
        print(proc.stdout, file=sys.stderr)
        data = None
    return proc.returncode, data


def _summary_note(comment: dict[str, Any]) -> str:
    status = comment.get("status")
    if status in ("created", "updated", "unchanged"):
        return f"\n<sub>Report comment {status}: {comment.get('url') or ''}</sub>\n"
    return f"\n> [!NOTE]\n> The report comment was not posted: {comment.get('reason') or status}.\n"


def _read_only(event_name: str, pr: dict[str, Any]) -> bool:
    """A fork's pull request: its token is read-only (``gitroi.pr.github``'s fork rule).

    pull_request_target runs with a write token even for forks; plain pull_request does not.
    """
    return event_name == "pull_request" and PullRequestInfo.from_payload(pr).fork


def pull_request(event: dict[str, Any], repo: str, event_name: str) -> int:
    pr = event["pull_request"]
    number = str(int(pr["number"]))
    head = _safe(str(pr["head"]["sha"]), "head sha")
    base = _input("base") or _safe(str(pr["base"]["sha"]), "base sha")
    args = ["pr", "comment", "--repo", repo, "--pr", number, "--base", base, "--head", head,
            "--json"]
    window = _input("window", "14d")
    if not _WINDOW.match(window):
        raise InputError(f"input 'window' must look like 14d, 2w or 36h, not {window!r}")
    args += ["--window", window]
    api = os.environ.get("GITHUB_API_URL", "").strip()
    if api:
        args += ["--api-url", _safe(api, "GITHUB_API_URL")]
    comment = _input("comment", "on").lower()
    if comment not in ("on", "off", "true", "false"):
        raise InputError(f"input 'comment' must be on or off, not {comment!r}")
    if comment in ("off", "false"):
        args += ["--no-post", "--why", "the comment input is off"]
    elif _read_only(event_name, pr):
        args += ["--no-post", "--why", "pull request from a fork: the token is read-only"]
    fail_on = _input("fail-on")
    if fail_on:
        args += ["--fail-on", fail_on]
    rc, data = _gitroi(args)
    if data is None:
        _append("GITHUB_STEP_SUMMARY", "### gitroi\n\nThe pull request report could not be built; "
                                       "see the job log.\n")
        return rc or 1
    _set_outputs(data["outputs"])
    _append("GITHUB_STEP_SUMMARY", data["markdown"] + _summary_note(data["comment"]))
    for line in data.get("failed") or []:
        print(f"::error title=gitroi fail-on::{line}")
    return rc


def merged(args: list[str], title: str) -> int:
    rc, data = _gitroi(args)
    lines = [f"### gitroi: {title}", ""]
    if data is None:
        lines.append("Mapping the notes failed; see the job log.")
    else:
        for m in data["merges"]:
            lines.append(f"- **{m['method']}**"
                         + (f" (#{m['pr']})" if m.get("pr") else "") + f": {m['message']}")
            for x in m["mapped"]:
                lines.append(f"  - `{x['commit'][:12]}` ← {', '.join(f'`{s[:12]}`' for s in x['from'])}:"
                             f" {x['ai_lines']} AI lines, {x['tokens']:,} tokens")
        push = data.get("push")
        if push:
            lines.append("")
            lines.append(("Notes pushed: " if push["ok"] else "Notes not pushed (read-only token?): ")
                         + push["message"])
    _append("GITHUB_STEP_SUMMARY", "\n".join(lines) + "\n")
    if rc != 0:
        # Safe by default: the merge itself is done; the notes can be mapped again later
        # (`gitroi pr map-merge`), so this is a warning on the run, not a red build.
        print("::warning title=gitroi::the notes could not be mapped onto the merge; see the log above")
    return 0


def main() -> int:
    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    event_path = os.environ.get("GITHUB_EVENT_PATH", "")
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8")) if event_path else {}
        repo = _safe(repo or (event.get("repository") or {}).get("full_name", ""), "GITHUB_REPOSITORY")
        _input("gitroi-version")  # validated here too; the install step uses it
        if event_name in ("pull_request", "pull_request_target"):
            action = event.get("action", "")
            pr = event["pull_request"]
            if action in PR_ACTIONS:
                return pull_request(event, repo, event_name)
            if action == "closed" and pr.get("merged") is True:
                args = ["pr", "map-merge", "--merge-commit", _safe(str(pr["merge_commit_sha"]), "merge sha"),
                        "--pr-head", _safe(str(pr["head"]["sha"]), "head sha"),
                        "--pr", str(int(pr["number"])), "--json"]
                args.append("--no-push" if _read_only(event_name, pr) else "--push")
                return merged(args, f"notes of #{int(pr['number'])} mapped onto the merge")
            _append("GITHUB_STEP_SUMMARY",
                    f"### gitroi\n\nPull request {action or 'event'}"
                    + (" without merging" if action == "closed" else "") + ": nothing to do.\n")
            return 0
        if event_name == "push":
            ref = str(event.get("ref", ""))
            default = (event.get("repository") or {}).get("default_branch") \
                or (event.get("repository") or {}).get("master_branch") or "main"
            if ref != f"refs/heads/{default}" or event.get("deleted"):
                _append("GITHUB_STEP_SUMMARY",
                        f"### gitroi\n\nPush to `{ref}`, not to `{default}`: nothing to map.\n")
                return 0
            args = ["pr", "map-merge", "--before", _safe(str(event.get("before") or "0" * 40), "before"),
                    "--after", _safe(str(event["after"]), "after"), "--push", "--json", "--repo", repo]
            api = os.environ.get("GITHUB_API_URL", "").strip()
            if api:
                args += ["--api-url", _safe(api, "GITHUB_API_URL")]
            return merged(args, f"notes mapped onto the push to {default}")
        _append("GITHUB_STEP_SUMMARY", f"### gitroi\n\nEvent `{event_name}` is not one gitroi "
                                       "handles (pull_request, push): nothing to do.\n")
        return 0
    except InputError as exc:
        print(f"::error title=gitroi::{exc}")
        return 1
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"::error title=gitroi::cannot read the event payload {event_path}: "
              f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
