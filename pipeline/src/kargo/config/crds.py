"""Validate documents against Kargo's and Argo Rollouts' CRD schemas, as the API server does.

The schemas in `schemas/` are the published CRDs' `openAPIV3Schema` (descriptions removed; see
`schemas/README.md` for sources and licence). Structural keywords (type, enum, pattern,
required, min/max) are checked with jsonschema; `x-kubernetes-validations` rules are Kubernetes
CEL and are evaluated with cel-python with `self` bound to the node, as the API server binds it.
Unknown fields are left to the models, which name the field allowed nearest to the typo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from jsonschema import Draft7Validator, ValidationError, validators

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
_CEL = celpy.Environment()
_REQUIRED = re.compile(r"^'([^']+)' is a required property")


@dataclass(frozen=True)
class SchemaProblem:
    """One violation: the field path (keys and list indices) and what was expected."""

    path: tuple[str | int, ...]
    message: str


@cache
def _program(rule: str) -> Any:
    return _CEL.program(_CEL.compile(rule))


def _cel_rules(
    validator: Any, rules: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    for rule in rules or []:
        expression = rule.get("rule", "")
        try:
            result = _program(expression).evaluate({"self": json_to_cel(instance)})
        except Exception as exc:  # a CEL evaluation error fails the rule, as the API server does
            yield ValidationError(f"{rule.get('message') or expression} ({exc})")
            continue
        if result is not True and not (isinstance(result, celpy.celtypes.BoolType) and result):
            yield ValidationError(rule.get("message") or f"failed rule: {expression}")


def _type(validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    if instance is None and schema.get("nullable"):
        return
    yield from Draft7Validator.VALIDATORS["type"](validator, types, instance, schema)


_KubernetesValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft7Validator, {"x-kubernetes-validations": _cel_rules, "type": _type}
)


@cache
def vendored_crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → the compact CRD (group, kind, scope, schema per version)."""
    crds: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        compact = json.loads(path.read_text(encoding="utf-8"))
        for version in compact["versions"]:
            crds[(f"{compact['group']}/{version}", compact["kind"])] = compact
    return crds


@cache
def _validator(api_version: str, kind: str) -> Any:
    compact = vendored_crds().get((api_version, kind))
    if compact is None:
        return None
    return _KubernetesValidator(compact["versions"][api_version.rsplit("/", 1)[1]])


def has_schema(api_version: str, kind: str) -> bool:
    """Whether an upstream CRD describes this kind."""
    return (api_version, kind) in vendored_crds()


_OPEN_NODES: dict[tuple[str, tuple[str, ...]], frozenset[str]] = {
    # Kargo v1.11 leaves subscription items open (x-kubernetes-preserve-unknown-fields); its
    # Go types name these kinds of subscription.
    ("Warehouse", ("spec", "subscriptions", "[]")): frozenset({"git", "image", "chart"}),
}


def field_in_schema(api_version: str, kind: str, path: tuple[str | int, ...]) -> bool:
    """Whether the upstream CRD has a field at this path (list indices skipped)."""
    compact = vendored_crds().get((api_version, kind))
    if compact is None:
        return False
    node: Any = compact["versions"][api_version.rsplit("/", 1)[1]]
    walked: tuple[str, ...] = ()
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
            walked = (*walked, "[]")
            continue
        properties = node.get("properties") or {}
        if part in properties:
            node = properties[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return part in _OPEN_NODES.get((kind, walked), frozenset())
        walked = (*walked, part)
    return True


def with_defaults(value: Any, schema: Mapping[str, Any]) -> Any:
    """A copy of `value` with the schema's `default`s filled in, as the API server does first."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        filled = {k: with_defaults(v, properties.get(k, {})) for k, v in value.items()}
        for name, sub in properties.items():
            if name not in filled and "default" in sub:
                filled[name] = with_defaults(sub["default"], sub)
        return filled
    if isinstance(value, list):
        items = schema.get("items") or {}
        return [with_defaults(v, items) for v in value]
    return value


def schema_problems(document: Mapping[str, Any]) -> list[SchemaProblem]:
    """Every violation of the document's CRD schema (none when no CRD describes it)."""
    validator = _validator(str(document.get("apiVersion")), str(document.get("kind")))
    if validator is None:
        return []
    found = []
    for error in validator.iter_errors(with_defaults(dict(document), validator.schema)):
        path = tuple(error.absolute_path)
        if error.validator == "required":
            missing = _REQUIRED.search(error.message)
            path = (*path, missing.group(1)) if missing else path
        found.append(SchemaProblem(path, _message(error)))
    return sorted(found, key=lambda p: [str(x) for x in p.path])


def _message(error: ValidationError) -> str:
    keyword = error.validator
    if keyword == "required":
        return "required field is missing"
    if keyword == "enum":
        values: Any = error.validator_value
        allowed = ", ".join(repr(v) for v in values)
        return f"{error.instance!r} is not allowed; expected one of {allowed}"
    if keyword == "pattern":
        return f"{error.instance!r} does not match the pattern {error.validator_value}"
    return error.message
