"""Which grammar or comment style a path gets, and what each grammar's nodes mean.

Two tables live here, kept apart from the parsing code in ``parse.py`` so a new
language is one entry, not new logic:

* ``GRAMMARS``: the tree-sitter languages (one grammar package each), with the
  query that finds comments, docstrings and definitions, and the node types that
  are string-like (kept as one token, never split into their children, because
  some grammars leave the quotes or the text between escapes out of every leaf).
* ``COMMENT_STYLES``: for files without a grammar, the comment syntax of common
  file types, so the plain-text fallback can still tell comment-only lines from
  content. A file type missing here has no comments at all (Markdown, JSON, text):
  every non-blank line counts as content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Query captures: @comment (non-code text), @doc (a Python docstring-like bare
# string statement: non-code too), @def + @name (a definition and its name),
# @recv (a Go method's receiver, which qualifies the name), @type (a Rust impl's
# type, which names the impl block).

_PY_QUERY = """
(comment) @comment
(expression_statement . [(string) (concatenated_string)] @doc .)
(function_definition name: (identifier) @name) @def
(class_definition name: (identifier) @name) @def
(decorated_definition definition: (function_definition name: (identifier) @name)) @def
(decorated_definition definition: (class_definition name: (identifier) @name)) @def
"""

# Shared by JavaScript, TypeScript and TSX (the TypeScript grammars extend JS).
_JS_COMMON = """
(comment) @comment
(function_declaration name: (_) @name) @def
(generator_function_declaration name: (_) @name) @def
(class_declaration name: (_) @name) @def
(class name: (_) @name) @def
(method_definition name: (_) @name) @def
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function) (class)]) @def
(assignment_expression left: (member_expression property: (_) @name)
  right: [(arrow_function) (function_expression) (generator_function) (class)]) @def
(pair key: (_) @name value: [(arrow_function) (function_expression) (generator_function)]) @def
(variable_declarator name: (identifier) @name value: (object)) @def
"""

# A JSX child holding only a comment (``{/* note */}``) is a comment line.
_JSX = """
(jsx_expression . (comment) .) @doc
"""

_JS_QUERY = _JS_COMMON + _JSX + """
(field_definition property: (_) @name value: [(arrow_function) (function_expression)]) @def
"""

_TS_QUERY = _JS_COMMON + """
(public_field_definition name: (_) @name value: [(arrow_function) (function_expression)]) @def
(abstract_class_declaration name: (_) @name) @def
(interface_declaration name: (_) @name) @def
(type_alias_declaration name: (_) @name) @def
(enum_declaration name: (_) @name) @def
(internal_module name: (_) @name) @def
(function_signature name: (_) @name) @def
(method_signature name: (_) @name) @def
(abstract_method_signature name: (_) @name) @def
"""

_GO_QUERY = """
(comment) @comment
(function_declaration name: (identifier) @name) @def
(method_declaration receiver: (parameter_list) @recv name: (field_identifier) @name) @def
(type_spec name: (type_identifier) @name type: [(struct_type) (interface_type)]) @def
"""

_RUST_QUERY = """
(line_comment) @comment
(block_comment) @comment
(function_item name: (identifier) @name) @def
(function_signature_item name: (identifier) @name) @def
(impl_item type: (_) @type) @def
(trait_item name: (type_identifier) @name) @def
(struct_item name: (type_identifier) @name) @def
(enum_item name: (type_identifier) @name) @def
(union_item name: (type_identifier) @name) @def
(mod_item name: (identifier) @name body: (declaration_list)) @def
(macro_definition name: (identifier) @name) @def
"""

_JAVA_QUERY = """
(line_comment) @comment
(block_comment) @comment
(class_declaration name: (identifier) @name) @def
(interface_declaration name: (identifier) @name) @def
(enum_declaration name: (identifier) @name) @def
(record_declaration name: (identifier) @name) @def
(annotation_type_declaration name: (identifier) @name) @def
(method_declaration name: (identifier) @name) @def
(constructor_declaration name: (identifier) @name) @def
(compact_constructor_declaration name: (identifier) @name) @def
"""

_JS_STRINGS = frozenset({"string", "template_string", "regex"})


@dataclass(frozen=True, slots=True)
class CommentStyle:
    """Comment syntax of a file type, for the regex paths (files without a grammar,
    huge files, lone lines, and the tokenizer).

    ``hash_like`` prefixes (``#``, ``;``, ``%``) start a comment only at the start of
    a line or after whitespace, so ``$#``, ``${#x}`` or ``a#b`` in shell and URLs
    with fragments stay content.
    """

    line: tuple[str, ...] = ()
    blocks: tuple[tuple[str, str], ...] = ()
    hash_like: bool = False


_HASH = CommentStyle(line=("#",), hash_like=True)
_C = CommentStyle(line=("//",), blocks=(("/*", "*/"),))

# String literal regexes of the lexers (bytes patterns). A string left open at
# the end of a fragment (a hunk that starts or ends inside it) runs to the
# fragment's end for multi-line kinds, and is plain punctuation for one-line
# kinds. Possessive quantifiers (``*+``, ``++``; Python 3.11) keep them linear:
# runs of ordinary bytes are taken whole and never re-split on a failed match.
_Q = b'"'
_ESC = rb"\\(?s:.)"  # a backslash escapes anything, a newline included
_SQ = rb"'(?:[^'\\\n]++|\\.)*+'"
_DQ = _Q + rb"(?:[^" + _Q + rb"\\\n]++|\\.)*+" + _Q


def _triple(quote: bytes) -> bytes:
    """A triple-quoted string of ``quote`` (Python, Java text blocks)."""
    q3 = quote * 3
    return (
        q3 + rb"(?:[^" + quote + rb"\\]++|" + _ESC + b"|" + quote + rb"(?!" + quote * 2 + b"))*+"
        + rb"(?:" + q3 + rb"|\Z)"
    )


_PY_STRINGS = (
    rb"(?i:[rbuf]|br|rb|fr|rf)?(?:" + _triple(b"'") + b"|" + _triple(_Q) + b"|" + _SQ + b"|"
    + _DQ + b")"
)
# A template literal, with ``${...}`` substitutions that may hold strings, one
# level of braces and a nested template without substitutions of its own.
_TEMPLATE_SIMPLE = rb"`(?:[^`\\]++|" + _ESC + rb")*+`"
_SUBST = (
    rb"\$\{(?:[^{}`'" + _Q + rb"]++|" + _SQ + b"|" + _DQ + b"|" + _TEMPLATE_SIMPLE
    + rb"|\{[^{}]*+\})*+\}"
)
_JS_STRINGS_RE = (
    _SQ + b"|" + _DQ
    + rb"|`(?:[^`\\$]++|" + _ESC + b"|" + _SUBST + rb"|\$)*+(?:`|\Z)"
    + rb"|\A#!\S*+"  # a shebang line's interpreter, one token as tree-sitter has it
)
_GO_STRINGS = _DQ + rb"|'(?:[^'\\\n]++|\\.)++'|`[^`]*+(?:`|\Z)"
_RUST_STRINGS = (
    rb"b?r(?P<hashes>#*)" + _Q + rb"(?:[^" + _Q + rb"]++|" + _Q + rb"(?!(?P=hashes)))*+(?:"
    + _Q + rb"(?P=hashes)|\Z)"
    + rb"|b?" + _Q + rb"(?:[^" + _Q + rb"\\]++|" + _ESC + rb")*+(?:" + _Q + rb"|\Z)"
    + rb"|b?'(?:\\(?:u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2}|.)|[^'\\\n])'"
)
_JAVA_STRINGS = _triple(_Q) + b"|" + _DQ + rb"|'(?:[^'\\\n]++|\\.)++'"



@dataclass(frozen=True, slots=True)
class Grammar:
    """One tree-sitter language: where its grammar lives and how to read its tree,
    plus the lexical rules of its regex tokenizer."""

    name: str
    module: str  # the grammar package's import name
    function: str  # the function in it returning the TSLanguage pointer
    query: str
    string_types: frozenset[str]  # node types kept whole, as one token
    style: CommentStyle
    strings: bytes  # string literal regex for the lexer
    # what starts a string although it looks like a word (``r"..."``, ``b'x'``)
    string_prefix: bytes = b""


GRAMMARS: dict[str, Grammar] = {
    g.name: g
    for g in (
        Grammar(
            "python", "tree_sitter_python", "language", _PY_QUERY,
            frozenset({"string"}), CommentStyle(line=("#",)), _PY_STRINGS,
            rb"[rRbBuUfF]{1,2}['" + b'"]',
        ),
        Grammar(
            "javascript", "tree_sitter_javascript", "language", _JS_QUERY,
            _JS_STRINGS, _C, _JS_STRINGS_RE,
        ),
        Grammar(
            "typescript", "tree_sitter_typescript", "language_typescript", _TS_QUERY,
            _JS_STRINGS, _C, _JS_STRINGS_RE,
        ),
        Grammar(
            "tsx", "tree_sitter_typescript", "language_tsx", _TS_QUERY + _JSX,
            _JS_STRINGS, _C, _JS_STRINGS_RE,
        ),
        Grammar(
            "go", "tree_sitter_go", "language", _GO_QUERY,
            frozenset({"interpreted_string_literal", "raw_string_literal", "rune_literal"}),
            _C, _GO_STRINGS,
        ),
        Grammar(
            "rust", "tree_sitter_rust", "language", _RUST_QUERY,
            frozenset({"string_literal", "raw_string_literal", "char_literal"}),
            _C, _RUST_STRINGS, rb"b?r#*" + b'"' + rb"|b['" + b'"]',
        ),
        Grammar(
            "java", "tree_sitter_java", "language", _JAVA_QUERY,
            frozenset({"string_literal", "character_literal"}),
            _C, _JAVA_STRINGS,
        ),
    )
}

_EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
}


def language_for_path(path: str) -> str | None:
    """The tree-sitter language of a repository path, or None for plain-text files.

    Decided by the extension alone (case-insensitive), never by content: the
    analyser asks for every path of every commit, so this must be a dict lookup.
    """
    return _EXTENSIONS.get(os.path.splitext(path)[1].lower())


_CSS = CommentStyle(blocks=(("/*", "*/"),))
_SQL = CommentStyle(line=("--",), blocks=(("/*", "*/"),))
_DASH = CommentStyle(line=("--",))
_SEMI = CommentStyle(line=(";",), hash_like=True)
_PERCENT = CommentStyle(line=("%",), hash_like=True)
_XML = CommentStyle(blocks=(("<!--", "-->"),))
_PHP = CommentStyle(line=("//", "#"), blocks=(("/*", "*/"),))

_STYLE_BY_EXT: dict[str, CommentStyle] = {}
for _style, _exts in (
    (_HASH, "sh bash zsh fish ksh yaml yml toml rb pl pm r cfg conf cmake mk tf tfvars hcl nix "
            "jl ex exs cr nim coffee properties awk tcl pyx pxd gitignore gitattributes "
            "dockerignore editorconfig ps1 psm1 gemspec rake bzl bazel star"),
    (_C, "c h cc cpp cxx c++ hpp hh hxx inl cs swift kt kts scala sc dart m mm zig groovy "
         "gradle proto v sv svh sol glsl hlsl cu cuh frag vert jsonc json5 scss less d "
         "fs fsx"),
    (_CSS, "css"),
    (_SQL, "sql"),
    (_DASH, "lua hs elm ada adb ads"),
    (_SEMI, "ini lisp el clj cljs cljc edn scm rkt asm s"),
    (_PERCENT, "tex sty cls erl hrl"),
    (_XML, "html htm xml xhtml svg xsd xsl md markdown vue"),
    (_PHP, "php"),
):
    for _ext in _exts.split():
        _STYLE_BY_EXT["." + _ext] = _style

_STYLE_BY_NAME: dict[str, CommentStyle] = {
    name: _HASH
    for name in (
        "makefile", "gnumakefile", "dockerfile", "containerfile", "gemfile", "rakefile",
        "pipfile", "procfile", "vagrantfile", "build", "workspace", "codeowners",
        ".gitignore", ".gitattributes", ".dockerignore", ".editorconfig", ".env",
    )
}

NO_COMMENTS = CommentStyle()


def comment_style_for_path(path: str) -> CommentStyle:
    """The comment syntax the plain-text fallback uses for a path (maybe none)."""
    base = os.path.basename(path).lower()
    style = _STYLE_BY_NAME.get(base)
    if style is not None:
        return style
    if base.startswith("dockerfile") or base.endswith(".dockerfile"):
        return _HASH
    return _STYLE_BY_EXT.get(os.path.splitext(base)[1], NO_COMMENTS)
