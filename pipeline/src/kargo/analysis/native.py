"""Argo Rollouts' native AnalysisTemplate (`argoproj.io/v1alpha1`) → the internal shape.

Only what can run on one machine is accepted: the web, prometheus and job providers, and a job's
first container run as a local command. Anything else is refused with the field's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kargo.analysis.fields import Refuse, check_keys, int_or_string

_SPEC_KEYS = {"args", "metrics"}
_SPEC_REFUSED = {"dryRun", "measurementRetention", "templates"}
_METRIC_KEYS = {
    "name",
    "provider",
    "interval",
    "count",
    "initialDelay",
    "successCondition",
    "failureCondition",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
}
_WEB_KEYS = {
    "url",
    "method",
    "headers",
    "body",
    "jsonBody",
    "jsonPath",
    "timeoutSeconds",
    "insecure",
}
_PROMETHEUS_KEYS = {"address", "query", "timeout", "headers", "insecure"}
_JOB_SPEC_KEYS = {"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished", "template"}
_POD_SPEC_KEYS = {"containers", "restartPolicy"}
_CONTAINER_KEYS = {
    "name",
    "image",
    "command",
    "args",
    "env",
    "workingDir",
    "imagePullPolicy",
    "resources",
}
INT_FIELDS = ("count", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit")


def normalise_native_spec(spec: Mapping[str, Any], refuse: Refuse) -> dict[str, Any]:
    """The internal spec for a native template's spec."""
    check_keys(spec, "spec", _SPEC_KEYS, refuse, refused=_SPEC_REFUSED)
    metrics = spec.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise refuse("spec.metrics", "expected a non-empty list of metrics")
    out: dict[str, Any] = {
        "metrics": [_metric(m, f"spec.metrics[{i}]", refuse) for i, m in enumerate(metrics)]
    }
    if "args" in spec:
        out["args"] = spec["args"]
    return out


def _metric(metric: Any, path: str, refuse: Refuse) -> dict[str, Any]:
    """One native metric, with its provider converted."""
    if not isinstance(metric, Mapping):
        raise refuse(path, "expected a mapping")
    check_keys(metric, path, _METRIC_KEYS, refuse, refused={"consecutiveSuccessLimit"})
    out = {k: v for k, v in metric.items() if k != "provider"}
    for key in INT_FIELDS:
        if key in out:
            out[key] = int_or_string(out[key], f"{path}.{key}", refuse)
    out["provider"] = _provider(metric.get("provider"), f"{path}.provider", refuse)
    return out


def _provider(provider: Any, path: str, refuse: Refuse) -> dict[str, Any]:
    """A native provider: exactly one of web, prometheus, job."""
    if not isinstance(provider, Mapping) or len(provider) != 1:
        raise refuse(path, "expected exactly one provider: web, prometheus or job")
    ((name, settings),) = provider.items()
    if not isinstance(settings, Mapping):
        raise refuse(f"{path}.{name}", "expected a mapping of provider settings")
    if name == "web":
        check_keys(settings, f"{path}.web", _WEB_KEYS, refuse)
        return {"web": dict(settings)}
    if name == "prometheus":
        check_keys(settings, f"{path}.prometheus", _PROMETHEUS_KEYS, refuse)
        # Argo Rollouts gives a vector as a list (`result[0] < 500`): keep that for native ones.
        return {"prometheus": {**settings, "vectorAsList": True}}
    if name == "job":
        return {"job": job_from_kubernetes(settings, f"{path}.job", refuse)}
    raise refuse(
        f"{path}.{name}",
        f"provider {name!r} is not supported here; supported: web, prometheus, job",
    )


def job_from_kubernetes(job: Mapping[str, Any], path: str, refuse: Refuse) -> dict[str, Any]:
    """A k8s Job's first container as a local command (its image is not used)."""
    check_keys(job, path, {"metadata", "spec"}, refuse)
    spec = job.get("spec")
    if not isinstance(spec, Mapping):
        raise refuse(f"{path}.spec", "expected a Job spec with a pod template")
    check_keys(spec, f"{path}.spec", _JOB_SPEC_KEYS, refuse)
    template = spec.get("template")
    if not isinstance(template, Mapping) or not isinstance(template.get("spec"), Mapping):
        raise refuse(f"{path}.spec.template.spec", "expected a pod spec with containers")
    check_keys(template, f"{path}.spec.template", {"metadata", "spec"}, refuse)
    pod = template["spec"]
    check_keys(pod, f"{path}.spec.template.spec", _POD_SPEC_KEYS, refuse)
    containers = pod.get("containers")
    cpath = f"{path}.spec.template.spec.containers"
    if not isinstance(containers, list) or len(containers) != 1:
        raise refuse(cpath, "expected exactly one container (run locally as a command)")
    container = containers[0]
    if not isinstance(container, Mapping):
        raise refuse(f"{cpath}[0]", "expected a mapping")
    check_keys(container, f"{cpath}[0]", _CONTAINER_KEYS, refuse)
    command = container.get("command")
    if not isinstance(command, list) or not command:
        raise refuse(
            f"{cpath}[0].command", "expected a command list (an image's entrypoint cannot run here)"
        )
    env: dict[str, Any] = {}
    for index, item in enumerate(container.get("env") or []):
        if not isinstance(item, Mapping) or "value" not in item or set(item) - {"name", "value"}:
            raise refuse(
                f"{cpath}[0].env[{index}]",
                "expected {name, value} (valueFrom is not "
                "supported; pass secrets as template args)",
            )
        env[str(item["name"])] = item["value"]
    out: dict[str, Any] = {"command": command, "args": container.get("args") or [], "env": env}
    if "workingDir" in container:
        out["workingDir"] = container["workingDir"]
    if "activeDeadlineSeconds" in spec:
        out["timeoutSeconds"] = spec["activeDeadlineSeconds"]
    if "backoffLimit" in spec:
        out["backoffLimit"] = spec["backoffLimit"]
    return out
