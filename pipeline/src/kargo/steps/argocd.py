"""Kargo's `argocd-update` and `argocd-wait`: accepted with Kargo's fields, run only on a cluster.

They act on Argo CD `Application` resources, which exist only where Argo CD runs. This engine
runs no Argo CD, so at promotion time each step fails with a message naming the Application(s)
it would update or wait for and the cluster path (`deploy/kubernetes/`, docs/cluster.md) that
runs them. Nothing is faked: a promotion reaching these steps has done every step before them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kargo.model.base import StrictModel
from kargo.steps.base import Step, StepContext, StepPhase, StepResult, register_step

DEFAULT_NAMESPACE = "argocd"
WaitCondition = Literal["health", "sync", "operation", "suspended", "degraded"]
DEFAULT_WAIT_FOR: tuple[WaitCondition, ...] = ("health", "sync", "operation")
CLUSTER_PATH = "deploy/kubernetes/ (see docs/cluster.md)"


class LabelRequirement(StrictModel):
    """One label selector requirement."""

    key: str = Field(min_length=1, description="The label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description="How to match.")
    values: list[str] = Field(default_factory=list, description="Values for In and NotIn.")


class AppSelector(StrictModel):
    """A label selector for Applications."""

    match_labels: dict[str, str] = Field(default_factory=dict, description="Labels to match.")
    match_expressions: list[LabelRequirement] = Field(
        default_factory=list, description="Requirements to satisfy."
    )


class KustomizeImage(StrictModel):
    """An image override in an Application source's kustomize settings."""

    repo_url: str = Field(alias="repoURL", min_length=1, description="The image's URL.")
    tag: str | None = Field(default=None, description="Tag (excludes digest).")
    digest: str | None = Field(default=None, description="Digest (excludes tag).")
    new_name: str | None = Field(default=None, description="A replacement name.")


class KustomizeUpdate(StrictModel):
    """Kustomize settings to update."""

    images: list[KustomizeImage] = Field(min_length=1, description="Images to set.")


class HelmImage(StrictModel):
    """A Helm parameter to set."""

    key: str = Field(min_length=1, description="The helm.parameters key.")
    value: str = Field(description="The new value.")


class HelmUpdate(StrictModel):
    """Helm parameters to update."""

    images: list[HelmImage] = Field(min_length=1, description="Parameters to set.")


class SourceUpdate(StrictModel):
    """How one ApplicationSource is updated."""

    repo_url: str = Field(alias="repoURL", min_length=1, description="The source's repoURL.")
    chart: str | None = Field(default=None, description="The source's chart (Helm repositories).")
    desired_revision: str | None = Field(
        default=None, description="The revision the source must be synced to."
    )
    update_target_revision: bool = Field(
        default=False, description="Point the source's targetRevision at desiredRevision."
    )
    kustomize: KustomizeUpdate | None = Field(default=None, description="Kustomize updates.")
    helm: HelmUpdate | None = Field(default=None, description="Helm parameter updates.")

    @model_validator(mode="after")
    def _revision_for_update(self) -> SourceUpdate:
        if self.update_target_revision and not self.desired_revision:
            raise ValueError("updateTargetRevision: true needs desiredRevision")
        return self


class AppUpdate(StrictModel):
    """An Application (by name or selector) and its source updates."""

    name: str | None = Field(default=None, description="The Application's name.")
    namespace: str = Field(default=DEFAULT_NAMESPACE, description="The Application's namespace.")
    selector: AppSelector | None = Field(default=None, description="Select Applications by label.")
    sources: list[SourceUpdate] = Field(default_factory=list, description="Sources to update.")

    @model_validator(mode="after")
    def _name_or_selector(self) -> AppUpdate:
        if (self.name is None) == (self.selector is None):
            raise ValueError("set exactly one of name or selector")
        return self

    def describe(self) -> str:
        """`namespace/name`, or the selector."""
        if self.name is not None:
            return f"{self.namespace}/{self.name}"
        labels = ",".join(
            f"{k}={v}" for k, v in (self.selector.match_labels if self.selector else {}).items()
        )
        return f"{self.namespace}/<selector {labels or '...'}>"


class ArgoCDUpdateConfig(StrictModel):
    """Config of `argocd-update`."""

    apps: list[AppUpdate] = Field(min_length=1, description="Applications to update.")


class AppWait(StrictModel):
    """An Application (by name or selector) to wait for."""

    name: str | None = Field(default=None, description="The Application's name.")
    namespace: str = Field(default=DEFAULT_NAMESPACE, description="The Application's namespace.")
    selector: AppSelector | None = Field(default=None, description="Select Applications by label.")
    wait_for: list[WaitCondition] = Field(
        default_factory=lambda: list(DEFAULT_WAIT_FOR),
        description="Conditions to wait for.",
    )

    @model_validator(mode="after")
    def _name_or_selector(self) -> AppWait:
        if (self.name is None) == (self.selector is None):
            raise ValueError("set exactly one of name or selector")
        return self


class ArgoCDWaitConfig(StrictModel):
    """Config of `argocd-wait`."""

    apps: list[AppWait] = Field(min_length=1, description="Applications to wait for.")


def _no_argocd(kind: str, verb: str, apps: list[str]) -> StepResult:
    names = ", ".join(f"Application {a}" for a in apps)
    return StepResult(
        StepPhase.FAILED,
        f"{kind}: cannot {verb} Argo CD {names}: this engine runs no Argo CD. "
        f"The steps before it have run; to sync, apply the cluster path {CLUSTER_PATH}.",
        {"apps": [{"name": a.split("/", 1)[1], "namespace": a.split("/", 1)[0]} for a in apps]},
    )


@register_step
class ArgoCDUpdateStep(Step[ArgoCDUpdateConfig]):
    """Update Argo CD Applications (needs Argo CD: fails here, naming the Applications)."""

    kind = "argocd-update"
    config_model = ArgoCDUpdateConfig
    outputs = {"apps": "the Applications resolved (name, namespace)"}

    async def run(self, ctx: StepContext, config: ArgoCDUpdateConfig) -> StepResult:
        """Fail: there is no Argo CD to update."""
        return _no_argocd(self.kind, "update", [a.describe() for a in config.apps])


@register_step
class ArgoCDWaitStep(Step[ArgoCDWaitConfig]):
    """Wait for Argo CD Applications (needs Argo CD: fails here, naming the Applications)."""

    kind = "argocd-wait"
    config_model = ArgoCDWaitConfig
    outputs = {"apps": "the Applications resolved (name, namespace)"}

    async def run(self, ctx: StepContext, config: ArgoCDWaitConfig) -> StepResult:
        """Fail: there is no Argo CD to wait for."""
        names = [f"{a.namespace}/{a.name or '<selector>'}" for a in config.apps]
        return _no_argocd(self.kind, "wait for", names)
