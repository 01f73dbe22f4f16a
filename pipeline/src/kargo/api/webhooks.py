"""Webhook routes: send a test, list deliveries, redeliver (the notify layer does the work)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from kargo.api.codes import ErrorCode
from kargo.api.contract import DeliveryList
from kargo.api.errors import ApiError
from kargo.api.reading import resource_list
from kargo.api.security import client_address
from kargo.api.state import ServerState, actor_of, server_state
from kargo.auth.secretfiles import secrets_dir
from kargo.model.deliveries import DeliveryRecord, WebhookTestResult
from kargo.model.webhooks import WebhookConfig
from kargo.notify.deliveries import DeliveryNotFound, list_deliveries, redeliver
from kargo.notify.probing import test_webhook
from kargo.store import list_models

router = APIRouter(prefix="/api/v1")
State = Annotated[ServerState, Depends(server_state)]


def _audit(request: Request, state: ServerState, project: str, action: str, resource: str) -> None:
    with state.store.transaction() as tx:
        tx.audit(
            project=project,
            actor=actor_of(request),
            action=action,
            resource=resource,
            source="api",
            result="ok",
            address=client_address(request),
        )


@router.post("/projects/{project}/webhookconfigs/{name}/test", response_model=WebhookTestResult)
async def send_test(project: str, name: str, request: Request, state: State) -> dict[str, Any]:
    """Send a signed `webhook.test` to one webhook."""
    configs = list_models(state.store, WebhookConfig, project)
    if not any(c.name == name for c in configs):
        raise ApiError(ErrorCode.NOT_FOUND, f"webhook config {name!r} not found in {project!r}")
    result = await test_webhook(
        name, configs, db=state.store.engine, project=project, base_dir=secrets_dir(state.state_dir)
    )
    _audit(request, state, project, "webhook.test", f"WebhookConfig/{name}")
    return result.to_dict()


@router.get("/projects/{project}/webhookdeliveries", response_model=DeliveryList)
def deliveries(
    project: str, state: State, webhook: str | None = None, failed: bool = False
) -> dict[str, Any]:
    """The delivery log, newest first."""
    found = list_deliveries(state.store.engine, project=project, webhook=webhook, failed=failed)
    return resource_list("WebhookDelivery", [d.to_dict() for d in found])


@router.post(
    "/projects/{project}/webhookdeliveries/{delivery_id}/redeliver", response_model=DeliveryRecord
)
def queue_again(project: str, delivery_id: int, request: Request, state: State) -> dict[str, Any]:
    """Queue a delivery again."""
    try:
        record = redeliver(state.store.engine, delivery_id)
    except DeliveryNotFound as exc:
        raise ApiError(ErrorCode.NOT_FOUND, str(exc)) from exc
    _audit(request, state, project, "webhook.redeliver", f"WebhookDelivery/{delivery_id}")
    if state.dispatcher is not None:
        state.dispatcher.wake()
    return record.to_dict()
