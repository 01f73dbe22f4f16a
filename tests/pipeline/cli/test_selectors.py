"""Field selectors follow kubectl: =, == and !=, comma-joined, over the event fields."""

from __future__ import annotations

import pytest
from kargo.cli.kinds import (
    Operator,
    Requirement,
    SelectorError,
    format_field_selector,
    parse_field_selector,
    select,
)

from tests.pipeline.cli.conftest import load


def test_the_guides_selector_parses_to_one_equality() -> None:
    assert parse_field_selector("involvedObject.kind=Promotion") == [
        Requirement("involvedObject.kind", Operator.EQUALS, "Promotion")
    ]


def test_double_equals_and_not_equals_are_accepted_and_joined_by_commas() -> None:
    parsed = parse_field_selector(
        "involvedObject.kind==Promotion, reason!=PromotionCreated,type=Warning"
    )
    assert [(r.field, r.operator, r.value) for r in parsed] == [
        ("involvedObject.kind", Operator.EQUALS, "Promotion"),
        ("reason", Operator.NOT_EQUALS, "PromotionCreated"),
        ("type", Operator.EQUALS, "Warning"),
    ]
    assert format_field_selector(parsed) == (
        "involvedObject.kind=Promotion,reason!=PromotionCreated,type=Warning"
    )


def test_an_unknown_field_is_refused_with_a_did_you_mean() -> None:
    with pytest.raises(SelectorError, match="did you mean 'involvedObject.kind'"):
        parse_field_selector("involvedObject.knd=Promotion")


def test_a_term_without_operator_or_value_says_how_to_write_it() -> None:
    with pytest.raises(SelectorError, match="FIELD=VALUE"):
        parse_field_selector("reason")
    with pytest.raises(SelectorError, match="has no value"):
        parse_field_selector("reason=")


def test_selecting_events_keeps_only_matching_ones() -> None:
    events = load("events")
    promotions = select(events, parse_field_selector("involvedObject.kind=Promotion"))
    assert {e.reason for e in promotions} == {"PromotionCreated", "PromotionFailed"}
    warnings = select(events, parse_field_selector("involvedObject.kind=Promotion,type!=Normal"))
    assert [e.reason for e in warnings] == ["PromotionFailed"]
