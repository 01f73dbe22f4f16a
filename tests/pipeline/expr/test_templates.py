"""Kargo's `${{ }}` templates: published examples from akuity/kargo with their expected values."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from kargo.expr.templates import (
    TemplateError,
    check_template,
    evaluate_template,
    evaluate_tree,
    expressions_in,
)

# Source: akuity/kargo pkg/expressions/json_templates_test.go (its test environment).
ENV: dict[str, Any] = {
    "aString": "hello",
    "anInt": 42,
    "aFloat": 3.14,
    "aBool": True,
    "aStringMap": {"aString": "hello", "anotherString": "world"},
    "anIntMap": {"anInt": 42, "anotherInt": 43},
    "aStringArr": ["one", "two", "three"],
    "anIntArr": [1, 2, 3],
}


def evaluate(template: str) -> Any:
    return evaluate_template(template, ENV, {})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # Source: json_templates_test.go TestEvaluateJSONTemplate.
        ("${{ aString }}", "hello"),
        ("${{ anInt }}", 42),
        ("${{ aFloat }}", 3.14),
        ("${{ aBool }}", True),
        ("${{ aString }}, world!", "hello, world!"),
        ("${{ aString }}, ${{ anInt }}!", "hello, 42!"),
        ("${{ aStringMap }}", {"aString": "hello", "anotherString": "world"}),
        ("${{ anIntMap }}", {"anInt": 42, "anotherInt": 43}),
        ("${{ aStringArr }}", ["one", "two", "three"]),
        ("${{ anIntArr }}", [1, 2, 3]),
        ('${{ "null" }}', None),
        ("${{ quote(null) }}", "null"),
        ("${{ quote(true) }}", "true"),
        ("${{ quote(42) }}", "42"),
        ("${{ quote({ 'foo': 'bar' }) }}", '{"foo":"bar"}'),
        ("${{ quote('foo') }}", "foo"),
        ("${{ unsafeQuote('foo') }}", '"foo"'),
        ("${{ asYAML([ 'one', 'two' ]) }}", "- one\n- two\n"),
        ('${% {"labels": {"app": "nginx"}} %}', {"labels": {"app": "nginx"}}),
        ("${{ aString }} ${% anInt %}", "hello 42"),
        # Source: docs/docs/50-user-guide/60-reference-docs/40-expressions.md.
        ('${{ "Hello, world!" }}', "Hello, world!"),
        ("${{ 40 + 2 }}", 42),
        ('${{ quote("string") }}', "string"),
        ("${{ unsafeQuote(40 + 2) }}", "42"),
        ('${{ unsafeQuote("string") }}', '"string"'),
        # Strings without an expression are never coerced.
        ("42", "42"),
        ("true", "true"),
    ],
)
def test_kargos_published_templates_give_their_expected_values(
    template: str, expected: Any
) -> None:
    value = evaluate(template)
    assert value == expected
    assert type(value) is type(expected)


def test_asyaml_and_asjson_format_objects_as_strings() -> None:
    # Source: json_templates_test.go ("asYAML function formats map as string", "asJSON ...").
    text = evaluate("${{ asYAML({ 'foo': 'bar', 'count': 2 }) }}")
    assert "foo: bar\n" in text and "count: 2\n" in text
    pretty = evaluate("${{ asJSON({ 'foo': 'bar', 'count': 2 }) }}")
    assert yaml.safe_load(pretty) == {"foo": "bar", "count": 2}
    assert "\n" in pretty and pretty.endswith("\n")


def test_the_tricky_yaml_and_quotes_cases_read_as_kargo_reads_them() -> None:
    # Source: json_templates_test.go "a variety of tricky cases dealing with YAML and quotes".
    document = yaml.safe_load(
        """
value1: {"foo": "bar"} # This is a JSON object
value2: '${{ quote({"foo": "bar"}) }}' # This is a string
value3: | # This is a string
  {"foo": "bar"}
value4: | # This is a JSON object
  ${{ {"foo": "bar"} }}
value5: | # This is a string
  ${{ quote({"foo": "bar"}) }}
value6: | # Make sure we're not tripped up by multiple newlines
  ${{ quote({"foo": "bar"}) }}
value7: 42 # This is a number
value8: "42" # This is a string
value9: '42' # This is a string (upstream has a tab here, which PyYAML refuses)
value10: '${{ quote(42) }}' # This is a string
value11: | # This is a string
  42
value12: | # This is a number
  ${{ 42 }}
value13: | # This is a string
  ${{ quote(42) }}
"""
    )
    parsed = evaluate_tree(document, ENV, {})
    assert parsed == {
        "value1": {"foo": "bar"},
        "value2": '{"foo":"bar"}',
        "value3": '{"foo": "bar"}\n',
        "value4": {"foo": "bar"},
        "value5": '{"foo":"bar"}\n',
        "value6": '{"foo":"bar"}\n',
        "value7": 42,
        "value8": "42",
        "value9": "42",
        "value10": "42",
        "value11": "42\n",
        "value12": 42,
        "value13": "42\n",
    }


def test_an_unclosed_expression_is_an_error() -> None:
    # Source: json_templates_test.go "missing closing delimiter".
    with pytest.raises(TemplateError, match="unclosed expression"):
        evaluate("${{ aString ")


def test_a_closing_delimiter_inside_the_body_cuts_it_short() -> None:
    # Source: json_templates_test.go "closing delimiter in expression body terminates early".
    with pytest.raises(TemplateError, match="literal not terminated"):
        evaluate("${{ '{{.domain}}' }}")
    # ... and the other delimiters solve it.
    assert evaluate("${% '{{.domain}}' %}") == "{{.domain}}"


def test_keys_are_not_evaluated_and_values_are_recursively() -> None:
    # Source: json_templates_test.go "test recursion".
    tree = {"${{ k }}": {"key": "${{ aString }}"}, "arr": ["${{ anInt }}"]}
    assert evaluate_tree(tree, ENV, {}) == {"${{ k }}": {"key": "hello"}, "arr": [42]}


def test_a_runtime_error_is_one_line_with_the_expression_and_cause() -> None:
    with pytest.raises(TemplateError) as caught:
        evaluate("x-${{ anInt + aString }}")
    text = str(caught.value)
    assert text == (
        "${{ anInt + aString }}: invalid operation: + (mismatched types int and string) "
        "(line 1, column 8)"
    )


def test_expressions_are_listed_for_checks_at_load_time() -> None:
    assert expressions_in("a ${{ b }} c ${% d %}") == [" b ", " d "]


def test_a_template_is_checked_without_running_it() -> None:
    check_template("stage-${{ ctx.stage }} ${% vars.x ?? 1 %}")
    with pytest.raises(TemplateError) as caught:
        check_template("a ${{ vars.x + }} b")
    assert str(caught.value) == "${{ vars.x + }}: unexpected token EOF (line 1, column 10)"
    with pytest.raises(TemplateError, match="unclosed expression"):
        check_template("${{ vars.x")
