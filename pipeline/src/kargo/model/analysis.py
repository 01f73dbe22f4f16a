"""AnalysisTemplate and AnalysisRun: verification declared as metrics, and one run of them.

Both input forms of a template (the guide's shorthand and Argo Rollouts' native form) are
normalised by `kargo.analysis` into these models. A metric's provider is stored in Argo Rollouts'
shape (`provider: {web: …}`, `{prometheus: …}` or `{job: …}`), so a normalised template reads
like a native one. Durations are Argo strings (`30s`, `5m`, `1h30m`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from kargo.model.base import EmptyStatus, Resource, StrictModel

ANALYSIS_TEMPLATE_KIND = "AnalysisTemplate"
ANALYSIS_RUN_KIND = "AnalysisRun"
DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4


class AnalysisPhase(enum.StrEnum):
    """Phase of a measurement, a metric or a whole run (Argo Rollouts' names)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"  # the change is bad
    ERROR = "Error"  # something technical broke
    INCONCLUSIVE = "Inconclusive"  # neither condition decided, or the run was cut short

    def is_terminal(self) -> bool:
        """Whether nothing more will happen in this phase."""
        return self not in (AnalysisPhase.PENDING, AnalysisPhase.RUNNING)

    def severity(self) -> int:
        """Rank used to pick a run's phase from its metrics: the worst wins."""
        return _SEVERITY[self]


_SEVERITY = {
    AnalysisPhase.SUCCESSFUL: 0,
    AnalysisPhase.PENDING: 1,
    AnalysisPhase.RUNNING: 2,
    AnalysisPhase.INCONCLUSIVE: 3,
    AnalysisPhase.ERROR: 4,
    AnalysisPhase.FAILED: 5,
}


class SecretKeyRef(StrictModel):
    """A secret value, read when a measurement is taken and never stored."""

    name: str
    key: str


class ArgumentValueFrom(StrictModel):
    """Where an argument's value comes from when it is not literal."""

    secret_key_ref: SecretKeyRef


class Argument(StrictModel):
    """A template argument: a literal value, a default, or a secret reference."""

    name: str = Field(min_length=1)
    value: str | None = None
    value_from: ArgumentValueFrom | None = None


class WebHeader(StrictModel):
    """One HTTP header of a web metric; the value may use `{{args.name}}`."""

    key: str
    value: str


class WebMetric(StrictModel):
    """Call an HTTP endpoint; its JSON answer (or the part `jsonPath` picks) is the result."""

    url: str
    method: str = "GET"
    headers: list[WebHeader] = Field(default_factory=list)
    body: str | None = None
    json_body: Any = None
    json_path: str | None = None
    timeout_seconds: int = Field(default=10, gt=0)
    insecure: bool = False


class PrometheusMetric(StrictModel):
    """An instant PromQL query; one sample is a number, several are a list."""

    address: str
    query: str
    timeout: int = Field(default=10, gt=0)
    headers: list[WebHeader] = Field(default_factory=list)
    insecure: bool = False
    vector_as_list: bool = False  # Argo Rollouts' shape: a vector is always a list (native form)


class JobMetric(StrictModel):
    """A local command; its exit code and the JSON on its stdout are the result."""

    command: list[str] = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    working_dir: str | None = None
    timeout_seconds: int = Field(default=300, gt=0)
    backoff_limit: int = Field(default=0, ge=0)


class MetricProvider(StrictModel):
    """Exactly one provider, in Argo Rollouts' shape."""

    web: WebMetric | None = None
    prometheus: PrometheusMetric | None = None
    job: JobMetric | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MetricProvider:
        chosen = [n for n in ("web", "prometheus", "job") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError(f"expected exactly one provider of web, prometheus, job; got {chosen}")
        return self

    @property
    def kind(self) -> Literal["web", "prometheus", "job"]:
        """The provider's name."""
        if self.web is not None:
            return "web"
        if self.prometheus is not None:
            return "prometheus"
        return "job"

    def default_timeout_seconds(self) -> float:
        """The provider's own timeout, used when the metric sets none."""
        if self.web is not None:
            return float(self.web.timeout_seconds)
        if self.prometheus is not None:
            return float(self.prometheus.timeout)
        assert self.job is not None
        return float(self.job.timeout_seconds * (self.job.backoff_limit + 1))


class Metric(StrictModel):
    """One metric with Argo Rollouts' measurement and limit semantics."""

    name: str = Field(min_length=1)
    provider: MetricProvider
    interval: str | None = None
    count: int | None = Field(default=None, ge=0)
    initial_delay: str | None = None
    success_condition: str | None = None
    failure_condition: str | None = None
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = DEFAULT_CONSECUTIVE_ERROR_LIMIT
    timeout: str | None = None  # per measurement; our addition (default: the provider's)


class AnalysisTemplateSpec(StrictModel):
    """Arguments and metrics of a template; `timeout` bounds a whole run (our addition)."""

    args: list[Argument] = Field(default_factory=list)
    metrics: list[Metric] = Field(min_length=1)
    timeout: str | None = None


class AnalysisTemplate(Resource[AnalysisTemplateSpec, EmptyStatus]):
    """A reusable verification: what to measure and when it passes."""

    kind: Literal["AnalysisTemplate"] = "AnalysisTemplate"
    status: EmptyStatus = Field(default_factory=EmptyStatus)


class ClusterAnalysisTemplate(Resource[AnalysisTemplateSpec, EmptyStatus]):
    """An analysis template every project can use (cluster-scoped: it belongs to no project)."""

    kind: Literal["ClusterAnalysisTemplate"] = "ClusterAnalysisTemplate"
    status: EmptyStatus = Field(default_factory=EmptyStatus)


class TemplateRef(StrictModel):
    """A template a run uses, by name."""

    name: str


class AnalysisRunSpec(StrictModel):
    """What a run measures: its templates, argument values, and who asked for it."""

    templates: list[TemplateRef] = Field(min_length=1)
    args: list[Argument] = Field(default_factory=list)  # secrets stay as references
    timeout: str | None = None
    terminate: bool = False
    stage: str | None = None
    freight: str | None = None


class Measurement(StrictModel):
    """One measurement: its value, phase, times and message."""

    phase: AnalysisPhase = AnalysisPhase.RUNNING
    value: Any = None
    started_at: datetime
    finished_at: datetime | None = None
    message: str | None = None


class MetricResult(StrictModel):
    """Everything measured for one metric so far, with Argo Rollouts' counters."""

    name: str
    template: str | None = None
    phase: AnalysisPhase = AnalysisPhase.PENDING
    message: str | None = None
    measurements: list[Measurement] = Field(default_factory=list)
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = 0

    @property
    def latest(self) -> Measurement | None:
        """The newest measurement, if any."""
        return self.measurements[-1] if self.measurements else None

    @property
    def latest_value(self) -> Any:
        """The newest measured value; a later measurement without one does not hide it."""
        for measurement in reversed(self.measurements):
            if measurement.value is not None:
                return measurement.value
        return None


class AnalysisRunStatus(StrictModel):
    """Progress and outcome of a run."""

    phase: AnalysisPhase = AnalysisPhase.PENDING
    message: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    metric_results: list[MetricResult] = Field(default_factory=list)

    def metric(self, name: str) -> MetricResult | None:
        """The result of the metric with this name, if it has one."""
        return next((r for r in self.metric_results if r.name == name), None)


class AnalysisRun(Resource[AnalysisRunSpec, AnalysisRunStatus]):
    """One execution of a stage's verification templates."""

    kind: Literal["AnalysisRun"] = "AnalysisRun"
    status: AnalysisRunStatus = Field(default_factory=AnalysisRunStatus)
