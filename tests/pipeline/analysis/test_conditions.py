"""Argo Rollouts' conditions in expr over `result`, with its success/failure rules."""

from __future__ import annotations

import math
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
        # The guide's own conditions (kargo/README.md).
        ("result.passed == true", {"passed": True, "checks": []}, True),
        ("result.passed == true", {"passed": False}, False),
        ("result.critical == 0", {"critical": 0, "high": 3}, True),
        ("result.critical == 0", {"critical": 2}, False),
        ("result < 500", 487.5, True),
        ("result < 500", 812.0, False),
        ("result < 500", 120, True),
        # The project's own templates (kargo/analysis-templates/).
        (
            'any(result, .name == "api-healthz") && all(filter(result, .name startsWith "api-"), '
            ".passed)",
            [{"name": "api-healthz", "passed": True}, {"name": "vote", "passed": False}],
            True,
        ),
        ('all(filter(result, .name in ["vote"]), .passed)', [{"name": "vote", "passed": 0}], None),
    ],
)
def test_the_guides_and_projects_conditions_evaluate(
    expression: str, result: Any, holds: bool | None
) -> None:
    if holds is None:
        with pytest.raises(ConditionEvaluationError, match="predicate should return boolean"):
            evaluate_condition(expression, result)
        return
    assert evaluate_condition(expression, result) is holds


@pytest.mark.parametrize(
    ("expression", "result", "holds"),
    [
        # Source: argo-rollouts utils/evaluate/evaluate_test.go.
        ("result == true", True, True),
        ("result == false", True, False),
        (
            "all(result.service_apdex.values.values, {# > 1})",
            {"service_apdex": {"label": None, "values": {"values": [2.0, 2.0]}}},
            True,
        ),
        ("2 in result", [2.0, 2.0], True),
        ("result > 1", 5.0, True),
        ("asInt(result) == 1", "1", True),
        ("asInt(result) == 1", 1, True),
        ("asInt(result) == 1", 1.123, True),
        ("asFloat(result) == 1.1", "1.1", True),
        ("asFloat(result) >= 1.1", "1.1", True),
        ("asFloat(result) <= 1.1", "1.1", True),
        ("asFloat(result) == 1.1", 1.1, True),
        ("asFloat(result) == 1", 1, True),
        ("asFloat(result) >= 1", 1, True),
        ("default(result, 0) == 0", None, True),
        ("default(result, 2) == 2", None, True),
        ("default(result, 0) == 1", 1.0, True),
        ("isNil(result)", None, True),
        ("isNil(result)", [], False),
        ("isNil(result)", False, False),
        # Source: argo-rollouts docs and examples (their successCondition/failureCondition lines).
        ("len(result) == 0 || result[0] >= 0.95", [], True),
        ("len(result) > 0 && result[0] >= 0.95", [], False),
        ("len(result) > 0 && result[0] >= 0.95", [0.97], True),
        ("result[0] >= 0.95", [1], True),
        ("isNaN(result) || result >= 0.95", math.nan, True),
        ("isInf(result)", math.inf, True),
        ("default(result, 0) < 0.05", None, True),
        ("default(result, 0) < 5", 7, False),
        ("max(result) < 0.05", [0.01, 0.07], False),
        ("all(result, # < 1000)", [120.0, 999], True),
        (
            "len(result[0].Values) >= 5 and all(result[0].Values, {# <= 0.01})",
            [{"Values": [0.0, 0.01, 0.001, 0.0, 0.002]}],
            True,
        ),
        (
            "all(result.service_apdex.values.values, {asFloat(.value) >= 9900})",
            {"service_apdex": {"values": {"values": [{"value": "9950"}, {"value": 9901}]}}},
            True,
        ),
        ("result.ok && result.successPercent >= 0.90", {"ok": True, "successPercent": 1}, True),
        ("result == 'It worked!'", "It worked!", True),
        ("result.successRate >= 0.95", {"successRate": 1}, True),
    ],
)
def test_argo_rollouts_published_conditions_give_their_expected_results(
    expression: str, result: Any, holds: bool
) -> None:
    assert evaluate_condition(expression, result) is holds


def test_an_integer_result_compares_with_a_decimal_literal() -> None:
    # A web metric answering `1` against `result >= 0.95` errored under CEL (int vs double).
    assert evaluate_condition("result >= 0.95", 1) is True
    assert evaluate_condition("result.score >= 0.95", {"score": 1}) is True


@pytest.mark.parametrize(
    ("expression", "result", "message"),
    [
        # Source: argo-rollouts utils/evaluate/evaluate_test.go (error cases).
        ("asInt(result) == 1.1", "1.1", 'parsing "1.1": invalid syntax'),
        ("asFloat(result) == 1.1", "NotANum", 'strconv.ParseFloat: parsing "NotANum": invalid'),
        ("1", True, "expected bool, but got int"),
        ("result.Name() == 'hi'", True, "type bool has no method Name"),
        ("result[0] >= 0.95", [], "metric result is nil or empty"),
        ("result < 0.05", None, "metric result is nil or empty"),
    ],
)
def test_an_evaluation_error_is_one_line_naming_field_expression_and_cause(
    expression: str, result: Any, message: str
) -> None:
    with pytest.raises(ConditionEvaluationError) as caught:
        evaluate_condition(expression, result, "successCondition")
    text = str(caught.value)
    assert text.startswith(f'could not evaluate successCondition "{expression}": ')
    assert message in text
    assert "\n" not in text and len(text) < 300


def test_a_syntax_error_names_the_line_and_column_of_the_expression() -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        compile_condition("result.passed ==")
    assert (caught.value.line, caught.value.column) == (1, 16)
    assert str(caught.value) == "invalid expression at line 1, column 16: unexpected token EOF"


def test_a_type_mismatch_known_before_running_is_refused_at_load() -> None:
    # Source: argo-rollouts evaluate_test.go TestEvaluateAsFloatError (second case).
    with pytest.raises(ConditionSyntaxError) as caught:
        compile_condition('asFloat(result) == "1.1"')
    assert "invalid operation: == (mismatched types float64 and string)" in str(caught.value)
    assert caught.value.column == 17
    compile_condition("asInt(result) == 1.1")  # numbers compare across int and float
    with pytest.raises(ConditionSyntaxError, match=r"mismatched types int and bool"):
        compile_condition("len(result) > true")


def test_an_unknown_name_or_function_is_refused_when_the_template_loads() -> None:
    # Source: argo-rollouts evaluate_test.go TestErrorWithInvalidReference ("unknown name").
    with pytest.raises(ConditionSyntaxError, match="unknown name invalidVariable"):
        compile_condition("invalidVariable")
    with pytest.raises(ConditionSyntaxError, match="unknown func size"):
        compile_condition("size(result) > 0")
    with pytest.raises(ConditionSyntaxError, match=r"line 1, column 5: unknown name c"):
        compile_condition("all(c, c.passed)")


@pytest.mark.parametrize(
    ("success", "failure", "result", "phase"),
    [
        # Source: argo-rollouts utils/evaluate/evaluate_test.go (TestEvaluateResult*).
        ("true", "false", True, AnalysisPhase.SUCCESSFUL),
        ("true", "true", True, AnalysisPhase.FAILED),
        ("false", "false", True, AnalysisPhase.INCONCLUSIVE),
        (None, "false", True, AnalysisPhase.SUCCESSFUL),
        ("false", None, True, AnalysisPhase.FAILED),
        (None, None, True, AnalysisPhase.SUCCESSFUL),
        # Source: argo-rollouts docs/features/analysis.md, "NaN and Infinity".
        ("isNaN(result) || result >= 0.95", None, math.nan, AnalysisPhase.SUCCESSFUL),
        ("result >= 0.95", "result < 0.95", math.nan, AnalysisPhase.INCONCLUSIVE),
        ("result >= 0.95", None, math.nan, AnalysisPhase.FAILED),
        ("result >= 0.95", None, math.inf, AnalysisPhase.SUCCESSFUL),
        (None, "isInf(result)", math.inf, AnalysisPhase.FAILED),
        # Source: the same page, "Empty array".
        ("len(result) == 0 || result[0] >= 0.95", None, [], AnalysisPhase.SUCCESSFUL),
        ("len(result) > 0 && result[0] >= 0.95", None, [], AnalysisPhase.FAILED),
        # The project's own combinations.
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


def test_an_error_in_either_condition_makes_the_measurement_error() -> None:
    # Source: argo-rollouts evaluate_test.go TestEvaluateResultWithErrorOn{Success,Failure}.
    with pytest.raises(ConditionEvaluationError, match="successCondition"):
        assess_conditions("result.a.b == 1", "true", True)
    with pytest.raises(ConditionEvaluationError, match="failureCondition"):
        assess_conditions("true", "result.a.b == 1", True)
