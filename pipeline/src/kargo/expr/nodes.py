"""The syntax tree of an expression; every node keeps the offset it starts at."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Node:
    """A node of the tree."""

    offset: int


@dataclass(frozen=True)
class Literal(Node):
    """A constant: nil, bool, int, float or string."""

    value: Any


@dataclass(frozen=True)
class Name(Node):
    """A variable of the environment, a `let` variable, or `$env`."""

    name: str


@dataclass(frozen=True)
class Pointer(Node):
    """`#` (the current element), `#index` or `#acc` inside a predicate."""

    name: str


@dataclass(frozen=True)
class ArrayLiteral(Node):
    """`[a, b, c]`."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class MapLiteral(Node):
    """`{key: value, ...}`; keys are expressions (names and numbers become strings)."""

    pairs: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True)
class Unary(Node):
    """`not x`, `!x`, `-x`, `+x`."""

    operator: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """`left op right`, including `and`, `or`, `??`, `in`, `matches` and `..`."""

    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Member(Node):
    """`x.name`, `x?.name`, `x[index]`, `x?.[index]`."""

    target: Node
    key: Node
    optional: bool = False


@dataclass(frozen=True)
class Slice(Node):
    """`x[from:to]`, either bound may be missing."""

    target: Node
    start: Node | None
    stop: Node | None


@dataclass(frozen=True)
class Call(Node):
    """A call of a function by name: a built-in or one given by the caller."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class MethodCall(Node):
    """`x.Method(args)` on a value that has methods (a time, a duration, a version)."""

    target: Node
    name: str
    args: tuple[Node, ...]
    optional: bool = False


@dataclass(frozen=True)
class Predicate(Node):
    """A closure `{...}` given to all/any/filter/map/...; `#` is the element."""

    body: Node


@dataclass(frozen=True)
class Conditional(Node):
    """`cond ? a : b`, `a ?: b` and `if cond {a} else {b}`."""

    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class Let(Node):
    """`let name = value; body`."""

    name: str
    value: Node
    body: Node


@dataclass(frozen=True)
class Sequence(Node):
    """`a; b; c`: every part is evaluated, the last one is the value."""

    parts: tuple[Node, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Chain(Node):
    """A member chain holding `?.`: nil anywhere along it makes the whole chain nil."""

    inner: Node


def children(node: Node) -> Iterator[Node]:
    """The nodes directly below a node (map pairs give their key and value)."""
    for item in fields(node):
        value = getattr(node, item.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for element in value:
                if isinstance(element, Node):
                    yield element
                elif isinstance(element, tuple):
                    yield from (x for x in element if isinstance(x, Node))


def walk(node: Node) -> Iterator[Node]:
    """A node and every node below it."""
    yield node
    for child in children(node):
        yield from walk(child)
