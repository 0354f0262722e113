"""``gitroi export``: this repository's figures as Parquet, for the organisation view.

What is written are the fact tables ``gitroi report`` itself sums
(:mod:`gitroi.ledger.facts`), for the report's default scope (the analysed
branch), plus the merged PRs with their review figures: so ``gitroi org
report`` over many repositories runs the very formulas (:mod:`gitroi.ledger.formulas`)
each repository's report runs, and its totals are the sums of theirs.

The write is atomic per repository (see :mod:`gitroi.org.dataset`): files go
under a fresh ``export=<id>/`` and the ``_current.json`` pointer is written
last; exporting again replaces the repository's data, never adds to it.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitroi.errors import GitroiError
from gitroi.org.dataset import (
    COLUMNS,
    POINTER,
    SCHEMA_VERSION,
    Store,
    arrow_schema,
    normalise_remote,
    open_store,
    partition,
    storage_error,
    storage_errors,
)
from gitroi.org.summary import summary_rows

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlite_utils import Database

    from gitroi.git import Repo

FACTS = ("commit_facts", "token_facts", "commit_agents", "line_facts", "pr_commits",
         "exploration")


@dataclass
class Exported:
    """What one export wrote: where, under which id, how many rows per table."""

    repo: str
    uri: str
    export_id: str
    rows: dict[str, int]
    replaced: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"repo": self.repo, "to": self.uri, "export": self.export_id, "rows": self.rows,
                "replaced": self.replaced, "schema_version": SCHEMA_VERSION}


def repo_name(repo: Repo, name: str | None = None) -> str:
    """``--name``, else the normalised URL of the ``origin`` remote (or the only remote)."""
    if name:
        return name.strip().strip("/")
    remotes = repo.git_text("remote").split()
    pick = "origin" if "origin" in remotes else (remotes[0] if len(remotes) == 1 else None)
    url = repo.git_text("remote", "get-url", pick).strip() if pick else ""
    got = normalise_remote(url) if url else None
    if not got:
        raise GitroiError("this repository has no remote URL to name its export by",
                          hint="pass --name github.com/ORG/REPO (any stable, unique name)")
    return got


Person = Callable[[str, str], tuple[str, str]]


def mailmap_of(repo: Repo) -> Person | None:
    """(name, e-mail) -> the person the repository's ``.mailmap`` says it is; None without one."""
    import pygit2

    try:
        mm = pygit2.Mailmap.from_repository(repo.pygit)
    except (pygit2.GitError, ValueError):
        return None

    def person(name: str, email: str) -> tuple[str, str]:
        got = mm.resolve(name or "", email or "")
        return str(got[0]), str(got[1])

    return person


def fact_tables(db: Database, name: str, *, roots: Sequence[str] | None,
                provider_of: Callable[[str], str | None] | None,
                person: Person | None = None) -> dict[str, pa.Table]:
    """Every exported table of this ledger's default report scope, as Arrow tables.

    ``person`` (the repository's ``.mailmap``) writes each commit's author as
    the one person it is, so ``org report --by author`` has one row per person.
    """
    import pyarrow as pa

    from gitroi.ledger import facts
    from gitroi.ledger.figures import Scope, materialise
    from gitroi.ledger.prs import pr_rows

    scope = Scope()
    materialise(db, scope)
    tables = facts.build(db, name, provider_of=provider_of, facts=FACTS, roots=roots)
    out: dict[str, pa.Table] = {}
    for fact in FACTS:
        cols = [c for c, _ in COLUMNS[fact]]
        rows = db.conn.execute(f"SELECT {', '.join(cols)} FROM {tables[fact]} "
                               "ORDER BY 1, 2").fetchall()
        dicts = [dict(zip(cols, r, strict=True)) for r in rows]
        if fact == "commit_facts" and person is not None:
            for d in dicts:
                d["author_name"], d["author_email"] = person(d["author_name"] or "",
                                                             d["author_email"] or "")
        out[fact] = pa.Table.from_pylist(dicts, schema=arrow_schema(fact))
    prs = [{"repo": name, **{c: p.get(c) for c, _ in COLUMNS["pull_requests"] if c != "repo"}}
           for p in pr_rows(db, scope)]
    out["pull_requests"] = pa.Table.from_pylist(prs, schema=arrow_schema("pull_requests"))
    out["summary"] = pa.Table.from_pylist(summary_rows(db, name, tables, prs),
                                          schema=arrow_schema("summary"))
    return out


def write_export(store: Store, name: str, tables: dict[str, pa.Table], *,
                 extra: dict[str, Any] | None = None) -> Exported:
    """Write ``tables`` aside under a new export id, then swap the pointer; clean up old exports."""
    import pyarrow.parquet as pq

    from gitroi import __version__, timeutil

    part = store.path(partition(name))
    stamp = timeutil.now().replace("-", "").replace(":", "").split(".")[0]
    export_id = f"{stamp}Z-{secrets.token_hex(4)}"
    folder = posixpath.join(part, f"export={export_id}")
    files: dict[str, str] = {}
    try:
        store.fs.create_dir(folder, recursive=True)
        for table, data in tables.items():
            path = posixpath.join(folder, f"{table}.parquet")
            pq.write_table(data, path, filesystem=store.fs, compression="zstd")
            files[table] = f"export={export_id}/{table}.parquet"
        pointer_path = posixpath.join(part, POINTER)
        previous: str | None = None
        if store.exists(pointer_path):
            try:
                previous = json.loads(store.read_text(pointer_path)).get("export")
            except ValueError:
                previous = None
        pointer = {
            "schema_version": SCHEMA_VERSION, "gitroi_version": __version__, "repo": name,
            "export": export_id, "previous": previous, "exported_at": timeutil.now(),
            "files": files, "rows": {t: d.num_rows for t, d in tables.items()}, **(extra or {}),
        }
        store.write_text(pointer_path, json.dumps(pointer, indent=2, sort_keys=True) + "\n")
    except storage_errors() as exc:
        raise storage_error(store.uri, exc) from exc
    # Exports older than the previous one: no reader can still be on them.
    for entry, is_dir in store.listdir(part):
        old = entry.removeprefix("export=")
        if is_dir and entry.startswith("export=") and old not in (export_id, previous):
            with contextlib.suppress(*storage_errors()):  # else left for the next export; readers ignore it
                store.fs.delete_dir(posixpath.join(part, entry))
    return Exported(name, store.uri, export_id, {t: d.num_rows for t, d in tables.items()},
                    previous)


def export(db: Database, to: str, name: str, *, roots: Sequence[str] | None = None,
           provider_of: Callable[[str], str | None] | None = None,
           person: Person | None = None, extra: dict[str, Any] | None = None) -> Exported:
    """Export this ledger's figures for repository ``name`` to ``to`` (a folder or a URI)."""
    store = open_store(to)
    tables = fact_tables(db, name, roots=roots, provider_of=provider_of, person=person)
    return write_export(store, name, tables, extra=extra)
