"""The post-rewrite hook: carry notes over an amend or a rebase onto the new commits.

git writes ``old new [extra]`` lines on stdin; AI line ranges are re-mapped
onto the new commits by :mod:`gitroi.attribution.rewrite`.
"""

from __future__ import annotations

from gitroi.attribution.hookwarn import HookWarning, describe

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~4 ms, hooks count them
if TYPE_CHECKING:
    from gitroi.git import Repo


def parse_rewrite_pairs(text: str) -> dict[str, list[str]]:
    """git's post-rewrite input, grouped: {new sha: [old shas, in order]}.

    A squash or fixup in ``rebase -i`` maps several old commits to one new one.
    """
    groups: dict[str, list[str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            olds = groups.setdefault(parts[1], [])
            if parts[0] not in olds:
                olds.append(parts[0])
    return groups


def _pairs_from_reflog(repo: Repo, kind: str) -> dict[str, list[str]]:
    """The rewritten pairs when git's stdin list is missing (the pre-commit framework runs
    post-rewrite hooks without it): an amend is ``HEAD@{1} -> HEAD``; a rebase pairs the
    commits between the fork point and ``ORIG_HEAD`` with those up to HEAD by author,
    author date and subject."""
    def rev(name: str) -> str:
        return repo.git("rev-parse", "--verify", "-q", name, check=False).decode().strip()

    new = repo.head()
    if not new:
        return {}
    if kind == "amend":
        old = rev("HEAD@{1}")
        return {new: [old]} if old and old != new else {}
    if kind != "rebase":
        return {}
    orig = rev("ORIG_HEAD")
    base = repo.git("merge-base", orig, new, check=False).decode().strip() if orig else ""
    if not base or orig == new:
        return {}

    def keyed(rng: str) -> dict[str, str]:
        # a rebase keeps each commit's author, author date and subject (patch ids change
        # whenever the context lines do, so they are not used)
        out = repo.git("log", "--no-merges", "--format=%H%x00%an%x00%ae%x00%at%x00%s", rng,
                       check=False).decode("utf-8", "replace")
        return {f.split("\0", 1)[1]: f.split("\0", 1)[0] for f in out.splitlines() if "\0" in f}

    olds = keyed(f"{base}..{orig}")
    pairs: dict[str, list[str]] = {}
    for key, c in keyed(f"{base}..{new}").items():
        if key in olds and olds[key] != c:
            pairs[c] = [olds[key]]
    return pairs


def post_rewrite(repo: Repo, kind: str, stdin_text: str) -> None:
    from gitroi.attribution.notes import list_notes
    from gitroi.attribution.rewrite import remap
    from gitroi.errors import GitroiError

    groups = parse_rewrite_pairs(stdin_text) or _pairs_from_reflog(repo, kind)
    noted = list_notes(repo)  # one git call: a rebase of un-noted commits costs nothing more
    groups = {new: olds for new, olds in groups.items() if any(o in noted for o in olds)}
    failed: list[str] = []
    first: BaseException | None = None
    for new, olds in groups.items():
        try:
            remap(repo, olds, new)
        except (GitroiError, OSError, ValueError) as exc:
            failed.append(new)
            first = first or exc
    if first is not None:
        raise HookWarning(
            f"could not carry the notes over to {len(failed)} of {len(groups)} rewritten "
            f"commit(s) ({', '.join(s[:12] for s in failed[:3])}): {describe(first)}")


def hook(repo: Repo, kind: str, stdin_text: str) -> None:
    """What ``post-rewrite`` runs: record the job, take the hook lock for at most about a
    second (an amend's own post-commit holds it while it finishes), carry the notes over.

    When another hook keeps the lock, the job is left queued and the next gitroi command (or
    ``gitroi show`` of one of the new commits) does it: no rewrite waits on gitroi
    (docs/reliability.md).
    """
    from gitroi.attribution import pending
    from gitroi.attribution.hooklock import LOCK_WAIT_S, hook_lock, state_dir

    common = str(repo.paths.common_dir)
    groups = parse_rewrite_pairs(stdin_text)
    newest = list(groups)[-1] if groups else (repo.head() or "-")
    job = pending.begin(common, "post-rewrite", [newest, kind or "-"], stdin_text)
    with hook_lock(state_dir(repo), timeout=LOCK_WAIT_S) as lock:
        if not lock.held:
            found = pending.read_job(job) if job else None
            if found is None or not pending.claim(found, pid=0):
                raise HookWarning(f"another gitroi hook kept the lock past {LOCK_WAIT_S:g} s "
                                  "and the work could not be queued: the notes were not "
                                  "carried over", catch_up="gitroi attribute")
            return
        try:
            post_rewrite(repo, kind, stdin_text)
        except HookWarning:
            pending.finish(job)  # what could be carried over is; the warning names the rest
            raise
        except BaseException:
            found = pending.read_job(job) if job else None
            if found is not None:
                pending.claim(found, pid=0)  # the next gitroi command tries again
            raise
    pending.finish(job)
