"""Where ``gitroi org report`` runs its queries: DuckDB embedded (the default) or Apache Spark.

Engines differ only in how they run the queries: both register the exported
fact tables under the names :mod:`gitroi.ledger.formulas` expects and run
the same SQL text, so their answers agree (a test holds them to identical
JSON).  A source on an object store is copied to a local temporary folder
first for DuckDB and local Spark (DuckDB's own S3 support is an extension it
would download; Spark's needs Hadoop's S3 connector); a Spark cluster reached
through Spark Connect reads the store itself, with its own credentials.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gitroi.errors import GitroiError

if TYPE_CHECKING:
    from gitroi.org.dataset import Dataset

ENGINES = ("duckdb", "spark")
#: Spark's logging in local mode: errors only (see the file).
_LOG4J = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spark-log4j2.properties")


class Engine(Protocol):
    name: str

    def register(self, table: str, files: Sequence[str], cache: bool = False) -> None:
        """``table`` over the Parquet ``files``; ``cache``: read them once, into memory."""

    def register_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
                      ) -> None: ...

    def query(self, sql: str) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def _q(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


class DuckDB:
    """DuckDB in memory, reading the Parquet files where they lie."""

    name = "duckdb"

    def __init__(self) -> None:
        import duckdb

        # No progress bar: it would be printed into the report's own output (JSON, CSV).
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET parquet_metadata_cache = true")
        threads = os.environ.get("GITROI_DUCKDB_THREADS")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def register(self, table: str, files: Sequence[str], cache: bool = False) -> None:
        listing = ", ".join(_q(f) for f in files)
        kind = "TABLE" if cache else "VIEW"
        self.con.execute(f"CREATE OR REPLACE {kind} {table} AS SELECT * FROM "
                         f"read_parquet([{listing}])")

    def register_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
                      ) -> None:
        import pyarrow as pa

        # Through Arrow: an executemany of a thousand rows takes a fifth of a second.
        data = pa.table({c: pa.array([None if r[i] is None else str(r[i]) for r in rows],
                                     pa.string()) for i, c in enumerate(columns)})
        self.con.register("gitroi_rows", data)
        try:
            self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM gitroi_rows")
        finally:
            self.con.unregister("gitroi_rows")

    def query(self, sql: str) -> list[dict[str, Any]]:
        cur = self.con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        self.con.close()


class Spark:
    """A Spark session: ``local[*]`` by default, or a cluster through Spark Connect."""

    name = "spark"

    def __init__(self, remote: str | None = None, master: str | None = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise GitroiError("the Spark engine needs pyspark",
                              hint="pip install 'gitroi[spark]' (and a Java 17+ runtime)") from exc
        self.remote = remote
        builder = SparkSession.builder.appName("gitroi org report")
        if remote:
            builder = builder.remote(remote)
        else:
            builder = (builder.master(master or os.environ.get("GITROI_SPARK_MASTER", "local[*]"))
                       .config("spark.ui.enabled", "false")
                       # The default 1 GiB driver runs out of memory building the hash joins
                       # of 1,000 repositories' facts (benchmarks/bench_org.py).
                       .config("spark.driver.memory",
                               os.environ.get("GITROI_SPARK_DRIVER_MEMORY", "3g"))
                       .config("spark.sql.shuffle.partitions", str(max(2, os.cpu_count() or 2)))
                       # The files are named one by one (the pointers'): listing them is a stat
                       # each, which a job of a thousand tasks only slows down (13 s of 40 s for
                       # 1,000 summaries in benchmarks/bench_org.py).
                       .config("spark.sql.sources.parallelPartitionDiscovery.threshold",
                               "1000000")
                       # No progress bars or start-up warnings on the terminal: the report's
                       # own output is there (errors are still logged).
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.driver.extraJavaOptions",
                               f"-Dlog4j2.configurationFile={_LOG4J}")
                       .config("spark.sql.session.timeZone", "UTC"))
        try:
            self.spark = builder.getOrCreate()
        except Exception as exc:  # JVM missing, cluster unreachable: one line, with the fix
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GitroiError(f"cannot start Spark: {first}",
                              hint="local mode needs Java 17+ (`java -version`); a cluster: "
                                   "--spark-remote sc://HOST:15002") from exc
        if not remote:
            self.spark.sparkContext.setLogLevel("ERROR")

    def register(self, table: str, files: Sequence[str], cache: bool = False) -> None:
        from gitroi.org.dataset import COLUMNS

        paths = [f.replace("s3://", "s3a://", 1) if f.startswith("s3://") else f for f in files]
        # The schema given, not inferred: no job to read a footer before the query's own.
        types = {"string": "string", "int64": "bigint", "float64": "double"}
        schema = ", ".join(f"{c} {types[t]}" for c, t in COLUMNS[table])
        self.spark.read.schema(schema).parquet(*paths).createOrReplaceTempView(table)
        if cache:
            self.spark.catalog.cacheTable(table)

    def register_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
                      ) -> None:
        schema = ", ".join(f"{c} string" for c in columns)
        self.spark.createDataFrame([tuple(r) for r in rows], schema).createOrReplaceTempView(table)

    def query(self, sql: str) -> list[dict[str, Any]]:
        return [r.asDict() for r in self.spark.sql(sql).collect()]

    def close(self) -> None:
        pass  # the session is shared by the process (getOrCreate); Spark stops it at exit


def open_engine(name: str, *, spark_remote: str | None = None) -> Engine:
    if name == "duckdb":
        try:
            return DuckDB()
        except ImportError as exc:
            raise GitroiError("the DuckDB engine needs duckdb", hint="pip install duckdb") from exc
    if name == "spark":
        return Spark(remote=spark_remote or os.environ.get("SPARK_REMOTE") or None)
    raise GitroiError(f"unknown engine {name!r}", hint="use duckdb or spark")


def register_dataset(engine: Engine, ds: Dataset, tables: Sequence[str],
                     workdir: tempfile.TemporaryDirectory[str] | None = None, *,
                     cache: Sequence[str] = ()) -> None:
    """Register each exported table of ``ds`` in ``engine``, copying remote files locally first.

    A Spark cluster (Spark Connect) is given the store's own URIs instead.
    """
    from gitroi.org.dataset import storage_error, storage_errors

    remote_spark = isinstance(engine, Spark) and engine.remote
    for table in tables:
        files = ds.files(table)
        if ds.store.local:
            paths = files
        elif remote_spark:
            scheme = ds.store.uri.split("://", 1)[0]
            paths = [f"{scheme}://{f}" for f in files]
        else:
            if workdir is None:
                raise ValueError("a remote source needs a work folder")
            paths = []
            for f in files:
                local = os.path.join(workdir.name, f.replace("/", os.sep))
                os.makedirs(os.path.dirname(local), exist_ok=True)
                try:
                    with ds.store.fs.open_input_stream(f) as src, open(local, "wb") as out:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
                except storage_errors() as exc:
                    raise storage_error(ds.store.uri, exc) from exc
                paths.append(local)
        if not paths:
            raise GitroiError(f"no export in {ds.store.uri} has the {table} table",
                              hint="export again with this gitroi")
        engine.register(table, [posixpath.normpath(p) if "://" not in p else p for p in paths],
                        cache=table in cache)
