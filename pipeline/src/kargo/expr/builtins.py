"""expr-lang's built-in functions (those without a predicate), with its types and errors."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
import statistics
from collections.abc import Callable, Mapping
from typing import Any

from kargo.expr.errors import Fault
from kargo.expr.iterating import sort_pairs
from kargo.expr.times import now, parse_date, parse_duration, timezone
from kargo.expr.values import (
    Methods,
    Struct,
    equal,
    format_value,
    is_int,
    is_number,
    kind,
    type_name,
    wrap_int,
)

_DECIMAL = re.compile(r"[+-]?[0-9]+")


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Fault(f"invalid argument for {name} (type {type_name(value)})")
    return value


def _array(name: str, value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    raise Fault(f"invalid argument for {name} (type {type_name(value)})")


def _number(name: str, value: Any) -> int | float:
    if not is_number(value):
        raise Fault(f"invalid argument for {name} (type {type_name(value)})")
    return value  # type: ignore[no-any-return]


def _len(value: Any) -> int:
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    raise Fault(f"invalid argument for len (type {type_name(value)})")


def _abs(value: Any) -> Any:
    return abs(_number("abs", value))


def _int(value: Any) -> int:
    if is_int(value):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return -(2**63)
        return wrap_int(int(value))
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise Fault(f'strconv.Atoi: parsing "{value}": invalid syntax')
        return int(value, 10)
    raise Fault(f"invalid argument for int (type {type_name(value)})")


def _float(value: Any) -> float:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise Fault(f'strconv.ParseFloat: parsing "{value}": invalid syntax') from None
    raise Fault(f"invalid argument for float (type {type_name(value)})")


def _round_half_away(value: float) -> float:
    return float(math.floor(value + 0.5) if value >= 0 else math.ceil(value - 0.5))


def _rounding(name: str, function: Callable[[float], float]) -> Callable[[Any], float]:
    def apply(value: Any) -> float:
        number = float(_number(name, value))
        if math.isnan(number) or math.isinf(number):
            return number
        return float(function(number))

    return apply


def _trim(value: Any, chars: Any = None) -> str:
    text = _string("trim", value)
    return text.strip() if chars is None else text.strip(_string("trim", chars))


def _split(value: Any, separator: Any, limit: Any = -1) -> list[str]:
    text, sep = _string("split", value), _string("split", separator)
    if not is_int(limit):
        raise Fault(f"invalid argument for split (type {type_name(limit)})")
    if limit == 0:
        return []
    if sep == "":
        parts = list(text)
        if limit > 0 and len(parts) > limit:
            parts = parts[: limit - 1] + ["".join(parts[limit - 1 :])]
        return parts
    return text.split(sep, limit - 1) if limit > 0 else text.split(sep)


def _split_after(value: Any, separator: Any, limit: Any = -1) -> list[str]:
    parts = _split(value, separator, limit)
    sep = _string("splitAfter", separator)
    return [p + sep for p in parts[:-1]] + parts[-1:]


def _join(value: Any, glue: Any = "") -> str:
    items = _array("join", value)
    for item in items:
        if not isinstance(item, str):
            raise Fault(f"invalid argument for join (type {type_name(item)} in array)")
    return _string("join", glue).join(items)


def _replace(value: Any, old: Any, new: Any) -> str:
    return _string("replace", value).replace(_string("replace", old), _string("replace", new))


def _repeat(value: Any, count: Any) -> str:
    if not is_int(count) or count < 0:
        raise Fault("invalid argument for repeat: count must be a non-negative int")
    return _string("repeat", value) * int(count)


def _keys(value: Any) -> list[Any]:
    if isinstance(value, Struct):
        return list(value.fields)
    if not isinstance(value, Mapping):
        raise Fault(f"cannot get keys from {kind(value)}")
    return list(value.keys())


def _values(value: Any) -> list[Any]:
    if isinstance(value, Struct):
        return list(value.fields.values())
    if not isinstance(value, Mapping):
        raise Fault(f"cannot get values from {kind(value)}")
    return list(value.values())


def _first(value: Any) -> Any:
    if value is None:
        return None
    items = _array("first", value)
    return items[0] if items else None


def _last(value: Any) -> Any:
    if value is None:
        return None
    items = _array("last", value)
    return items[-1] if items else None


def _take(value: Any, count: Any) -> list[Any]:
    if not is_int(count):
        raise Fault(f"cannot take {type_name(count)} elements")
    return _array("take", value)[: max(int(count), 0)]


def _flat_numbers(name: str, args: tuple[Any, ...]) -> list[int | float]:
    numbers: list[int | float] = []
    for arg in args:
        if isinstance(arg, list | tuple):
            numbers.extend(_flat_numbers(name, tuple(arg)))
        else:
            numbers.append(_number(name, arg))
    return numbers


def _max(*args: Any) -> Any:
    if not args:
        raise Fault("not enough arguments to call max")
    numbers = _flat_numbers("max", args)
    return max(numbers) if numbers else None


def _min(*args: Any) -> Any:
    if not args:
        raise Fault("not enough arguments to call min")
    numbers = _flat_numbers("min", args)
    return min(numbers) if numbers else None


def _mean(*args: Any) -> float:
    numbers = _flat_numbers("mean", args)
    return float(statistics.fmean(numbers)) if numbers else 0.0


def _median(*args: Any) -> float:
    numbers = _flat_numbers("median", args)
    return float(statistics.median(numbers)) if numbers else 0.0


def to_json_value(value: Any) -> Any:
    """A value as encoding/json would see it (structs by their json names, times as RFC 3339)."""
    if isinstance(value, Struct):
        return {k: to_json_value(v) for k, v in value.to_json().items()}
    if isinstance(value, Methods):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds() * 1e9)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise Fault(f"json: unsupported value: {format_value(value)}")
    return value


def to_json(value: Any, indent: int | None = 2) -> str:
    """JSON text of a value, as expr's toJSON writes it (indented, keys sorted)."""
    data = to_json_value(value)
    if indent is None:
        return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False)


def _from_json(value: Any) -> Any:
    try:
        return json.loads(_string("fromJSON", value))
    except json.JSONDecodeError as exc:
        raise Fault(f"fromJSON: {exc.msg} at offset {exc.pos}") from None


def _to_base64(value: Any) -> str:
    return base64.b64encode(_string("toBase64", value).encode()).decode()


def _from_base64(value: Any) -> str:
    try:
        return base64.b64decode(_string("fromBase64", value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Fault(f"fromBase64: {exc}") from None


def _to_pairs(value: Any) -> list[list[Any]]:
    if not isinstance(value, Mapping):
        raise Fault(f"cannot transform {kind(value)} to pairs")
    return [[k, v] for k, v in value.items()]


def _from_pairs(value: Any) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for pair in _array("fromPairs", value):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise Fault("invalid pair: expected [key, value]")
        result[pair[0]] = pair[1]
    return result


def _sort(value: Any, order: Any = "asc") -> list[Any]:
    if order not in ("asc", "desc"):
        raise Fault(f'unknown order, use asc or desc: "{order}"')
    items = _array("sort", value)
    return [x for x, _ in sort_pairs([(x, x) for x in items], order == "desc")]


def _reverse(value: Any) -> list[Any]:
    return list(reversed(_array("reverse", value)))


def _uniq(value: Any) -> list[Any]:
    result: list[Any] = []
    for item in _array("uniq", value):
        if not any(equal(item, seen) for seen in result):
            result.append(item)
    return result


def _concat(*arrays: Any) -> list[Any]:
    if not arrays:
        raise Fault("not enough arguments to call concat")
    result: list[Any] = []
    for array in arrays:
        result.extend(_array("concat", array))
    return result


def _flatten(value: Any) -> list[Any]:
    result: list[Any] = []
    for item in _array("flatten", value):
        result.extend(_flatten(item) if isinstance(item, list | tuple) else [item])
    return result


def _get(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        try:
            return value.get(key)
        except TypeError:
            return None
    if isinstance(value, list | tuple) and is_int(key):
        index = key + len(value) if key < 0 else key
        return value[index] if 0 <= index < len(value) else None
    if isinstance(value, Struct) and isinstance(key, str):
        return value.fields.get(key)
    return None


def _index_of(value: Any, part: Any) -> int:
    return _string("indexOf", value).find(_string("indexOf", part))


def _last_index_of(value: Any, part: Any) -> int:
    return _string("lastIndexOf", value).rfind(_string("lastIndexOf", part))


def _bits(name: str, function: Callable[[int, int], int]) -> Callable[[Any, Any], int]:
    def apply(a: Any, b: Any) -> int:
        if not is_int(a) or not is_int(b):
            raise Fault(f"invalid argument for {name}")
        return wrap_int(function(int(a), int(b)))

    return apply


BUILTINS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "abs": _abs,
    "int": _int,
    "float": _float,
    "string": format_value,
    "type": kind,
    "round": _rounding("round", _round_half_away),
    "floor": _rounding("floor", math.floor),
    "ceil": _rounding("ceil", math.ceil),
    "upper": lambda s: _string("upper", s).upper(),
    "lower": lambda s: _string("lower", s).lower(),
    "trim": _trim,
    "trimPrefix": lambda s, p: _string("trimPrefix", s).removeprefix(_string("trimPrefix", p)),
    "trimSuffix": lambda s, p: _string("trimSuffix", s).removesuffix(_string("trimSuffix", p)),
    "split": _split,
    "splitAfter": _split_after,
    "join": _join,
    "replace": _replace,
    "repeat": _repeat,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "hasPrefix": lambda s, p: _string("hasPrefix", s).startswith(_string("hasPrefix", p)),
    "hasSuffix": lambda s, p: _string("hasSuffix", s).endswith(_string("hasSuffix", p)),
    "keys": _keys,
    "values": _values,
    "first": _first,
    "last": _last,
    "take": _take,
    "max": _max,
    "min": _min,
    "mean": _mean,
    "median": _median,
    "now": now,
    "duration": parse_duration,
    "date": parse_date,
    "timezone": timezone,
    "toJSON": to_json,
    "fromJSON": _from_json,
    "toBase64": _to_base64,
    "fromBase64": _from_base64,
    "toPairs": _to_pairs,
    "fromPairs": _from_pairs,
    "sort": _sort,
    "reverse": _reverse,
    "uniq": _uniq,
    "concat": _concat,
    "flatten": _flatten,
    "get": _get,
    "bitand": _bits("bitand", lambda a, b: a & b),
    "bitor": _bits("bitor", lambda a, b: a | b),
    "bitxor": _bits("bitxor", lambda a, b: a ^ b),
    "bitnand": _bits("bitnand", lambda a, b: a & ~b),
    "bitshl": _bits("bitshl", lambda a, b: a << b),
    "bitshr": _bits("bitshr", lambda a, b: a >> b),
    "bitushr": _bits("bitushr", lambda a, b: (a % 2**64) >> b),
    "bitnot": lambda a: ~int(a) if is_int(a) else _number("bitnot", None),
}
