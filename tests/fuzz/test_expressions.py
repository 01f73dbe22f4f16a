"""expr-lang expressions on random input: parsing and evaluation never crash, and agree with Go.

Any text either compiles or is refused with ExprSyntaxError at a line and column inside it; any
compiled program either runs or fails with ExprRuntimeError, over any environment. Where the
answer is known without expr (int64 arithmetic wraps as Go's does, comparisons, string
operators, string literals), the value is checked too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kargo.expr import ExprError, ExprRuntimeError, ExprSyntaxError, compile_expression
from kargo.expr.parser import MAX_DEPTH

WORDS = (
    "1 2.5 0x1F 1e3 'a' \"b\" true false nil x y items # #index . ?. ?? [ ] { } ( ) , : ; | "
    "+ - * / % ** ^ == != < > <= >= and or not ! && || in matches contains startsWith endsWith "
    "? let = if else len filter map all any none one count sum max min sort first last keys "
    "values toJSON fromJSON upper lower trim split join string int float abs 1..3"
).split()
ENV_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
ENVIRONMENTS = st.fixed_dictionaries({"x": ENV_VALUES, "y": ENV_VALUES, "items": ENV_VALUES})
INT64 = 2**64


def wrap(value: int) -> int:
    """An integer as Go's int64 arithmetic leaves it (two's complement wrap-around)."""
    return (value + 2**63) % INT64 - 2**63


def assert_located(error: ExprError, source: str) -> None:
    """The error names a line and column inside the source, in one line of text."""
    assert error.line is not None and error.column is not None, error
    assert 1 <= error.line <= source.count("\n") + 1, error
    assert 1 <= error.column <= len(source) + 1, error
    assert "\n" not in error.message, error


def outcome(source: str, env: dict[str, Any]) -> Any:
    """Compile and run; an ExprError must be located; anything else propagates and fails."""
    try:
        program = compile_expression(source)
    except ExprSyntaxError as error:
        assert_located(error, source)
        return error
    try:
        return program.run(env, strict=False)
    except ExprRuntimeError as error:
        assert_located(error, source)
        return error


@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=14), ENVIRONMENTS)
def test_token_soup_compiles_or_is_refused_at_a_position(
    words: list[str], env: dict[str, Any]
) -> None:
    """Random sequences of expr's tokens: a value, or an error with its line and column."""
    outcome(" ".join(words), env)


@given(st.text(max_size=40), ENVIRONMENTS)
def test_any_text_compiles_or_is_refused_at_a_position(text: str, env: dict[str, Any]) -> None:
    """Arbitrary text, control characters and astral planes included."""
    outcome(text, env)


@pytest.mark.parametrize(
    "source",
    [
        "(" * 3000 + "1" + ")" * 3000,
        "-" * 5000 + "1",
        "1" + " + 1" * 3000,
        "[" * 2000 + "]" * 2000,
        "{a: " * 1000 + "1" + "}" * 1000,
        "true ? " * 800 + "1" + " : 2" * 800,
        "let a = 1; " * 1000 + "a",
        "x" + "?.y" * 2000,
        "[1]" + " | map(#)" * 500,
    ],
    ids=["parens", "unary", "chain", "arrays", "maps", "ternaries", "lets", "members", "pipes"],
)
def test_deep_nesting_is_refused_with_a_position_not_a_crash(source: str) -> None:
    """Nesting past MAX_DEPTH (or expr's 10,000 nodes) is a syntax error, not a RecursionError."""
    with pytest.raises(ExprSyntaxError) as refused:
        compile_expression(source)
    assert refused.value.message in (
        f"expression nests deeper than {MAX_DEPTH} levels",
        "compilation failed: expression exceeds maximum allowed nodes",
    )
    assert_located(refused.value, source)


def test_nesting_up_to_the_limit_still_runs() -> None:
    """The limit refuses nothing a person writes: 100 levels of parentheses and arrays run."""
    assert compile_expression("(" * 100 + "1" + ")" * 100).run({}) == 1
    assert compile_expression("1" + " + 1" * 100).run({}) == 101
    assert compile_expression("[" * 60 + "]" * 60 + " | len()").run({}) == 1


def int_terms(depth: int) -> st.SearchStrategy[tuple[str, int]]:
    """Integer expressions with + - * and unary minus, and their int64 value."""
    leaf = st.integers(0, 2**63 - 1).map(lambda v: (str(v), v))
    if depth == 0:
        return leaf
    inner = int_terms(depth - 1)
    binary = st.tuples(inner, st.sampled_from("+-*"), inner).map(
        lambda t: (
            f"({t[0][0]} {t[1]} {t[2][0]})",
            wrap({"+": t[0][1] + t[2][1], "-": t[0][1] - t[2][1], "*": t[0][1] * t[2][1]}[t[1]]),
        )
    )
    negated = inner.map(lambda t: (f"-({t[0]})", wrap(-t[1])))
    return leaf | binary | negated


@given(int_terms(4))
def test_integer_arithmetic_wraps_as_go_int64(term: tuple[str, int]) -> None:
    """+ - * on int64 wrap around as Go's do (expr runs on Go's int)."""
    source, expected = term
    assert compile_expression(source).run({}) == expected


@given(
    st.integers(-1000, 1000),
    st.integers(-1000, 1000),
    st.sampled_from(["<", ">", "<=", ">=", "==", "!="]),
)
def test_comparisons_agree_with_the_numbers(left: int, right: int, operator: str) -> None:
    """Comparisons of ints and of an int with the same float are those of the numbers."""
    expected = {"<": left < right, ">": left > right, "<=": left <= right}.get(operator)
    if expected is None:
        expected = {">=": left >= right, "==": left == right, "!=": left != right}[operator]
    assert compile_expression(f"{left} {operator} {right}").run({}) is expected
    assert compile_expression(f"{left} {operator} {right}.0").run({}) is expected


NO_SURROGATES = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(NO_SURROGATES)
def test_a_double_quoted_literal_reads_back_its_text(text: str) -> None:
    """JSON's escapes (\\n, \\t, \\uXXXX...) are Go's: a quoted string reads back as itself."""
    assert compile_expression(json.dumps(text, ensure_ascii=False)).run({}) == text
    if all(ord(c) < 0x10000 for c in text):
        assert compile_expression(json.dumps(text)).run({}) == text


@given(NO_SURROGATES, NO_SURROGATES)
def test_string_operators_agree_with_python(left: str, right: str) -> None:
    """contains, startsWith, endsWith, + and == on strings, from the environment."""
    env = {"a": left, "b": right}
    program = compile_expression("[a contains b, a startsWith b, a endsWith b, a + b, a == b]")
    assert program.run(env) == [
        right in left,
        left.startswith(right),
        left.endswith(right),
        left + right,
        left == right,
    ]


@given(st.lists(st.integers(-50, 50), max_size=12), st.integers(-50, 50))
def test_predicates_agree_with_python(items: list[int], bound: int) -> None:
    """filter, map, count, all, any, sum, len over an array from the environment."""
    program = compile_expression(
        "[filter(items, # > k), map(items, # * 2), count(items, # > k), all(items, # > k),"
        " any(items, # > k), sum(items), len(items)]"
    )
    above = [v for v in items if v > bound]
    assert program.run({"items": items, "k": bound}) == [
        above,
        [v * 2 for v in items],
        len(above),
        all(v > bound for v in items),
        any(v > bound for v in items),
        sum(items),
        len(items),
    ]


@given(ENVIRONMENTS)
def test_programs_from_the_guide_run_or_fail_cleanly_over_any_values(env: dict[str, Any]) -> None:
    """Expressions of the kind Kargo stages write, over values of any type."""
    for source in (
        "x.status == 'Healthy' && y > 0",
        "len(items) > 2 ? items[0] : x ?? y",
        "items | filter(#.name startsWith 'web') | map(#.version) | sort()",
        "string(x) + string(y)",
        "toJSON({a: x, b: items})",
        "int(y) + 1",
    ):
        outcome(source, env)
