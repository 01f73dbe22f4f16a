"""The expr language: published examples from expr-lang/expr with their expected values."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from kargo.expr import ExprRuntimeError, ExprSyntaxError, compile_expression

# Source: expr-lang/expr docs/language-definition.md (each `expr` block's stated result).
LANGUAGE_DEFINITION = [
    ('"Hello\\nWorld"', "Hello\nWorld"),
    ("`Hello\nWorld`", "Hello\nWorld"),
    ("0x2A", 42),
    ("0o52", 42),
    ("0b101010", 42),
    (".5", 0.5),
    ("1_000", 1000),
    ('user.Name == user["Name"]', True),
    ("array[0]", 1),
    ("array[-1]", 5),
    ('"John" in ["John", "Jane"]', True),
    ('"name" in {"name": "John", "age": 30}', True),
    ("author.User?.Name", None),
    ('author.User?.Name ?? "Anonymous"', "Anonymous"),
    ("array[1:4] == [2, 3, 4]", True),
    ("array[1:-1] == [2, 3, 4]", True),
    ("array[:3] == [1, 2, 3]", True),
    ("array[3:] == [4, 5]", True),
    ("array[:] == array", True),
    ('user.Name | lower() | split(" ")', ["john", "doe"]),
    ("1..3 == [1, 2, 3]", True),
    ("let x = 42; x * 2", 84),
    ("let x = 42; \nlet y = 2; \nx * y", 84),
    ('let name = user.Name | lower() | split(" "); \n"Hello, " + name[0] + "!"', "Hello, john!"),
    ('user.Name == $env["user"].Name', True),
    ("'user' in $env", True),
    ("filter(0..9, {# % 2 == 0})", [0, 2, 4, 6, 8]),
    ("filter(tweets, {len(.Content) > 10})", [{"Content": "a long tweet here", "Size": 17}]),
    ("filter(tweets, len(.Content) > 10)", [{"Content": "a long tweet here", "Size": 17}]),
    ('trim("  Hello  ") == "Hello"', True),
    ('trim("__Hello__", "_") == "Hello"', True),
    ('trimPrefix("HelloWorld", "Hello") == "World"', True),
    ('trimSuffix("HelloWorld", "World") == "Hello"', True),
    ('upper("hello") == "HELLO"', True),
    ('lower("HELLO") == "hello"', True),
    ('split("apple,orange,grape", ",") == ["apple", "orange", "grape"]', True),
    ('split("apple,orange,grape", ",", 2) == ["apple", "orange,grape"]', True),
    ('splitAfter("apple,orange,grape", ",") == ["apple,", "orange,", "grape"]', True),
    ('splitAfter("apple,orange,grape", ",", 2) == ["apple,", "orange,grape"]', True),
    ('replace("Hello World", "World", "Universe") == "Hello Universe"', True),
    ('repeat("Hi", 3) == "HiHiHi"', True),
    ('indexOf("apple pie", "pie") == 6', True),
    ('lastIndexOf("apple pie apple", "apple") == 10', True),
    ('hasPrefix("HelloWorld", "Hello") == true', True),
    ('hasSuffix("HelloWorld", "World") == true', True),
    ('duration("1h").Seconds() == 3600', True),
    ('date("2023-08-14").Year() == 2023', True),
    ("max(5, 7) == 7", True),
    ("min(5, 7) == 5", True),
    ("abs(-5) == 5", True),
    ("ceil(1.5) == 2.0", True),
    ("floor(1.5) == 1.0", True),
    ("round(1.5) == 2.0", True),
    ("all(tweets, {.Size < 280})", True),
    ("any(tweets, {.Size > 280})", False),
    ("one(participants, {.Winner})", True),
    ("none(tweets, {.Size > 280})", True),
    ("map(tweets, {.Size})", [5, 17]),
    ('filter(users, .Name startsWith "J")', [{"Name": "John", "Age": 30}]),
    ("find([1, 2, 3, 4], # > 2) == 3", True),
    ("findIndex([1, 2, 3, 4], # > 2) == 2", True),
    ("findLast([1, 2, 3, 4], # > 2) == 4", True),
    ("findLastIndex([1, 2, 3, 4], # > 2) == 3", True),
    ("groupBy(users, .Age)", {30: [{"Name": "John", "Age": 30}], 12: [{"Name": "ann", "Age": 12}]}),
    ("count(users, .Age > 18)", 1),
    ("len(filter(users, .Age > 18))", 1),
    ("count([true, false, true]) == 2", True),
    ("concat([1, 2], [3, 4]) == [1, 2, 3, 4]", True),
    ("flatten([1, 2, [3, 4]]) == [1, 2, 3, 4]", True),
    ("uniq([1, 2, 3, 2, 1]) == [1, 2, 3]", True),
    ('join(["apple", "orange", "grape"], ",") == "apple,orange,grape"', True),
    ('join(["apple", "orange", "grape"]) == "appleorangegrape"', True),
    ("reduce(1..9, #acc + #)", 45),
    ("reduce(1..9, #acc + #, 0)", 45),
    ("sum([1, 2, 3]) == 6", True),
    ("sum(accounts, .Balance)", 30),
    ("reduce(accounts, #acc + .Balance, 0)", 30),
    ("sum(map(accounts, .Balance))", 30),
    ("mean([1, 2, 3]) == 2.0", True),
    ("median([1, 2, 3]) == 2.0", True),
    ("first([1, 2, 3]) == 1", True),
    ("last([1, 2, 3]) == 3", True),
    ("take([1, 2, 3, 4], 2) == [1, 2]", True),
    ("reverse([3, 1, 4]) == [4, 1, 3]", True),
    ("reverse(reverse([3, 1, 4])) == [3, 1, 4]", True),
    ("sort([3, 1, 4]) == [1, 3, 4]", True),
    ('sort([3, 1, 4], "desc") == [4, 3, 1]', True),
    ("map(sortBy(users, .Age), .Name)", ["ann", "John"]),
    ('map(sortBy(users, .Age, "desc"), .Name)', ["John", "ann"]),
    ('keys({"name": "John", "age": 30}) == ["name", "age"]', True),
    ('values({"name": "John", "age": 30}) == ["John", 30]', True),
    ('type(42) == "int"', True),
    ('type("hello") == "string"', True),
    ('type(now()) == "time.Time"', True),
    ('int("123") == 123', True),
    ('float("123.45") == 123.45', True),
    ('string(123) == "123"', True),
    ('fromJSON(\'{"name": "John", "age": 30}\')', {"name": "John", "age": 30}),
    ('toBase64("Hello World") == "SGVsbG8gV29ybGQ="', True),
    ('fromBase64("SGVsbG8gV29ybGQ=") == "Hello World"', True),
    ('toPairs({"name": "John", "age": 30}) == [["name", "John"], ["age", 30]]', True),
    ('fromPairs([["name", "John"], ["age", 30]]) == {"name": "John", "age": 30}', True),
    ("len([1, 2, 3]) == 3", True),
    ('len({"name": "John", "age": 30}) == 2', True),
    ('len("Hello") == 5', True),
    ("get([1, 2, 3], 1) == 2", True),
    ('get({"name": "John", "age": 30}, "name") == "John"', True),
    ("bitand(0b1010, 0b1100) == 0b1000", True),
    ("bitor(0b1010, 0b1100) == 0b1110", True),
    ("bitxor(0b1010, 0b1100) == 0b110", True),
    ("bitnand(0b1010, 0b1100) == 0b10", True),
    ("bitnot(0b1010) == -0b1011", False),  # -0b1011 is `-(0b1011)`: equal, see below
    ("bitnot(0b1010) == -11", True),
    ("bitshl(0b101101, 2) == 0b10110100", True),
    ("bitshr(0b101101, 2) == 0b1011", True),
    ("bitushr(-0b101, 2) == 4611686018427387902", True),
    ("if 1 > 2 { 'a' } else if 2 > 1 { 'b' } else { 'c' }", "b"),
]

ENV: dict[str, Any] = {
    "user": {"Name": "John Doe"},
    "array": [1, 2, 3, 4, 5],
    "author": {"User": None},
    "tweets": [{"Content": "short", "Size": 5}, {"Content": "a long tweet here", "Size": 17}],
    "participants": [{"Winner": False}, {"Winner": True}],
    "users": [{"Name": "John", "Age": 30}, {"Name": "ann", "Age": 12}],
    "accounts": [{"Balance": 10}, {"Balance": 20}],
    "one": 1,
    "half": 1.5,
}


def run(source: str, env: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return compile_expression(source).run(ENV if env is None else env, **kwargs)


@pytest.mark.parametrize(("source", "expected"), LANGUAGE_DEFINITION)
def test_the_language_definitions_examples_give_their_documented_values(
    source: str, expected: Any
) -> None:
    if source.startswith("bitnot(0b1010) == -0b1011"):
        # expr's lexer reads `-0b1011` as unary minus on 11, so the documented line holds.
        assert run(source) is True
        return
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("7 / 2", 3.5),  # int / int is a float in expr
        ("4 / 2", 2.0),
        ("7 % 3", 1),
        ("-7 % 3", -1),  # Go's remainder keeps the dividend's sign
        ("2 ** 3", 8.0),
        ("2 ^ 3 ^ 2", 512.0),  # right-associative
        ("1 + 2 * 3", 7),
        ("1 + 2.5", 3.5),
        ("1 == 1.0", True),
        ("1 < 1.5", True),
        ("3 >= 2.99", True),
        ("9223372036854775807 + 1", -9223372036854775808),  # int64 wraps
        ('"a" + "b"', "ab"),
        ('"abc" contains "b"', True),
        ('"abc" startsWith "a" and "abc" endsWith "c"', True),
        ('"abc" not contains "z"', True),
        ('"v1.2.3" matches "^v[0-9]+"', True),
        ('"x" not matches "^y"', True),
        ("not true", False),
        ("!false && true || false", True),
        ("true or 1 / 0 > 1", True),  # short-circuit
        ("nil == nil", True),
        ("nil != 0", True),
        ("[1, 2] == [1, 2.0]", True),
        ('{"a": 1} == {"a": 1}', True),
        ('array[1] == "2"', False),  # known only at run time: false, not an error
        ("1 < 2 < 3", True),
        ("3 > 2 > 2", False),
        ("nil ?? nil ?? 3", 3),
        ("undefinedName ?? 'fallback'", "fallback"),
        ("true ? 'yes' : 'no'", "yes"),
        ("false ?: true", True),
        ("'abc'[1]", "b"),
        ("'abcdef'[2:4]", "cd"),
        ("[1, 2, 3][5:]", []),
        ("{a: 1, 'b-c': 2, 3: 'x'}", {"a": 1, "b-c": 2, "3": "x"}),
        ("{(1 + 1): 'two'}", {2: "two"}),
        ("[1, 2, 3,]", [1, 2, 3]),
        ("all([], # > 1)", True),
        ("any([], # > 1)", False),
        ("one([1, 2], # > 1)", True),
        ("filter([1, 2, 3], # > 1) | map(# * 10)", [20, 30]),
        ("map([1, 2], #index)", [0, 1]),
        ("map([[1, 2], [3]], len(#))", [2, 1]),
        ("filter(users, {let u = #; any(users, .Age < u.Age)}) | map(.Name)", ["John"]),
        ("count([1, 2, 3], # > 1)", 2),
        ("sum([1.5, 2])", 3.5),
        ("max([3, 9, 2])", 9),
        ("min(2, 1.5)", 1.5),
        ("abs(-1.5)", 1.5),
        ("round(-2.5)", -3.0),  # half away from zero
        ("int(3.9)", 3),
        ("float(2)", 2.0),
        ("string(true)", "true"),
        ("string([1, 'a'])", "[1 a]"),
        ("toJSON([1, 'a'])", '[\n  1,\n  "a"\n]'),
        ("/* comment */ 1 + // another\n 2", 3),
        ("(1 + 2) * 3", 9),
        ("-(1 + 2)", -3),
        ("-2 ** 2", -4.0),
        ("1..0", []),
        ("first([])", None),
        ("duration('1h30m') == duration('90m')", True),
        ("duration('1.5h').Minutes()", 90.0),
        ("string(duration('1h2m3s'))", "1h2m3s"),
        ("date('2023-08-14T10:00:00Z') + duration('1h') > date('2023-08-14T10:30:00Z')", True),
        ("date('2023-08-14 00:00:00', '2006-01-02 15:04:05').Month()", 8),
        ("(date('2023-08-14') - date('2023-08-13')).Hours()", 24.0),
        ("now() > date('2020-01-01')", True),
    ],
)
def test_operators_and_functions_follow_expr_semantics(source: str, expected: Any) -> None:
    value = run(source, strict=False)
    assert value == expected
    assert type(value) is type(expected)


def test_argo_rollouts_evaluates_date_minus_a_duration() -> None:
    # Source: argo-rollouts utils/evaluate/evaluate_test.go TestEvalTimeWithSuccessExpr.
    value = run('date("2023-08-14 00:00:00", "2006-01-02 15:04:05", "UTC") - duration("1h")')
    assert value == dt.datetime(2023, 8, 13, 23, 0, tzinfo=dt.UTC)


def test_division_by_zero_gives_infinity_or_nan_as_go_floats_do() -> None:
    assert run("1 / 0") == math.inf
    assert math.isnan(run("0 / 0"))


@pytest.mark.parametrize(
    ("source", "message", "where"),
    [
        ("1 +", "unexpected token EOF", (1, 3)),  # expr puts EOF on the last character
        ("(1 + 2", "unexpected token EOF", (1, 6)),
        ("a ? b", "unexpected token EOF", (1, 5)),
        ("foo.", "unexpected end of expression", (1, 4)),
        ("1 + + )", 'unexpected token Bracket(")")', (1, 7)),
        ('"abc', "literal not terminated", (1, 1)),
        ("1 @ 2", "unrecognized character: '@'", (1, 3)),
        ("result ==\n  = 2", 'unexpected token Operator("=")', (2, 3)),
        ("# > 1", "cannot use pointer accessor outside predicate", (1, 1)),
        ("a ?? b + c", "Operator (+) and coalesce expressions (??) cannot be mixed", (1, 8)),
        ("filter([1])", "expected at least 2 arguments", (1, 11)),
        ("12abc", 'bad number syntax: "12a"', (1, 3)),
    ],
)
def test_a_syntax_error_names_its_line_and_column(
    source: str, message: str, where: tuple[int, int]
) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        compile_expression(source)
    assert message in caught.value.message
    assert (caught.value.line, caught.value.column) == where
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("source", "message", "where"),
    [
        ("missing + 1", "unknown name missing", (1, 1)),
        ("one + 'a'", "invalid operation: + (mismatched types int and string)", (1, 5)),
        ("half % 2", "invalid operation: % (mismatched types float64 and int)", (1, 6)),
        ("[1, 2][5]", "index out of range: 5 (array length is 2)", (1, 7)),
        ("author.User.Name", "cannot fetch Name from <nil>", (1, 13)),
        ("one and true", "invalid operation: and (mismatched types int and bool)", (1, 5)),
        ("1 ? 2 : 3", "non-bool expression (type int) used as condition", (1, 1)),
        ("len(1)", "invalid argument for len (type int)", (1, 1)),
        ("nofunc(1)", "unknown func nofunc", (1, 1)),
        ("int('x1')", 'strconv.Atoi: parsing "x1": invalid syntax', (1, 1)),
        ("all([1, 2], # + 1)", "predicate should return boolean, got int", (1, 1)),
        ("'a' matches '('", "error parsing regexp", (1, 5)),
        ("duration('5 minutes')", 'time: invalid duration "5 minutes"', (1, 1)),
        ("upper(1)", "invalid argument for upper (type int)", (1, 1)),
        ("trim()", "trim(): not enough arguments", (1, 1)),
        ("user.Name.Size()", "type string has no method Size", (1, 11)),
    ],
)
def test_a_runtime_error_is_one_line_with_the_cause_and_position(
    source: str, message: str, where: tuple[int, int]
) -> None:
    with pytest.raises(ExprRuntimeError) as caught:
        run(source)
    assert message in caught.value.message, caught.value.message
    assert (caught.value.line, caught.value.column) == where
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200


def test_unknown_names_are_nil_when_not_strict_as_in_expr_without_an_environment() -> None:
    assert run("missing", {}, strict=False) is None
    assert run("missing == nil", {}, strict=False) is True


def test_callers_add_functions_and_they_override_builtins() -> None:
    program = compile_expression("double(x) + len('ab')")
    assert program.run({"x": 4}, {"double": lambda v: v * 2, "len": lambda v: 100}) == 108


def test_a_callers_function_error_becomes_one_runtime_line() -> None:
    def broken(value: Any) -> Any:
        raise ValueError("no such thing")

    with pytest.raises(ExprRuntimeError, match=r"^broken\(\): no such thing \(line 1, column 1\)$"):
        compile_expression("broken(1)").run({}, {"broken": broken})


def test_compiling_is_cached_by_source_text() -> None:
    assert compile_expression("1 + 1") is compile_expression("1 + 1")


def test_names_and_calls_are_listed_for_checks_at_load_time() -> None:
    program = compile_expression("let x = result; f(x.a) && all(items, # > y) && $env.z")
    assert program.names() == {"result", "items", "y"}
    assert program.calls() == {"f", "all"}
    program.check_names({"result", "items", "y"}, {"f"})
    with pytest.raises(ExprSyntaxError, match="unknown name y") as caught:
        program.check_names({"result", "items"}, {"f"})
    assert caught.value.column == 42
    with pytest.raises(ExprSyntaxError, match="unknown func f"):
        program.check_names({"result", "items", "y"}, set())


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        # Source: expr-lang/expr checker/checker_test.go (errors known before running).
        ("1 && true", "invalid operation: && (mismatched types int and bool)", 3),
        ('"a" matches 1', "invalid operation: matches (mismatched types string and int)", 5),
        ("1 contains 'a'", "invalid operation: contains (mismatched types int and string)", 3),
        ("1 < true", "invalid operation: < (mismatched types int and bool)", 3),
        ("1 + true", "invalid operation: + (mismatched types int and bool)", 3),
        ("1 % 1.5", "invalid operation: % (mismatched types int and float64)", 3),
        ('1 == "1"', "invalid operation: == (mismatched types int and string)", 3),
        ('(1 + 2) == "3"', "invalid operation: == (mismatched types int and string)", 9),
    ],
)
def test_operand_types_known_before_running_are_checked_at_compile_time(
    source: str, message: str, column: int
) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        compile_expression(source)
    assert caught.value.message == message
    assert caught.value.column == column


def test_unknown_operand_types_wait_for_run_time() -> None:
    assert compile_expression("x == 'a'").run({"x": 1}) is False
    assert compile_expression("1 == nil").run({}) is False
    assert compile_expression("1 == 1.0 && 2 < 2.5").run({}) is True
