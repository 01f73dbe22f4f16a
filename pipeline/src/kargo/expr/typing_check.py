"""expr's compile-time type errors, for operands whose types are known before running.

A literal's type is known, and so is the result of a function whose return type the caller
declares (Argo's `asFloat` gives float64). An operator given two known types it refuses is an
error at compile time, as in expr's checker: `asFloat(result) == "1.1"` is "invalid operation:
== (mismatched types float64 and string)". Anything else waits for run time.
"""

from __future__ import annotations

from collections.abc import Mapping

from kargo.expr import nodes as n
from kargo.expr.errors import ExprSyntaxError, Fault
from kargo.expr.lexer import position
from kargo.expr.values import arithmetic, compare, type_name

_SAMPLES: dict[str, object] = {"int": 2, "float64": 2.5, "string": "s", "bool": True}
_NUMBERS = {"int", "float64"}
_COMPARISONS = {"<", ">", "<=", ">="}
_ARITHMETIC = {"+", "-", "*", "/", "%", "**", "^"}
_BOOLEAN = {"and", "&&", "or", "||"}


def infer(node: n.Node, returns: Mapping[str, str]) -> str | None:
    """The static type of a node (Go name), or None when only running it would tell."""
    if isinstance(node, n.Literal):
        return "<nil>" if node.value is None else type_name(node.value)
    if isinstance(node, n.Call) and node.name in returns:
        return returns[node.name]
    if isinstance(node, n.Unary):
        inner = infer(node.operand, returns)
        if node.operator in ("not", "!"):
            return "bool"
        return inner if inner in _NUMBERS else None
    if isinstance(node, n.Binary):
        if node.operator in _BOOLEAN | _COMPARISONS | {"==", "!=", "in", "matches"}:
            return "bool"
        if node.operator in ("contains", "startsWith", "endsWith"):
            return "bool"
        left, right = infer(node.left, returns), infer(node.right, returns)
        if node.operator in ("/", "**", "^") and left in _NUMBERS and right in _NUMBERS:
            return "float64"
        if node.operator in _ARITHMETIC and left in _NUMBERS and right in _NUMBERS:
            return "int" if left == right == "int" else "float64"
        if node.operator == "+" and left == right == "string":
            return "string"
    return None


def _refusal(node: n.Binary, left: str, right: str) -> str | None:
    op = node.operator
    if op in ("==", "!="):
        if left == right or "<nil>" in (left, right) or {left, right} <= _NUMBERS:
            return None
        return f"invalid operation: {op} (mismatched types {left} and {right})"
    if left not in _SAMPLES or right not in _SAMPLES:
        return None
    a, b = _SAMPLES[left], _SAMPLES[right]
    try:
        if op in _COMPARISONS:
            compare(op, a, b)
        elif op in _ARITHMETIC:
            arithmetic(op, a, b)
        elif op in _BOOLEAN and not (isinstance(a, bool) and isinstance(b, bool)):
            return f"invalid operation: {op} (mismatched types {left} and {right})"
        elif op in ("contains", "startsWith", "endsWith", "matches") and not (
            isinstance(a, str) and isinstance(b, str)
        ):
            return f"invalid operation: {op} (mismatched types {left} and {right})"
    except Fault as exc:
        return str(exc)
    return None


def check_types(source: str, tree: n.Node, returns: Mapping[str, str]) -> None:
    """ExprSyntaxError for the first operator whose known operand types it refuses."""
    for node in n.walk(tree):
        if not isinstance(node, n.Binary):
            continue
        left, right = infer(node.left, returns), infer(node.right, returns)
        if left is None or right is None:
            continue
        message = _refusal(node, left, right)
        if message is not None:
            line, column = position(source, node.offset)
            raise ExprSyntaxError(message, source, line, column)
