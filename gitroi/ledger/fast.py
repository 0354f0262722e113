"""A ledger handle for the git hooks that does not import sqlite-utils.

Importing sqlite-utils costs 50-100 ms here (it pulls in click, pluggy and
dateutil, and scans every installed package's entry points for plugins when
a ``Database`` is made), while the post-commit hook must add well under
100 ms to a commit.  The hook's work needs only a small part of the
``Database`` API: ``execute``, ``conn``, ``atomic()``, and
``db[table].insert_all / insert / upsert / upsert_all`` with a primary key.
:class:`FastLedger` implements exactly that part on a plain ``sqlite3``
connection, with sqlite-utils' semantics (a write through ``execute`` outside
a transaction commits at once; nested ``atomic()`` blocks use savepoints;
lists and dicts are stored as JSON), and hands anything else to a real
``sqlite_utils.Database`` on the same connection, made on first use.  So it
is only ever a shortcut, never a second implementation to keep in step.

:func:`open_fast` uses it only when the ledger exists and every migration is
already applied; otherwise it returns :func:`gitroi.ledger.open_ledger`'s
real ``Database`` (the first run pays for creating the schema once).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from gitroi.ledger.baked import create, expected_migrations

TYPE_CHECKING = False  # not from typing: importing it costs the post-commit hook ~2.5 ms
if TYPE_CHECKING:
    from typing import Any

_SIMPLE = (str, int, float, bytes, type(None))
_TX_KEYWORDS = {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"}


class FastLedger:
    """The part of ``sqlite_utils.Database`` the hooks use, on a plain connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._real: Any = None
        self._savepoints = 0
        self.execute("PRAGMA recursive_triggers=on;")

    # anything not implemented here: a real sqlite_utils.Database on the same connection
    def real(self) -> Any:
        if self._real is None:
            from sqlite_utils import Database

            self._real = Database(self.conn, execute_plugins=False)
        return self._real

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.real(), name)

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
                ) -> sqlite3.Cursor:
        was = self.conn.in_transaction
        try:
            cur = (self.conn.execute(sql, parameters) if parameters is not None
                   else self.conn.execute(sql))
        except Exception:
            if not was and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        if (not was and self.conn.in_transaction and cur.description is None
                and _first_keyword(sql) not in _TX_KEYWORDS):
            self.conn.execute("COMMIT")
        return cur

    @contextmanager
    def atomic(self) -> Iterator[FastLedger]:
        if self.conn.in_transaction:
            self._savepoints += 1
            name = f"gitroi_fast_{self._savepoints}"
            self.conn.execute(f"SAVEPOINT {name};")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name};")
                    self.conn.execute(f"RELEASE SAVEPOINT {name};")
                raise
            else:
                self.conn.execute(f"RELEASE SAVEPOINT {name};")
        else:
            self.conn.execute("BEGIN")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def __getitem__(self, name: str) -> FastTable:
        return FastTable(self, name)

    def close(self) -> None:
        self.conn.close()


def _first_keyword(sql: str) -> str:
    words = sql.lstrip().split(None, 1)
    return words[0].rstrip(";").upper() if words else ""


def _value(v: Any) -> Any:
    if isinstance(v, _SIMPLE) and not isinstance(v, bool):
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=repr)
    raise _Unsupported


class _Unsupported(Exception):
    """A value or option the shortcut does not handle: use the real sqlite-utils table."""


_OK_OPTIONS = {"pk", "replace", "ignore", "batch_size"}


class FastTable:
    """``db[name]`` for inserts and upserts into existing tables; the rest goes to sqlite-utils."""

    def __init__(self, db: FastLedger, name: str) -> None:
        self.db = db
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.db.real()[self.name], attr)

    def _write(self, records: Iterable[Mapping[str, Any]], *, upsert: bool,
               options: dict[str, Any], fallback: str) -> FastTable:
        rows = list(records)
        if set(options) - _OK_OPTIONS or (upsert and not options.get("pk")):
            return self._real_call(fallback, rows, options)
        if not rows:
            return self
        cols: list[str] = list(dict.fromkeys(k for r in rows for k in r))
        try:
            values = [[_value(r.get(c)) for c in cols] for r in rows]
        except _Unsupported:
            return self._real_call(fallback, rows, options)
        q = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        if upsert:
            pk = options["pk"]
            pks = [pk] if isinstance(pk, str) else list(pk)
            rest = [c for c in cols if c not in pks]
            conflict = ", ".join(f'"{c}"' for c in pks)
            action = ("DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in rest)
                      if rest else "DO NOTHING")
            sql = (f'INSERT INTO "{self.name}" ({q}) VALUES ({marks}) '
                   f"ON CONFLICT({conflict}) {action}")
        else:
            verb = ("INSERT OR REPLACE" if options.get("replace")
                    else "INSERT OR IGNORE" if options.get("ignore") else "INSERT")
            sql = f'{verb} INTO "{self.name}" ({q}) VALUES ({marks})'
        with self.db.atomic():
            self.db.conn.executemany(sql, values)
        return self

    def _real_call(self, method: str, rows: list[Mapping[str, Any]], options: dict[str, Any]
                   ) -> FastTable:
        table = self.db.real()[self.name]
        if method in ("insert", "upsert"):
            getattr(table, method)(rows[0], **options)
        else:
            getattr(table, method)(rows, **options)
        return self

    def insert_all(self, records: Iterable[Mapping[str, Any]], **options: Any) -> FastTable:
        return self._write(records, upsert=False, options=options, fallback="insert_all")

    def insert(self, record: Mapping[str, Any], **options: Any) -> FastTable:
        return self._write([record], upsert=False, options=options, fallback="insert")

    def upsert_all(self, records: Iterable[Mapping[str, Any]], **options: Any) -> FastTable:
        return self._write(records, upsert=True, options=options, fallback="upsert_all")

    def upsert(self, record: Mapping[str, Any], **options: Any) -> FastTable:
        return self._write([record], upsert=True, options=options, fallback="upsert")


def open_fast(path: str | Path, *, busy_timeout_ms: int) -> Any:
    """A :class:`FastLedger` on ``path`` when its schema is current, else the real ledger.

    A ledger that does not exist yet is created with its whole schema at once
    (:func:`create`).  The pragmas are :func:`gitroi.ledger.open_ledger`'s.
    Errors surface as they would there (``GitroiError`` naming the file).
    """
    from gitroi.errors import GitroiError

    p = Path(path)
    if not p.exists():
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(p), timeout=busy_timeout_ms / 1000.0)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                conn.execute("PRAGMA journal_mode = WAL")
                create(conn)
            finally:
                conn.close()
        except (OSError, sqlite3.Error):
            pass  # said with the file's name by the path below, as for any ledger
    if p.is_file():
        try:
            conn = sqlite3.connect(str(p), timeout=busy_timeout_ms / 1000.0)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                applied = {r[0] for r in conn.execute(
                    "SELECT name FROM _sqlite_migrations WHERE migration_set = 'gitroi'")}
                if set(expected_migrations()) <= applied:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
                    conn.execute("PRAGMA foreign_keys = OFF")
                    return FastLedger(conn)
            except sqlite3.OperationalError as exc:
                conn.close()
                if "no such table" not in str(exc):
                    raise GitroiError(f"cannot open the ledger {p}: {exc}",
                                      hint="another gitroi may be running; try again when it "
                                           "finishes") from exc
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise GitroiError(
                    f"cannot open the ledger {p}: {exc}",
                    hint="the ledger is derived data: move it aside and run `gitroi rebuild`",
                ) from exc
            else:
                conn.close()
        except OSError as exc:
            raise GitroiError(f"cannot open the ledger {p}: {exc}") from exc
    from gitroi.ledger import open_ledger

    return open_ledger(p, busy_timeout_ms=busy_timeout_ms)
