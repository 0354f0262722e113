"""docs/ledger.md is the ledger's schema contract: these tests keep it in step with the schema.

A fresh ledger (every migration applied) is compared with the document, both
ways, and a failure names exactly what to add or remove: a table or view
without its ``### `name` (table|view)`` section, a column without its
``| `column` | TYPE | meaning |`` row (or a row for a column that is gone, or
with the wrong type), an index or migration missing from its list, a
``table.column`` reference to nothing.  So a migration appended without
documenting it fails CI with the names to write up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlite_utils import Database

from gitroi.ledger import open_ledger

DOC = Path(__file__).resolve().parents[1] / "docs" / "ledger.md"
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
SECTION = re.compile(rf"^### `({NAME})` \((table|view)\)[ \t]*$", re.M)
ROW = re.compile(rf"^\| `({NAME})` \| ([^|]*) \|", re.M)
INHERIT = re.compile(rf"^Then the columns of `({NAME})`\.", re.M)
HEADING = re.compile(r"^#{1,3} ", re.M)
DOTTED = re.compile(rf"`({NAME})\.({NAME})`")


@dataclass
class Section:
    kind: str                                   # table | view
    columns: dict[str, str] = field(default_factory=dict)   # column -> documented type
    inherits: str | None = None


@dataclass
class Schema:
    kinds: dict[str, str]                       # name -> table | view
    columns: dict[str, dict[str, str]]          # name -> {column: declared type}
    indexes: dict[str, str]                     # explicit index -> its table
    migrations: list[str]


def _body(text: str, start: int) -> str:
    nxt = HEADING.search(text, start)
    return text[start:nxt.start() if nxt else len(text)]


def doc_sections(text: str) -> dict[str, Section]:
    out: dict[str, Section] = {}
    for m in SECTION.finditer(text):
        body = _body(text, m.end())
        inherit = INHERIT.search(body)
        out[m.group(1)] = Section(m.group(2), {c: t.strip() for c, t in ROW.findall(body)},
                                  inherit.group(1) if inherit else None)
    return out


def chapter(text: str, title: str) -> str:
    """The text under the ``## title`` heading, up to the next heading."""
    m = re.search(rf"^## {re.escape(title)}[ \t]*$", text, re.M)
    assert m, f"docs/ledger.md has no '## {title}' section"
    return _body(text, m.end())


@pytest.fixture(scope="module")
def text() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    db: Database = open_ledger(tmp_path_factory.mktemp("ledger") / "ledger.db")
    try:
        kinds: dict[str, str] = {}
        columns: dict[str, dict[str, str]] = {}
        for t in db.tables:
            if not t.name.startswith("sqlite_"):
                kinds[t.name] = "table"
                columns[t.name] = {c.name: (c.type or "").upper() for c in t.columns}
        for v in db.views:
            kinds[v.name] = "view"
            columns[v.name] = {c.name: "" for c in v.columns}
        indexes = {name: table for name, table in db.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' "
            "AND name NOT LIKE 'sqlite_autoindex_%'").fetchall()}
        migrations = [r[0] for r in db.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'gitroi' ORDER BY id")]
    finally:
        db.conn.close()
    return Schema(kinds, columns, indexes, migrations)


def _fail(problems: list[str]) -> None:
    if problems:
        pytest.fail("docs/ledger.md is out of step with the ledger schema "
                    "(gitroi/ledger/migrations.py):\n  " + "\n  ".join(problems), pytrace=False)


def test_the_schema_is_the_one_documented_at_least_in_outline(schema: Schema) -> None:
    # Guards the test itself: a broken schema read would make every check below vacuous.
    assert {"sessions", "usage_events", "commits", "line_outcomes", "_sqlite_migrations"} <= set(
        schema.kinds)
    assert "report_headline" in schema.kinds and schema.kinds["report_headline"] == "view"
    assert schema.migrations[0] == "m001_core"
    assert "line_outcomes_outcome" in schema.indexes


def test_every_table_and_view_has_a_section(text: str, schema: Schema) -> None:
    sections = doc_sections(text)
    problems = [f"missing {kind}: {name} (add a section '### `{name}` ({kind})')"
                for name, kind in sorted(schema.kinds.items()) if name not in sections]
    problems += [f"{name} is a {kind} but documented as a {sections[name].kind}"
                 for name, kind in sorted(schema.kinds.items())
                 if name in sections and sections[name].kind != kind]
    _fail(problems)


def test_the_doc_names_no_table_or_view_that_does_not_exist(text: str, schema: Schema) -> None:
    problems = [f"documented {s.kind} does not exist: {name} (remove its section)"
                for name, s in sorted(doc_sections(text).items()) if name not in schema.kinds]
    who = chapter(text, "Who writes what")
    for row in re.findall(r"^\| (`[^|]*) \|", who, re.M):
        problems += [f"'Who writes what' names a table that does not exist: {n}"
                     for n in re.findall(rf"`({NAME})`", row) if n not in schema.kinds]
    listed = {n for row in re.findall(r"^\| (`[^|]*) \|", who, re.M)
              for n in re.findall(rf"`({NAME})`", row)}
    problems += [f"'Who writes what' does not list table {n}"
                 for n, kind in sorted(schema.kinds.items()) if kind == "table" and n not in listed]
    _fail(problems)


def test_every_column_is_documented_with_its_type(text: str, schema: Schema) -> None:
    sections = doc_sections(text)
    problems: list[str] = []
    for name in sorted(schema.kinds):
        sec = sections.get(name)
        if sec is None:
            continue  # reported by test_every_table_and_view_has_a_section
        documented = dict(sec.columns)
        if sec.inherits:
            base = sections.get(sec.inherits)
            if base is None:
                problems.append(f"{name}: 'Then the columns of `{sec.inherits}`' names no section")
            else:
                documented = {**base.columns, **documented}
        real = schema.columns[name]
        problems += [f"missing column: {name}.{c} (add a row '| `{c}` | {real[c] or 'TYPE'} | ... |' "
                     f"to the {name} section)" for c in real if c not in documented]
        problems += [f"documented column does not exist: {name}.{c} (remove its row)"
                     for c in documented if c not in real]
        problems += [f"wrong type: {name}.{c} is {real[c]}, documented as {documented[c]}"
                     for c in real if c in documented and real[c] and documented[c].upper() != real[c]]
    _fail(problems)


def test_every_table_dot_column_reference_exists(text: str, schema: Schema) -> None:
    problems = sorted({f"`{t}.{c}` names a column that does not exist"
                       for t, c in DOTTED.findall(text)
                       if t in schema.kinds and c not in schema.columns[t]})
    _fail(problems)


def test_every_index_is_listed(text: str, schema: Schema) -> None:
    part = chapter(text, "Keys and indexes")
    listed = {n: on for n, on in ROW.findall(part)}
    problems = [f"missing index: {n} on {t} (add it to 'Keys and indexes')"
                for n, t in sorted(schema.indexes.items()) if n not in listed]
    problems += [f"listed index does not exist: {n} (remove it from 'Keys and indexes')"
                 for n in sorted(listed) if n not in schema.indexes]
    problems += [f"index {n} is on {schema.indexes[n]}, listed as {on.strip()}"
                 for n, on in sorted(listed.items())
                 if n in schema.indexes and not on.strip().strip("`").startswith(schema.indexes[n] + "(")]
    _fail(problems)


def test_every_migration_is_listed_in_order(text: str, schema: Schema) -> None:
    part = chapter(text, "Version")
    listed = [n for n, _ in ROW.findall(part)]
    problems = [f"missing migration: {n} (add a row to the table in 'Version', and its "
                "tables/columns below)" for n in schema.migrations if n not in listed]
    problems += [f"listed migration was never applied: {n}" for n in listed
                 if n not in schema.migrations]
    if not problems and listed != schema.migrations:
        problems.append(f"migrations listed out of order: {listed} != {schema.migrations}")
    # What each migration adds must exist (tables, views, indexes, table.column), unless a
    # later migration's row says it "drops" it.
    dropped = {n for m in re.finditer(r"drops ((?:`[^`]+`(?:, | and )?)+)", part)
               for n in re.findall(r"`([^`]+)`", m.group(1))}
    for row in re.findall(r"^\| `m\d+\w*` \| (.*) \|$", part, re.M):
        for n in re.findall(rf"`({NAME}(?:\.{NAME})?)`", row):
            if n in dropped:
                continue
            t, _, c = n.partition(".")
            if c:
                ok = t in schema.kinds and c in schema.columns[t]
            else:
                ok = n in schema.kinds or n in schema.indexes
            if not ok:
                problems.append(f"'Version' says a migration adds {n}, which does not exist")
    _fail(problems)


def test_the_sample_queries_run_against_a_fresh_ledger(text: str, tmp_path: Path) -> None:
    # Every ```sql block in the doc runs on an empty ledger of the current schema.
    db = open_ledger(tmp_path / "ledger.db")
    try:
        blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
        assert len(blocks) >= 4
        for sql in blocks:
            db.execute(sql).fetchall()
    finally:
        db.conn.close()


def test_the_checks_name_what_drifted(text: str, schema: Schema) -> None:
    # A column row deleted, a section for a table that does not exist, a migration unlisted:
    # each check fails and names it, so a last-minute migration gets a precise message.
    drifted = (re.sub(r"^\| `speed` \|.*\n", "", text, flags=re.M)
               .replace("## Views", "### `ghost_table` (table)\n\n| `x` | TEXT | x |\n\n## Views")
               .replace("| `m030_sessions_speed` |", "| m030_sessions_speed |"))
    checks = {
        test_every_column_is_documented_with_its_type:
            "missing column: usage_events.speed",
        test_the_doc_names_no_table_or_view_that_does_not_exist:
            "documented table does not exist: ghost_table",
        test_every_migration_is_listed_in_order: "missing migration: m030_sessions_speed",
    }
    for check, message in checks.items():
        with pytest.raises(pytest.fail.Exception) as info:
            check(drifted, schema)
        assert message in str(info.value)
