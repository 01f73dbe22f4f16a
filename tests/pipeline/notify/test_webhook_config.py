"""WebhookConfig: the shipped kargo/webhooks.yaml, its commented examples, and bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from kargo.model.webhooks import WebhookConfig, WebhookFormat, parse_duration, redact_url
from kargo.notify.retry import RetrySchedule, parse_retry_after
from kargo.notify.tables import NOTIFY_METADATA
from kargo.store import Store
from pydantic import ValidationError

from tests.services import REPO_ROOT

WEBHOOKS_YAML = REPO_ROOT / "kargo" / "webhooks.yaml"


def documents(text: str) -> list[dict[str, Any]]:
    """The YAML documents of a file."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_the_shipped_file_configures_the_local_receiver_with_a_secret_file() -> None:
    [config] = [WebhookConfig.model_validate(d) for d in documents(WEBHOOKS_YAML.read_text())]
    assert config.name == "local" and config.spec.url == "http://127.0.0.1:8095/hooks"
    assert config.spec.secret_ref is not None
    assert config.spec.secret_ref.file == "webhook-receiver.secret"
    assert config.spec.timeout_seconds == 10 and config.spec.enabled


def test_the_commented_slack_and_generic_examples_are_valid_once_uncommented() -> None:
    text = WEBHOOKS_YAML.read_text()
    examples = text.split("# ---\n")[1:]
    uncommented = [re.sub(r"^# ?", "", part, flags=re.M) for part in examples]
    configs = [WebhookConfig.model_validate(d) for part in uncommented for d in documents(part)]
    assert [c.spec.format for c in configs] == [WebhookFormat.SLACK, WebhookFormat.STANDARD]
    generic = configs[1]
    assert generic.spec.retry.backoff == [5.0, 30.0, 120.0, 600.0]
    assert generic.spec.retry.give_up_after == 3600.0
    assert generic.spec.secret_ref and generic.spec.secret_ref.previous


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"url": "ftp://x"}, "http"),
        ({"url": "http://x"}, "secretRef"),
        ({"url": "http://x", "secretRef": {"env": "A", "file": "b"}}, "exactly one"),
        ({"url": "http://x", "secretRef": {"env": "A"}, "secret": "whsec_x"}, "secret"),
        ({"url": "http://x", "secretRef": {"env": "A"}, "retry": {"backoff": ["soon"]}}, "dur"),
    ],
)
def test_bad_webhook_configs_are_refused_with_a_clear_reason(
    spec: dict[str, Any], complaint: str
) -> None:
    body = {"kind": "WebhookConfig", "metadata": {"name": "x"}, "spec": spec}
    with pytest.raises(ValidationError, match=complaint):
        WebhookConfig.model_validate(body)


def test_urls_are_shown_by_host_only() -> None:
    assert redact_url("https://user:pw@hooks.example.com/services/T/B/tok?x=1") == (
        "https://hooks.example.com"
    )


def test_durations_and_retry_after_are_read_in_every_documented_form() -> None:
    assert [parse_duration(v) for v in ("5s", "2m", "1h", "250ms", 7)] == [5, 120, 3600, 0.25, 7]
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


def test_the_default_schedule_backs_off_with_jitter_and_stops_within_a_day() -> None:
    schedule = RetrySchedule()
    delays = [schedule.next_delay(n, 0.0) for n in range(1, 7)]
    for delay, base in zip(delays, (5, 30, 120, 600, 3600, 21600), strict=True):
        assert delay is not None and 0.8 * base <= delay <= 1.2 * base
    assert schedule.next_delay(7, 0.0) is None
    assert schedule.next_delay(6, 80000.0) is None


def test_the_migrations_create_exactly_the_tables_the_notify_layer_uses(tmp_path: Any) -> None:
    store = Store.open(None, tmp_path)
    try:
        inspector = sa.inspect(store.engine)
        for table in NOTIFY_METADATA.sorted_tables:
            migrated = {column["name"] for column in inspector.get_columns(table.name)}
            assert migrated == {column.name for column in table.columns}, table.name
    finally:
        store.close()
