"""Kargo's `${{ ... }}` templates (pkg/expressions): find, evaluate, and coerce the result.

A string without `${{` or `${%` is left alone. Otherwise every expression is evaluated (strings
as they are, anything else as JSON) and spliced into the text; the whole result is then read
the way Kargo reads it: text in double quotes is a string (that is what `quote()` is for), else
a number, else a bool (`true`, `False`, `T`, ...), else JSON, else the string. So
`${{ 40 + 2 }}` is the number 42, `${{ quote(40 + 2) }}` the string "42", `${{ {"a": 1} }}` a map,
and `stage-${{ ctx.stage }}` a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from kargo.expr.builtins import to_json, to_json_value
from kargo.expr.errors import ExprError, ExprRuntimeError, Fault
from kargo.expr.program import compile_expression

DELIMITERS = (("${{", "}}"), ("${%", "%}"))
RESERVED = ("quote", "unsafeQuote", "asYAML", "asJSON")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BOOLS = {
    "1": True,
    "t": True,
    "T": True,
    "TRUE": True,
    "true": True,
    "True": True,
    "0": False,
    "f": False,
    "F": False,
    "FALSE": False,
    "false": False,
    "False": False,
}
Function = Callable[..., Any]


class TemplateError(Exception):
    """A template could not be evaluated: one line naming the expression and the cause."""

    def __init__(self, expression: str, cause: str):
        self.expression = expression
        self.cause = cause
        super().__init__(f"${{{{ {expression.strip()} }}}}: {cause}" if expression else cause)


def has_expression(text: str) -> bool:
    """Whether a string holds a `${{ }}` (or `${% %}`) expression."""
    return any(start in text for start, _ in DELIMITERS)


def split_template(template: str) -> list[tuple[str, bool]]:
    """The template as (text, is_expression) parts; TemplateError for an unclosed expression."""
    parts: list[tuple[str, bool]] = []
    rest = template
    while True:
        found = [(rest.find(s), s, e) for s, e in DELIMITERS if s in rest]
        if not found:
            parts.append((rest, False))
            return parts
        index, start, end = min(found)
        body_start = index + len(start)
        close = rest.find(end, body_start)
        if close < 0:
            raise TemplateError(
                "", f"unclosed expression: expected {end!r} but reached end of template"
            )
        parts.append((rest[:index], False))
        parts.append((rest[body_start:close], True))
        rest = rest[close + len(end) :]


def expressions_in(template: str) -> list[str]:
    """The expressions a template holds (for checks at load time)."""
    return [text for text, is_expression in split_template(template) if is_expression]


def check_template(template: str) -> None:
    """Raise TemplateError (one line, with line and column) unless every expression parses."""
    for expression in expressions_in(template):
        try:
            compile_expression(expression)
        except ExprError as exc:
            raise TemplateError(expression, exc.describe()) from None


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _unsafe_quote(value)


def _unsafe_quote(value: Any) -> str:
    return '"' + to_json(value, indent=None) + '"'


def _as_yaml(value: Any) -> str:
    text = yaml.safe_dump(to_json_value(value), default_flow_style=False, sort_keys=True)
    return f'"{text}"'


def _as_json(value: Any) -> str:
    return '"' + json.dumps(to_json_value(value), indent=2, ensure_ascii=False) + '\n"'


TEMPLATE_FUNCTIONS: dict[str, Function] = {
    "quote": _quote,
    "unsafeQuote": _unsafe_quote,
    "asYAML": _as_yaml,
    "asJSON": _as_json,
}


def evaluate_expression(
    expression: str, env: Mapping[str, Any], functions: Mapping[str, Function]
) -> Any:
    """One expression's value; TemplateError (one line) when it does not parse or run."""
    try:
        program = compile_expression(expression)
        return program.run(env, {**functions, **TEMPLATE_FUNCTIONS}, strict=False)
    except ExprError as exc:
        raise TemplateError(expression, exc.describe()) from None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return to_json(value, indent=None)
    except Fault as exc:
        raise ExprRuntimeError(str(exc), "", None, None) from None


def evaluate_template(
    template: str, env: Mapping[str, Any], functions: Mapping[str, Function]
) -> Any:
    """A template's value with Kargo's coercion (see the module docstring)."""
    if not has_expression(template):
        return template
    pieces: list[str] = []
    for text, is_expression in split_template(template):
        if not is_expression:
            pieces.append(text)
            continue
        value = evaluate_expression(text, env, functions)
        try:
            pieces.append(_as_text(value))
        except ExprError as exc:
            raise TemplateError(text, exc.message) from None
    return coerce("".join(pieces))


def coerce(result: str) -> Any:
    """Kargo's reading of an evaluated template: quoted string, number, bool, JSON, else text."""
    newline = result.endswith("\n")
    if newline:
        result = result[:-1]
    if len(result) > 1 and result.startswith('"') and result.endswith('"'):
        return result[1:-1] + ("\n" if newline else "")
    if _NUMBER.fullmatch(result):
        number = float(result)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if result in _BOOLS:
        return _BOOLS[result]
    try:
        return json.loads(result, parse_constant=_no_constant)
    except ValueError:
        return result + ("\n" if newline else "")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def evaluate_tree(value: Any, env: Mapping[str, Any], functions: Mapping[str, Function]) -> Any:
    """Every string value in a nested structure evaluated as a template; keys are left alone."""
    if isinstance(value, Mapping):
        return {key: evaluate_tree(item, env, functions) for key, item in value.items()}
    if isinstance(value, list):
        return [evaluate_tree(item, env, functions) for item in value]
    if isinstance(value, str):
        return evaluate_template(value, env, functions)
    return value
