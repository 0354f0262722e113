"""Code tokens of source fragments: the "is this change only a reformat?" question.

``tokenize_lines(path, lines)`` gives each line's code tokens; two blocks hold the
same code, reformatted, when their concatenated tokens are equal (whitespace,
line breaks, comments and magic trailing commas do not count; identifiers,
operators and each string literal as a whole do). ``same_tokens`` answers that
question directly and faster.

It is a lexer per language, made of regexes (``languages.GRAMMARS[...].strings``
and each file type's comment syntax), not a tree-sitter parse: hunks are
fragments that rarely parse, the question is lexical, and walking tree-sitter's
leaves in Python costs about 3x as much. Tests check that it gives exactly
tree-sitter's leaves (``parse._tree_tokens``) on real files. ``parse.py`` also
uses the comment-and-string "skeleton" regexes here for its text fallback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gitroi.survival.languages import (
    GRAMMARS,
    CommentStyle,
    comment_style_for_path,
    language_for_path,
)

__all__ = ["drop_trailing_commas", "lex", "lexers", "line_starts", "same_tokens", "tokenize_lines"]

# --------------------------------------------------------------------------- lexers

_STRING_RE = rb"\"(?:[^\"\\\n]++|\\.)*+\"|(?<![\w\x80-\xff])'(?:[^'\\\n]++|\\.)*+'"
_OPS_RE = (
    rb">>>=|<<=|>>=|\*\*=|//=|\.\.\.|\.\.=|===|!==|>>>|\?\?=|&&=|\|\|=|->|=>|::|:="
    rb"|\+\+|--|&&|\|\||\?\?|\?\.(?!\d)|<<|>>|\*\*|//|\.\.|</|/>|[-+*/%&|^!=<>@]="
)
_PY_OPS_RE = rb"\*\*=|//=|>>=|<<=|\.\.\.|->|:=|\*\*|//|<<|>>|<>|[-+*/%&|^!=<>@]="
_NUMBER_RE = rb"(?:\d\w*(?:\.(?!\.)\w*)?|\.\d\w*)(?:(?<=[eE])[-+]\d\w*)?"
_WORD_RE = rb"[\w\x80-\xff]+"
_IDENT_RE = rb"[A-Za-z_\x80-\xff][\w\x80-\xff]*"
_BRACKETS_RE = rb"[()\[\]{},;]"
_PUNCT_RE = rb"[^\s\w\x80-\xff]"
_LEXERS: dict[object, tuple[re.Pattern[bytes], re.Pattern[bytes]]] = {}


def lexers(key: str | CommentStyle) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """(skeleton, lexer) regexes for a grammar language or a comment style.

    Group ``c`` of either is a comment. The skeleton matches only comments and
    strings, so a classify pass skips code in C; the lexer also matches operators
    (longest first, as a language's own lexer would), words and single punctuation
    characters; numbers are whole (``1.5e-3``). Comments come first; a string is
    tried before anything that could take its opening quote or prefix (so a
    comment marker inside a string stays in the string, and ``r"..."`` is a
    string, not the word ``r``).
    """
    cached = _LEXERS.get(key)
    if cached is not None:
        return cached
    if isinstance(key, str):
        grammar = GRAMMARS[key]
        style, strings, prefix = grammar.style, grammar.strings, grammar.string_prefix
    else:
        style, strings, prefix = key, _STRING_RE, b""
    # identifiers and brackets are most tokens: try them right after comments
    # (a few % faster on click), unless the word is a string's prefix
    word = (b"(?!" + prefix + b")" if prefix else b"") + _IDENT_RE
    ops = _PY_OPS_RE if key == "python" else _OPS_RE
    comments: list[bytes] = []
    for open_, close in style.blocks:
        first, rest = re.escape(close[0].encode()), re.escape(close[1:].encode())
        # possessive runs keep it linear; a comment still open at the end of the
        # text (a hunk that starts one) is a comment to that end, as in the file
        comments.append(
            re.escape(open_.encode()) + b"(?:[^" + first + b"]++|" + first + b"(?!" + rest
            + b"))*+(?:" + re.escape(close.encode()) + rb"|\Z)"
        )
    for line_marker in style.line:
        marker = re.escape(line_marker.encode())
        if style.hash_like:
            marker = rb"(?:(?<=\s)|^)" + marker
        comments.append(marker + rb"[^\n]*")
    # a backslash ending a line only continues it (Python, C macros, shell): layout
    comments.append(rb"\\(?=\r?\n)")
    comment = b"(?P<c>" + b"|".join(comments) + b")|"
    skeleton = re.compile(comment + strings, re.MULTILINE)
    lexer = re.compile(
        comment + word + b"|" + _BRACKETS_RE + b"|" + strings + b"|" + _NUMBER_RE + b"|" + ops
        + b"|" + _WORD_RE + b"|" + _PUNCT_RE,
        re.MULTILINE,
    )
    _LEXERS[key] = (skeleton, lexer)
    return skeleton, lexer


def line_starts(data: bytes) -> list[int]:
    starts = [0]
    find = data.find
    i = find(b"\n")
    while i >= 0:
        starts.append(i + 1)
        i = find(b"\n", i + 1)
    return starts



# --------------------------------------------------------------------------- tokens

_KEYWORDS = frozenset(
    b"return in not and or is if elif else for while yield await assert del lambda with "
    b"as case match print exec typeof instanceof new throw let const var".split()
)
_OPENERS = {b"(": b")", b"[": b"]", b"{": b"}"}
_CLOSERS = frozenset(_OPENERS.values())
_WORDLIKE = re.compile(rb"[\w\x80-\xff]+")


def tokenize_lines(path: str, lines: Sequence[str]) -> list[tuple[str, ...]]:
    """The code tokens of each line of a fragment, one tuple per input line.

    Two blocks are "the same code, reformatted" when their concatenated tokens are
    equal: whitespace, indentation, line breaks, comments and magic trailing commas
    do not count; everything else (identifiers, operators, each string literal as a
    whole) does. A token spanning lines (a multi-line string) belongs to the line
    it starts on. Lines may carry their line terminator or not.

    This is a per-language lexer (``languages.GRAMMARS[...].strings`` and comment
    syntax), not a tree-sitter parse: hunks are fragments that rarely parse, the
    question is lexical, and a lexer is about 3x faster than walking the leaves
    of a parse in Python (the analyser asks on every modified hunk). A test checks
    that on real files it gives the same tokens as tree-sitter's leaves.
    """
    if not lines:
        return []
    data = _encode(_join(lines))
    language = language_for_path(path)
    key: str | CommentStyle = language if language is not None else comment_style_for_path(path)
    toks = lex(key, data)
    out: list[list[str]] = [[] for _ in lines]
    row = 0
    next_nl = data.find(b"\n")
    for offset, tok in toks:
        while 0 <= next_nl < offset:
            row += 1
            next_nl = data.find(b"\n", next_nl + 1)
        out[row].append(tok.decode("utf-8", "surrogateescape"))
    return [tuple(t) for t in out]


def same_tokens(path: str, old: Sequence[str], new: Sequence[str]) -> bool:
    """Whether two blocks of lines hold the same code (a reformat, not a change).

    Equal to comparing the concatenated ``tokenize_lines`` of both blocks, but most
    real modifications are rejected without lexing: tokens keep every non-blank
    byte except comments, line continuations and commas, so when neither block
    can hold a comment or a continuation, blocks that differ once whitespace and
    commas are removed cannot have equal tokens.
    """
    a = _encode(_join(old))
    b = _encode(_join(new))
    if a == b:
        return True
    key: str | CommentStyle = language_for_path(path) or comment_style_for_path(path)
    if a.translate(None, _LAYOUT) != b.translate(None, _LAYOUT):
        markers = _markers(key)
        if not any(m in a or m in b for m in markers):
            return False
    return [t for _, t in lex(key, a)] == [t for _, t in lex(key, b)]


def cannot_be_same_tokens(path: str, old: bytes, new: bytes) -> bool:
    """True when two blocks (raw bytes) surely hold different code tokens: the fast half
    of :func:`same_tokens`, for callers that want the tokens themselves when they match.

    Tokens keep every non-blank byte except comments, line continuations and
    commas, so blocks that differ once whitespace and commas are gone, and in
    which no comment or continuation can start, cannot tokenize the same.
    """
    if old.translate(None, _LAYOUT) == new.translate(None, _LAYOUT):
        return False
    key: str | CommentStyle = language_for_path(path) or comment_style_for_path(path)
    return not any(m in old or m in new for m in _markers(key))


_LAYOUT = b" \t\r\n\x0b\x0c,"
_MARKERS: dict[object, tuple[bytes, ...]] = {}


def _markers(key: str | CommentStyle) -> tuple[bytes, ...]:
    """Bytes whose presence means the lexer may drop more than layout and commas."""
    found = _MARKERS.get(key)
    if found is None:
        style = GRAMMARS[key].style if isinstance(key, str) else key
        found = tuple(
            {b"\\"}
            | {p.encode() for p in style.line}
            | {o.encode() for o, _ in style.blocks}
        )
        _MARKERS[key] = found
    return found


def _join(lines: Sequence[str]) -> str:
    return "\n".join(line.rstrip("\r\n") for line in lines)


def _encode(text: str) -> bytes:
    """UTF-8 bytes of text that may hold surrogate escapes (lines decoded from
    non-UTF-8 blobs with ``surrogateescape``): the original bytes come back."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def lex(key: str | CommentStyle, data: bytes) -> list[tuple[int, bytes]]:
    """(offset, token) of every code token, comments out, trailing commas out."""
    _, lexer = lexers(key)
    if key in _JS_FAMILY and b"/" in data:
        return drop_trailing_commas(_lex_js(lexer, data))
    toks = [(m.start(), m.group()) for m in lexer.finditer(data) if m.group("c") is None]
    return drop_trailing_commas(toks)


_JS_FAMILY = frozenset({"javascript", "typescript", "tsx"})
# A regular expression literal: classes may hold "/", escapes anything, flags after.
_JS_REGEX = re.compile(rb"/(?![*/])(?:[^/\\\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[A-Za-z]*")
# Tokens after which "/" starts a regular expression rather than dividing.
_JS_REGEX_AFTER_WORDS = frozenset(
    b"return typeof instanceof in of new delete void throw case do else yield await".split()
)


def _lex_js(lexer: re.Pattern[bytes], data: bytes) -> list[tuple[int, bytes]]:
    """The JavaScript-family lexer with regular expression literals kept whole.

    Whether ``/`` divides or starts a regex depends on the token before it (an
    operand before it: division), which a single regex cannot see. The text is
    first lexed as if every ``/`` divided; only if some ``/`` starts a literal is
    it lexed again token by token, stopping at each literal and resuming after
    it (linear, about twice the plain pass, and only for text with literals).
    """
    toks = [(m.start(), m.group()) for m in lexer.finditer(data) if m.group("c") is None]
    if not any(
        (tok == b"/" or tok == b"/=")
        and _regex_may_follow(toks, i)
        and _JS_REGEX.match(data, offset) is not None
        for i, (offset, tok) in enumerate(toks)
    ):
        return toks
    out: list[tuple[int, bytes]] = []
    pos = 0
    while True:
        for m in lexer.finditer(data, pos):
            if m.group("c") is not None:
                continue
            tok = m.group()
            if (tok == b"/" or tok == b"/=") and _regex_may_follow(out, len(out)):
                literal = _JS_REGEX.match(data, m.start())
                if literal is not None:
                    out.append((m.start(), literal.group()))
                    pos = literal.end()
                    break
            out.append((m.start(), tok))
        else:
            return out


def _regex_may_follow(out: list[tuple[int, bytes]], i: int) -> bool:
    """Whether a "/" at token index ``i`` may start a regex (no operand before it)."""
    if i == 0:
        return True
    prev = out[i - 1][1]
    if prev in _JS_REGEX_AFTER_WORDS:
        return True
    last = prev[-1:]
    # an operand (name, number, string, closing bracket) before "/" divides
    return not (last.isalnum() or last in b"_$)]}'\"`" or last >= b"\x80")


def drop_trailing_commas(toks: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Remove a comma right before a closing bracket, unless it makes a one-element
    tuple: ``(a,)`` not after a callee (Python, Rust) or ``x[a,]`` (a subscript)."""
    drop: set[int] = set()
    stack: list[list[int]] = []  # [commas at this level, callish (0/1)]
    for i, (_, tok) in enumerate(toks):
        if tok in _OPENERS:
            prev = toks[i - 1][1] if i else b""
            callish = prev in _CLOSERS or (
                bool(_WORDLIKE.fullmatch(prev)) and prev not in _KEYWORDS
            ) or prev[-1:] in (b'"', b"'")
            stack.append([0, int(callish)])
        elif tok in _CLOSERS:
            commas, called = stack.pop() if stack else [2, 1]
            if i and toks[i - 1][1] == b",":
                lone = commas == 1
                keep = lone and ((tok == b")" and not called) or (tok == b"]" and bool(called)))
                if not keep:
                    drop.add(i - 1)
        elif tok == b"," and stack:
            stack[-1][0] += 1
    if not drop:
        return toks
    return [t for i, t in enumerate(toks) if i not in drop]
