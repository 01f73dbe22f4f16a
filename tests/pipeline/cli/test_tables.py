"""`kargo get` tables for every kind, normal and wide, against golden files."""

from __future__ import annotations

import pytest
from kargo.cli.columns import build_table, stage_verified
from kargo.cli.kinds import resolve_kind
from kargo.cli.printing import OutputFormat, format_resources
from kargo.cli.tables import Table, render_table
from kargo.model.stage import VerificationPhase
from kargo.model.webhooks import redact_url as url_host

from tests.pipeline.cli.conftest import NOW, assert_golden, load

KIND_FIXTURES = [
    ("promotion", "promotions"),
    ("stage", "stages"),
    ("freight", "freight"),
    ("warehouse", "warehouses"),
    ("analysisrun", "analysisruns"),
    ("analysistemplate", "analysistemplates"),
    ("webhook-config", "webhookconfigs"),
    ("events", "events"),
    ("webhook-deliveries", "webhookdeliveries"),
]


@pytest.mark.parametrize(("kind", "fixture"), KIND_FIXTURES)
@pytest.mark.parametrize("wide", [False, True], ids=["table", "wide"])
def test_each_kind_prints_the_golden_table(kind: str, fixture: str, wide: bool) -> None:
    chosen = resolve_kind(kind)
    output = OutputFormat.WIDE if wide else OutputFormat.TABLE
    text = format_resources(chosen, load(fixture), output, now=NOW)
    assert_golden(f"get-{fixture}{'-wide' if wide else ''}.txt", text)


def test_promotions_are_listed_newest_first() -> None:
    table = build_table("Promotion", load("promotions"), now=NOW)
    assert [row[0].split(".")[0] for row in table.rows] == [
        "production",
        "development",
        "production",
    ]
    assert table.rows[0][2:] == ["wise-otter", "Failed", "10m"]


def test_events_are_listed_oldest_first_like_kubectl() -> None:
    table = build_table("Event", load("events"), now=NOW)
    assert [row[2] for row in table.rows] == [
        "FreightCreated",
        "PromotionCreated",
        "PromotionFailed",
    ]


def test_columns_are_aligned_three_spaces_apart_without_trailing_spaces() -> None:
    table = Table(["NAME", "PHASE"], status_columns=frozenset({1}))
    table.add("a", "Succeeded")
    table.add("longer-name", "")
    assert (
        render_table(table) == "NAME          PHASE\na             Succeeded\nlonger-name   <none>"
    )


def test_no_headers_drops_the_header_row_only() -> None:
    text = format_resources(
        resolve_kind("stage"), load("stages"), OutputFormat.TABLE, True, now=NOW
    )
    assert not text.startswith("NAME")
    assert len(text.splitlines()) == 3


def test_colour_is_added_only_when_asked_and_keeps_alignment() -> None:
    table = Table(["NAME", "PHASE", "AGE"], status_columns=frozenset({1}))
    table.add("p1", "Failed", "5s")
    table.add("p2", "Succeeded", "3m")
    plain = render_table(table)
    coloured = render_table(table, colour=True)
    assert "\x1b[" not in plain
    assert "\x1b[31mFailed\x1b[0m" in coloured
    strip = coloured.replace("\x1b[31m", "").replace("\x1b[32m", "").replace("\x1b[0m", "")
    assert strip.replace("\x1b[1m", "") == plain


def test_webhook_urls_never_show_credentials_paths_or_query_strings() -> None:
    assert url_host("http://user:pass@127.0.0.1:8095/hooks?token=abc") == "http://127.0.0.1:8095"
    assert url_host("https://hooks.example.org/services/T000/B000") == "https://hooks.example.org"


def test_output_name_json_and_yaml_follow_kubectl() -> None:
    stage = resolve_kind("stages")
    stages = load("stages")
    assert format_resources(stage, stages, OutputFormat.NAME) == (
        "stage/development\nstage/production\nstage/qa"
    )
    listed = format_resources(stage, stages, OutputFormat.JSON)
    assert '"kind": "List"' in listed
    one = format_resources(stage, stages[:1], OutputFormat.YAML, single=True)
    assert one.startswith("apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n")


def test_a_stage_shows_verified_from_its_newest_verification_or_none_needed() -> None:
    development, production = load("stages")[1], load("stages")[0]
    assert stage_verified(production) == "True"
    newest = production.status.freight_history[0].verification_history[0]
    newest.phase = VerificationPhase.FAILED
    assert stage_verified(production) == "Failed"
    production.status.freight_history[0].verification_history = []
    assert stage_verified(production) == "False"
    assert development.spec.verification is None
    assert stage_verified(development) == "True"


def test_webhook_configs_show_their_last_delivery_and_recent_failures_from_the_log() -> None:
    text = format_resources(
        resolve_kind("webhook-config"),
        load("webhookconfigs"),
        OutputFormat.TABLE,
        now=NOW,
        deliveries=load("webhookdeliveries"),
    )
    rows = {line.split()[0]: line.split() for line in text.splitlines()[1:]}
    assert rows["local-receiver"][4:6] == ["Succeeded", "0"]
    assert rows["slack"][4:6] == ["Failed", "1"]  # the failure of three days ago is not recent
    assert_golden("get-webhookconfigs-with-deliveries.txt", text)
