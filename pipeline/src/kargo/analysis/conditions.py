"""Argo Rollouts' conditions: expr over `result`, with isNaN, isInf, isNil, default, asInt, asFloat.

A condition is compiled when its template is loaded: a syntax error, an unknown name or an
unknown function is refused then, with its line and column (Argo Rollouts would only find it
at the first measurement). Evaluation follows argoproj/argo-rollouts utils/evaluate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

from kargo.expr import (
    BUILTINS,
    ExprRuntimeError,
    ExprSyntaxError,
    Fault,
    Program,
    compile_expression,
    type_name,
)
from kargo.model.analysis import AnalysisPhase

RESULT = "result"


class ConditionSyntaxError(ValueError):
    """A condition is not valid expr; `line` and `column` are within the expression."""

    def __init__(self, expression: str, message: str, line: int | None, column: int | None):
        self.expression = expression
        self.line = line
        self.column = column
        super().__init__(message)


class ConditionEvaluationError(Exception):
    """A condition could not be evaluated over this result: the measurement is Error."""


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Fault(f"cannot use {type_name(value)} as argument (type float64) to call {name}")
    return float(value)


def condition_functions(result: Any) -> Mapping[str, Callable[..., Any]]:
    """Argo's functions; `default` and `isNil` look at the whole result, as Argo's do."""
    return {
        "asInt": BUILTINS["int"],  # Argo's asInt and asFloat convert as expr's int and float do
        "asFloat": BUILTINS["float"],
        "isNaN": lambda value: math.isnan(_number("isNaN", value)),
        "isInf": lambda value: math.isinf(_number("isInf", value)),
        "isNil": lambda _value: result is None,
        "default": lambda _value, fallback: fallback if result is None else result,
    }


FUNCTION_NAMES = frozenset(condition_functions(None))
# Argo's functions are typed Go functions; expr checks their results' types at compile time.
RETURN_TYPES = {
    "asInt": "int",
    "asFloat": "float64",
    "isNaN": "bool",
    "isInf": "bool",
    "isNil": "bool",
    "len": "int",
}


@functools.lru_cache(maxsize=512)
def compile_condition(expression: str) -> Program:
    """The program of a condition, or ConditionSyntaxError naming line and column."""
    try:
        program = compile_expression(expression)
        program.check_names({RESULT}, set(FUNCTION_NAMES))
        program.check_types(RETURN_TYPES)
    except ExprSyntaxError as exc:
        where = f" at line {exc.line}, column {exc.column}" if exc.line is not None else ""
        raise ConditionSyntaxError(
            expression, f"invalid expression{where}: {exc.message}", exc.line, exc.column
        ) from None
    return program


def evaluate_condition(expression: str, result: Any, field: str = "condition") -> bool:
    """Whether the condition holds; ConditionEvaluationError (one line) when it cannot say."""
    try:
        program = compile_condition(expression)
    except ConditionSyntaxError as exc:
        raise ConditionEvaluationError(
            f'could not evaluate {field} "{expression}": {exc}'
        ) from None
    try:
        value = program.run({RESULT: result}, condition_functions(result))
    except ExprRuntimeError as exc:
        cause = exc.describe()
        if result is None or result == []:
            cause = "metric result is nil or empty: no data returned from the metric provider"
        raise ConditionEvaluationError(
            f'could not evaluate {field} "{_one_line(expression)}": {cause}'
        ) from None
    if not isinstance(value, bool):
        raise ConditionEvaluationError(
            f'could not evaluate {field} "{_one_line(expression)}": '
            f"expected bool, but got {type_name(value)}"
        )
    return value


def _one_line(expression: str) -> str:
    return " ".join(expression.split())


def assess_conditions(
    success: str | None, failure: str | None, result: Any
) -> tuple[AnalysisPhase, str | None]:
    """A measurement's phase from its conditions, with Argo Rollouts' rules (EvaluateResult)."""
    succeeded = evaluate_condition(success, result, "successCondition") if success else None
    failed = evaluate_condition(failure, result, "failureCondition") if failure else None
    if failed:
        return AnalysisPhase.FAILED, f"failureCondition {_one_line(failure or '')!r} was met"
    if succeeded is None or succeeded:
        return AnalysisPhase.SUCCESSFUL, None
    if failed is None:
        return AnalysisPhase.FAILED, f"successCondition {_one_line(success or '')!r} was not met"
    return AnalysisPhase.INCONCLUSIVE, "neither successCondition nor failureCondition met"
