"""The built-ins that take a predicate: all, any, none, one, filter, map, count, sum, find, ..."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kargo.expr import nodes as n
from kargo.expr.errors import Fault
from kargo.expr.values import arithmetic, compare, is_number, type_name

if TYPE_CHECKING:
    from kargo.expr.evaluator import Scope

Evaluate = Callable[[n.Node, "Scope"], Any]
Builtin = Callable[[n.Call, "Scope", Evaluate], Any]


def _items(node: n.Call, scope: Scope, evaluate: Evaluate) -> list[Any]:
    value = evaluate(node.args[0], scope)
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, Mapping):
        return list(value.values())
    raise Fault(f"cannot iterate over {type_name(value)}")


def _body(node: n.Call, index: int = 1) -> n.Node:
    predicate = node.args[index]
    assert isinstance(predicate, n.Predicate)
    return predicate.body


def _test(body: n.Node, scope: Scope, evaluate: Evaluate, item: Any, index: int) -> bool:
    value = evaluate(body, scope.with_element(item, index))
    if not isinstance(value, bool):
        raise Fault(f"predicate should return boolean, got {type_name(value)}")
    return value


def _all(node: n.Call, scope: Scope, evaluate: Evaluate) -> bool:
    body = _body(node)
    return all(
        _test(body, scope, evaluate, x, i) for i, x in enumerate(_items(node, scope, evaluate))
    )


def _any(node: n.Call, scope: Scope, evaluate: Evaluate) -> bool:
    body = _body(node)
    return any(
        _test(body, scope, evaluate, x, i) for i, x in enumerate(_items(node, scope, evaluate))
    )


def _none(node: n.Call, scope: Scope, evaluate: Evaluate) -> bool:
    return not _any(node, scope, evaluate)


def _matching(node: n.Call, scope: Scope, evaluate: Evaluate) -> list[tuple[int, Any]]:
    body = _body(node)
    items = _items(node, scope, evaluate)
    return [(i, x) for i, x in enumerate(items) if _test(body, scope, evaluate, x, i)]


def _one(node: n.Call, scope: Scope, evaluate: Evaluate) -> bool:
    return len(_matching(node, scope, evaluate)) == 1


def _filter(node: n.Call, scope: Scope, evaluate: Evaluate) -> list[Any]:
    return [x for _, x in _matching(node, scope, evaluate)]


def _map(node: n.Call, scope: Scope, evaluate: Evaluate) -> list[Any]:
    body = _body(node)
    items = _items(node, scope, evaluate)
    return [evaluate(body, scope.with_element(x, i)) for i, x in enumerate(items)]


def _count(node: n.Call, scope: Scope, evaluate: Evaluate) -> int:
    if len(node.args) == 1:
        items = _items(node, scope, evaluate)
        for item in items:
            if not isinstance(item, bool):
                raise Fault(f"count() without a predicate needs bools, got {type_name(item)}")
        return sum(1 for item in items if item)
    return len(_matching(node, scope, evaluate))


def _sum(node: n.Call, scope: Scope, evaluate: Evaluate) -> Any:
    items = _map(node, scope, evaluate) if len(node.args) > 1 else _items(node, scope, evaluate)
    total: Any = 0
    for item in items:
        if not is_number(item):
            raise Fault(f"invalid argument for sum (type {type_name(item)})")
        total = arithmetic("+", total, item)
    return total


def _find(node: n.Call, scope: Scope, evaluate: Evaluate) -> Any:
    found = _matching(node, scope, evaluate)
    return found[0][1] if found else None


def _find_index(node: n.Call, scope: Scope, evaluate: Evaluate) -> int:
    found = _matching(node, scope, evaluate)
    return found[0][0] if found else -1


def _find_last(node: n.Call, scope: Scope, evaluate: Evaluate) -> Any:
    found = _matching(node, scope, evaluate)
    return found[-1][1] if found else None


def _find_last_index(node: n.Call, scope: Scope, evaluate: Evaluate) -> int:
    found = _matching(node, scope, evaluate)
    return found[-1][0] if found else -1


def _group_by(node: n.Call, scope: Scope, evaluate: Evaluate) -> dict[Any, list[Any]]:
    body = _body(node)
    groups: dict[Any, list[Any]] = {}
    for i, item in enumerate(_items(node, scope, evaluate)):
        key = evaluate(body, scope.with_element(item, i))
        groups.setdefault(key, []).append(item)
    return groups


def _sort_by(node: n.Call, scope: Scope, evaluate: Evaluate) -> list[Any]:
    body = _body(node)
    order = evaluate(node.args[2], scope) if len(node.args) > 2 else "asc"
    if order not in ("asc", "desc"):
        raise Fault(f'unknown order, use asc or desc: "{order}"')
    items = _items(node, scope, evaluate)
    keyed = [(evaluate(body, scope.with_element(x, i)), x) for i, x in enumerate(items)]
    return [x for _, x in sort_pairs(keyed, order == "desc")]


def sort_pairs(pairs: list[tuple[Any, Any]], descending: bool) -> list[tuple[Any, Any]]:
    """Pairs sorted stably by their first element with expr's ordering."""

    def order(a: tuple[Any, Any], b: tuple[Any, Any]) -> int:
        if compare("<", a[0], b[0]):
            return -1
        return 1 if compare(">", a[0], b[0]) else 0

    return sorted(pairs, key=functools.cmp_to_key(order), reverse=descending)


def _reduce(node: n.Call, scope: Scope, evaluate: Evaluate) -> Any:
    body = _body(node)
    items = _items(node, scope, evaluate)
    if len(node.args) > 2:
        acc = evaluate(node.args[2], scope)
        start = 0
    else:
        if not items:
            raise Fault("reduce of empty array with no initial value")
        acc, start = items[0], 1
    for i in range(start, len(items)):
        acc = evaluate(body, scope.with_element(items[i], i, acc))
    return acc


PREDICATE_BUILTINS: dict[str, Builtin] = {
    "all": _all,
    "any": _any,
    "none": _none,
    "one": _one,
    "filter": _filter,
    "map": _map,
    "count": _count,
    "sum": _sum,
    "find": _find,
    "findIndex": _find_index,
    "findLast": _find_last,
    "findLastIndex": _find_last_index,
    "groupBy": _group_by,
    "sortBy": _sort_by,
    "reduce": _reduce,
}
