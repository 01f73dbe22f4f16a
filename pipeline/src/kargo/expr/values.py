"""Values as expr sees them: Go type names, equality, ordering and int/float arithmetic.

Numbers follow expr: int op int stays int except `/` (always float) and `**`/`^` (always float);
int op float is float; `%` takes ints only. Ints are 64-bit and wrap as Go's do.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from kargo.expr.errors import Fault

_INT_MIN, _INT_SPAN = -(2**63), 2**64


class Struct:
    """A Go struct as expr shows it: fields by their Go names, JSON by their json tags."""

    def __init__(self, type_name: str, fields: Mapping[str, Any], json_names: Mapping[str, str]):
        self.type_name = type_name
        self.fields = dict(fields)
        self.json_names = dict(json_names)

    def to_json(self) -> dict[str, Any]:
        """The struct as encoding/json would write it (empty optional fields left out)."""
        out: dict[str, Any] = {}
        for name, value in self.fields.items():
            json_name = self.json_names.get(name, name)
            if json_name.endswith(",omitempty"):
                if value in (None, "", 0, [], {}):
                    continue
                json_name = json_name.removesuffix(",omitempty")
            out[json_name] = value
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Struct) and (self.type_name, self.fields) == (
            other.type_name,
            other.fields,
        )

    def __hash__(self) -> int:
        return hash(self.type_name)

    def __repr__(self) -> str:
        return f"{self.type_name}{self.fields}"


class Methods:
    """A value with methods callable from an expression (`x.Name(args)`)."""

    type_name = "object"

    def methods(self) -> Mapping[str, Callable[..., Any]]:
        """The methods by name."""
        raise NotImplementedError

    def to_json(self) -> Any:
        """How the value is written as JSON."""
        return str(self)


class StringMap(dict[str, str]):
    """A Go map[string]string: a missing key gives "" (the zero value), not nil."""


def type_name(value: Any) -> str:
    """The Go type name expr would print for a value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "[]uint8"
    if isinstance(value, StringMap):
        return "map[string]string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, dt.datetime):
        return "time.Time"
    if isinstance(value, dt.timedelta):
        return "time.Duration"
    if isinstance(value, Struct | Methods):
        return value.type_name
    if callable(value):
        return "func"
    return type(value).__name__


_KINDS = {
    "<nil>": "nil",
    "float64": "float",
    "[]interface {}": "array",
    "map[string]interface {}": "map",
    "map[string]string": "map",
}


def kind(value: Any) -> str:
    """expr's `type()` of a value: nil, bool, int, float, string, array, map, or a type name."""
    name = type_name(value)
    return _KINDS.get(name, name)


def is_number(value: Any) -> bool:
    """Whether a value is an int or a float (bools are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    """Whether a value is an int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def wrap_int(value: int) -> int:
    """An int wrapped to 64 bits, as Go's int overflows."""
    if -(2**63) <= value < 2**63:
        return value
    return (value - _INT_MIN) % _INT_SPAN + _INT_MIN


def mismatch(operator: str, left: Any, right: Any) -> Fault:
    """expr's error for an operator given values it does not take."""
    return Fault(
        f"invalid operation: {operator} (mismatched types {type_name(left)} and {type_name(right)})"
    )


def equal(left: Any, right: Any) -> bool:
    """expr's ==: numbers compare by value across int and float, others by type and content."""
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(
            equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    if type_name(left) != type_name(right):
        return False
    return bool(left == right)


def compare(operator: str, left: Any, right: Any) -> bool:
    """`<`, `>`, `<=`, `>=` over numbers, strings, times and durations."""
    comparable = (
        (is_number(left) and is_number(right))
        or (isinstance(left, str) and isinstance(right, str))
        or (isinstance(left, dt.datetime) and isinstance(right, dt.datetime))
        or (isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta))
    )
    if not comparable:
        raise mismatch(operator, left, right)
    if operator == "<":
        return bool(left < right)
    if operator == ">":
        return bool(left > right)
    if operator == "<=":
        return bool(left <= right)
    return bool(left >= right)


def arithmetic(operator: str, left: Any, right: Any) -> Any:
    """`+ - * / % ** ^` with Go/expr types."""
    if is_number(left) and is_number(right):
        return _numbers(operator, left, right)
    if operator == "+":
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, dt.datetime) and isinstance(right, dt.timedelta):
            return left + right
        if isinstance(left, dt.timedelta) and isinstance(right, dt.datetime):
            return right + left
        if isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta):
            return left + right
    if operator == "-":
        if isinstance(left, dt.datetime) and isinstance(right, dt.datetime):
            return left - right
        if isinstance(left, dt.datetime) and isinstance(right, dt.timedelta):
            return left - right
        if isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta):
            return left - right
    if operator == "*" and isinstance(left, dt.timedelta) and is_number(right):
        return left * right
    if operator == "*" and is_number(left) and isinstance(right, dt.timedelta):
        return right * left
    raise mismatch(operator, left, right)


def _numbers(operator: str, left: int | float, right: int | float) -> Any:
    both_int = is_int(left) and is_int(right)
    if operator in ("**", "^"):
        try:
            return float(math.pow(left, right))
        except (OverflowError, ValueError):
            return math.inf if left > 0 else math.nan
    if operator == "/":
        if right == 0:
            if left == 0 or (isinstance(left, float) and math.isnan(left)):
                return math.nan
            return math.copysign(math.inf, left) * math.copysign(1.0, right)
        return left / right
    if operator == "%":
        if not both_int:
            raise mismatch(operator, left, right)
        if right == 0:
            raise Fault("integer divide by zero")
        quotient = abs(int(left)) // abs(int(right))
        return int(left) - int(right) * (quotient if (left < 0) == (right < 0) else -quotient)
    if operator == "+":
        result = left + right
    elif operator == "-":
        result = left - right
    elif operator == "*":
        result = left * right
    else:  # pragma: no cover - the parser gives no other operator
        raise Fault(f"unknown operator {operator}")
    return wrap_int(int(result)) if both_int else float(result)


def truthy_bool(operator: str, value: Any) -> bool:
    """A bool operand, or expr's error for a non-bool one."""
    if not isinstance(value, bool):
        raise Fault(f"invalid operation: {operator} (mismatched types {type_name(value)} and bool)")
    return value


def to_int(value: Any, what: str = "index") -> int:
    """An int from an int or an integral float, for indexes and ranges."""
    if is_int(value):
        return int(value)
    if isinstance(value, float):
        return int(value)
    raise Fault(f"invalid {what}: {type_name(value)} ({format_value(value)})")


def format_value(value: Any) -> str:
    """A value written as expr's string() would."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = " ".join(f"{format_value(k)}:{format_value(v)}" for k, v in sorted(value.items()))
        return "map[" + items + "]"
    if isinstance(value, dt.timedelta):
        return format_duration(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %z").rstrip() + " " + (value.tzname() or "")
    return str(value)


def format_float(value: float) -> str:
    """A float as Go's %v writes it: shortest form, exponent for large and small values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        digits = exponent.lstrip("+-").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text


def format_duration(value: dt.timedelta) -> str:
    """A duration as Go's time.Duration.String writes it (1h2m3.5s, 150ms, 0s)."""
    total_ns = round(value.total_seconds() * 1e9)
    if total_ns == 0:
        return "0s"
    sign = "-" if total_ns < 0 else ""
    ns = abs(total_ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_trim(ns / 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_trim(ns / 1_000_000)}ms"
    hours, rest = divmod(ns, 3_600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _trim(rest / 1e9)
    text = f"{seconds}s"
    if hours:
        text = f"{hours}h{minutes}m{text}"
    elif minutes:
        text = f"{minutes}m{text}"
    return sign + text


def _trim(number: float) -> str:
    text = f"{number:.9f}".rstrip("0").rstrip(".")
    return text or "0"
