"""Check a step's `uses` at load time against the step registry, naming Kargo's steps plainly.

The registry lives in a higher layer (`kargo.steps`, plus the runtime's steps), so the engine
hands it in with `register_step_registry`; without it (a bare configuration check) `uses` is not
checked here. Kargo's own step kinds that this machine does not run are named with the reason:
they exist, so the answer is where they run, not a guess at a misspelling.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection

CLUSTER = "see docs/cluster.md"

_NEEDS_CLUSTER = {
    "argocd-update": f"needs Argo CD, which runs on the cluster path: {CLUSTER}",
    "argocd-wait": f"needs Argo CD, which runs on the cluster path: {CLUSTER}",
    "helm-template": f"renders Helm charts for a cluster: it runs on the cluster path: {CLUSTER}",
    "helm-update-chart": f"updates Helm chart dependencies for a cluster: {CLUSTER}",
    "kustomize-build": f"renders Kubernetes manifests: it runs on the cluster path: {CLUSTER}",
    "kustomize-set-image": f"edits Kubernetes manifests: it runs on the cluster path: {CLUSTER}",
}
_NEEDS_HOSTING = "needs the pull-request API of a Git hosting service (GitHub, GitLab, Gitea)"
_ELSEWHERE = {
    "git-open-pr": _NEEDS_HOSTING,
    "git-merge-pr": _NEEDS_HOSTING,
    "git-wait-for-pr": _NEEDS_HOSTING,
    "github-push": "needs GitHub's API",
}
_ENTERPRISE = (
    "gh-create-issue gh-issue-add-comment gh-issue-delete-comment gh-issue-update-comment "
    "gh-search-issues gh-update-issue gh-wait-for-issue-state gha-dispatch-workflow "
    "gha-wait-for-workflow hcl-update jfrog-evidence jira snow-create snow-delete "
    "snow-query-for-records snow-update snow-wait-for-condition tf-apply tf-output tf-plan"
).split()
KARGO_STEP_KINDS = frozenset(
    "argocd-update argocd-wait compose-output copy delete fail file-write git-clear git-clone "
    "git-commit git-merge-pr git-open-pr git-push git-tag git-wait-for-pr github-push "
    "helm-template helm-update-chart http http-download json-parse json-update kustomize-build "
    "kustomize-set-image oci-download oci-push send-message set-freight-alias set-metadata "
    "toml-parse toml-update untar yaml-merge yaml-parse yaml-update".split()
) | frozenset(_ENTERPRISE)
"""Every step kind Kargo v1.11 documents (open source and Enterprise)."""

_registry: Callable[[], Collection[str]] | None = None


def register_step_registry(kinds: Callable[[], Collection[str]]) -> None:
    """Hand the config layer the registered step kinds (called by the engine at start)."""
    global _registry
    _registry = kinds


def step_kind_problem(uses: str) -> str | None:
    """Why `uses` cannot run on this machine, or None when it can (or cannot be checked)."""
    if _registry is None:
        return None
    registered = sorted(_registry())
    if uses in registered:
        return None
    if uses in _NEEDS_CLUSTER:
        return f"{uses}: {_NEEDS_CLUSTER[uses]}"
    if uses in _ELSEWHERE:
        return f"{uses}: {_ELSEWHERE[uses]}, which one machine does not run"
    if uses in _ENTERPRISE:
        return f"{uses}: a Kargo Enterprise step, not supported on one machine"
    if uses in KARGO_STEP_KINDS:
        return f"{uses}: a Kargo step not supported on one machine yet (see docs/kargo-support.md)"
    match = difflib.get_close_matches(uses, registered, n=1, cutoff=0.75)
    hint = f' (did you mean "{match[0]}"?)' if match else ""
    return f"unknown step kind {uses!r}{hint}; registered: {', '.join(registered)}"
