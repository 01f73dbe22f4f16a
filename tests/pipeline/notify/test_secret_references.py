"""Secret references wherever a credential goes, and redaction by field (issue 15, item 8)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from kargo.api.redaction import REDACTED, redact_resource
from kargo.notify.probing import send_test_webhook

from tests.pipeline.notify.receiver import Receiver
from tests.pipeline.notify.samples import webhook

SLACK_PATH = "/hooks/T000/B000/planted-slack-secret"


def test_url_from_sends_to_the_secret_url_and_url_names_only_the_host(
    receiver: Receiver, secret_file: tuple[str, Path], tmp_path: Path
) -> None:
    parts = urlsplit(receiver.url)
    shown = f"{parts.scheme}://{parts.netloc}"  # what logs and the delivery log show
    url_file = tmp_path / "hook.url"
    url_file.write_text(f"{shown}{SLACK_PATH}\n")
    config = webhook("slack-like", shown, secret_file[1], urlFrom={"file": str(url_file)})
    result = asyncio.run(send_test_webhook(config))
    assert result.ok, result
    assert receiver.accepted()[-1].path == SLACK_PATH
    assert "planted-slack-secret" not in str(config.model_dump())


def test_a_url_from_that_goes_elsewhere_is_refused(
    secret_file: tuple[str, Path], tmp_path: Path
) -> None:
    url_file = tmp_path / "hook.url"
    url_file.write_text("https://attacker.example/collect\n")
    config = webhook(
        "odd", "https://hooks.slack.com", secret_file[1], urlFrom={"file": str(url_file)}
    )
    result = asyncio.run(send_test_webhook(config))
    assert not result.ok and "does not go to https://hooks.slack.com" in (result.error or "")


@pytest.mark.parametrize(
    ("body", "path", "shown"),
    [
        (
            {"kind": "WebhookConfig", "spec": {"url": f"https://hooks.slack.com{SLACK_PATH}",
             "headers": [{"name": "X-Api-Key", "value": "planted"},
                         {"name": "Content-Type", "value": "application/json"}]}},
            [("url",), ("headers", 0, "value"), ("headers", 1, "value")],
            [f"https://hooks.slack.com/{REDACTED}", REDACTED, "application/json"],
        ),
        (
            {"kind": "Stage", "spec": {"promotionTemplate": {"spec": {"steps": [
                {"uses": "http", "config": {"url": "http://x", "headers": [
                    {"name": "Authorization", "value": "Bearer planted"},
                    {"name": "X-Token", "valueFrom": {"name": "ci", "key": "token"}}],
                 "queryParams": [{"name": "key", "value": "planted"}]}}]}}}},
            [("promotionTemplate", "spec", "steps", 0, "config", "headers", 0, "value"),
             ("promotionTemplate", "spec", "steps", 0, "config", "headers", 1, "valueFrom"),
             ("promotionTemplate", "spec", "steps", 0, "config", "queryParams", 0, "value")],
            [REDACTED, {"name": "ci", "key": "token"}, REDACTED],
        ),
        (
            {"kind": "AnalysisTemplate", "spec": {"metrics": [{"provider": {"web": {"headers": [
                {"key": "Authorization", "value": "Bearer {{args.checks-token}}"},
                {"key": "X-Api-Key", "value": "planted"}]}}}]}},
            [("metrics", 0, "provider", "web", "headers", 0, "value"),
             ("metrics", 0, "provider", "web", "headers", 1, "value")],
            ["Bearer {{args.checks-token}}", REDACTED],
        ),
    ],
)  # fmt: skip
def test_credentials_are_redacted_by_field_not_by_key_name(
    body: dict[str, object], path: list[tuple[object, ...]], shown: list[object]
) -> None:
    redacted = redact_resource(body)
    for where, expected in zip(path, shown, strict=True):
        value: object = redacted["spec"]
        for step in where:
            value = value[step]  # type: ignore[index]
        assert value == expected, where
    assert "planted" not in str(redacted)
    assert "planted" in str(body)  # the stored resource is untouched
