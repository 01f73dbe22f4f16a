"""Compiling an expression once (cached) and running it over an environment."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kargo.expr import nodes as n
from kargo.expr.builtins import BUILTINS
from kargo.expr.errors import ExprRuntimeError, ExprSyntaxError
from kargo.expr.evaluator import Located, Scope, evaluate
from kargo.expr.iterating import PREDICATE_BUILTINS
from kargo.expr.lexer import position
from kargo.expr.parser import parse
from kargo.expr.typing_check import check_types

Function = Callable[..., Any]
BUILTIN_NAMES = frozenset(BUILTINS) | frozenset(PREDICATE_BUILTINS)


@dataclass(frozen=True)
class Program:
    """A parsed expression, ready to run over many environments."""

    source: str
    tree: n.Node

    def run(
        self,
        env: Mapping[str, Any] | None = None,
        functions: Mapping[str, Function] | None = None,
        *,
        strict: bool = True,
    ) -> Any:
        """The expression's value; ExprRuntimeError (one line, with position) if it fails.

        `strict` makes an unknown name an error (as expr with an environment does); without it
        an unknown name is nil (as expr without an environment, which Kargo uses).
        """
        scope = Scope(env or {}, functions or {}, strict, {})
        try:
            return evaluate(self.tree, scope)
        except Located as exc:
            line, column = position(self.source, exc.offset)
            raise ExprRuntimeError(str(exc), self.source, line, column) from None

    def names(self) -> set[str]:
        """Top-level names the expression reads (not `let` variables, not `$env`)."""
        return {name for name, _ in _free(self.tree, frozenset(), calls=False)}

    def calls(self) -> set[str]:
        """Functions the expression calls by name."""
        return {name for name, _ in _free(self.tree, frozenset(), calls=True)}

    def check_types(self, returns: Mapping[str, str]) -> None:
        """ExprSyntaxError where known operand types are refused (function return types given)."""
        check_types(self.source, self.tree, returns)

    def check_names(self, known: set[str] | frozenset[str], functions: set[str]) -> None:
        """ExprSyntaxError for the first name or function not in these sets (nor a built-in)."""
        for name, offset in _free(self.tree, frozenset(), calls=False):
            if name not in known and name not in functions:
                line, column = position(self.source, offset)
                raise ExprSyntaxError(f"unknown name {name}", self.source, line, column)
        for name, offset in _free(self.tree, frozenset(), calls=True):
            if name not in functions and name not in BUILTIN_NAMES and name not in known:
                line, column = position(self.source, offset)
                raise ExprSyntaxError(f"unknown func {name}", self.source, line, column)


def _free(node: n.Node, bound: frozenset[str], calls: bool) -> Iterator[tuple[str, int]]:
    """Names (or called functions) used in a tree, with their offsets, outside `let` bindings."""
    if isinstance(node, n.Let):
        yield from _free(node.value, bound, calls)
        yield from _free(node.body, bound | {node.name}, calls)
        return
    if isinstance(node, n.Name):
        if not calls and node.name not in bound and node.name != "$env":
            yield node.name, node.offset
        return
    if isinstance(node, n.Call) and calls and node.name not in bound:
        yield node.name, node.offset
    for child in n.children(node):
        yield from _free(child, bound, calls)


@functools.lru_cache(maxsize=1024)
def compile_expression(source: str) -> Program:
    """The program for an expression (cached by its text); ExprSyntaxError if it does not parse."""
    tree = parse(source)
    check_types(source, tree, {})
    return Program(source, tree)
