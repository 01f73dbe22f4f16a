"""What the API shows of a resource: fields that carry credentials are redacted, by field.

Not a guess from key names: the fields that can hold a credential are named here. Header values
(WebhookConfig `spec.headers`, `http` steps' `headers` and `queryParams`, analysis `web`
metrics' headers) are shown only for harmless headers (Content-Type, Accept, User-Agent) or when
they are made of `{{args.*}}` references alone; a WebhookConfig's URL keeps its scheme and host
(a Slack URL's path is its secret). Secret references (`valueFrom`, `secretRef`, `urlFrom`) are
names, never values, and are shown as they are.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

REDACTED = "<redacted>"
HARMLESS_HEADERS = frozenset({"content-type", "accept", "user-agent"})
_ONLY_REFERENCES = re.compile(r"^(?:[\w.-]+ )?(?:\{\{\s*args\.[A-Za-z0-9_.-]+\s*\}\}\s*)+$")


def redact_resource(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stored resource with its credential-bearing fields redacted.

    Only the spec is copied (every redacted field is in it); metadata and status are shared with
    `body`, so neither may be changed in place. A stage's status (its freight history) is most
    of its size, and a deep copy of every stage made `GET /stages` cost twice as much.
    """
    kind = body.get("kind")
    spec = body.get("spec")
    if not isinstance(spec, dict) or kind not in _BY_KIND:
        return body
    shown = {**body, "spec": _copied(spec)}
    _BY_KIND[str(kind)](shown["spec"])
    return shown


def _copied(value: Any) -> Any:
    """A copy of a JSON document's mappings and lists (scalars are immutable: shared)."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def _header_values(items: Any, name_key: str = "name") -> None:
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            continue
        name = str(item.get(name_key, "")).lower()
        if name not in HARMLESS_HEADERS and not _ONLY_REFERENCES.match(item["value"]):
            item["value"] = REDACTED


def _url(url: Any) -> Any:
    if not isinstance(url, str):
        return url
    parts = urlsplit(url)
    if (parts.path in ("", "/") and not parts.query) or not parts.hostname:
        return url
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/{REDACTED}"


def _webhook_config(spec: dict[str, Any]) -> None:
    spec["url"] = _url(spec.get("url"))
    _header_values(spec.get("headers"))


def _steps(steps: Any) -> None:
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict) and step.get("uses") in ("http", "http-download"):
            config = step.get("config")
            if isinstance(config, dict):
                _header_values(config.get("headers"))
                _header_values(config.get("queryParams"), name_key="")


def _stage(spec: dict[str, Any]) -> None:
    template = spec.get("promotionTemplate")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _steps(template["spec"].get("steps"))


def _promotion(spec: dict[str, Any]) -> None:
    _steps(spec.get("steps"))


def _analysis_template(spec: dict[str, Any]) -> None:
    for metric in spec.get("metrics") or []:
        provider = metric.get("provider") if isinstance(metric, dict) else None
        web = provider.get("web") if isinstance(provider, dict) else None
        if isinstance(web, dict):
            _header_values(web.get("headers"), name_key="key")


_BY_KIND = {
    "WebhookConfig": _webhook_config,
    "Stage": _stage,
    "Promotion": _promotion,
    "PromotionTask": _promotion,
    "AnalysisTemplate": _analysis_template,
}
