"""Kinds answer to singular, plural and short names, like kubectl."""

from __future__ import annotations

import pytest
from kargo.cli.kinds import UnknownKind, did_you_mean, resolve_kind


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("promotion", "Promotion"),
        ("promotions", "Promotion"),
        ("promo", "Promotion"),
        ("stage", "Stage"),
        ("STAGES", "Stage"),
        ("freight", "Freight"),
        ("warehouse", "Warehouse"),
        ("analysisrun", "AnalysisRun"),
        ("ar", "AnalysisRun"),
        ("analysistemplates", "AnalysisTemplate"),
        ("webhook-config", "WebhookConfig"),
        ("webhookconfigs", "WebhookConfig"),
        ("events", "Event"),
        ("webhook-deliveries", "WebhookDelivery"),
    ],
)
def test_every_spelling_selects_its_kind(typed: str, kind: str) -> None:
    assert resolve_kind(typed).kind == kind


def test_an_unknown_kind_gets_a_did_you_mean() -> None:
    with pytest.raises(UnknownKind, match="did you mean 'promotion'"):
        resolve_kind("promotoin")


def test_names_get_the_closest_existing_name() -> None:
    assert did_you_mean("prodution", ["development", "production"]) == (
        "; did you mean 'production'?"
    )
    assert did_you_mean("zzz", ["development"]) == ""
