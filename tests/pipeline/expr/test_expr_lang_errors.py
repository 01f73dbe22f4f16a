"""expr-lang/expr's parser error table: the same message at the same column."""

from __future__ import annotations

import pytest
from kargo.expr import ExprSyntaxError, compile_expression

MAP_KEY = (
    "a map key must be a quoted string, a number, a identifier, or an expression enclosed in "
    "parentheses"
)
# Source: expr-lang/expr parser/parser_test.go, TestParse_error (message and column; line 1).
CASES: list[tuple[str, str, int]] = [
    ("foo.", "unexpected end of expression", 4),
    ("a+", "unexpected token EOF", 2),
    ("a ? (1+2) c", 'unexpected token Identifier("c")', 11),
    ("[a b]", 'unexpected token Identifier("b")', 4),
    ("foo.bar(a b)", 'unexpected token Identifier("b")', 11),
    (
        "{-}",
        MAP_KEY + ' (unexpected token Operator("-"))',
        2,
    ),
    (
        "foo({.bar})",
        MAP_KEY + ' (unexpected token Operator("."))',
        6,
    ),
    ("[1, 2, 3,,]", 'unexpected token Operator(",")', 10),
    ("[,]", 'unexpected token Operator(",")', 2),
    (
        "{,}",
        MAP_KEY + ' (unexpected token Operator(","))',
        2,
    ),
    ("{foo:1, bar:2, ,}", 'unexpected token Operator(",")', 16),
    (
        "foo ?? bar || baz",
        "Operator (||) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses.",
        12,
    ),
    ("0b15", 'bad number syntax: "0b15"', 4),
    ("0X10G", 'bad number syntax: "0X10G"', 5),
    ("0o1E", 'invalid float literal: strconv.ParseFloat: parsing "0o1E": invalid syntax', 4),
    ("0b1E", 'invalid float literal: strconv.ParseFloat: parsing "0b1E": invalid syntax', 4),
    ("0b1E+6", 'bad number syntax: "0b1E+6"', 6),
    ("0b1E+1", 'invalid float literal: strconv.ParseFloat: parsing "0b1E+1": invalid syntax', 6),
    ("0o1E+1", 'invalid float literal: strconv.ParseFloat: parsing "0o1E+1": invalid syntax', 6),
    ("1E", 'invalid float literal: strconv.ParseFloat: parsing "1E": invalid syntax', 2),
    ("1 not == [1, 2, 5]", 'unexpected token Operator("==")', 7),
    ("foo(1; 2; 3)", 'unexpected token Operator(";")', 6),
    ("map(ls, 1; 2; 3)", "wrap predicate with brackets { and }", 10),
    ("[1; 2; 3]", 'unexpected token Operator(";")', 3),
    ("1 + if true { 2 } else { 3 }", 'unexpected token Operator("if")', 5),
    ("if a { 1 } else b", 'unexpected token Identifier("b")', 17),
    ("list | all(#,,)", 'unexpected token Operator(",")', 14),
]


@pytest.mark.parametrize(("source", "message", "column"), CASES)
def test_a_syntax_error_has_exprs_message_and_column(
    source: str, message: str, column: int
) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        compile_expression(source)
    assert (caught.value.message, caught.value.line, caught.value.column) == (message, 1, column)


# Literals past int64 or float64: expr passes Go's strconv error on (parser.go), which names
# the literal without its underscores.
OUT_OF_RANGE = [
    ("9223372036854775807 + 0", None),
    (
        "9223372036854775808",
        'invalid integer literal: strconv.ParseInt: parsing "9223372036854775808"',
    ),
    (
        "9_223_372_036_854_775_808",
        'invalid integer literal: strconv.ParseInt: parsing "9223372036854775808"',
    ),
    ("0x8000000000000000", 'invalid hex literal: strconv.ParseInt: parsing "0x8000000000000000"'),
    ("1e400", 'invalid float literal: strconv.ParseFloat: parsing "1e400"'),
]


@pytest.mark.parametrize(("source", "message"), OUT_OF_RANGE)
def test_a_literal_out_of_range_has_gos_strconv_message(source: str, message: str | None) -> None:
    if message is None:
        assert compile_expression(source).run({}) == 2**63 - 1
        return
    with pytest.raises(ExprSyntaxError) as caught:
        compile_expression(source)
    assert caught.value.message == f"{message}: value out of range"
