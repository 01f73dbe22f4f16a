"""The API's response models: every route declares one, and `/openapi.json` is built from them.

Resources are the model layer's own classes (a stage with its runtime instances and freight with
its soak times are the API's views of them); the rest are the answers of the operations. The client
(`kargo.client`) parses answers into these same classes, so a field renamed here is renamed for
every reader. Timestamps are RFC 3339 in UTC with a `Z`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import Field, TypeAdapter

from kargo.api.codes import ErrorCode
from kargo.model.analysis import AnalysisRun, AnalysisTemplate
from kargo.model.base import API_VERSION, StrictModel
from kargo.model.deliveries import DeliveryRecord
from kargo.model.event import EventRecord
from kargo.model.freight import Freight, FreightStatus
from kargo.model.instance import Instance
from kargo.model.outcomes import ApplyAction, ChainReport, Reason
from kargo.model.project import Project, ProjectConfig
from kargo.model.promotion import Promotion
from kargo.model.stage import Stage, StageStatus
from kargo.model.warehouse import Warehouse
from kargo.model.webhooks import WebhookConfig


class ErrorDetail(StrictModel):
    """What went wrong: a code from `ErrorCode`, a message saying what to do, and details."""

    code: ErrorCode
    message: str
    details: list[Any] = Field(default_factory=list)


class ErrorAnswer(StrictModel):
    """Every 4xx and 5xx answer: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorAnswer, "description": "Refused: the error says why and what to do"},
    "5XX": {"model": ErrorAnswer, "description": "The server could not answer"},
}
"""The error answers every route declares (docs/api.md, "Errors")."""

_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorAnswer"}
TEXT_ROUTE_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": answer["description"],
             "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
    for status, answer in ERROR_RESPONSES.items()
}  # fmt: skip
"""ERROR_RESPONSES for a route whose answer is text (YAML, JSON lines, a log, a stream).

FastAPI documents a route's error models in the media type of its answer, so these routes
declared `text/plain` errors while they answer JSON; these name the media type themselves.
"""


class Health(StrictModel):
    """The liveness answer."""

    status: Literal["ok"] = "ok"


class VersionInfo(StrictModel):
    """The server's version and the resources' API version."""

    version: str
    api_version: str = API_VERSION


class LeaderInfo(StrictModel):
    """Who holds the engine lease, and whether this server is the one reconciling."""

    lease: str
    holder: str | None
    renewed_at: datetime | None
    expires_at: datetime | None
    transitions: int
    server: str
    leading: bool


class StageViewStatus(StageStatus):
    """A stage's status with the runtime's instances (`?instances=true`)."""

    instances: list[Instance] | None = None


class StageView(Stage):
    """A stage as the API serves it."""

    status: StageViewStatus = Field(default_factory=StageViewStatus)


class FreightViewStatus(FreightStatus):
    """Freight status with the soak time still needed per downstream stage."""

    soak_remaining_seconds: dict[str, int] | None = None
    soak_remaining: str | None = None


class FreightView(Freight):
    """Freight as the API serves it."""

    status: FreightViewStatus = Field(default_factory=FreightViewStatus)


RESOURCE_VIEWS: dict[str, type[StrictModel]] = {
    "Project": Project,
    "ProjectConfig": ProjectConfig,
    "Warehouse": Warehouse,
    "Freight": FreightView,
    "Stage": StageView,
    "Promotion": Promotion,
    "AnalysisTemplate": AnalysisTemplate,
    "AnalysisRun": AnalysisRun,
    "WebhookConfig": WebhookConfig,
}
"""Kind → the model of its API answers (the kinds `/projects/{project}/{plural}` serves)."""


ItemT = TypeVar("ItemT", bound=StrictModel)


class ResourceList(StrictModel, Generic[ItemT]):
    """A Kubernetes-style list of one kind (`kind` is `<Kind>List`)."""

    api_version: str = API_VERSION
    kind: str
    items: list[ItemT]


class ProjectList(ResourceList[Project]):
    """A list of Project resources."""

    kind: Literal["ProjectList"] = "ProjectList"


class ProjectConfigList(ResourceList[ProjectConfig]):
    """A list of ProjectConfig resources."""

    kind: Literal["ProjectConfigList"] = "ProjectConfigList"


class WarehouseList(ResourceList[Warehouse]):
    """A list of Warehouse resources."""

    kind: Literal["WarehouseList"] = "WarehouseList"


class FreightList(ResourceList[FreightView]):
    """A list of Freight resources."""

    kind: Literal["FreightList"] = "FreightList"


class StageList(ResourceList[StageView]):
    """A list of Stage resources."""

    kind: Literal["StageList"] = "StageList"


class PromotionList(ResourceList[Promotion]):
    """A list of Promotion resources."""

    kind: Literal["PromotionList"] = "PromotionList"


class AnalysisTemplateList(ResourceList[AnalysisTemplate]):
    """A list of AnalysisTemplate resources."""

    kind: Literal["AnalysisTemplateList"] = "AnalysisTemplateList"


class AnalysisRunList(ResourceList[AnalysisRun]):
    """A list of AnalysisRun resources."""

    kind: Literal["AnalysisRunList"] = "AnalysisRunList"


class WebhookConfigList(ResourceList[WebhookConfig]):
    """A list of WebhookConfig resources."""

    kind: Literal["WebhookConfigList"] = "WebhookConfigList"


LISTS: dict[str, type[ResourceList[Any]]] = {
    "Project": ProjectList,
    "ProjectConfig": ProjectConfigList,
    "Warehouse": WarehouseList,
    "Freight": FreightList,
    "Stage": StageList,
    "Promotion": PromotionList,
    "AnalysisTemplate": AnalysisTemplateList,
    "AnalysisRun": AnalysisRunList,
    "WebhookConfig": WebhookConfigList,
}
"""Kind → the model of its list answer."""
AnyResource = Annotated[
    Project | ProjectConfig | Warehouse | FreightView | StageView | Promotion | AnalysisTemplate
    | AnalysisRun | WebhookConfig,
    Field(discriminator="kind"),
]  # fmt: skip
AnyResourceList = Annotated[
    ProjectList | ProjectConfigList | WarehouseList | FreightList | StageList | PromotionList
    | AnalysisTemplateList | AnalysisRunList | WebhookConfigList,
    Field(discriminator="kind"),
]  # fmt: skip


class EventList(StrictModel):
    """Events, aggregated by object, reason and message."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["EventList"] = "EventList"
    items: list[EventRecord]


class DeliveryList(StrictModel):
    """The webhook delivery log, newest first."""

    api_version: str = API_VERSION
    kind: Literal["WebhookDeliveryList"] = "WebhookDeliveryList"
    items: list[DeliveryRecord]


ANSWER_LISTS: dict[str, type[StrictModel]] = {
    **LISTS,
    "Event": EventList,
    "WebhookDelivery": DeliveryList,
}
"""Kind → the model of its list answer, events and webhook deliveries included."""


class ApplyResult(StrictModel):
    """What applying did to one resource."""

    kind: str
    name: str
    namespace: str
    action: ApplyAction


class ApplyResults(StrictModel):
    """The answer of `POST /apply`."""

    results: list[ApplyResult]


class Unchanged(StrictModel):
    """The stage already runs that freight: no promotion was created."""

    unchanged: Literal[True] = True
    message: str = ""


class RollbackStep(StrictModel):
    """One stage's rollback: from the freight it runs to the one it goes back to."""

    stage: str
    from_freight: str
    to_freight: str
    to_alias: str


class RollbackAnswer(StrictModel):
    """Rollback promotions created, the plan alone (`dryRun`), or why nothing was done."""

    items: list[Promotion] = Field(default_factory=list)
    plan: list[RollbackStep] = Field(default_factory=list)
    dry_run: bool = False
    message: str = ""


class WhoAmI(StrictModel):
    """The caller's subject and groups."""

    subject: str
    groups: list[str]


class TokenInfo(StrictModel):
    """A token, without its secret."""

    name: str
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None


class CreatedToken(TokenInfo):
    """A new token with its secret, shown this once."""

    token: str


class TokenList(StrictModel):
    """Every token, without secrets."""

    items: list[TokenInfo]


class AuditEntry(StrictModel):
    """One audit record with its place in the hash chain."""

    id: int
    time: datetime
    actor: str
    action: str
    project: str | None
    resource: str
    phase_before: str | None
    phase_after: str | None
    source: str
    address: str | None
    result: str
    prev_hash: str
    hash: str


class AuditList(StrictModel):
    """Audit records, oldest first."""

    items: list[AuditEntry]


# -- Verification series (the dashboard's chart of a metric over its run's window) ----------


class SeriesPoint(StrictModel):
    """One value of a series at one time."""

    time: datetime
    value: float


class MetricSeriesLine(StrictModel):
    """One series: Prometheus's labels (none for measurements) and its points, oldest first."""

    labels: dict[str, str]
    points: list[SeriesPoint]


class MetricSeriesAnswer(StrictModel):
    """A metric of an analysis run over the run's window (`GET .../analysisruns/{name}/series`).

    `source` is `prometheus` when the metric's query was asked again as a range query (from
    `start` to `end` every `stepSeconds`), `measurements` for the run's own numeric values.
    """

    run: str
    metric: str
    template: str | None
    source: Literal["prometheus", "measurements"]
    query: str | None
    start: datetime | None
    end: datetime | None
    step_seconds: float
    series: list[MetricSeriesLine]


# -- end of verification series ----------------------------------------------------------------


class ExplainReason(StrictModel):
    """One thing that keeps freight out of a stage (or says it is there)."""

    reason: Reason
    message: str
    blocking: bool
    seconds_left: int | None = None


class Explanation(StrictModel):
    """Why freight is not (yet) in a stage, and whether a promotion by hand is accepted now."""

    freight: str
    alias: str
    stage: str
    in_stage: bool
    promotable: bool
    reasons: list[ExplainReason]


class StagePermissions(StrictModel):
    """What the caller may do to one stage."""

    promote: bool
    approve: bool
    verify: bool
    rollback: bool
    abort: bool


class WarehousePermissions(StrictModel):
    """What the caller may do to one warehouse."""

    refresh: bool


class Permissions(StrictModel):
    """What the caller may do to each stage and warehouse of a project."""

    stages: dict[str, StagePermissions]
    warehouses: dict[str, WarehousePermissions]


class StageDeliveryMetrics(StrictModel):
    """The four delivery (DORA) figures of one stage over the window."""

    stage: str
    deployments: int
    deployments_per_day: float
    lead_time_seconds: float | None
    changes: int
    failed_changes: int
    change_failure_rate: float | None
    time_to_restore_seconds: float | None


class DeliveryMetrics(StrictModel):
    """The delivery metrics of each stage over a window (`30d`)."""

    window: str
    stages: list[StageDeliveryMetrics]


PromoteAnswer = Promotion | Unchanged
"""A promotion created (201), or the stage already runs that freight (200)."""

RESOURCE = TypeAdapter(AnyResource)
RESOURCE_LIST = TypeAdapter(AnyResourceList)
PROMOTE_ANSWER: TypeAdapter[PromoteAnswer] = TypeAdapter(PromoteAnswer)


def parse_resource(payload: Any) -> StrictModel:
    """An API resource answer as its model (the kind picks the class)."""
    model: StrictModel = RESOURCE.validate_python(payload)
    return model


def parse_resource_list(payload: Any) -> list[StrictModel]:
    """The items of an API list answer as their models."""
    answer: ResourceList[Any] = RESOURCE_LIST.validate_python(payload)
    return list(answer.items)


__all__ = [
    "ANSWER_LISTS",
    "RESOURCE_VIEWS",
    "AnyResource",
    "AnyResourceList",
    "ApplyResults",
    "AuditList",
    "ChainReport",
    "ERROR_RESPONSES",
    "TEXT_ROUTE_ERRORS",
    "ErrorAnswer",
    "CreatedToken",
    "DeliveryList",
    "DeliveryMetrics",
    "EventList",
    "Explanation",
    "FreightView",
    "Health",
    "LeaderInfo",
    "MetricSeriesAnswer",
    "Permissions",
    "ProjectList",
    "PromoteAnswer",
    "RollbackAnswer",
    "StageView",
    "TokenInfo",
    "TokenList",
    "Unchanged",
    "VersionInfo",
    "WhoAmI",
    "parse_resource",
    "parse_resource_list",
]
