"""The exported dataset: its layout, Parquet schemas, storage and the pointer that makes an export atomic.

Layout under the destination (a folder, ``s3://``, ``gs://``, ``az://``)::

    repo=<quoted name>/_current.json            the pointer: which export is the repository's
    repo=<quoted name>/export=<id>/<fact>.parquet   one file per fact table

An export writes every file under a fresh ``export=<id>/`` and then writes the
pointer last (one PUT on an object store, a rename on a folder: both atomic).
Readers read only the files the pointer names, so a reader sees the previous
export or the new one, never half of one, and a repository counts once.  An
``export=`` folder the pointer does not name (and that is not the previous
export, kept a while for readers that started before the swap) was left by an
interrupted export: it is ignored, and named in the report's notes.  Details:
``docs/export.md``.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from gitroi.errors import GitroiError
from gitroi.org import summary

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

#: Version of the export's schema (tables, columns, layout); readers refuse other ones.
#: 2: the ``summary`` table (:mod:`gitroi.org.summary`).
SCHEMA_VERSION = 2
POINTER = "_current.json"
META_KEY = b"gitroi.export.schema"

_STR, _INT, _F64 = "string", "int64", "float64"
#: fact table -> [(column, type)]; documented in docs/export.md (keep them in step).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "commit_facts": [
        ("repo", _STR), ("sha", _STR), ("committed_at", _STR), ("week", _STR), ("month", _STR),
        ("author_name", _STR), ("author_email", _STR), ("attribution", _STR), ("agents", _STR),
        ("tokens", _INT), ("input", _INT), ("cache_write", _INT), ("cache_read", _INT),
        ("output", _INT), ("reasoning", _INT), ("cost_usd", _F64), ("priced_tokens", _INT),
        ("ai_lines", _INT), ("surviving", _INT), ("churned", _INT), ("reverted", _INT),
        ("deleted_later", _INT), ("unanalysed", _INT), ("carried", _INT),
        ("ai_lines_line_level", _INT), ("ai_lines_commit_level", _INT)],
    "token_facts": [
        ("repo", _STR), ("sha", _STR), ("session_key", _STR), ("agent", _STR), ("model", _STR),
        ("provider", _STR), ("input", _INT), ("cache_write", _INT), ("cache_read", _INT),
        ("output", _INT), ("reasoning", _INT), ("cost_usd", _F64)],
    "commit_agents": [("repo", _STR), ("sha", _STR), ("agent", _STR), ("model", _STR),
                      ("provider", _STR)],
    "line_facts": [
        ("repo", _STR), ("sha", _STR), ("path", _STR), ("symbol", _STR), ("ai_lines", _INT),
        ("surviving", _INT), ("churned", _INT), ("reverted", _INT), ("deleted_later", _INT),
        ("unanalysed", _INT), ("carried", _INT)],
    "pr_commits": [("repo", _STR), ("pr", _INT), ("sha", _STR), ("pr_key", _STR)],
    "pull_requests": [
        ("repo", _STR), ("pr", _INT), ("title", _STR), ("method", _STR), ("merged_at", _STR),
        ("merge_commit", _STR), ("pr_commits", _INT), ("ai_written", _INT), ("ai_merged", _INT),
        ("review_churn", _INT), ("note", _STR)],
    "exploration": [
        ("repo", _STR), ("session_key", _STR), ("agent", _STR), ("model", _STR),
        ("provider", _STR), ("ts", _STR), ("input", _INT), ("cache_write", _INT),
        ("cache_read", _INT), ("output", _INT), ("reasoning", _INT), ("cost_usd", _F64)],
    "summary": [("repo", _STR), ("grain", _STR), ("grain_value", _STR),
                *((c, _F64 if c in summary.MONEY else _INT) for c in summary.COLUMNS)],
}
TABLES = tuple(COLUMNS)
#: The tables the report reads when the summary cannot answer (all but the summary).
FACT_TABLES = tuple(t for t in TABLES if t != "summary")


def arrow_schema(table: str) -> pa.Schema:
    import pyarrow as pa

    types = {_STR: pa.string(), _INT: pa.int64(), _F64: pa.float64()}
    return pa.schema([(c, types[t]) for c, t in COLUMNS[table]],
                     metadata={META_KEY: str(SCHEMA_VERSION).encode()})


def partition(name: str) -> str:
    """The ``repo=`` folder of a repository name (hive style, the name percent-quoted)."""
    return "repo=" + quote(name, safe="")


_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")


def normalise_remote(url: str) -> str | None:
    """``github.com/org/repo`` from an https, ssh or scp-style remote URL; None if it has no path.

    Credentials, ports, a trailing ``.git`` and slashes are dropped, the host
    is lower-cased; a local path gives its last two components.
    """
    url = url.strip()
    if not url:
        return None
    m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/]*@)?([^/:]+)(?::\d+)?(/.*)?$", url)
    if m:
        host, path = m.group(1).lower(), (m.group(2) or "")
        if url.startswith("file://"):
            host, path = "", path
    elif (s := _SCP.match(url)) and not url.startswith("/"):
        host, path = s.group(1).lower(), s.group(2)
    else:
        host, path = "", url
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    path = path.rstrip("/")
    if not host:
        parts = [p for p in path.split("/") if p]
        return "/".join(parts[-2:]) if parts else None
    return f"{host}/{path}" if path else None


# --- storage ---------------------------------------------------------------------------------------


@dataclass
class Store:
    """A destination or source: a pyarrow filesystem and the root path inside it."""

    uri: str
    fs: pafs.FileSystem
    root: str

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts) if self.root else posixpath.join(*parts)

    @property
    def local(self) -> bool:
        import pyarrow.fs as pafs

        return isinstance(self.fs, pafs.LocalFileSystem)

    def read_text(self, path: str) -> str:
        with self.fs.open_input_stream(path) as f:
            return bytes(f.read()).decode("utf-8")

    def write_text(self, path: str, text: str) -> None:
        """Write a small file so readers see the old content or the new, never a part."""
        data = text.encode("utf-8")
        if self.local:
            tmp = f"{path}.tmp-{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return
        with self.fs.open_output_stream(path) as out:  # one PUT: atomic on object stores
            out.write(data)

    def listdir(self, path: str) -> list[tuple[str, bool]]:
        """(base name, is a directory) of the entries under ``path``; [] if it does not exist."""
        import pyarrow.fs as pafs

        try:
            infos = self.fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
        except storage_errors() as exc:
            raise storage_error(self.uri, exc) from exc
        return [(posixpath.basename(i.path.rstrip("/")), i.type == pafs.FileType.Directory)
                for i in infos]

    def exists(self, path: str) -> bool:
        import pyarrow.fs as pafs

        try:
            return bool(self.fs.get_file_info(path).type != pafs.FileType.NotFound)
        except storage_errors() as exc:
            raise storage_error(self.uri, exc) from exc


def storage_errors() -> tuple[type[BaseException], ...]:
    """What a store's operations raise: OSError, and pyarrow's own (GCS's "Unknown error")."""
    import pyarrow as pa

    return (OSError, pa.ArrowException)


def _short(text: str) -> str:
    """The part of a cloud library's error a person needs (Google's run to a screenful)."""
    text = text.split(" error_info=", 1)[0]
    if "The underlying error message was: " in text:
        text = "no credentials: " + text.split("The underlying error message was: ", 1)[1]
    return text if len(text) <= 300 else text[:297] + "..."


def storage_error(uri: str, exc: BaseException) -> GitroiError:
    """One line saying what went wrong with ``uri`` and how to fix it (credentials above all)."""
    text = _short(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    low = text.lower().replace("_", "")
    scheme = uri.split("://", 1)[0] if "://" in uri else "file"
    if any(w in low for w in ("credential", "access denied", "accessdenied", "forbidden",
                              "403", "401", "invalidaccesskeyid", "signature", "unauthorized",
                              "no valid", "token", "authenticat")):
        fix = {
            "s3": "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (in CI: an OIDC "
                  "role via aws-actions/configure-aws-credentials)",
            "gs": "set GOOGLE_APPLICATION_CREDENTIALS or run `gcloud auth application-default "
                  "login` (in CI: google-github-actions/auth)",
            "az": "set AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_CONNECTION_STRING) or log in "
                  "with `az login` (in CI: azure/login)",
        }.get(scheme, "check the permissions of the folder")
        return GitroiError(f"no access to {uri}: {text}", hint=fix)
    return GitroiError(f"cannot use {uri}: {text}",
                       hint="check the address, the network and the credentials")


def open_store(uri: str) -> Store:
    """The :class:`Store` for a folder or an object-store URI.

    ``s3://``, ``gs://``, ``az://`` and local paths through pyarrow's own
    filesystems, with credentials and endpoints from the usual environment
    (``AWS_*`` and ``AWS_ENDPOINT_URL``; ``GOOGLE_APPLICATION_CREDENTIALS`` and
    ``STORAGE_EMULATOR_HOST``; ``AZURE_STORAGE_*``, see :func:`_azure`); other
    schemes (``abfs://``, ``gcs://``, ...) through fsspec when it is installed.
    """
    import pyarrow.fs as pafs

    if "://" not in uri or uri.startswith("file://"):
        root = uri[len("file://"):] if uri.startswith("file://") else uri
        root = os.path.abspath(os.path.expanduser(root))
        return Store(uri, pafs.LocalFileSystem(), root)
    scheme, _, rest = uri.partition("://")
    opener = {"s3": _s3, "gs": _gcs, "az": _azure}.get(scheme)
    if opener is not None:
        if not rest.strip("/"):
            raise GitroiError(f"{uri} names no bucket or container",
                              hint=f"e.g. {scheme}://BUCKET/gitroi")
        return Store(uri, opener(uri), rest.rstrip("/"))
    try:
        fs, root = pafs.FileSystem.from_uri(uri)
        return Store(uri, fs, root.rstrip("/"))
    except (ValueError, OSError) as first:  # pyarrow's ArrowInvalid is a ValueError
        try:
            import fsspec
        except ImportError:
            raise GitroiError(f"gitroi cannot open {uri}: {first}",
                              hint=f"install fsspec and its filesystem for {scheme}:// "
                                   "(s3://, gs:// and az:// need nothing more)") from first
        try:
            ffs, root = fsspec.core.url_to_fs(uri)
        except (ImportError, ValueError) as exc:
            raise GitroiError(f"gitroi cannot open {uri}: {exc}",
                              hint=f"install the fsspec filesystem for {scheme}:// "
                                   "(adlfs for abfs://, gcsfs for gcs://)") from exc
        return Store(uri, pafs.PyFileSystem(pafs.FSSpecHandler(ffs)), str(root).rstrip("/"))


def _missing(uri: str, what: str) -> GitroiError:
    return GitroiError(f"this pyarrow has no {what} filesystem for {uri}",
                       hint="pip install -U 'pyarrow>=17' (PyPI's wheels include it)")


def _s3(uri: str) -> pafs.FileSystem:
    """pyarrow's S3 filesystem with the endpoint from ``AWS_ENDPOINT_URL`` (S3-compatible stores)."""
    import pyarrow.fs as pafs

    kwargs: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, rest = endpoint.partition("://")
        kwargs["endpoint_override"] = rest or scheme
        kwargs["scheme"] = scheme if rest else "https"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kwargs["region"] = region
    if not hasattr(pafs, "S3FileSystem"):
        raise _missing(uri, "S3")
    try:
        return pafs.S3FileSystem(**kwargs)
    except (OSError, ValueError) as exc:
        raise storage_error(uri, exc) from exc


def _gcs(uri: str) -> pafs.FileSystem:
    """pyarrow's Google Cloud Storage filesystem; ``STORAGE_EMULATOR_HOST`` points it at an emulator.

    Credentials: Google's default chain (``GOOGLE_APPLICATION_CREDENTIALS``,
    ``gcloud auth application-default login``, workload identity).  Retries
    stop after 30 s, so a machine without credentials or network says so
    instead of retrying for minutes.
    """
    import datetime

    import pyarrow.fs as pafs

    if not hasattr(pafs, "GcsFileSystem"):
        raise _missing(uri, "Google Cloud Storage")
    kwargs: dict[str, Any] = {"retry_time_limit": datetime.timedelta(seconds=30)}
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator:  # the variable Google's client libraries read for an emulator
        scheme, _, rest = emulator.partition("://")
        kwargs.update(endpoint_override=(rest or scheme).rstrip("/"),
                      scheme=scheme if rest else "http", anonymous=True)
    try:
        return pafs.GcsFileSystem(**kwargs)
    except (OSError, ValueError) as exc:
        raise storage_error(uri, exc) from exc


def _azure(uri: str) -> pafs.FileSystem:
    """pyarrow's Azure Blob Storage filesystem for ``az://CONTAINER/PATH``.

    The account is ``AZURE_STORAGE_ACCOUNT_NAME`` (or ``AZURE_STORAGE_ACCOUNT``,
    or the ``AccountName`` of ``AZURE_STORAGE_CONNECTION_STRING``); its key
    ``AZURE_STORAGE_ACCOUNT_KEY`` (or ``AZURE_STORAGE_KEY``, or ``AccountKey``),
    else Azure's default credential chain (``az login``, a managed or workload
    identity: OIDC in CI).  The connection string's ``BlobEndpoint`` points it
    elsewhere (Azurite, sovereign clouds).
    """
    import pyarrow.fs as pafs

    if not hasattr(pafs, "AzureFileSystem"):
        raise _missing(uri, "Azure")
    conn = dict(part.split("=", 1) for part in
                os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "").split(";") if "=" in part)
    env = os.environ.get
    account = env("AZURE_STORAGE_ACCOUNT_NAME") or env("AZURE_STORAGE_ACCOUNT") or \
        conn.get("AccountName")
    if not account:
        raise GitroiError(f"no Azure storage account for {uri}",
                          hint="set AZURE_STORAGE_ACCOUNT_NAME (with AZURE_STORAGE_ACCOUNT_KEY, "
                               "or after `az login`; in CI: azure/login), or "
                               "AZURE_STORAGE_CONNECTION_STRING")
    kwargs: dict[str, Any] = {"account_name": account}
    key = env("AZURE_STORAGE_ACCOUNT_KEY") or env("AZURE_STORAGE_KEY") or conn.get("AccountKey")
    if key:
        kwargs["account_key"] = key
    endpoint = conn.get("BlobEndpoint")
    if endpoint:
        scheme, _, rest = endpoint.partition("://")
        authority = rest.split("/", 1)[0]
        kwargs.update(blob_storage_authority=authority, blob_storage_scheme=scheme,
                      dfs_storage_authority=authority, dfs_storage_scheme=scheme)
    try:
        return pafs.AzureFileSystem(**kwargs)
    except (OSError, ValueError) as exc:
        raise storage_error(uri, exc) from exc


# --- reading what was exported -----------------------------------------------------------------


@dataclass
class Export:
    """One repository's current export, as its pointer names it."""

    repo: str
    partition: str
    export_id: str
    files: dict[str, str]          # fact table -> path in the store
    pointer: dict[str, Any]


@dataclass
class Dataset:
    """Every repository's current export in a source, and what was ignored there and why."""

    store: Store
    exports: list[Export] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def files(self, table: str) -> list[str]:
        return [e.files[table] for e in self.exports if table in e.files]

    def __iter__(self) -> Iterator[Export]:
        return iter(self.exports)


def read_dataset(uri: str) -> Dataset:
    """The current exports under ``uri``; GitroiError for an unknown schema or an empty source."""
    from gitroi import __version__

    store = open_store(uri)
    ds = Dataset(store)
    entries = store.listdir(store.root)
    for name, is_dir in sorted(entries):
        if not (is_dir and name.startswith("repo=")):
            continue
        part = store.path(name)
        pointer_path = posixpath.join(part, POINTER)
        inside = store.listdir(part)
        exports = sorted(n for n, d in inside if d and n.startswith("export="))
        if not any(n == POINTER for n, _ in inside):
            for n in exports:
                ds.ignored.append(f"{name}/{n}: an interrupted export (no {POINTER} names it)")
            continue
        unreadable: tuple[type[BaseException], ...] = (ValueError, *storage_errors())
        try:
            pointer = json.loads(store.read_text(pointer_path))
        except unreadable as exc:
            raise GitroiError(f"{uri}/{name}/{POINTER} is not readable: {exc}",
                              hint="export that repository again (`gitroi export --to ...`)"
                              ) from exc
        version = pointer.get("schema_version")
        if version != SCHEMA_VERSION:
            by = pointer.get("gitroi_version", "an unknown version")
            raise GitroiError(
                f"{uri}/{name} has export schema {version!r} (written by gitroi {by}); "
                f"this gitroi {__version__} reads schema {SCHEMA_VERSION}",
                hint=(f"install gitroi>={by} to read it" if isinstance(version, int)
                      and version > SCHEMA_VERSION else
                      f"export that repository again with gitroi {__version__}"))
        current = str(pointer.get("export"))
        keep = {current, str(pointer.get("previous") or "")}
        for n in exports:
            if n.removeprefix("export=") not in keep:
                ds.ignored.append(f"{name}/{n}: an interrupted export (not the one "
                                  f"{POINTER} names)")
        files = {t: posixpath.join(part, f) for t, f in (pointer.get("files") or {}).items()}
        ds.exports.append(Export(str(pointer.get("repo") or unquote(name[5:])), name, current,
                                 files, pointer))
    if not ds.exports:
        raise GitroiError(f"no repository has exported to {uri} yet",
                          hint="run `gitroi export --to " + uri + "` in each repository "
                               "(or the Action's export-to input)")
    return ds
