"""Walks an expression tree over an environment, with expr-lang's semantics."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kargo.expr import nodes as n
from kargo.expr.builtins import BUILTINS
from kargo.expr.errors import Fault
from kargo.expr.iterating import PREDICATE_BUILTINS
from kargo.expr.times import time_methods
from kargo.expr.values import (
    Methods,
    StringMap,
    Struct,
    arithmetic,
    compare,
    equal,
    is_int,
    mismatch,
    to_int,
    truthy_bool,
    type_name,
)

Function = Callable[..., Any]
MAX_RANGE = 1_000_000


class Located(Fault):
    """A fault with the offset of the node it came from."""

    def __init__(self, message: str, offset: int):
        self.offset = offset
        super().__init__(message)


class _NilChain(Exception):
    """`?.` met nil: the whole chain is nil."""


@dataclass(frozen=True)
class Scope:
    """What names mean where a node is evaluated: let variables and the predicate element."""

    env: Mapping[str, Any]
    functions: Mapping[str, Function]
    strict: bool
    lets: Mapping[str, Any]
    element: tuple[Any, int, Any] | None = None  # (#, #index, #acc)

    def with_let(self, name: str, value: Any) -> Scope:
        return Scope(
            self.env, self.functions, self.strict, {**self.lets, name: value}, self.element
        )

    def with_element(self, item: Any, index: int, acc: Any = None) -> Scope:
        return Scope(self.env, self.functions, self.strict, self.lets, (item, index, acc))


def evaluate(node: n.Node, scope: Scope) -> Any:
    """The value of a node; Located (a Fault with an offset) when it cannot be evaluated."""
    try:
        return _DISPATCH[type(node)](node, scope)
    except Located:
        raise
    except Fault as exc:
        raise Located(str(exc), node.offset) from None
    except RecursionError:
        raise Located("expression nests too deeply", node.offset) from None


def _literal(node: n.Literal, scope: Scope) -> Any:
    return node.value


def _name(node: n.Name, scope: Scope) -> Any:
    if node.name in scope.lets:
        return scope.lets[node.name]
    if node.name == "$env":
        return dict(scope.env)
    if node.name in scope.env:
        return scope.env[node.name]
    if node.name in scope.functions:
        return scope.functions[node.name]
    if scope.strict:
        raise Fault(f"unknown name {node.name}")
    return None


def _pointer(node: n.Pointer, scope: Scope) -> Any:
    if scope.element is None:  # pragma: no cover - the parser refuses # outside predicates
        raise Fault("cannot use pointer accessor outside predicate")
    item, index, acc = scope.element
    if node.name == "":
        return item
    if node.name == "index":
        return index
    if node.name == "acc":
        return acc
    raise Fault(f"unknown pointer #{node.name}")


def _array(node: n.ArrayLiteral, scope: Scope) -> Any:
    return [evaluate(item, scope) for item in node.items]


def _map(node: n.MapLiteral, scope: Scope) -> Any:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.pairs:
        key = evaluate(key_node, scope)
        if isinstance(key, list | dict):
            raise Located(f"invalid map key of type {type_name(key)}", key_node.offset)
        result[key] = evaluate(value_node, scope)
    return result


def _unary(node: n.Unary, scope: Scope) -> Any:
    value = evaluate(node.operand, scope)
    if node.operator in ("not", "!"):
        if not isinstance(value, bool):
            raise Fault(f"invalid operation: {node.operator} (mismatched type {type_name(value)})")
        return not value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Fault(f"invalid operation: {node.operator} (mismatched type {type_name(value)})")
    return -value if node.operator == "-" else value


def _binary(node: n.Binary, scope: Scope) -> Any:
    op = node.operator
    if op in ("and", "&&"):
        if not truthy_bool(op, evaluate(node.left, scope)):
            return False
        return truthy_bool(op, evaluate(node.right, scope))
    if op in ("or", "||"):
        if truthy_bool(op, evaluate(node.left, scope)):
            return True
        return truthy_bool(op, evaluate(node.right, scope))
    if op == "??":
        left = _safe_left(node.left, scope)
        return evaluate(node.right, scope) if left is None else left
    left = evaluate(node.left, scope)
    right = evaluate(node.right, scope)
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    if op in ("<", ">", "<=", ">="):
        return compare(op, left, right)
    if op == "in":
        return _contains_item(right, left)
    if op in ("contains", "startsWith", "endsWith", "matches"):
        if not isinstance(left, str) or not isinstance(right, str):
            raise mismatch(op, left, right)
        if op == "contains":
            return right in left
        if op == "startsWith":
            return left.startswith(right)
        if op == "endsWith":
            return left.endswith(right)
        return _regex(right).search(left) is not None
    if op == "..":
        if not is_int(left) or not is_int(right):
            raise mismatch(op, left, right)
        if right - left >= MAX_RANGE:
            raise Fault(f"range {left}..{right} is too large")
        return list(range(left, right + 1))
    return arithmetic(op, left, right)


def _safe_left(node: n.Node, scope: Scope) -> Any:
    """The left of `??`: a name that is not defined counts as nil, as in expr."""
    if isinstance(node, n.Name) and node.name not in scope.lets and node.name not in scope.env:
        return None
    return evaluate(node, scope)


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise Fault(f"error parsing regexp: {exc}: `{pattern}`") from None


def _contains_item(container: Any, item: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, list | tuple):
        return any(equal(element, item) for element in container)
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:
            return False
    if isinstance(container, Struct):
        return isinstance(item, str) and item in container.fields
    raise mismatch("in", item, container)


def fetch(target: Any, key: Any) -> Any:
    """`target[key]` / `target.key` as expr's runtime.Fetch does it."""
    if target is None:
        raise Fault(f"cannot fetch {_plain(key)} from <nil>")
    if isinstance(target, Mapping):
        try:
            if key in target:
                return target[key]
        except TypeError:
            pass
        return "" if isinstance(target, StringMap) else None
    if isinstance(target, list | tuple | str):
        if not is_int(key) and not isinstance(key, float):
            raise Fault(f"cannot fetch {_plain(key)} from {type_name(target)}")
        index = to_int(key)
        length = len(target)
        if index < 0:
            index += length
        if index < 0 or index >= length:
            raise Fault(f"index out of range: {index} (array length is {length})")
        return target[index]
    if isinstance(target, Struct) and isinstance(key, str) and key in target.fields:
        return target.fields[key]
    raise Fault(f"cannot fetch {_plain(key)} from {type_name(target)}")


def _plain(key: Any) -> str:
    return key if isinstance(key, str) else repr(key)


def _member(node: n.Member, scope: Scope) -> Any:
    target = evaluate(node.target, scope)
    if target is None and node.optional:
        raise _NilChain
    return fetch(target, evaluate(node.key, scope))


def _slice(node: n.Slice, scope: Scope) -> Any:
    target = evaluate(node.target, scope)
    if not isinstance(target, list | tuple | str):
        raise Fault(f"cannot slice {type_name(target)}")
    length = len(target)
    start = 0 if node.start is None else to_int(evaluate(node.start, scope))
    stop = length if node.stop is None else to_int(evaluate(node.stop, scope))
    start = max(start + length if start < 0 else start, 0)
    stop = min(max(stop + length if stop < 0 else stop, 0), length)
    return target[min(start, stop) : stop]


def _call(node: n.Call, scope: Scope) -> Any:
    if node.name in PREDICATE_BUILTINS:
        return PREDICATE_BUILTINS[node.name](node, scope, evaluate)
    function = scope.functions.get(node.name)
    if function is None:
        if node.name in scope.lets or node.name in scope.env:
            value = scope.lets.get(node.name, scope.env.get(node.name))
            if not callable(value):
                raise Fault(f"{node.name} is not callable ({type_name(value)})")
            function = value
        else:
            function = BUILTINS.get(node.name)
    if function is None:
        raise Fault(f"unknown func {node.name}")
    args = [evaluate(arg, scope) for arg in node.args]
    return call_function(node.name, function, args)


def call_function(name: str, function: Function, args: list[Any]) -> Any:
    """Call a built-in or a caller's function; its failure becomes one line naming it."""
    try:
        return function(*args)
    except Fault:
        raise
    except TypeError as exc:
        raise Fault(f"{name}(): {_arity_message(exc)}") from None
    except (ValueError, ArithmeticError, LookupError, OSError) as exc:
        raise Fault(f"{name}(): {exc}") from None


def _arity_message(exc: TypeError) -> str:
    text = str(exc)
    match = re.search(r"takes (.+?) positional arguments? but (\d+) (?:was|were) given", text)
    if match:
        return f"too many arguments: expected {match.group(1)}, got {match.group(2)}"
    match = re.search(r"missing (\d+) required positional argument", text)
    if match:
        return f"not enough arguments: {match.group(1)} more expected"
    return text


def _method_call(node: n.MethodCall, scope: Scope) -> Any:
    target = evaluate(node.target, scope)
    if target is None and node.optional:
        raise _NilChain
    if isinstance(target, Methods):
        table: Mapping[str, Function] = target.methods()
    else:
        table = time_methods(target)
    method = table.get(node.name)
    if method is None:
        raise Fault(f"type {type_name(target)} has no method {node.name}")
    args = [evaluate(arg, scope) for arg in node.args]
    return call_function(node.name, method, args)


def _predicate(node: n.Predicate, scope: Scope) -> Any:  # pragma: no cover - built-ins run it
    return evaluate(node.body, scope)


def _conditional(node: n.Conditional, scope: Scope) -> Any:
    condition = evaluate(node.condition, scope)
    if not isinstance(condition, bool):
        raise Located(
            f"non-bool expression (type {type_name(condition)}) used as condition",
            node.condition.offset,
        )
    return evaluate(node.then if condition else node.otherwise, scope)


def _let(node: n.Let, scope: Scope) -> Any:
    return evaluate(node.body, scope.with_let(node.name, evaluate(node.value, scope)))


def _sequence(node: n.Sequence, scope: Scope) -> Any:
    value = None
    for part in node.parts:
        value = evaluate(part, scope)
    return value


def _chain(node: n.Chain, scope: Scope) -> Any:
    try:
        return evaluate(node.inner, scope)
    except _NilChain:
        return None


_DISPATCH: dict[type, Callable[[Any, Scope], Any]] = {
    n.Literal: _literal,
    n.Name: _name,
    n.Pointer: _pointer,
    n.ArrayLiteral: _array,
    n.MapLiteral: _map,
    n.Unary: _unary,
    n.Binary: _binary,
    n.Member: _member,
    n.Slice: _slice,
    n.Call: _call,
    n.MethodCall: _method_call,
    n.Predicate: _predicate,
    n.Conditional: _conditional,
    n.Let: _let,
    n.Sequence: _sequence,
    n.Chain: _chain,
}
