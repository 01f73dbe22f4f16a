"""KargoClient: the engine's REST API (docs/api.md) as Python calls, errors wrapped."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from kargo.api.contract import (
    ANSWER_LISTS,
    PROMOTE_ANSWER,
    RESOURCE_VIEWS,
    ApplyResults,
    AuditEntry,
    AuditList,
    ChainReport,
    CreatedToken,
    DeliveryMetrics,
    Explanation,
    FreightView,
    Permissions,
    PromoteAnswer,
    RollbackAnswer,
    StageView,
    TokenInfo,
    TokenList,
    VersionInfo,
    WhoAmI,
    parse_resource,
)
from kargo.api.contract import ApplyResult as ApplyResult
from kargo.client.errors import (
    ApiError,
    KargoClientError,
    ProtocolError,
    ServerTimeout,
    ServerUnreachable,
)
from kargo.client.sse import parse_sse
from kargo.client.tracing import RequestTracer
from kargo.model.deliveries import DeliveryRecord, WebhookTestResult
from kargo.model.project import Project
from kargo.model.promotion import Promotion
from kargo.model.registry import PLURALS
from kargo.model.warehouse import Warehouse

Resource = dict[str, Any]
"""A resource's JSON document."""
ModelT = TypeVar("ModelT", bound=BaseModel)
AnswerT = TypeVar("AnswerT")
DEFAULT_SERVER = "http://127.0.0.1:8080"
API = "/api/v1"


class KargoClient:
    """A synchronous client for one kargo server."""

    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        token: str | None = None,
        verbosity: int = 0,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        certificate_authority: str | None = None,
        insecure_skip_tls_verify: bool = False,
    ) -> None:
        self.server = server.rstrip("/")
        tracer = RequestTracer(verbosity)
        headers = {"Accept": "application/json", "User-Agent": "kargo-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.server,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0),
            event_hooks={"request": [tracer.on_request], "response": [tracer.on_response]},
            transport=transport,
            verify=_trust(certificate_authority, insecure_skip_tls_verify),
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def __enter__(self) -> KargoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    @contextmanager
    def _wrapped(self) -> Iterator[None]:
        """Turn httpx failures into KargoClientError subclasses."""
        try:
            yield
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise KargoClientError(
                    f"the kargo server at {self.server} has a certificate this machine does not "
                    f"trust ({_reason(exc)}); pass --certificate-authority CA.pem (the CA that "
                    "signed it) or, to test only, --insecure-skip-tls-verify"
                ) from exc
            raise ServerUnreachable(self.server, _reason(exc)) from exc
        except httpx.TimeoutException as exc:
            raise ServerTimeout(
                f"the kargo server at {self.server} did not answer in time ({_reason(exc)}); "
                "check that it is healthy (`kargo version`) and retry"
            ) from exc
        except httpx.InvalidURL as exc:
            raise KargoClientError(
                f"invalid server address {self.server!r}: {exc}; use e.g. {DEFAULT_SERVER}"
            ) from exc
        except httpx.HTTPError as exc:
            raise KargoClientError(f"request to {self.server} failed: {_reason(exc)}") from exc

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._wrapped():
            response = self._http.request(method, path, **kwargs)
        _raise_for_error(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ProtocolError(
                f"{method} {path}: the server sent {response.headers.get('content-type')} "
                "instead of JSON; is --server pointing at a kargo server?"
            ) from exc

    def _model(self, model: type[ModelT], method: str, path: str, **kwargs: Any) -> ModelT:
        """One answer parsed into its contract model (kargo.api.contract)."""
        return _parsed(model, self._json(method, path, **kwargs), f"{method} {path}")

    # -- reading -----------------------------------------------------------------------------

    def healthz(self) -> bool:
        """Whether the server answers its liveness probe."""
        return self._request("GET", "/healthz").status_code == 200

    def version(self) -> VersionInfo:
        """The server's version and API version."""
        return self._model(VersionInfo, "GET", f"{API}/version")

    def list_projects(self) -> list[Project]:
        """Every project."""
        return self.resources("", Project)

    def list_resources(
        self,
        project: str,
        plural: str,
        field_selector: str | None = None,
        label_selector: str | None = None,
        limit: int | None = None,
        params: dict[str, str] | None = None,
    ) -> list[Any]:
        """The resources of one kind in a project, as their contract models."""
        query: dict[str, str] = dict(params or {})
        if field_selector:
            query["fieldSelector"] = field_selector
        if label_selector:
            query["labelSelector"] = label_selector
        if limit:
            query["limit"] = str(limit)
        path = f"{API}/projects" if plural == "projects" else f"{API}/projects/{project}/{plural}"
        answer: Any = self._model(ANSWER_LISTS[kind_of(plural)], "GET", path, params=query)
        return list(answer.items)

    def get_resource(self, project: str, plural: str, name: str) -> Any:
        """One resource by name as its contract model (`document()` gives what `-o json` prints)."""
        path = f"{API}/projects/{project}/{plural}/{name}"
        return self._model(RESOURCE_VIEWS[kind_of(plural)], "GET", path)

    def resource(self, project: str, model: type[ModelT], name: str) -> ModelT:
        """One resource by name as its model, e.g. `resource("shop", StageView, "dev")`."""
        path = f"{API}/projects/{project}/{plural_of(model)}/{name}"
        return self._model(model, "GET", path)

    def resources(self, project: str, model: type[ModelT]) -> list[ModelT]:
        """Every resource of one kind in a project (every project for Project), as models."""
        return self.list_resources(project, plural_of(model))

    def export(self, project: str) -> str:
        """The project's effective configuration and recent promotions, as YAML."""
        return self._request("GET", f"{API}/projects/{project}/export").text

    def logs(self, project: str, promotion: str, follow: bool = False) -> Iterator[str]:
        """The promotion's step log, line by line; with follow, until the promotion ends."""
        path = f"{API}/projects/{project}/promotions/{promotion}/logs"
        if not follow:
            yield from self._request("GET", path).text.splitlines()
            return
        with self._wrapped():
            with self._http.stream(
                "GET", path, params={"follow": "true"}, timeout=httpx.Timeout(None, connect=5.0)
            ) as response:
                if response.is_error:
                    response.read()
                    _raise_for_error(response)
                yield from response.iter_lines()

    def watch(self, project: str, kind: str | None) -> Iterator[tuple[str, Any]]:
        """Changes to resources of one kind (None: all), as (ADDED|MODIFIED|DELETED, model).

        A `resync` event (the server dropped changes: list again) comes with None.
        """
        params = {"project": project, **({"kind": kind} if kind else {})}
        with self._wrapped():
            with self._http.stream(
                "GET",
                f"{API}/watch",
                params=params,
                headers={"Accept": "text/event-stream"},
                timeout=httpx.Timeout(None, connect=5.0),
            ) as response:
                if response.is_error:
                    response.read()
                    _raise_for_error(response)
                for event in parse_sse(response.iter_lines()):
                    if event.event == "resync":
                        yield event.event, None
                        continue
                    try:
                        yield event.event, parse_resource(json.loads(event.data))
                    except (ValueError, ValidationError):
                        continue  # a kind this client does not know, or not JSON

    def webhook_deliveries(
        self, project: str, webhook: str | None = None, failed: bool = False
    ) -> list[DeliveryRecord]:
        """The delivery log, optionally of one webhook or only the failed ones."""
        params: dict[str, str] = {}
        if webhook:
            params["webhook"] = webhook
        if failed:
            params["failed"] = "true"
        return self.list_resources(project, "webhookdeliveries", params=params)

    # -- writing -----------------------------------------------------------------------------

    def apply(self, yaml_text: str) -> list[ApplyResult]:
        """Create or update the resources of a multi-document YAML text."""
        answer = self._model(
            ApplyResults,
            "POST",
            f"{API}/apply",
            content=yaml_text.encode(),
            headers={"Content-Type": "application/yaml"},
        )
        return answer.results

    def promote(
        self,
        project: str,
        stage: str,
        freight: str | None = None,
        freight_alias: str | None = None,
        from_stage: str | None = None,
    ) -> PromoteAnswer:
        """Ask for a promotion: the new Promotion, or Unchanged when the stage runs that freight."""
        body: dict[str, str] = {"stage": stage}
        if freight:
            body["freight"] = freight
        if freight_alias:
            body["freightAlias"] = freight_alias
        if from_stage:
            body["fromStage"] = from_stage
        answer = self._json("POST", f"{API}/projects/{project}/promotions", json=body)
        return _parsed(PROMOTE_ANSWER, answer, "POST promotions")

    def abort_promotion(self, project: str, name: str) -> Promotion:
        """Abort a running promotion."""
        path = f"{API}/projects/{project}/promotions/{name}/abort"
        return self._model(Promotion, "POST", path)

    def rollback(self, project: str, **fields: Any) -> RollbackAnswer:
        """Ask for a rollback (toStage, stage, freight, freightAlias, reason, dryRun)."""
        body = {k: v for k, v in fields.items() if v not in (None, False, "")}
        return self._model(RollbackAnswer, "POST", f"{API}/projects/{project}/rollbacks", json=body)

    def approve(self, project: str, freight: str, stage: str) -> FreightView:
        """Approve freight for a stage."""
        body = {"freight": freight, "stage": stage}
        return self._model(FreightView, "POST", f"{API}/projects/{project}/approvals", json=body)

    def verify_stage(self, project: str, stage: str, abort: bool = False) -> StageView:
        """Rerun (or abort) the stage's verification."""
        path = f"{API}/projects/{project}/stages/{stage}/verify"
        return self._model(StageView, "POST", path, json={"abort": abort})

    def refresh_warehouse(self, project: str, warehouse: str) -> Warehouse:
        """Make the warehouse discover now."""
        path = f"{API}/projects/{project}/warehouses/{warehouse}/refresh"
        return self._model(Warehouse, "POST", path)

    def test_webhook(self, project: str, name: str) -> WebhookTestResult:
        """Send a signed webhook.test once and say how the receiver answered."""
        path = f"{API}/projects/{project}/webhookconfigs/{name}/test"
        return self._model(WebhookTestResult, "POST", path)

    def redeliver(self, project: str, delivery_id: str) -> DeliveryRecord:
        """Queue a webhook delivery again."""
        path = f"{API}/projects/{project}/webhookdeliveries/{delivery_id}/redeliver"
        return self._model(DeliveryRecord, "POST", path)

    # -- access control ----------------------------------------------------------------------

    def whoami(self) -> WhoAmI:
        """The token's subject and groups."""
        return self._model(WhoAmI, "GET", f"{API}/whoami")

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, without secrets."""
        return self._model(TokenList, "GET", f"{API}/tokens").items

    def create_token(self, name: str, role: str, expires: str | None = None) -> CreatedToken:
        """Create a token; the answer's `token` is its secret, shown this once."""
        body: dict[str, Any] = {"name": name, "role": role}
        if expires:
            body["expires"] = expires
        return self._model(CreatedToken, "POST", f"{API}/tokens", json=body)

    def delete_token(self, name: str) -> TokenInfo:
        """Revoke a token."""
        return self._model(TokenInfo, "DELETE", f"{API}/tokens/{name}")

    def audit(
        self, actor: str | None = None, since: str | None = None, project: str | None = None
    ) -> list[AuditEntry]:
        """Audit records, oldest first."""
        params = {k: v for k, v in (("actor", actor), ("since", since), ("project", project)) if v}
        return self._model(AuditList, "GET", f"{API}/audit", params=params).items

    def audit_export(self, actor: str | None = None, since: str | None = None) -> str:
        """The audit trail as JSON lines."""
        params = {k: v for k, v in (("actor", actor), ("since", since)) if v}
        return self._request("GET", f"{API}/audit/export", params=params).text

    def audit_verify(self) -> ChainReport:
        """The chain check (the server answers a broken chain with 409 and the same report)."""
        with self._wrapped():
            response = self._http.get(f"{API}/audit/verify")
        if response.status_code != 409:
            _raise_for_error(response)
        return _parsed(ChainReport, response.json(), "GET /audit/verify")

    # -- explaining --------------------------------------------------------------------------

    def explain_freight(self, project: str, freight: str, stage: str) -> Explanation:
        """Why freight is not (yet) in a stage, and whether a promotion by hand is accepted."""
        path = f"{API}/projects/{project}/explain"
        return self._model(Explanation, "GET", path, params={"freight": freight, "stage": stage})

    def permissions(self, project: str) -> Permissions:
        """What the caller may do to each stage and warehouse of the project."""
        return self._model(Permissions, "GET", f"{API}/projects/{project}/permissions")

    def delivery_metrics(self, project: str, window: str = "30d") -> DeliveryMetrics:
        """The delivery (DORA) metrics per stage over the window."""
        path = f"{API}/projects/{project}/metrics"
        return self._model(DeliveryMetrics, "GET", path, params={"window": window})


def _trust(certificate_authority: str | None, insecure: bool) -> ssl.SSLContext | bool:
    """What an https server's certificate is checked against: a CA file, nothing, or the system."""
    if insecure:
        return False
    if not certificate_authority:
        return True
    try:
        return ssl.create_default_context(cafile=certificate_authority)
    except (OSError, ssl.SSLError) as exc:
        raise KargoClientError(
            f"--certificate-authority {certificate_authority}: cannot read it ({exc}); "
            "give the PEM file of the CA that signed the server's certificate"
        ) from exc


def plural_of(model: type[BaseModel]) -> str:
    """The API path segment of a resource model (`StageView` → `stages`)."""
    kind = model.model_fields["kind"].default
    return next(p for p, k in PLURALS.items() if k == kind)


def kind_of(plural: str) -> str:
    """The kind an API path segment names (`stages` → `Stage`, `events` → `Event`)."""
    return {"events": "Event", "webhookdeliveries": "WebhookDelivery"}.get(plural) or PLURALS[
        plural
    ]


def document(model: BaseModel) -> Resource:
    """An answer's JSON document as the server sent it (for `-o json|yaml`), every time in
    RFC 3339 with a `Z` (`2026-11-26T05:50:00Z`, fractions kept)."""
    data = model.model_dump(mode="python", by_alias=True, exclude_unset=True)
    served: Resource = to_jsonable_python(_in_utc(data))
    return served


def _in_utc(value: Any) -> Any:
    """value with each datetime as RFC 3339 text in UTC with a `Z`."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _in_utc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_in_utc(v) for v in value]
    return value


def _parsed(model: type[AnswerT] | TypeAdapter[AnswerT], payload: Any, what: str) -> AnswerT:
    """payload validated as model (a class or a TypeAdapter); ProtocolError when it is not one."""
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        answer: AnswerT = adapter.validate_python(payload)
        return answer
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(
            f"{what}: the server's answer does not match the API contract ({where}: "
            f"{first['msg']}); is the server the same version as this kargo (`kargo version`)?"
        ) from exc


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower() or "errno 111" in text.lower():
        return "connection refused"
    return text.splitlines()[0]


def _raise_for_error(response: httpx.Response) -> None:
    """Raise ApiError for a non-2xx answer, using the `{"error": {...}}` body when present."""
    if response.is_success:
        return
    code, message, details = "", "", []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = str(error.get("code", ""))
            message = str(error.get("message", ""))
            raw_details = error.get("details")
            details = raw_details if isinstance(raw_details, list) else []
        elif isinstance(body.get("detail"), str):
            message = body["detail"]
        elif isinstance(body.get("detail"), list):
            details = body["detail"]
            message = "the server refused the request"
    if not message:
        text = response.text.strip().splitlines()
        message = text[0][:200] if text else f"HTTP {response.status_code}"
    if response.status_code == 401 and "token" not in message.lower():
        message += "; pass a token with --token, KARGO_TOKEN or `kargo config set-server`"
    raise ApiError(response.status_code, code or response.reason_phrase, message, details)
