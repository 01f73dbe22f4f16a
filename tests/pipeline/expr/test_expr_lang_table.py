"""expr-lang/expr's own test table (expr_test.go TestExpr): the cases needing no Go environment."""

from __future__ import annotations

from typing import Any

import pytest
from kargo.expr import compile_expression

# Source: expr-lang/expr expr_test.go, TestExpr: (expression, expected value) pairs whose
# expression names no variable of the Go test environment.
CASES: list[tuple[str, Any]] = [
    ("1", 1),
    ("-.5", -0.5),
    ("true && false || false", False),
    ('"a" != "b"', True),
    ('"a" != "b" || 1 == 2', True),
    ("2 + 2 == 4", True),
    ("8 % 3", 2),
    ("2 ** 8", 256.0),
    ("2 ^ 8", 256.0),
    ("-(2-5)**3-2/(+4-3)+-2", 23.0),
    ('"hello" + " " + "world"', "hello world"),
    ("0 in -1..1 and 1 in 1..1", True),
    ("1 in [1.5] || 1 not in [1]", False),
    ("-1 not in [1]", True),
    ("'foo' + 'bar' not matches 'foobar'", False),
    ('"foobar" contains "bar"', True),
    ('"foobar" startsWith "foo"', True),
    ('"foobar" endsWith "bar"', True),
    ("(0..10)[5]", 5),
    ("len([1, 2, 3])", 3),
    ('len(["hello", "world"])', 2),
    ('len("hello, world")', 12),
    ("len('北京')", 2),
    ("len({a: 1, b: 2, c: 2})", 3),
    ("max([1, 2, 3])", 3),
    ("max(1, 2, 3)", 3),
    ("min([1, 2, 3])", 1),
    ("min(1, 2, 3)", 1),
    ("(true ? 0+1 : 2+3) + (false ? -1 : -2)", -1),
    ("filter(1..9, {# > 7})", [8, 9]),
    ("map(1..3, {# * #})", [1, 4, 9]),
    ("all(1..3, {# > 0})", True),
    ("count(1..30, {# % 3 == 0})", 10),
    ("count([true, true, false])", 2),
    ('"a" < "b"', True),
    ("1 + 1", 2),
    ("4 in 5..1", False),
    ('0 == nil || "str" == nil || true == nil', False),
    ('duration("1h") == duration("1h")', True),
    ('duration("1h") > duration("1m")', True),
    ('duration("1h") < duration("1m")', False),
    ('duration("1h") >= duration("1m")', True),
    ('duration("1h") <= duration("1m")', False),
    ('duration("1h") > duration("1m")', True),
    ("1 /* one */ + 2 // two", 3),
    ("let x = 1; x + 2", 3),
    ("map(1..3, let x = #; let y = x * x; y * y)", [1, 16, 81]),
    ("len(filter(1..99, # % 7 == 0))", 14),
    ("findLast(1..9, # % 2 == 0)", 8),
    ("findLastIndex(1..9, # % 2 == 0)", 7),
    ("filter(1..9, # % 2 == 0)[-1]", 8),
    ("last(filter(1..9, # % 2 == 0))", 8),
    ("map(filter(1..9, # % 2 == 0), # * 2)", [4, 8, 12, 16]),
    ("map(map(filter(1..9, # % 2 == 0), # * 2), # * 2)", [8, 16, 24, 32]),
    ("first(map(filter(1..9, # % 2 == 0), # * 2))", 4),
    ("map(filter(1..9, # % 2 == 0), # * 2)[-1]", 16),
    ("len(map(filter(1..9, # % 2 == 0), # * 2))", 4),
    ("len(filter(map(1..9, # * 2), # % 2 == 0))", 9),
    ("first(filter(map(1..9, # * 2), # % 2 == 0))", 2),
    ("first(map(filter(1..9, # % 2 == 0), # * 2))", 4),
    ("2^3 == 8", True),
    ("4/2 == 2", True),
    (".5 in 0..1", False),
    ("bitnot(10)", -11),
    ("bitxor(15, 32)", 47),
    ("bitand(90, 34)", 2),
    ("bitnand(35, 9)", 34),
    ("bitor(10, 5)", 15),
    ("bitshr(7, 2)", 1),
    ("bitshl(7, 2)", 28),
    ("bitushr(-100, 5)", 576460752303423484),
    ('"hello"[1:3]', "el"),
    ("[1, 2, 3]?.[0]", 1),
    ("[[1, 2], 3, 4]?.[0]?.[1]", 2),
    ("[nil, 3, 4]?.[0]?.[1]", None),
    ("1 > 2 < 3", False),
    ("1 < 2 < 3", True),
    ("1 < 2 < 3 > 4", False),
    ("1 < 2 < 3 > 2", True),
    ("1 < 2 < 3 == true", True),
    ("if 1 > 2 { 333 * 2 + 1 } else { 444 }", 444),
    ('if "a" < "b" {let x = "a"; x} else {"abc"}', "a"),
    ('if 1 == 2 { "no" } else if 1 == 1 { "yes" } else { "maybe" }', "yes"),
    ("1; 2; 3", 3),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_expr_lang_test_table_gives_the_same_values(source: str, expected: Any) -> None:
    value = compile_expression(source).run({}, strict=False)
    assert value == expected
    assert expected is None or type(value) is type(expected)
