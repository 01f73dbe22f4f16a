"""A pipeline of shell steps for the fault tests, its freight, and a server that can be killed."""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path

import httpx
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.engine.registration import register_higher_layer_parsers
from kargo.model.base import ObjectMeta, utcnow
from kargo.model.common import FreightOrigin
from kargo.model.freight import Freight, GitCommit, freight_name
from kargo.store import Store, save_model

from tests.faults.servers import Served
from tests.pipeline.harness import wait_until
from tests.pipeline.notify.receiver import Receiver

PROJECT = "faults"
API = "/api/v1"
SECRET_ENV = "FAULT_WEBHOOK_SECRET"


def webhook_secret() -> str:
    """A fresh Standard Webhooks secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def pipeline_yaml(stages: int, served: Path, webhook_url: str) -> str:
    """`stages` stages of three shell steps; the last writes the freight it serves to `served`.

    It also appends the freight to `<stage>.runs`, so a test sees every run of the step.
    """
    docs = project_documents(webhook_url)
    steps = (
        "      - uses: shell\n        as: prepare\n        config: {command: 'echo prepare'}\n"
        "      - uses: shell\n        as: wait\n        config: {command: 'sleep 0.2'}\n"
        "      - uses: shell\n        as: serve\n"
        "        config: {command: 'echo $KARGO_FREIGHT > "
        f"{served}/$KARGO_STAGE; echo $KARGO_FREIGHT >> {served}/$KARGO_STAGE.runs'}}\n"
    )
    for i in range(stages):
        docs.append(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n"
            f"metadata: {{name: s{i}, namespace: {PROJECT}}}\nspec:\n"
            "  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n"
            "    sources: {direct: true}\n"
            f"  promotionTemplate:\n    spec:\n      steps:\n{steps}"
        )
    return "---\n".join(docs)


def project_documents(webhook_url: str | None) -> list[str]:
    """The project, its warehouse (never polled: freight is made up) and its webhook, if any."""
    docs = [
        f"apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {{name: {PROJECT}}}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
        f"metadata: {{name: app, namespace: {PROJECT}}}\nspec:\n  interval: 24h\n"
        "  subscriptions:\n  - git: {repoURL: /nonexistent/faults, branch: main}\n",
    ]
    if webhook_url is None:
        return docs
    return docs + [
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: WebhookConfig\n"
        f"metadata: {{name: receiver, namespace: {PROJECT}}}\nspec:\n"
        f"  url: {webhook_url}\n  events: ['promotion.*']\n"
        f"  secretRef: {{env: {SECRET_ENV}}}\n"
        "  retry: {backoff: [200ms, 500ms, 1s, 2s, 3s, 5s, 10s], jitter: 0, giveUpAfter: 1h}\n",
    ]


def seed_store(
    store: Store, stages: int, freights: int, served: Path, webhook_url: str
) -> list[str]:
    """Apply the pipeline and create `freights` freight (made-up commits: no git needed)."""
    return apply_with_freight(store, pipeline_yaml(stages, served, webhook_url), freights)


def apply_with_freight(store: Store, documents: str, freights: int) -> list[str]:
    """Apply `documents` and create `freights` freight of made-up commits; their names."""
    register_higher_layer_parsers()
    apply_resources(store, load_text(documents), actor="test")
    origin = FreightOrigin(name="app")
    names = []
    for n in range(freights):
        commits = [GitCommit(repoURL="/nonexistent/faults", id=f"{n + 1:040x}", message=f"c{n}")]
        freight = Freight(
            metadata=ObjectMeta(name=freight_name(origin, commits), namespace=PROJECT),
            alias=f"freight-{n}",
            origin=origin,
            commits=commits,
            discovered_at=utcnow(),
        )
        with store.transaction() as tx:
            names.append(save_model(tx, freight).name)
    return names


def queue_promotion(store: Store, stage: str, freight: str) -> None:
    """Queue a promotion as the API does (the server need not run)."""
    request_promotion(store, PromotionRequest(PROJECT, stage, freight, actor="fault-test"))


def promote(served: Served, stage: str, freight: str) -> str:
    """Ask for a promotion through the API; its name."""
    answer = httpx.post(
        f"{served.base}{API}/projects/{PROJECT}/promotions",
        json={"stage": stage, "freight": freight},
        headers=served.headers,
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["metadata"]["name"])


def converge(engine: Served, receiver: Receiver, promoted: int) -> None:
    """Wait until every promotion ended and its three events arrived, then a moment more."""
    wait_until(lambda: all_terminal(engine), timeout=120, what="every promotion to end")
    wait_until(
        lambda: len(receiver.accepted()) >= 3 * promoted,
        timeout=90,
        what="the webhook deliveries",
    )
    time.sleep(1.0)  # a duplicate would arrive now


def all_terminal(served: Served) -> bool:
    """Whether every promotion of the project has ended."""
    try:
        items = httpx.get(
            f"{served.base}{API}/projects/{PROJECT}/promotions", headers=served.headers, timeout=10
        ).json()["items"]
    except httpx.HTTPError:
        return False
    return all(
        p.get("status", {}).get("phase") in ("Succeeded", "Failed", "Errored", "Aborted")
        for p in items
    )
