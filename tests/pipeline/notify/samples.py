"""Events as the engine records them during a pipeline run, and WebhookConfigs for the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kargo.model.webhooks import WebhookConfig
from kargo.notify.signing import generate_secret
from kargo.store import Store

PROJECT = "planning-poker"
FREIGHT = {"freight": "f3c1a9e", "freightAlias": "wise-otter", "commit": "0a1b2c3d4e5f6789"}

SMOKE = {
    "name": "smoke-tests",
    "phase": "Successful",
    "annotations": {"notifications.kargo.akuity.io/type": "smoke.completed"},
    "metrics": [
        {
            "name": "smoke",
            "phase": "Successful",
            "value": "passed",
            "message": "",
            "result": {
                "passed": True,
                "checks": [
                    {"name": "health", "passed": True, "duration_ms": 3.1},
                    {"name": "create-room", "passed": True, "duration_ms": 12.0},
                    {"name": "vote-and-reveal", "passed": True, "duration_ms": 40.2},
                ],
            },
        }
    ],
}
SECURITY = {
    "name": "security-scan",
    "phase": "Successful",
    "annotations": {"notifications.kargo.akuity.io/type": "security.findings"},
    "metrics": [
        {
            "name": "vulnerabilities",
            "phase": "Successful",
            "value": "0 critical",
            "message": "",
            "result": {
                "passed": True,
                "critical": 0,
                "high": 1,
                "medium": 2,
                "low": 0,
                "findings": [
                    {"id": "GHSA-1", "severity": "medium", "summary": "m1", "package": "a"},
                    {"id": "GHSA-2", "severity": "high", "summary": "h1", "package": "b"},
                    {"id": "B105", "severity": "medium", "summary": "m2", "kind": "bandit"},
                ],
                "advisory_db": {"source": "bundled", "age_hours": 30.5, "status": "fresh"},
            },
        }
    ],
}
LOAD = {
    "name": "load-test",
    "phase": "Successful",
    "annotations": {"notifications.kargo.akuity.io/type": "loadtest.completed"},
    "metrics": [
        {"name": "response-time", "phase": "Successful", "value": "212.0", "result": 212.0},
        {
            "name": "load-generation",
            "phase": "Successful",
            "value": "ok",
            "result": {
                "passed": True,
                "requests": 3000,
                "failures": 0,
                "error_rate": 0.0,
                "rps": 98.4,
                "p50_ms": 21.0,
                "p95_ms": 180.0,
                "p99_ms": 260.0,
            },
        },
        {"name": "error-rate", "phase": "Successful", "value": "0.002", "result": 0.002},
        {"name": "cpu-usage", "phase": "Successful", "value": "0.4", "result": 0.41},
        {"name": "memory-usage", "phase": "Successful", "value": "96", "result": 96.5},
    ],
}


def promotion(stage: str, name: str, **extra: Any) -> dict[str, Any]:
    """Promotion event data as the contract defines it."""
    return {
        "stage": stage,
        **FREIGHT,
        "actor": "admin",
        "promotion": name,
        "durationSeconds": 12.5,
    } | extra


def verification(stage: str, phase: str, templates: list[dict[str, Any]]) -> dict[str, Any]:
    """Verification event data as the contract defines it."""
    return {
        "stage": stage,
        **FREIGHT,
        "analysisRun": f"{stage}-verify-1",
        "phase": phase,
        "templates": templates,
    }


# (reason, Normal|Warning, involved kind, involved name, data) for a whole pipeline run.
PIPELINE_RUN: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("FreightCreated", "Normal", "Freight", "f3c1a9e", FREIGHT | {"warehouse": "main"}),
    ("PromotionCreated", "Normal", "Promotion", "dev-1", promotion("development", "dev-1")),
    ("PromotionStarted", "Normal", "Promotion", "dev-1", promotion("development", "dev-1")),
    ("PromotionSucceeded", "Normal", "Promotion", "dev-1", promotion("development", "dev-1")),
    (
        "FreightVerificationSucceeded",
        "Normal",
        "Stage",
        "development",
        verification("development", "Successful", [SMOKE, SECURITY, LOAD]),
    ),
    (
        "PromotionFailed",
        "Warning",
        "Promotion",
        "prod-1",
        promotion("production", "prod-1", failedStep="deploy", error="port busy"),
    ),
    ("PromotionErrored", "Warning", "Promotion", "prod-2", promotion("production", "prod-2")),
    ("PromotionAborted", "Warning", "Promotion", "prod-3", promotion("production", "prod-3")),
    (
        "FreightVerificationFailed",
        "Warning",
        "Stage",
        "production",
        verification("production", "Failed", [SMOKE | {"phase": "Failed"}]),
    ),
    (
        "FreightVerificationErrored",
        "Warning",
        "Stage",
        "production",
        verification("production", "Error", []),
    ),
    (
        "PromotionCreated",
        "Normal",
        "Promotion",
        "rollback-1",
        promotion("production", "rollback-1", rollback=True, reason="smoke failed"),
    ),
    (
        "PromotionSucceeded",
        "Normal",
        "Promotion",
        "rollback-1",
        promotion("production", "rollback-1", rollback=True, reason="smoke failed"),
    ),
]
# Every type the run above gives, besides webhook.test.
PIPELINE_TYPES = {
    "freight.created",
    "promotion.created",
    "promotion.started",
    "promotion.succeeded",
    "verification.succeeded",
    "smoke.completed",
    "security.findings",
    "loadtest.completed",
    "promotion.failed",
    "promotion.errored",
    "promotion.aborted",
    "verification.failed",
    "verification.errored",
    "rollback.started",
    "rollback.succeeded",
}
# promotion.created, promotion.succeeded and smoke.completed appear twice.
PIPELINE_NOTIFICATIONS = 18


def emit(
    store: Store, reason: str, severity: str, kind: str, name: str, data: dict[str, Any]
) -> None:
    """Write one event through the real store, as the engine does inside a state change."""
    with store.transaction() as tx:
        tx.event(
            project=PROJECT,
            reason=reason,
            type=severity,
            involved_kind=kind,
            involved_name=name,
            message=f"{reason} for {name}",
            data=data,
        )


def emit_pipeline_run(store: Store, run: str = "") -> None:
    """Every event of PIPELINE_RUN, one transaction each (`run` makes promotion names unique)."""
    for reason, severity, kind, name, data in PIPELINE_RUN:
        if "promotion" in data:
            data = data | {"promotion": data["promotion"] + run}
        emit(store, reason, severity, kind, name + run, data)


def write_secret(folder: Path, name: str = "webhook.secret") -> tuple[str, Path]:
    """A fresh whsec_ secret written to a file; (secret, path)."""
    secret = generate_secret()
    path = folder / name
    path.write_text(secret + "\n")
    return secret, path


def webhook(name: str, url: str, secret_file: Path | None, **spec: Any) -> WebhookConfig:
    """A WebhookConfig as kargo/webhooks.yaml would declare it."""
    body: dict[str, Any] = {"url": url} | spec
    if secret_file is not None:
        body.setdefault("secretRef", {"file": str(secret_file)})
    return WebhookConfig.model_validate(
        {"kind": "WebhookConfig", "metadata": {"name": name, "namespace": PROJECT}, "spec": body}
    )
