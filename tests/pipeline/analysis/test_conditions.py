"""CEL conditions over `result`, with Argo Rollouts' success/failure rules."""

from __future__ import annotations

from typing import Any

import pytest
from kargo.analysis.conditions import (
    ConditionEvaluationError,
    ConditionSyntaxError,
    assess_conditions,
    compile_condition,
    evaluate_condition,
)
from kargo.model.analysis import AnalysisPhase


@pytest.mark.parametrize(
    ("expression", "result", "holds"),
    [
        ("result.passed == true", {"passed": True, "checks": []}, True),
        ("result.passed == true", {"passed": False}, False),
        ("result.critical == 0", {"critical": 0, "high": 3}, True),
        ("result.critical == 0", {"critical": 2}, False),
        ("result < 500", 487.5, True),
        ("result < 500", 812.0, False),
        ("result < 500", 120, True),
        ("result.all(x, x < 500)", [100.0, 200.0], True),
        (
            'result.checks.exists(c, c.name == "vote" && !c.passed)',
            {"checks": [{"name": "vote", "passed": False}]},
            True,
        ),
    ],
)
def test_the_guides_conditions_evaluate_over_maps_lists_and_numbers(
    expression: str, result: Any, holds: bool
) -> None:
    assert evaluate_condition(expression, result) is holds


def test_a_syntax_error_names_the_line_and_column_of_the_expression() -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        compile_condition("result.passed ==")
    assert caught.value.line == 1 and caught.value.column is not None
    assert "invalid CEL expression at line 1" in str(caught.value)


def test_an_evaluation_error_is_reported_with_its_message() -> None:
    with pytest.raises(ConditionEvaluationError, match="no such member"):
        evaluate_condition("result.missing == 1", {"passed": True})
    with pytest.raises(ConditionEvaluationError, match="result.passed"):
        evaluate_condition("result.passed == true", 42)


def test_a_non_boolean_condition_is_an_evaluation_error() -> None:
    with pytest.raises(ConditionEvaluationError, match="expected a boolean"):
        evaluate_condition("result + 1", 1)


@pytest.mark.parametrize(
    ("success", "failure", "result", "phase"),
    [
        ("result < 500", None, 100, AnalysisPhase.SUCCESSFUL),
        ("result < 500", None, 900, AnalysisPhase.FAILED),
        (None, "result > 800", 900, AnalysisPhase.FAILED),
        (None, "result > 800", 600, AnalysisPhase.SUCCESSFUL),
        ("result < 500", "result > 800", 600, AnalysisPhase.INCONCLUSIVE),
        ("result < 500", "result > 800", 900, AnalysisPhase.FAILED),
        (None, None, {"anything": 1}, AnalysisPhase.SUCCESSFUL),
    ],
)
def test_success_and_failure_conditions_combine_as_in_argo_rollouts(
    success: str | None, failure: str | None, result: Any, phase: AnalysisPhase
) -> None:
    assert assess_conditions(success, failure, result)[0] is phase
