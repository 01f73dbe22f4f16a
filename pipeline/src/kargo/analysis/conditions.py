"""CEL conditions over `result`, compiled with cel-python when a template is loaded."""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError

from kargo.model.analysis import AnalysisPhase


class ConditionSyntaxError(ValueError):
    """A condition is not valid CEL; `line` and `column` are within the expression."""

    def __init__(self, expression: str, message: str, line: int | None, column: int | None):
        self.expression = expression
        self.line = line
        self.column = column
        super().__init__(message)


class ConditionEvaluationError(Exception):
    """A condition could not be evaluated over this result: the measurement is Error."""


_ENVIRONMENT = celpy.Environment()


@functools.lru_cache(maxsize=512)
def compile_condition(expression: str) -> Any:
    """A runnable CEL program for the expression, or ConditionSyntaxError."""
    try:
        ast = _ENVIRONMENT.compile(expression)
        return _ENVIRONMENT.program(ast)
    except CELParseError as exc:
        line, column = getattr(exc, "line", None), getattr(exc, "column", None)
        where = f" at line {line}, column {column}" if line is not None else ""
        caret = str(exc).rstrip("\n")
        detail = (
            f"invalid CEL expression{where} (expected a boolean expression over result):\n{caret}"
        )
        raise ConditionSyntaxError(expression, detail, line, column) from exc
    except Exception as exc:  # cel-python raises assorted errors for unsupported syntax
        raise ConditionSyntaxError(
            expression, f"invalid CEL expression {expression!r}: {exc}", None, None
        ) from exc


def _to_cel(result: Any) -> Any:
    """The result as CEL values: dict → map, list → list, integral floats stay floats."""
    return json_to_cel(json.loads(json.dumps(result, allow_nan=True)))


def evaluate_condition(expression: str, result: Any) -> bool:
    """Whether the condition holds for this result; ConditionEvaluationError when it cannot say."""
    program = compile_condition(expression)
    try:
        value = program.evaluate({"result": _to_cel(result)})
    except Exception as exc:  # CELEvalError and friends: a measurement error, not a crash
        raise ConditionEvaluationError(f"evaluating {expression!r}: {_describe(exc)}") from exc
    if isinstance(value, Exception):
        raise ConditionEvaluationError(f"evaluating {expression!r}: {_describe(value)}")
    if not isinstance(value, bool):  # celpy's BoolType subclasses int, not bool
        if type(value).__name__ != "BoolType":
            raise ConditionEvaluationError(
                f"evaluating {expression!r}: expected a boolean, got {value!r}"
            )
    return bool(value)


def _describe(exc: BaseException) -> str:
    """The first, most readable part of a cel-python error."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], str):
        return args[0]
    return str(exc) or type(exc).__name__


def assess_conditions(
    success: str | None, failure: str | None, result: Any
) -> tuple[AnalysisPhase, str | None]:
    """A measurement's phase from its conditions, with Argo Rollouts' rules."""
    if isinstance(result, float) and math.isnan(result):
        raise ConditionEvaluationError("the result is NaN")
    if failure is not None and evaluate_condition(failure, result):
        return AnalysisPhase.FAILED, f"failureCondition {failure!r} was met"
    if success is not None:
        if evaluate_condition(success, result):
            return AnalysisPhase.SUCCESSFUL, None
        if failure is not None:
            return AnalysisPhase.INCONCLUSIVE, "neither successCondition nor failureCondition met"
        return AnalysisPhase.FAILED, f"successCondition {success!r} was not met"
    return AnalysisPhase.SUCCESSFUL, None
