"""`kargo describe` for promotions, analysis runs and the generic kinds, against golden files."""

from __future__ import annotations

from kargo.cli.describing import (
    describe_analysis_run,
    describe_generic,
    describe_promotion,
    find_verification,
)

from tests.pipeline.cli.conftest import NOW, assert_golden, load


def test_a_failed_promotion_is_described_with_steps_verification_and_events() -> None:
    promotion = load("promotions")[0]
    events = [e for e in load("events") if e.involved_object.name == promotion.name]
    text = describe_promotion(promotion, events, None, NOW)
    assert "  3   deploy   deploy      Failed      30.1s      instance did not become ready" in text
    assert 'Commit:         9a8b7c6 main "Reveal cards together" by Ada' in text
    assert_golden("describe-promotion-failed.txt", text)


def test_a_promotion_shows_the_verification_run_of_its_stage_and_freight() -> None:
    promotion = load("promotions")[1]
    run = find_verification(promotion, load("analysisruns"))
    assert run is not None
    text = describe_promotion(promotion, [], run, NOW)
    assert "response-time" in text and "812.4" in text
    assert_golden("describe-promotion-verified.txt", text)


def test_a_verification_run_is_not_matched_to_a_later_promotion() -> None:
    promotion = load("promotions")[0]  # production, created after the development run
    assert find_verification(promotion, load("analysisruns")) is None


def test_an_analysis_run_lists_every_measurement_with_value_phase_time_and_message() -> None:
    text = describe_analysis_run(load("analysisruns")[0], [], NOW, load("analysistemplates"))
    assert "812.4 does not satisfy result < 500" in text
    assert "Condition:      result < 500" in text
    assert_golden("describe-analysisrun.txt", text)


def test_other_kinds_are_described_with_spec_status_and_events() -> None:
    stage = load("stages")[0]
    text = describe_generic(stage, [], NOW)
    assert "Events:         <none>" in text
    assert_golden("describe-stage.txt", text)


def test_a_rollback_is_described_with_its_reason() -> None:
    text = describe_promotion(load("promotions")[2], [], None, NOW)
    assert "Rollback:       yes (verification of wise-otter failed in production)" in text
