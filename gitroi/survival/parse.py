"""Syntax awareness for the survival analyser: code vs comment lines, enclosing
symbols, and whitespace-insensitive tokens, with tree-sitter where a grammar exists.

The analyser asks three questions, and this module answers each without the
caller knowing which language a file is in:

* ``classify(path, data)``: per line of a file version, is it code (not blank,
  not comment-only, not a docstring) and which function or class encloses it
  (``"Class.method"``, ``"outer.inner"``, ``""`` at module level). One parse, one
  query run in C, then per-line arrays filled with slice assignments: no Python
  recursion over the tree. Results are cached by blob id in a bounded LRU, so the
  same blob is never parsed twice.
* ``tokenize_lines(path, lines)``: the code tokens of each line of a fragment (a
  hunk), so that "is this change only a reformat?" becomes "are the two blocks'
  concatenated token sequences equal?". Comments are dropped, string literals stay
  one token each (a changed quote style or string content is a change), and a
  trailing comma before a closing bracket is dropped (black's and prettier's
  "magic trailing comma") except where it makes a one-element tuple. It lives in
  ``lexer.py`` (a regex lexer per language) and is re-exported here with
  ``same_tokens``, so the analyser has one module to import.
* ``is_blank_or_comment(path, line)``: the same question as ``classify`` for a
  lone line, by text alone, for lines whose file version was never parsed.

Files without a grammar use a plain-text fallback: a regex lexer that knows the
comment syntax of common file types (``languages.comment_style_for_path``).

Line numbering follows ``bytes.splitlines()`` (``\\n``, ``\\r\\n`` and a lone
``\\r`` end a line; nothing else does), which is also what git's diff counts.
Decoding ``data`` as text and calling ``str.splitlines()`` would split on more
characters (form feed, U+2028, ...) and give a different line count.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitroi.errors import GitroiError
from gitroi.survival.languages import (
    GRAMMARS,
    CommentStyle,
    Grammar,
    comment_style_for_path,
    language_for_path,
)
from gitroi.survival.lexer import (
    drop_trailing_commas,
    lexers,
    line_starts,
    same_tokens,
    tokenize_lines,
)

try:  # an old or absent tree-sitter is reported when a file needs it, by _load
    from tree_sitter import Language, Parser, Query, QueryCursor
except ImportError as exc:
    _TREE_SITTER_IMPORT_ERROR: ImportError | None = exc
else:
    _TREE_SITTER_IMPORT_ERROR = None

if TYPE_CHECKING:
    from tree_sitter import Node, Point, Tree


__all__ = [
    "FileSyntax",
    "cache_info",
    "classify",
    "clear_cache",
    "is_blank_or_comment",
    "language_for_path",
    "same_tokens",
    "tokenize_lines",
]

#: Files larger than this are classified by the text fallback, never parsed: a
#: generated or vendored blob of many megabytes is not where rework is measured,
#: and tree-sitter's time grows with it.
MAX_PARSE_BYTES = 2_000_000
#: Texts larger than this parse under a deadline (see ``_parse``).
GUARD_BYTES = 32_000
PARSE_BUDGET_S = 0.25
PARSE_BUDGET_S_PER_BYTE = 2e-6
#: Bounds of the classify cache (entries, and lines summed over entries).
CACHE_ENTRIES = 4096
CACHE_LINES = 2_000_000


@dataclass(frozen=True, slots=True)
class FileSyntax:
    """Per-line facts about one file version; index ``i`` is line ``i + 1``.

    ``is_code[i]`` is False for blank lines, comment-only lines and docstring
    lines (a Python string statement is documentation, not behaviour: it is
    counted with comments). ``symbol[i]`` is the qualified name of the innermost
    enclosing definition, ``""`` outside any. ``parsed`` is False when the text
    fallback answered (no grammar, binary or huge input, or a grammar that could
    not be loaded): then every ``symbol`` is ``""``.

    Instances are cached and shared: treat the lists as read-only.
    """

    language: str | None
    is_code: list[bool]
    symbol: list[str]
    parsed: bool


# --------------------------------------------------------------------------- grammars


@dataclass(slots=True)
class _Loaded:
    grammar: Grammar
    parser: Parser
    query: Query


_LOADED: dict[str, _Loaded] = {}
_FAILED: dict[str, GitroiError] = {}

# The oldest releases gitroi is tested with (pyproject.toml's lower bounds, which
# tests/test_packaging.py keeps equal to these; .ci/min-versions runs the suite on
# them). tree-sitter 0.25 brought QueryCursor, but 0.25.0 to 0.26.0 crash the
# process (segfault) in Parser.parse(read, progress_callback=), which _parse uses;
# the grammars' 0.23 releases carry a language ABI (14) that 0.26 reads.
MIN_VERSIONS: dict[str, str] = {
    "tree-sitter": "0.26.1",
    "tree-sitter-python": "0.23",
    "tree-sitter-javascript": "0.23",
    "tree-sitter-typescript": "0.23",
    "tree-sitter-go": "0.23",
    "tree-sitter-rust": "0.23",
    "tree-sitter-java": "0.23",
}


def _version_tuple(version: str) -> tuple[int, ...]:
    """``"0.23.6"`` -> (0, 23, 6); a part's trailing letters (``0rc1``) are ignored."""
    parts = []
    for part in version.split("."):
        m = re.match(r"\d+", part)
        if m is None:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def _installed(package: str) -> str | None:
    """``package``'s installed version: from its ``.dist-info`` folder's name on ``sys.path``
    (what pip writes), else from ``importlib.metadata``, whose import alone costs a
    re-analysis ~15 ms."""
    want = re.sub(r"[-_.]+", "_", package).lower() + "-"
    for entry in sys.path:
        try:
            names = _listing(entry or ".")
        except OSError:
            continue
        found = [n for n in names if n.lower().startswith(want) and n.endswith(".dist-info")]
        if len(found) == 1:
            return found[0][len(want):-len(".dist-info")]
        if found:
            break  # two installs in one folder: let importlib.metadata choose
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


_LISTINGS: dict[str, list[str]] = {}


def _listing(folder: str) -> list[str]:
    names = _LISTINGS.get(folder)
    if names is None:
        names = _LISTINGS[folder] = os.listdir(folder)
    return names


def _require(package: str, purpose: str) -> str | None:
    """Raise when ``package`` is installed older than ``MIN_VERSIONS`` says;
    return its version (None when pip has no record of it)."""
    have = _installed(package)
    need = MIN_VERSIONS[package]
    if have is not None and _version_tuple(have) < _version_tuple(need):
        raise GitroiError(
            f"{package} {have} is installed, but gitroi needs {package}>={need} {purpose}",
            hint=f"pip install -U '{package}>={need}'",
        )
    return have


def _load(language: str) -> _Loaded:
    """The parser and query of a language, created once per process.

    Grammar packages are imported lazily so that a run over a Go-only repository
    never imports the Python grammar. A grammar or tree-sitter that is missing,
    too old or built for another ABI raises a GitroiError naming the package and
    the command that fixes it: falling back to plain text would silently put every
    line at module level and shift the survival figures.
    """
    loaded = _LOADED.get(language)
    if loaded is not None:
        return loaded
    failed = _FAILED.get(language)
    if failed is not None:
        raise failed
    try:
        loaded = _load_grammar(GRAMMARS[language])
    except GitroiError as exc:
        _FAILED[language] = exc
        raise
    _LOADED[language] = loaded
    return loaded


def _load_grammar(grammar: Grammar) -> _Loaded:
    package = grammar.module.replace("_", "-")
    need = MIN_VERSIONS[package]
    ts_version = _require("tree-sitter", "to read source files")
    if _TREE_SITTER_IMPORT_ERROR is not None:
        raise GitroiError(
            f"tree-sitter {ts_version or '(not installed)'} cannot be used by gitroi: "
            f"{_TREE_SITTER_IMPORT_ERROR}",
            hint=f"pip install -U 'tree-sitter>={MIN_VERSIONS['tree-sitter']}'",
        )
    have = _require(package, f"to read {grammar.name} files")
    try:
        module = importlib.import_module(grammar.module)
    except ImportError as exc:
        raise GitroiError(
            f"the {grammar.name} grammar ({package}) is not installed, so gitroi cannot "
            f"tell code from comments nor name functions in {grammar.name} files: {exc}",
            hint=f"pip install '{package}>={need}'",
        ) from exc
    try:
        lang = Language(getattr(module, grammar.function)())
        query = Query(lang, grammar.query)
    except Exception as exc:  # ABI out of range, a node type the query names is unknown, ...
        raise GitroiError(
            f"{package} {have or '(version unknown)'} does not work with tree-sitter "
            f"{ts_version or '(version unknown)'} and gitroi's {grammar.name} query: {exc}",
            hint=f"pip install -U 'tree-sitter>={MIN_VERSIONS['tree-sitter']}' '{package}>={need}'",
        ) from exc
    return _Loaded(grammar, Parser(lang), query)


# --------------------------------------------------------------------------- lines

_LONE_CR = re.compile(rb"\r(?!\n)")


def _split(data: bytes) -> tuple[bytes, list[bytes]]:
    """``data`` with lone CRs made LFs (same length, so tree-sitter's rows match
    ``bytes.splitlines``), and its lines without terminators (CR of CRLF kept)."""
    norm = _LONE_CR.sub(b"\n", data) if b"\r" in data else data
    lines = norm.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return norm, lines


def _apply_noncode(
    lines: list[bytes], is_code: list[bool], spans: list[tuple[int, int, int, int]]
) -> None:
    """Mark lines that only hold non-code text (comments, docstrings) as non-code.

    ``spans`` are (start_row, start_col, end_row, end_col) in bytes, end exclusive.
    Rows wholly inside a span are non-code; a row a span only touches stays code
    if any non-blank byte on it lies outside every span (``x = 1  # note``).
    """
    n = len(lines)
    partial: dict[int, list[tuple[int, int]]] = {}
    for sr, sc, er, ec in spans:
        if sr >= n:
            continue
        if ec == 0 and er > sr:  # the span swallowed its line's newline
            er -= 1
            ec = len(lines[er]) if er < n else 0
        if er >= n:
            er, ec = n - 1, len(lines[n - 1])
        if sr == er:
            partial.setdefault(sr, []).append((sc, ec))
            continue
        partial.setdefault(sr, []).append((sc, len(lines[sr])))
        if er > sr + 1:
            is_code[sr + 1 : er] = [False] * (er - sr - 1)
        partial.setdefault(er, []).append((0, ec))
    for row, cuts in partial.items():
        line = lines[row]
        cuts.sort()
        pos = 0
        code = False
        for start, end in cuts:
            if line[pos:start].strip():
                code = True
                break
            pos = max(pos, end)
        else:
            code = bool(line[pos:].strip())
        is_code[row] = code


# --------------------------------------------------------------------------- classify

_CACHE: OrderedDict[tuple[str, object], FileSyntax] = OrderedDict()
_cache_lines = 0
_GO_RECV = re.compile(rb"\(\s*(?:[A-Za-z_]\w*\s+)?\*?\s*([A-Za-z_]\w*)")
_IDENT = re.compile(rb"[A-Za-z_]\w*")


def classify(path: str, data: bytes, cache_key: str | None = None) -> FileSyntax:
    """Code/non-code and enclosing symbol of every line of one file version.

    ``cache_key`` (the blob id) lets a second call for the same content return the
    first result; it is combined with the language, since the same blob under two
    extensions reads differently. Never raises on content: non-UTF-8 bytes, NULs,
    unbalanced syntax all give an answer (tree-sitter recovers from errors; binary
    and huge input go to the text fallback). Raises GitroiError when the file's
    grammar or tree-sitter is missing or too old (see ``_load``).
    """
    language = language_for_path(path)
    style: object = language if language is not None else comment_style_for_path(path)
    if cache_key is not None:
        key = (cache_key, style)
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    result = _classify(path, language, data)
    if cache_key is not None:
        _remember((cache_key, style), result)
    return result


def _remember(key: tuple[str, object], result: FileSyntax) -> None:
    global _cache_lines
    _CACHE[key] = result
    _cache_lines += len(result.is_code)
    while len(_CACHE) > CACHE_ENTRIES or (_cache_lines > CACHE_LINES and len(_CACHE) > 1):
        _, old = _CACHE.popitem(last=False)
        _cache_lines -= len(old.is_code)


def clear_cache() -> None:
    """Forget every cached classification (tests; long-running processes)."""
    global _cache_lines
    _CACHE.clear()
    _cache_lines = 0


def cache_info() -> tuple[int, int]:
    """(entries, lines) held by the classify cache."""
    return len(_CACHE), _cache_lines


def _classify(path: str, language: str | None, data: bytes) -> FileSyntax:
    norm, lines = _split(data)
    loaded = _load(language) if language is not None else None
    if loaded is None or len(data) > MAX_PARSE_BYTES or b"\0" in data[:8192]:
        return _classify_text(path, language, norm, lines)
    tree = _parse(loaded.parser, norm)
    if tree is None:
        return _classify_text(path, language, norm, lines)
    n = len(lines)
    is_code = [bool(line.strip()) for line in lines]
    symbol = [""] * n
    spans: list[tuple[int, int, int, int]] = []
    # name node start byte -> (def start, def end, start row, end row, name); keyed
    # by the name so a decorated definition and its inner definition count once.
    defs: dict[int, tuple[int, int, int, int, str]] = {}
    for _, caps in QueryCursor(loaded.query).matches(tree.root_node):
        comment = caps.get("comment") or caps.get("doc")
        if comment:
            node = comment[0]
            (sr, sc), (er, ec) = node.start_point, node.end_point
            spans.append((sr, sc, er, ec))
            continue
        node_list = caps.get("def")
        if not node_list:
            continue
        node = node_list[0]
        named = _def_name(norm, caps)
        if named is None:
            continue
        anchor, name = named
        start = node.start_byte
        prev = defs.get(anchor)
        if prev is not None and prev[0] <= start:
            continue
        (sr, _), (er, ec) = node.start_point, node.end_point
        if ec == 0 and er > sr:
            er -= 1
        defs[anchor] = (start, node.end_byte, sr, er, name)
    if spans:
        _apply_noncode(lines, is_code, spans)
    if defs:
        _fill_symbols(symbol, sorted(defs.values(), key=lambda d: (d[0], -d[1])))
    return FileSyntax(language, is_code, symbol, True)


def _parse(parser: Parser, data: bytes) -> Tree | None:
    """Parse, giving up (None) when tree-sitter's error recovery runs away.

    On some broken input (thousands of unclosed ``/*`` in a row) the parse time
    grows with the square of the size: 25 KB took 0.8 s, 50 KB 4 s. Small texts
    cannot get far, so they parse directly; larger ones get a deadline of about
    ten times a normal parse, checked by tree-sitter's progress callback (which
    costs about a third of the parse time, hence not for every text).
    """
    if len(data) <= GUARD_BYTES:
        return parser.parse(data)
    view = memoryview(data)
    deadline = time.perf_counter() + PARSE_BUDGET_S + len(data) * PARSE_BUDGET_S_PER_BYTE
    clock = time.perf_counter

    def read(offset: int, _point: Point) -> memoryview:
        return view[offset:]

    def give_up(_offset: int, _has_error: bool) -> bool:
        return clock() > deadline

    try:
        return parser.parse(read, progress_callback=give_up)
    except ValueError:  # "Parsing failed": halted by give_up
        parser.reset()  # else the next parse would resume this one
        return None


def _text(data: bytes, node: Node) -> bytes:
    return data[node.start_byte : node.end_byte]


def _def_name(data: bytes, caps: dict[str, list[Node]]) -> tuple[int, str] | None:
    """(anchor byte, display name) of a definition match, or None if unnamed."""
    name_nodes = caps.get("name")
    if name_nodes:
        node = name_nodes[0]
        name = _text(data, node).decode("utf-8", "replace")
        recv = caps.get("recv")
        if recv:  # Go method: qualify with the receiver's type name
            m = _GO_RECV.match(_text(data, recv[0]))
            if m:
                name = m.group(1).decode("ascii") + "." + name
        return node.start_byte, name
    type_nodes = caps.get("type")
    if type_nodes:  # Rust impl block: named after its type, generics and paths dropped
        node = type_nodes[0]
        head = _text(data, node).split(b"<", 1)[0].rsplit(b"::", 1)[-1]
        words = [w for w in _IDENT.findall(head) if w not in (b"dyn", b"mut")]
        if words:
            return node.start_byte, words[-1].decode("ascii")
    return None


def _fill_symbols(symbol: list[str], defs: list[tuple[int, int, int, int, str]]) -> None:
    """Write each definition's qualified name over its rows, outer ones first so
    inner ones overwrite their part; nesting is read from byte ranges."""
    n = len(symbol)
    stack: list[tuple[int, str]] = []  # (end byte, qualified name)
    for start, end, sr, er, name in defs:
        while stack and stack[-1][0] <= start:
            stack.pop()
        qual = f"{stack[-1][1]}.{name}" if stack else name
        stack.append((end, qual))
        if sr >= n:
            continue
        er = min(er, n - 1)
        symbol[sr : er + 1] = [qual] * (er - sr + 1)


def _classify_text(
    path: str, language: str | None, norm: bytes, lines: list[bytes]
) -> FileSyntax:
    """Classification without a parse: blank lines and comments found by regex."""
    is_code = [bool(line.strip()) for line in lines]
    key: str | CommentStyle = language if language is not None else comment_style_for_path(path)
    style = GRAMMARS[key].style if isinstance(key, str) else key
    if style.line or style.blocks:
        skeleton, _ = lexers(key)
        starts: list[int] | None = None
        spans: list[tuple[int, int, int, int]] = []
        for m in skeleton.finditer(norm):
            if m.group("c") is None:
                continue
            if starts is None:
                starts = line_starts(norm)
            s, e = m.span()
            sr = bisect_right(starts, s) - 1
            er = bisect_right(starts, e) - 1
            spans.append((sr, s - starts[sr], er, e - starts[er]))
        if spans:
            _apply_noncode(lines, is_code, spans)
    return FileSyntax(language, is_code, [""] * len(lines), False)


def is_blank_or_comment(path: str, line: str) -> bool:
    """Whether a lone line is blank or a comment, judged from its text alone.

    For lines whose file version is not parsed. It sees one line, so it cannot
    know about block comments or docstrings spanning lines: a line inside them
    reads as code (the conservative side), with two exceptions that are safe to
    guess: a ``*``/``*/`` doc-comment body line in Java, JavaScript and TypeScript
    (no unary ``*`` there, unlike Go and Rust), and a whole one-line triple-quoted
    string in Python (a docstring, as ``classify`` counts it). A line holding a
    whole ``/* ... */`` comment, or starting with a line-comment marker, is a
    comment.
    """
    text = line.strip()
    if not text:
        return True
    language = language_for_path(path)
    style = GRAMMARS[language].style if language is not None else comment_style_for_path(path)
    if any(text.startswith(prefix) for prefix in style.line):
        return True
    for open_, close in style.blocks:
        if text.startswith(open_) and text.endswith(close) and len(text) >= len(open_) + len(close):
            inner = text[len(open_) : len(text) - len(close)]
            if close not in inner:
                return True
    if language in _STAR_DOC and (text == "*" or text.startswith(("* ", "*/"))):
        return True
    if language == "python":
        return _PY_DOCLINE.fullmatch(text) is not None
    return False


_STAR_DOC = frozenset({"java", "javascript", "typescript", "tsx"})
_TQ = '"' * 3
_PY_DOCLINE = re.compile(
    rf"[rRuU]?(?:{_TQ}(?:(?!{_TQ}).)*{_TQ}|'''(?:(?!''').)*''')"
)


_WS = re.compile(rb"\S+")
_CONTINUATION = re.compile(rb"\\\r?\n.?", re.DOTALL)


def _tree_tokens(language: str, data: bytes) -> list[tuple[int, bytes]]:
    """Tokens from tree-sitter's leaves (strings whole, comments and other extras
    out, text no leaf covers split on whitespace), trailing commas out.

    Not used by the analyser (see ``tokenize_lines``); kept as the reference the
    lexer is tested against.
    """
    loaded = _load(language)
    tree = loaded.parser.parse(data)
    strings = loaded.grammar.string_types
    out: list[tuple[int, bytes]] = []
    pos = 0
    cursor = tree.walk()

    def gap(upto: int) -> None:
        # text no leaf covers; a line continuation there is layout, as in _lex
        if upto > pos:
            out.extend(
                (pos + m.start(), m.group())
                for m in _WS.finditer(data[pos:upto])
                if not _CONTINUATION.fullmatch(m.group() + data[pos + m.end() : pos + m.end() + 2])
            )

    while True:
        node = cursor.node
        if node is None:  # pragma: no cover - a cursor always has a node
            break
        if node.is_extra and node.type != "ERROR":
            gap(node.start_byte)
            pos = max(pos, node.end_byte)
        elif node.type in strings or node.child_count == 0:
            s, e = node.start_byte, node.end_byte
            gap(s)
            if node.type in strings:
                out.append((s, data[s:e]))
            else:
                out.extend((s + m.start(), m.group()) for m in _WS.finditer(data[s:e]))
            pos = max(pos, e)
        elif cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                gap(len(data))
                return drop_trailing_commas(out)
    return drop_trailing_commas(out)  # pragma: no cover
