"""Syntax awareness with the real grammars: exact code/non-code and symbol arrays per
language, reformat-insensitive tokens, fragments, bad bytes, and the text fallback."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from gitroi.survival import lexer, parse
from gitroi.survival.parse import (
    FileSyntax,
    classify,
    is_blank_or_comment,
    language_for_path,
    same_tokens,
    tokenize_lines,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    parse.clear_cache()


def table(result: FileSyntax) -> list[str]:
    """One "C symbol" / "- symbol" entry per line: C for code, - for non-code."""
    return [
        f"{'C' if code else '-'} {sym}" for code, sym in zip(result.is_code, result.symbol, strict=True)
    ]


PYTHON_SRC = """\
\"\"\"Module docstring.\"\"\"
import os  # trailing comment

# comment only


class Greeter(Base):
    \"\"\"Class docstring,
    on two lines.\"\"\"

    greeting = "# not a comment"

    @staticmethod
    def hello(name: str) -> str:
        # explain
        def shout(s):
            return s.upper()

        text = \"\"\"
# inside a string
\"\"\"
        return shout(name) + text


def main():
    return Greeter.hello("x")
"""

PYTHON_EXPECTED = [
    "- ",
    "C ",
    "- ",
    "- ",
    "- ",
    "- ",
    "C Greeter",
    "- Greeter",
    "- Greeter",
    "- Greeter",
    "C Greeter",
    "- Greeter",
    "C Greeter.hello",
    "C Greeter.hello",
    "- Greeter.hello",
    "C Greeter.hello.shout",
    "C Greeter.hello.shout",
    "- Greeter.hello",
    "C Greeter.hello",
    "C Greeter.hello",
    "C Greeter.hello",
    "C Greeter.hello",
    "- ",
    "- ",
    "C main",
    "C main",
]

JAVASCRIPT_SRC = """\
// leading comment
import x from "y";

/* block
   comment */
function top(a, b) {
  const s = "// not a comment";
  return a + b; // trailing
}

class Widget extends Base {
  constructor() {
    super();
  }
  render() {
    const inner = () => {
      return 1;
    };
    return inner();
  }
  handler = () => 2;
}

const arrow = (n) =>
  n * 2;
module.exports.helper = function () {
  return `multi
line`;
};
"""

JAVASCRIPT_EXPECTED = [
    "- ",
    "C ",
    "- ",
    "- ",
    "- ",
    "C top",
    "C top",
    "C top",
    "C top",
    "- ",
    "C Widget",
    "C Widget.constructor",
    "C Widget.constructor",
    "C Widget.constructor",
    "C Widget.render",
    "C Widget.render.inner",
    "C Widget.render.inner",
    "C Widget.render.inner",
    "C Widget.render",
    "C Widget.render",
    "C Widget.handler",
    "C Widget",
    "- ",
    "C arrow",
    "C arrow",
    "C helper",
    "C helper",
    "C helper",
    "C helper",
]

TYPESCRIPT_SRC = """\
interface Shape {
  area(): number;
}

/** Docs. */
export abstract class Base implements Shape {
  abstract area(): number;
  describe(): string {
    // explain
    return "base";
  }
}

enum Color {
  Red,
}

namespace Geo {
  export function dist(p: number): number {
    return p;
  }
}
export const make = <T,>(v: T): T => v;
"""

TYPESCRIPT_EXPECTED = [
    "C Shape",
    "C Shape.area",
    "C Shape",
    "- ",
    "- ",
    "C Base",
    "C Base.area",
    "C Base.describe",
    "- Base.describe",
    "C Base.describe",
    "C Base.describe",
    "C Base",
    "- ",
    "C Color",
    "C Color",
    "C Color",
    "- ",
    "C Geo",
    "C Geo.dist",
    "C Geo.dist",
    "C Geo.dist",
    "C Geo",
    "C make",
]

TSX_SRC = """\
import React from "react";

// A component
export function Card({ title }: { title: string }) {
  return (
    <div className="card">
      {/* jsx comment */}
      <h1>{title}</h1>
    </div>
  );
}

export class Panel extends React.Component<{}> {
  render() {
    return <Card title="x" />;
  }
}
"""

TSX_EXPECTED = [
    "C ",
    "- ",
    "- ",
    "C Card",
    "C Card",
    "C Card",
    "- Card",
    "C Card",
    "C Card",
    "C Card",
    "C Card",
    "- ",
    "C Panel",
    "C Panel.render",
    "C Panel.render",
    "C Panel.render",
    "C Panel",
]

GO_SRC = """\
// Package p does things.
package p

import "fmt"

// Server serves.
type Server struct {
	name string // inline
}

/* block
comment */
func (s *Server) Run(n int) error {
	f := func() int {
		return 1
	}
	return fmt.Errorf("%d", n+f())
}

func helper() string {
	return `raw
// not comment`
}
"""

GO_EXPECTED = [
    "- ",
    "C ",
    "- ",
    "C ",
    "- ",
    "- ",
    "C Server",
    "C Server",
    "C Server",
    "- ",
    "- ",
    "- ",
    "C Server.Run",
    "C Server.Run",
    "C Server.Run",
    "C Server.Run",
    "C Server.Run",
    "C Server.Run",
    "- ",
    "C helper",
    "C helper",
    "C helper",
    "C helper",
]

RUST_SRC = """\
//! Crate docs.
use std::fmt;

/// A point.
struct Point {
    x: i32,
}

impl<T> fmt::Display for Wrapper<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        /* block */
        write!(f, "{}", 1)
    }
}

mod inner {
    pub fn go() {
        let s = r#"// raw"#;
    }
}

trait Speak {
    fn speak(&self);
}
"""

RUST_EXPECTED = [
    "- ",
    "C ",
    "- ",
    "- ",
    "C Point",
    "C Point",
    "C Point",
    "- ",
    "C Wrapper",
    "C Wrapper.fmt",
    "- Wrapper.fmt",
    "C Wrapper.fmt",
    "C Wrapper.fmt",
    "C Wrapper",
    "- ",
    "C inner",
    "C inner.go",
    "C inner.go",
    "C inner.go",
    "C inner",
    "- ",
    "C Speak",
    "C Speak.speak",
    "C Speak",
]

JAVA_SRC = """\
package p;

/**
 * A class.
 */
public class Main {
    // field
    private int x = 1;

    public Main() {
        x = 2;
    }

    @Override
    public String toString() {
        return "/* not */";
    }

    interface Inner {
        void run();
    }

    enum Kind { A, B }
}
"""

JAVA_EXPECTED = [
    "C ",
    "- ",
    "- ",
    "- ",
    "- ",
    "C Main",
    "- Main",
    "C Main",
    "- Main",
    "C Main.Main",
    "C Main.Main",
    "C Main.Main",
    "- Main",
    "C Main.toString",
    "C Main.toString",
    "C Main.toString",
    "C Main.toString",
    "- Main",
    "C Main.Inner",
    "C Main.Inner.run",
    "C Main.Inner",
    "- Main",
    "C Main.Kind",
    "C Main",
]

CASES = [
    ("pkg/mod.py", PYTHON_SRC, PYTHON_EXPECTED),
    ("web/app.js", JAVASCRIPT_SRC, JAVASCRIPT_EXPECTED),
    ("src/shape.ts", TYPESCRIPT_SRC, TYPESCRIPT_EXPECTED),
    ("ui/Card.tsx", TSX_SRC, TSX_EXPECTED),
    ("server.go", GO_SRC, GO_EXPECTED),
    ("src/lib.rs", RUST_SRC, RUST_EXPECTED),
    ("Main.java", JAVA_SRC, JAVA_EXPECTED),
]


@pytest.mark.parametrize(("path", "src", "expected"), CASES, ids=[c[0] for c in CASES])
def test_classify_exact_per_language(path: str, src: str, expected: list[str]) -> None:
    result = classify(path, src.encode())
    assert result.parsed is True
    assert result.language == language_for_path(path)
    assert len(result.is_code) == len(src.encode().splitlines())
    assert table(result) == expected


@pytest.mark.parametrize(("path", "src", "expected"), CASES, ids=[c[0] for c in CASES])
def test_lexer_tokens_equal_tree_sitter_leaves(path: str, src: str, expected: list[str]) -> None:
    """The fast lexer behind tokenize_lines gives exactly tree-sitter's leaves."""
    language = language_for_path(path)
    assert language is not None
    data = src.encode()
    assert lexer.lex(language, data) == parse._tree_tokens(language, data)


def test_lexer_matches_tree_sitter_on_real_files() -> None:
    """This module's own Python files: fixed here, so others' code cannot break it
    (the same check passed on all 79 Python files of click, see docs/syntax.md)."""
    files = [
        ROOT / "gitroi" / "survival" / "parse.py",
        ROOT / "gitroi" / "survival" / "languages.py",
        ROOT / "gitroi" / "survival" / "lexer.py",
        ROOT / "tests" / "test_parse.py",
        ROOT / "benchmarks" / "bench_syntax.py",
    ]
    for file in files:
        data = file.read_bytes()
        assert lexer.lex("python", data) == parse._tree_tokens("python", data), file


def test_language_for_path() -> None:
    expected = {
        "a.py": "python", "a.pyi": "python", "x/a.js": "javascript", "a.mjs": "javascript",
        "a.cjs": "javascript", "a.jsx": "javascript", "a.ts": "typescript",
        "a.mts": "typescript", "a.cts": "typescript", "a.tsx": "tsx", "a.go": "go",
        "a.rs": "rust", "A.JAVA": "java", "a.c": None, "README.md": None, "Makefile": None,
        "py": None, ".py.bak": None,
    }
    assert {p: language_for_path(p) for p in expected} == expected


# ------------------------------------------------------------------ tokens / reformat


def test_python_black_reflow_is_same_tokens() -> None:
    old = ["x=f(a,b)"]
    new = ["x = f(", "    a,", "    b,", ")"]
    assert same_tokens("m.py", old, new)
    assert tokenize_lines("m.py", old) == [("x", "=", "f", "(", "a", ",", "b", ")")]
    assert tokenize_lines("m.py", new) == [("x", "=", "f", "("), ("a", ","), ("b",), (")",)]


def test_changed_identifier_is_not_same_tokens() -> None:
    assert not same_tokens("m.py", ["x = f(a, b)"], ["x = f(a, c)"])
    assert not same_tokens("m.py", ["x = f(a, b)"], ["x = f(ab)"])
    assert not same_tokens("m.go", ["return a+b"], ["return a-b"])


def test_comment_only_change_is_same_tokens() -> None:
    assert same_tokens("m.py", ["x = 1  # old note"], ["x = 1  # new note"])
    assert same_tokens("m.py", ["# a", "y = 2"], ["y = 2", "# b"])
    assert same_tokens("a.ts", ["let a = 1; /* x */"], ["let a = 1; // y"])
    assert same_tokens("a.rs", ["let a = 1; /* x */"], ["/* y */ let a = 1;"])


def test_strings_are_one_token_and_quote_style_matters() -> None:
    assert tokenize_lines("m.py", ['s = "a  b # c"']) == [("s", "=", '"a  b # c"')]
    assert not same_tokens("m.py", ["s = 'a'"], ['s = "a"'])
    assert not same_tokens("m.py", ['s = "a b"'], ['s = "a  b"'])
    assert tokenize_lines("a.go", ["s := `x // y`"]) == [("s", ":=", "`x // y`")]
    assert tokenize_lines("a.rs", ['let s = r#"a "// b"#;']) == [
        ("let", "s", "=", 'r#"a "// b"#', ";")
    ]
    assert tokenize_lines("a.java", ['String s = "/* no */";']) == [
        ("String", "s", "=", '"/* no */"', ";")
    ]


def test_multiline_string_token_belongs_to_its_first_line() -> None:
    lines = ['doc = """', "  keep   spacing", '"""', "y = 1"]
    assert tokenize_lines("m.py", lines) == [
        ("doc", "=", '"""\n  keep   spacing\n"""'), (), (), ("y", "=", "1"),
    ]


def test_trailing_commas() -> None:
    # magic trailing commas (black, prettier, rustfmt, gofmt) do not count
    assert same_tokens("m.py", ["f(a)"], ["f(", "    a,", ")"])
    assert same_tokens("m.py", ["xs = [1, 2]"], ["xs = [", "    1,", "    2,", "]"])
    assert same_tokens("a.js", ["const o = {a: 1};"], ["const o = {", "  a: 1,", "};"])
    assert same_tokens("a.go", ["x := T{A: 1}"], ["x := T{", "\tA: 1,", "}"])
    # ... but a one-element tuple's comma does
    assert not same_tokens("m.py", ["t = (a,)"], ["t = (a)"])
    assert not same_tokens("a.rs", ["let t = (a,);"], ["let t = (a);"])
    assert not same_tokens("m.py", ["v = x[a,]"], ["v = x[a]"])
    assert same_tokens("m.py", ["t = (a, b,)"], ["t = (a, b)"])


def test_reindent_and_line_join_split() -> None:
    old = ["if x:", "    return compute(a, b, c)"]
    new = ["if x:", "        return compute(", "            a, b, c", "        )"]
    assert same_tokens("m.py", old, new)
    assert same_tokens(
        "a.java",
        ["int f() { return 1; }"],
        ["int f() {", "    return 1;", "}"],
    )


def test_fragments_that_do_not_parse() -> None:
    # a hunk from the middle of a call, and one opening a string it never closes
    assert tokenize_lines("m.py", ["    b,", ")"]) == [("b",), (")",)]
    assert tokenize_lines("m.py", ['x = """abc', "def"]) == [("x", "=", '"""abc\ndef'), ()]
    assert tokenize_lines("a.ts", ["  }", "}, [deps]);"]) == [("}",), ("}", ",", "[", "deps", "]", ")", ";")]
    # a block comment still open at the fragment's end is a comment to that end
    assert tokenize_lines("a.java", ["/* open", "comment"]) == [(), ()]
    assert tokenize_lines("a.java", ["x; /* open", "comment"]) == [("x", ";"), ()]
    assert tokenize_lines("m.py", []) == []
    assert tokenize_lines("m.py", ["", "   "]) == [(), ()]


def test_lines_with_terminators() -> None:
    assert tokenize_lines("m.py", ["a = 1\n", "b = 2\r\n"]) == [("a", "=", "1"), ("b", "=", "2")]


def test_non_utf8_tokens_round_trip() -> None:
    raw = b's = "caf\xe9"  # \xff'
    line = raw.decode("utf-8", "surrogateescape")
    tokens = tokenize_lines("m.py", [line])
    assert tokens == [("s", "=", '"caf\udce9"')]
    assert tokens[0][2].encode("utf-8", "surrogateescape") == b'"caf\xe9"'


def test_unknown_language_fallback_tokens() -> None:
    # shell: '#' starts a comment only after whitespace or at line start
    assert tokenize_lines("run.sh", ['echo "a # b" $# x  # note']) == [
        ("echo", '"a # b"', "$", "#", "x")
    ]
    # C: both comment kinds, strings kept whole
    assert tokenize_lines("a.c", ['int x = 1; // c', 'char *s = "/*"; /* c */']) == [
        ("int", "x", "=", "1", ";"), ("char", "*", "s", "=", '"/*"', ";"),
    ]
    # no comment syntax known: nothing is dropped
    assert tokenize_lines("notes.txt", ["# Title", "don't stop"]) == [
        ("#", "Title"), ("don", "'", "t", "stop")
    ]
    assert same_tokens("README.md", ["a long line of", "prose"], ["a long line", "of prose"])


# ------------------------------------------------------------------ classify edge cases


def test_crlf_and_lone_cr_line_numbering() -> None:
    data = b"def f():\r\n    # c\r\n    return 1\rx = 2\n"
    result = classify("m.py", data)
    assert len(data.splitlines()) == 4
    assert table(result) == ["C f", "- f", "C f", "C "]


def test_no_trailing_newline_and_empty() -> None:
    assert table(classify("m.py", b"x = 1\n\n# end")) == ["C ", "- ", "- "]
    assert classify("m.py", b"").is_code == []
    assert classify("a.sh", b"").symbol == []


def test_non_utf8_content_never_raises() -> None:
    data = b"def f():\n    s = '\xff\xfe'  # \xe9\n    # \x80\n    return s\n"
    assert table(classify("m.py", data)) == ["C f", "C f", "- f", "C f"]
    bad_name = b"def caf\xe9():\n    pass\n"
    assert len(classify("m.py", bad_name).symbol) == 2


def test_python_docstrings_and_bare_strings_are_non_code() -> None:
    src = b'def f():\n    """One."""\n    x = 1\n    "note"\n    y = ("a"\n         "b")\n'
    assert table(classify("m.py", src)) == ["C f", "- f", "C f", "- f", "C f", "C f"]


def test_one_line_definitions_and_decorators() -> None:
    src = b"@dataclass\nclass P: x: int = 0\ndef g(): return 1\n"
    assert table(classify("m.py", src)) == ["C P", "C P", "C g"]


def test_broken_source_still_classified() -> None:
    src = b"def f(:\n    # c\n    return )\n\nclass C:\n    def m(self):\n        pass\n"
    result = classify("m.py", src)
    assert result.is_code == [True, False, True, False, True, True, True]
    assert result.symbol[4:] == ["C", "C.m", "C.m"]


def test_text_fallback_comment_styles() -> None:
    sh = b"#!/bin/sh\n# comment\necho $# # tail\n\nx='# in string'\n"
    result = classify("run.sh", sh)
    assert result.parsed is False and result.language is None
    assert result.is_code == [False, False, True, False, True]
    c = b"/* multi\n   line */ int x;\n/* a */ /* b */\n// c\nint y; /*\n */\n"
    assert classify("a.c", c).is_code == [False, True, False, False, True, False]
    md = b"# Title\n\ntext\n<!-- hidden\n-->\n"
    assert classify("README.md", md).is_code == [True, False, True, False, False]
    assert classify("data.json", b'{\n  "a": 1\n}\n').is_code == [True, True, True]
    assert classify("Dockerfile", b"# base\nFROM x\n").is_code == [False, True]


def test_binary_and_huge_input_use_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    binary = b"\x00\x01def f():\n\x00\n\n"
    result = classify("m.py", binary)
    assert result.parsed is False and result.is_code == [True, True, False]
    monkeypatch.setattr(parse, "MAX_PARSE_BYTES", 20)
    big = b'x = 1\n# c\ns = """\n# not c\n"""\n'
    result = classify("m.py", big)
    assert result.parsed is False
    assert result.is_code == [True, False, True, True, True]
    assert result.symbol == [""] * 5


def test_cache_by_blob_and_language(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"def f():\n    return 1\n"
    first = classify("a.py", data, cache_key="blob1")
    assert classify("b/other.py", data, cache_key="blob1") is first
    as_text = classify("a.txt", data, cache_key="blob1")
    assert as_text is not first and as_text.parsed is False
    assert parse.cache_info() == (2, 4)
    assert classify("a.py", data) is not first  # no key, no cache
    monkeypatch.setattr(parse, "CACHE_ENTRIES", 2)
    classify("c.py", b"x\n", cache_key="blob2")
    assert parse.cache_info() == (2, 3)  # the least recently used entry went
    assert classify("a.py", data, cache_key="blob1") is not first


def test_is_blank_or_comment() -> None:
    cases = {
        ("m.py", ""): True, ("m.py", "   \t"): True, ("m.py", "  # x"): True,
        ("m.py", "x = 1  # y"): False, ("m.py", '"""Doc."""'): True, ("m.py", "'''D.'''"): True,
        ("m.py", '"""a""" + """b"""'): False, ("m.py", '"""open'): False, ("m.py", '"s"'): False,
        ("a.java", " */"): True, ("a.ts", "*"): True, ("a.js", "*[Symbol.iterator]() {"): False,
        ("a.rs", "* x"): False,
        ("a.go", "// x"): True, ("a.go", "/* x */"): True, ("a.go", "/* a */ b /* c */"): False,
        ("a.go", "*p = 1"): False, ("a.rs", "/// doc"): True, ("a.java", " * middle"): True,
        ("run.sh", "# x"): True, ("a.sql", "-- x"): True, ("a.c", "// x"): True,
        ("notes.txt", "# x"): False, ("a.md", "<!-- x -->"): True,
    }
    assert {k: is_blank_or_comment(*k) for k in cases} == cases


@pytest.mark.parametrize(("path", "src", "expected"), CASES, ids=[c[0] for c in CASES])
def test_same_tokens_fast_path_agrees_with_tokenize(
    path: str, src: str, expected: list[str]
) -> None:
    """same_tokens rejects most pairs without lexing; it must agree with comparing
    tokenize_lines on every pair of lines and of two-line blocks of each sample."""
    lines = src.splitlines()

    def flat(block: list[str]) -> list[str]:
        return [t for line in tokenize_lines(path, block) for t in line]

    blocks = [[line] for line in lines] + [lines[i : i + 2] for i in range(len(lines) - 1)]
    blocks += [[line.replace(" ", "")] for line in lines] + [[line + " ,"] for line in lines]
    flats = [flat(block) for block in blocks]
    reformats = 0
    for a, fa in zip(blocks, flats, strict=True):
        for b, fb in zip(blocks, flats, strict=True):
            same = same_tokens(path, a, b)
            assert same == (fa == fb), (a, b)
            reformats += same
    assert reformats > len(blocks)  # not only each block with itself


def test_async_defs_and_object_literal_methods() -> None:
    py = b"async def f():\n    await x\n\nclass A:\n    async def g(self):\n        pass\n"
    assert classify("a.py", py).symbol == ["f", "f", "", "A", "A.g", "A.g"]
    js = (
        b"const api = {\n  get() {\n    return 1;\n  },\n  post: async () => {\n"
        b"    return 2;\n  },\n};\nexport default function () {\n  return 3;\n}\n"
    )
    expected = ["api", "api.get", "api.get", "api.get", "api.post", "api.post", "api.post",
                "api", "", "", ""]
    for path in ("a.js", "a.ts", "a.tsx"):
        assert classify(path, js).symbol == expected, path


def test_type_aliases_and_macros_are_symbols() -> None:
    ts = b"type Opts = {\n  a: number;\n};\n"
    assert classify("a.ts", ts).symbol == ["Opts", "Opts", "Opts"]
    rs = b"macro_rules! square {\n    ($x:expr) => { $x * $x };\n}\n"
    assert classify("a.rs", rs).symbol == ["square", "square", "square"]


def test_text_fallback_for_a_grammar_language() -> None:
    # binary or huge files of a grammar language take this path (a missing grammar
    # is an error instead: tests/test_grammar_errors.py)
    data = b"// c\nfunc f() {\n\ts := `\n// x`\n}\n"
    result = parse._classify_text("a.go", "go", *parse._split(data))
    assert result.parsed is False and result.language == "go"
    assert result.is_code == [False, True, True, True, True]
    assert result.symbol == [""] * 5
    assert tokenize_lines("a.go", ["x := 1 // c"]) == [("x", ":=", "1")]


@pytest.mark.parametrize("path", ["a.py", "a.js", "a.ts", "a.tsx", "a.go", "a.rs", "a.java", "a.sh"])
def test_random_bytes_never_raise(path: str) -> None:
    rng = random.Random(7)
    alphabet = b"ab(){}[]\"'`#/*\\\n\r\t ,.:;=<>r\xff\xe9\x00"
    for _ in range(60):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        result = classify(path, data)
        assert len(result.is_code) == len(result.symbol) == len(data.splitlines())
        lines = data.decode("utf-8", "surrogateescape").split("\n")
        assert len(tokenize_lines(path, lines)) == len(lines)


def test_runaway_parse_gives_up_and_parser_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of unclosed /* make tree-sitter's error recovery quadratic (25 KB:
    about 0.8 s unguarded); past the deadline the text fallback answers."""
    monkeypatch.setattr(parse, "GUARD_BYTES", 1000)
    monkeypatch.setattr(parse, "PARSE_BUDGET_S", 0.05)
    monkeypatch.setattr(parse, "PARSE_BUDGET_S_PER_BYTE", 0.0)
    data = b"a /* " * 5000
    start = time.perf_counter()
    result = classify("a.go", data)
    assert time.perf_counter() - start < 0.5
    assert result.parsed is False and result.is_code == [True]
    good = b"package p\n\nfunc f() {\n}\n" + b"// pad\n" * 200
    assert table(classify("a.go", good))[:5] == ["C ", "- ", "C f", "C f", "- "]


def test_javascript_regex_literals_templates_and_optional_chaining() -> None:
    # a regex literal is one token, even holding quotes, "//" or "/*"
    assert tokenize_lines("a.ts", ["const r = /'[//]\\/*$/g, q = a / b / c;"]) == [
        ("const", "r", "=", "/'[//]\\/*$/g", ",", "q", "=", "a", "/", "b", "/", "c", ";")
    ]
    assert tokenize_lines("a.js", ["if (/x y/.test(s)) return /z/;"]) == [
        ("if", "(", "/x y/", ".", "test", "(", "s", ")", ")", "return", "/z/", ";")
    ]
    assert not same_tokens("a.js", ["s.replace(/a b/, c)"], ["s.replace(/ab/, c)"])
    # a template with a substitution holding a nested template is one token
    line = "const m = `x${e.map((e) => `- ${e}`).join(\"\\n\")}`;"
    assert tokenize_lines("a.ts", [line]) == [
        ("const", "m", "=", "`x${e.map((e) => `- ${e}`).join(\"\\n\")}`", ";")
    ]
    assert tokenize_lines("a.ts", ["a?.b ?? c ? .5 : 1"]) == [
        ("a", "?.", "b", "??", "c", "?", ".5", ":", "1")
    ]
    assert tokenize_lines("a.js", ["#!/usr/bin/env node", "x"]) == [("#!/usr/bin/env", "node"), ("x",)]


def test_lexer_matches_tree_sitter_on_javascript_edge_cases() -> None:
    src = (
        b"#!/usr/bin/env node\n"
        b"const r = /[/]\\/'x/gi.test(s) ? a / 2 : b?.c;\n"
        b"const t = `a${b + `c`}d ${ {x: 1}.x }`;\n"
        b"function f() { return /re/; }\n"
    )
    for language in ("javascript", "typescript"):
        assert lexer.lex(language, src) == parse._tree_tokens(language, src), language
