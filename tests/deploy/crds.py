"""Validate manifests against the upstream CRD schemas of Kargo v1.11.2 and Argo Rollouts v1.9.1.

Each CRD's `spec.versions[].schema.openAPIV3Schema` is kept in the engine's own copy,
`pipeline/src/kargo/config/schemas/` (the engine validates every applied document against it), as
compact JSON (descriptions removed), derived from the published CRDs with `python -m
tests.deploy.crds SOURCE_DIR`. Two adjustments turn the API server's behaviour into JSON Schema:

- `x-kubernetes-*` extensions are dropped (their CEL rules are not evaluated here);
- an object that lists `properties` and does not set `x-kubernetes-preserve-unknown-fields`
  refuses unknown fields, as `kubectl apply` does with strict field validation, so that a
  misspelt field fails the test instead of being pruned silently.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from kargo.config.crds import SCHEMA_DIR, vendored_crds

__all__ = ["SCHEMA_DIR", "vendored_crds"]

UPSTREAM_DIR = Path("/work/shared/schemas")
PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"


def _without_descriptions(node: Any) -> Any:
    """The schema node with every `description` removed, to keep the vendored copy small."""
    if isinstance(node, dict):
        properties = node.get("properties")
        stripped = {
            k: _without_descriptions(v)
            for k, v in node.items()
            if k != "description" and not (k == "properties" and isinstance(properties, dict))
        }
        if isinstance(properties, dict):
            # Property names are data, not keywords: a field called `description` stays.
            stripped["properties"] = {
                name: _without_descriptions(sub) for name, sub in properties.items()
            }
        return stripped
    if isinstance(node, list):
        return [_without_descriptions(item) for item in node]
    return node


def compact_crd(crd: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a CustomResourceDefinition that validates objects: group, kind, schemas."""
    spec = crd["spec"]
    return {
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "scope": spec["scope"],
        "versions": {
            version["name"]: _without_descriptions(version["schema"]["openAPIV3Schema"])
            for version in spec["versions"]
        },
    }


def upstream_crds(source_dir: Path = UPSTREAM_DIR) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file stem, compact CRD) for every CRD file under the upstream schema folder."""
    for path in sorted(source_dir.glob("*/*.yaml")):
        text = path.read_text(encoding="utf-8")
        for document in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if document and document.get("kind") == "CustomResourceDefinition":
                yield path.stem, compact_crd(document)


def write_vendored(source_dir: Path, target_dir: Path = SCHEMA_DIR) -> list[Path]:
    """Regenerate the vendored compact schemas from the upstream CRD files."""
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, compact in upstream_crds(source_dir):
        path = target_dir / f"{stem}.json"
        path.write_text(json.dumps(compact, sort_keys=True, separators=(",", ":")) + "\n")
        written.append(path)
    return written


def kubernetes_to_json_schema(node: Any) -> Any:
    """Drop `x-kubernetes-*` keys and close objects that do not preserve unknown fields."""
    if isinstance(node, list):
        return [kubernetes_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: kubernetes_to_json_schema(value)
        for key, value in node.items()
        if not key.startswith("x-kubernetes-") and key != "properties"
    }
    if "properties" in node:
        # Property names are data here, not schema keywords: convert their values only.
        converted["properties"] = {
            name: kubernetes_to_json_schema(sub) for name, sub in node["properties"].items()
        }
        if "additionalProperties" not in node and not node.get(PRESERVE_UNKNOWN, False):
            converted["additionalProperties"] = False
    return converted


@cache
def validator_for(api_version: str, kind: str) -> Draft7Validator | None:
    """A validator for that kind, or None when no vendored CRD describes it."""
    compact = vendored_crds().get((api_version, kind))
    if compact is None:
        return None
    version = api_version.rsplit("/", 1)[1]
    schema = kubernetes_to_json_schema(compact["versions"][version])
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def schema_errors(document: Mapping[str, Any]) -> list[str]:
    """Every violation of the document's CRD schema, as `path: message` lines."""
    validator = validator_for(str(document.get("apiVersion")), str(document.get("kind")))
    if validator is None:
        return [f"no CRD schema for {document.get('apiVersion')} {document.get('kind')}"]
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    return [f"{'.'.join(map(str, error.path)) or '<root>'}: {error.message}" for error in errors]


def is_cluster_scoped(api_version: str, kind: str) -> bool:
    """Whether the vendored CRD of that kind is cluster-scoped."""
    compact = vendored_crds().get((api_version, kind))
    return compact is not None and compact["scope"] == "Cluster"


if __name__ == "__main__":
    for written_path in write_vendored(Path(sys.argv[1]) if len(sys.argv) > 1 else UPSTREAM_DIR):
        sys.stdout.write(f"{written_path}\n")
