"""The vendored CRD schemas match upstream, and Kubernetes' schema dialect is read strictly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tests.deploy import crds


@pytest.mark.skipif(
    not crds.UPSTREAM_DIR.is_dir(), reason="the upstream CRD files are not on this machine"
)
def test_the_vendored_schemas_are_exactly_the_upstream_crds_without_descriptions() -> None:
    upstream = dict(crds.upstream_crds())
    vendored = {p.stem: json.loads(p.read_text()) for p in crds.SCHEMA_DIR.glob("*.json")}
    # The engine also carries ClusterPromotionTask and ClusterAnalysisTemplate, which the shared
    # folder lacks (their sources are named in the schemas' README).
    assert set(upstream) <= set(vendored)
    for stem, compact in upstream.items():
        assert vendored[stem] == compact, f"{stem}.json differs; regenerate it"


def strict(schema: dict[str, Any]) -> Draft7Validator:
    return Draft7Validator(crds.kubernetes_to_json_schema(schema))


def test_an_object_with_properties_refuses_unknown_fields_like_strict_kubectl() -> None:
    validator = strict({"type": "object", "properties": {"interval": {"type": "string"}}})
    assert validator.is_valid({"interval": "5m"})
    assert not validator.is_valid({"intervall": "5m"})


def test_an_object_that_preserves_unknown_fields_stays_open() -> None:
    validator = strict(
        {
            "type": "object",
            "properties": {"config": {"x-kubernetes-preserve-unknown-fields": True}},
        }
    )
    assert validator.is_valid({"config": {"anything": ["goes"]}})


def test_kubernetes_extensions_are_dropped_and_int_or_string_accepts_both() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self.size() > 100"}],
        "properties": {
            "count": {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": True,
            }
        },
    }
    converted = crds.kubernetes_to_json_schema(schema)
    assert "x-kubernetes" not in json.dumps(converted)
    validator = Draft7Validator(converted)
    assert validator.is_valid({"count": 3}) and validator.is_valid({"count": "3"})
    assert not validator.is_valid({"count": 2.5})


def test_a_field_named_description_is_kept_when_descriptions_are_removed() -> None:
    crd = {
        "spec": {
            "group": "example.org",
            "scope": "Namespaced",
            "names": {"kind": "Thing"},
            "versions": [
                {
                    "name": "v1",
                    "schema": {
                        "openAPIV3Schema": {
                            "description": "A thing.",
                            "type": "object",
                            "properties": {"description": {"type": "string", "description": "x"}},
                        }
                    },
                }
            ],
        }
    }
    schema = crds.compact_crd(crd)["versions"]["v1"]
    assert schema == {"type": "object", "properties": {"description": {"type": "string"}}}


def test_a_kind_without_a_vendored_crd_is_named_in_the_error() -> None:
    assert crds.schema_errors({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stagee"}) == [
        "no CRD schema for kargo.akuity.io/v1alpha1 Stagee"
    ]
