"""Which (apiVersion, kind) pairs one machine reads, and what to say of the others.

Kargo's and Argo's kinds that only make sense on a cluster are named with the reason, never
with a "did you mean": the reader should learn that the kind exists and where it runs.
"""

from __future__ import annotations

KARGO = "kargo.akuity.io/v1alpha1"
ARGO = "argoproj.io/v1alpha1"
CLUSTER_DOC = "see docs/cluster.md"

SUPPORTED: dict[str, tuple[str, ...]] = {
    "Project": (KARGO,),
    "ProjectConfig": (KARGO,),
    "Warehouse": (KARGO,),
    "Freight": (KARGO,),
    "Stage": (KARGO,),
    "Promotion": (KARGO,),
    "PromotionTask": (KARGO,),
    "ClusterPromotionTask": (KARGO,),
    # The guide's shorthand is written with Kargo's group; Argo Rollouts' native form with its own.
    "AnalysisTemplate": (ARGO, KARGO),
    "ClusterAnalysisTemplate": (ARGO, KARGO),
    "AnalysisRun": (ARGO, KARGO),
    # This engine's own kind (Kargo has no outbound webhooks of this shape).
    "WebhookConfig": (KARGO,),
    # Credentials (labelled kargo.akuity.io/cred-type) go to the local secret store.
    "Secret": ("v1",),
}
"""Kind → the apiVersions it may be written with (the first is the upstream one)."""

CLUSTER_SCOPED = frozenset({"Project", "ClusterPromotionTask", "ClusterAnalysisTemplate"})
"""Kinds that belong to no project."""

ELSEWHERE: dict[tuple[str, str], str] = {
    ("kargo.akuity.io", "ClusterConfig"): (
        "Kargo's cluster-wide settings (cluster webhook receivers, cluster promotion windows) "
        f"need the cluster path: {CLUSTER_DOC}"
    ),
    ("kargo.akuity.io", "PromotionRequest"): (
        "needs Kargo's controller, which runs on the cluster path; on one machine ask with "
        f"`kargo promote`: {CLUSTER_DOC}"
    ),
    ("kargo.akuity.io", "Target"): (
        f"Kargo's Targets need its controller, which runs on the cluster path: {CLUSTER_DOC}"
    ),
    ("argoproj.io", "Rollout"): (
        "needs Argo Rollouts, which runs on the cluster path; on one machine the `deploy` step's "
        f"canary and blue/green strategies do its work: {CLUSTER_DOC}"
    ),
    ("argoproj.io", "Experiment"): (
        f"needs Argo Rollouts, which runs on the cluster path: {CLUSTER_DOC}"
    ),
    ("argoproj.io", "ClusterAnalysisRun"): "not supported: Argo Rollouts has no such kind",
}
"""(API group, kind) → why it is not read on one machine."""

_ARGO_CD_KINDS = frozenset({"Application", "ApplicationSet", "AppProject"})


def group_of(api_version: str) -> str:
    """`kargo.akuity.io` for `kargo.akuity.io/v1alpha1`; "" for the core group (`v1`)."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def kind_problem(api_version: object, kind: object) -> tuple[str, str] | None:
    """(field, message) when this pair cannot be read on one machine, else None."""
    if not isinstance(kind, str) or not kind:
        return "kind", "required field is missing: every document names its kind"
    if not isinstance(api_version, str) or not api_version:
        versions = SUPPORTED.get(kind, (KARGO,))
        return "apiVersion", f"required field is missing: expected {' or '.join(versions)}"
    group = group_of(api_version)
    if kind in SUPPORTED:
        versions = SUPPORTED[kind]
        if api_version in versions:
            return None
        return (
            "apiVersion",
            f"{kind} is not a kind of {api_version!r}: expected {' or '.join(versions)}",
        )
    reason = ELSEWHERE.get((group, kind))
    if reason is not None:
        return "kind", f"{kind} ({api_version}) {reason}"
    if group == "argoproj.io" and kind in _ARGO_CD_KINDS:
        return "kind", f"{kind} needs Argo CD, which runs on the cluster path: {CLUSTER_DOC}"
    if group in ("kargo.akuity.io", "argoproj.io"):
        return "kind", f"kind {kind!r} of {api_version} is not supported"
    return (
        "kind",
        f"{kind} ({api_version}) is a Kubernetes resource, not a Kargo one: it is not supported "
        f"on one machine and belongs on the cluster path: {CLUSTER_DOC}",
    )


def supported_kinds() -> list[str]:
    """The kinds one machine reads."""
    return sorted(SUPPORTED)
