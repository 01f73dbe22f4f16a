"""The guide's shorthand AnalysisTemplate (`kargo.akuity.io/v1alpha1`) → the internal shape.

A metric names its provider as a string and puts the settings in a block named after it:

    - name: smoke-test-success
      provider: webhook            # or web, prometheus, job
      webhook:                     # url, method, headers, body, jsonBody, jsonPath, timeoutSeconds
        url: http://127.0.0.1:8090/smoke
        headers: {Content-Type: application/json}    # a mapping, or a list of {key, value}
      successCondition: result.passed == true

`prometheus:` holds address, query, timeout (seconds); `job:` holds command, args, env,
workingDir, timeoutSeconds, backoffLimit. A metric may also set `timeout` (per measurement) and
the spec `timeout` (whole run); both are our additions to Argo Rollouts' fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kargo.analysis.fields import Refuse, check_keys, int_or_string
from kargo.analysis.native import INT_FIELDS

_PROVIDER_ALIASES = {"webhook": "web", "web": "web", "prometheus": "prometheus", "job": "job"}
_SETTINGS_BLOCKS = ("webhook", "web", "prometheus", "job")


def normalise_shorthand_spec(spec: Mapping[str, Any], refuse: Refuse) -> dict[str, Any]:
    """The internal spec for a shorthand template's spec."""
    check_keys(spec, "spec", {"args", "metrics", "timeout"}, refuse)
    metrics = spec.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise refuse("spec.metrics", "expected a non-empty list of metrics")
    out = {k: v for k, v in spec.items() if k != "metrics"}
    out["metrics"] = [_metric(m, f"spec.metrics[{i}]", refuse) for i, m in enumerate(metrics)]
    return out


def _metric(metric: Any, path: str, refuse: Refuse) -> dict[str, Any]:
    """One shorthand metric: the provider string and its settings block become `provider`."""
    if not isinstance(metric, Mapping):
        raise refuse(path, "expected a mapping")
    provider = metric.get("provider")
    out = {k: v for k, v in metric.items() if k not in _SETTINGS_BLOCKS}
    for key in INT_FIELDS:
        if key in out:
            out[key] = int_or_string(out[key], f"{path}.{key}", refuse)
    if isinstance(provider, Mapping):  # already Argo-shaped; pydantic checks it
        stray = [k for k in _SETTINGS_BLOCKS if k in metric]
        if stray:
            raise refuse(
                f"{path}.{stray[0]}", "expected no settings block beside a provider mapping"
            )
        return out
    if not isinstance(provider, str) or provider not in _PROVIDER_ALIASES:
        raise refuse(f"{path}.provider", "expected webhook, web, prometheus or job")
    blocks = [k for k in _SETTINGS_BLOCKS if k in metric]
    if len(blocks) != 1:
        raise refuse(
            f"{path}.{provider}",
            f"expected one settings block named {provider!r} beside provider: {provider}",
        )
    (block,) = blocks
    kind = _PROVIDER_ALIASES[provider]
    if _PROVIDER_ALIASES[block] != kind:
        raise refuse(f"{path}.{block}", f"expected a {provider!r} block for provider: {provider}")
    settings = metric[block]
    if not isinstance(settings, Mapping):
        raise refuse(f"{path}.{block}", "expected a mapping of provider settings")
    settings = dict(settings)
    headers = settings.get("headers")
    if isinstance(headers, Mapping):
        settings["headers"] = [{"key": str(k), "value": v} for k, v in headers.items()]
    out["provider"] = {kind: settings}
    return out
