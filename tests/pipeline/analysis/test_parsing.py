"""Loading AnalysisTemplates in the guide's shorthand and in Argo Rollouts' native form."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kargo.analysis.errors import AnalysisTemplateError
from kargo.analysis.lines import load_analysis_templates
from kargo.analysis.parsing import parse_analysis_template

from tests.services import REPO_ROOT

TEMPLATES = REPO_ROOT / "kargo" / "analysis-templates"
CRD = Path("/work/shared/schemas/argo-rollouts/analysis-template-crd.yaml")

NATIVE = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: native
spec:
  args:
    - name: url
    - name: token
      valueFrom:
        secretKeyRef: {name: checks, key: token}
  metrics:
    - name: web-check
      count: "2"
      interval: 1s
      failureLimit: 1
      successCondition: result.ok == true
      provider:
        web:
          url: "{{args.url}}/ok"
          method: POST
          headers:
            - key: Authorization
              value: "Bearer {{args.token}}"
          jsonBody: {a: 1}
          jsonPath: "{$.data}"
          timeoutSeconds: 5
    - name: prom-check
      successCondition: result < 500
      provider:
        prometheus:
          address: http://127.0.0.1:9090
          query: sum(up)
          timeout: 5
    - name: job-check
      provider:
        job:
          spec:
            backoffLimit: 1
            activeDeadlineSeconds: 30
            template:
              spec:
                restartPolicy: Never
                containers:
                  - name: check
                    image: python:3.11
                    command: [python, -c]
                    args: ["print('{}')"]
                    env:
                      - {name: MODE, value: quick}
"""


def native() -> dict[str, Any]:
    """A fresh copy of the native example document."""
    return copy.deepcopy(yaml.safe_load(NATIVE))


def crd_validator() -> jsonschema.Draft7Validator:
    """A validator for the AnalysisTemplate CRD's OpenAPI schema from Argo Rollouts."""
    if not CRD.exists():
        pytest.skip(f"{CRD} is not on this machine")
    return _read_crd_validator()


@functools.cache
def _read_crd_validator() -> jsonschema.Draft7Validator:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRD is 220 kB
    crd = yaml.load(CRD.read_text(), Loader=loader)  # noqa: S506 - a safe loader
    return jsonschema.Draft7Validator(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def test_the_native_example_is_valid_against_argo_rollouts_crd_schema() -> None:
    crd_validator().validate(native())


def test_native_web_prometheus_and_job_metrics_load_into_the_internal_model() -> None:
    template = parse_analysis_template(native(), "native.yaml")
    web, prom, job = template.spec.metrics
    assert template.api_version == "kargo.akuity.io/v1alpha1"
    assert web.provider.web is not None and web.provider.web.json_path == "{$.data}"
    assert web.count == 2 and web.failure_limit == 1
    assert web.provider.web.headers[0].value == "Bearer {{args.token}}"
    assert prom.provider.prometheus is not None and prom.provider.prometheus.query == "sum(up)"
    assert prom.provider.prometheus.vector_as_list  # Argo's `result[0]` keeps working
    assert job.provider.job is not None
    assert job.provider.job.command == ["python", "-c"]
    assert job.provider.job.args == ["print('{}')"]
    assert job.provider.job.env == {"MODE": "quick"}
    assert job.provider.job.timeout_seconds == 30 and job.provider.job.backoff_limit == 1
    assert template.spec.args[1].value_from is not None


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda d: d["spec"]["metrics"][1]["provider"].update(datadog={}),
            "spec.metrics[1].provider",
        ),
        (
            lambda d: d["spec"]["metrics"][1].update(provider={"datadog": {"query": "x"}}),
            "spec.metrics[1].provider.datadog",
        ),
        (
            lambda d: d["spec"]["metrics"][0]["provider"]["web"].update(
                authentication={"oauth2": {}}
            ),
            "spec.metrics[0].provider.web.authentication",
        ),
        (
            lambda d: d["spec"]["metrics"][1]["provider"]["prometheus"].update(
                rangeQuery={"step": "1m"}
            ),
            "spec.metrics[1].provider.prometheus.rangeQuery",
        ),
        (lambda d: d["spec"].update(dryRun=[{"metricName": "x"}]), "spec.dryRun"),
        (
            lambda d: d["spec"]["metrics"][0].update(consecutiveSuccessLimit=2),
            "spec.metrics[0].consecutiveSuccessLimit",
        ),
        (
            lambda d: d["spec"]["metrics"][2]["provider"]["job"]["spec"]["template"]["spec"].update(
                volumes=[]
            ),
            "spec.metrics[2].provider.job.spec.template.spec.volumes",
        ),
    ],
)
def test_unsupported_native_fields_are_refused_naming_the_field(mutate: Any, field: str) -> None:
    doc = native()
    mutate(doc)
    with pytest.raises(AnalysisTemplateError) as caught:
        parse_analysis_template(doc, "native.yaml")
    assert caught.value.field.startswith(field)
    assert "native.yaml" in str(caught.value) and field in str(caught.value)


def test_a_native_job_without_a_command_is_refused_because_images_cannot_run_here() -> None:
    doc = native()
    del doc["spec"]["metrics"][2]["provider"]["job"]["spec"]["template"]["spec"]["containers"][0][
        "command"
    ]
    with pytest.raises(AnalysisTemplateError, match=r"containers\[0\]\.command"):
        parse_analysis_template(doc, "native.yaml")


def test_the_repository_templates_load_with_the_guides_metric_names() -> None:
    loaded = {
        t.name: t
        for path in sorted(TEMPLATES.glob("*.yaml"))
        for t in load_analysis_templates(path)
    }
    assert set(loaded) == {"smoke-tests", "security-scan", "load-test"}
    expected = {
        "smoke-tests": ("smoke-test-success", "result.passed == true", "smoke.completed"),
        "security-scan": ("vulnerability-check", "result.critical == 0", "security.findings"),
        "load-test": ("response-time", "result < 500", "loadtest.completed"),
    }
    for name, (metric_name, condition, notification) in expected.items():
        template = loaded[name]
        metric = template.spec.metrics[0]
        assert (metric.name, metric.success_condition) == (metric_name, condition)
        assert template.metadata.annotations["notifications.kargo.akuity.io/type"] == notification
        assert template.spec.timeout is not None
    response_time = loaded["load-test"].spec.metrics[0]
    assert response_time.provider.prometheus is not None
    assert "histogram_quantile(0.95" in response_time.provider.prometheus.query
    assert "http_request_duration_seconds_bucket" in response_time.provider.prometheus.query
    names = {m.name for t in loaded.values() for m in t.spec.metrics}
    assert {"api-health", "user-flow", "dependency-checks", "configuration-validation"} <= names
    assert {"load-generation", "error-rate", "cpu-usage", "memory-usage"} <= names


def test_the_guides_bare_shorthand_metric_is_refused_asking_for_the_provider_settings() -> None:
    doc = {
        "apiVersion": "kargo.akuity.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "smoke-tests"},
        "spec": {
            "metrics": [
                {
                    "name": "smoke-test-success",
                    "provider": "webhook",
                    "successCondition": "result.passed == true",
                }
            ]
        },
    }
    with pytest.raises(AnalysisTemplateError) as caught:
        parse_analysis_template(doc, "smoke.yaml")
    assert caught.value.field == "spec.metrics[0].webhook"


def test_shorthand_headers_may_be_a_mapping_and_unknown_settings_are_refused() -> None:
    doc: dict[str, Any] = {
        "apiVersion": "kargo.akuity.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "t"},
        "spec": {
            "metrics": [
                {
                    "name": "m",
                    "provider": "webhook",
                    "webhook": {"url": "http://x", "headers": {"X-A": "1"}, "verb": "GET"},
                }
            ]
        },
    }
    with pytest.raises(AnalysisTemplateError) as caught:
        parse_analysis_template(doc, "t.yaml")
    assert caught.value.field == "spec.metrics[0].provider.web.verb"
    del doc["spec"]["metrics"][0]["webhook"]["verb"]
    template = parse_analysis_template(doc, "t.yaml")
    web = template.spec.metrics[0].provider.web
    assert web is not None and web.headers[0].key == "X-A"


def test_a_bad_expression_is_rejected_at_load_with_its_file_and_line(tmp_path: Path) -> None:
    text = (TEMPLATES / "smoke-tests.yaml").read_text()
    broken = text.replace("successCondition: result.passed == true", "successCondition: result.(")
    path = tmp_path / "smoke-tests.yaml"
    path.write_text(broken)
    line = next(i for i, row in enumerate(broken.splitlines(), 1) if "result.(" in row)
    with pytest.raises(AnalysisTemplateError) as caught:
        load_analysis_templates(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: spec.metrics[0].successCondition:")
    assert "invalid expression at line 1, column 8: expected name" in str(caught.value)


def test_an_undeclared_argument_reference_is_rejected_at_load() -> None:
    doc = native()
    doc["spec"]["metrics"][1]["provider"]["prometheus"]["query"] = 'up{stage="{{args.stage}}"}'
    with pytest.raises(AnalysisTemplateError, match="undeclared: stage"):
        parse_analysis_template(doc, "native.yaml", line=7)


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("interval", "five seconds", "spec.metrics[0].interval"),
        ("initialDelay", "10", "spec.metrics[0].initialDelay"),
        ("count", "many", "spec.metrics[0].count"),
    ],
)
def test_bad_durations_and_counts_are_rejected_naming_the_field(
    key: str, value: str, field: str
) -> None:
    doc = native()
    doc["spec"]["metrics"][0][key] = value
    with pytest.raises(AnalysisTemplateError) as caught:
        parse_analysis_template(doc, "native.yaml")
    assert caught.value.field == field


def test_other_kinds_and_api_versions_are_refused() -> None:
    doc = native()
    doc["apiVersion"] = "argoproj.io/v2"
    with pytest.raises(AnalysisTemplateError, match="apiVersion"):
        parse_analysis_template(doc, "native.yaml")
    doc = native()
    doc["kind"] = "ClusterAnalysisTemplate"
    with pytest.raises(AnalysisTemplateError, match="kind"):
        parse_analysis_template(doc, "native.yaml")


def test_the_config_loader_may_pass_the_line_positionally_and_a_line_function() -> None:
    doc = native()
    doc["spec"]["metrics"][0]["successCondition"] = "result.ok =="
    with pytest.raises(AnalysisTemplateError) as caught:
        parse_analysis_template(doc, "native.yaml", 7)
    assert caught.value.line == 7
    lines = {"spec.metrics[0].successCondition": 21}
    with pytest.raises(AnalysisTemplateError) as caught:
        parse_analysis_template(doc, "native.yaml", 7, line_map=lines.get)
    assert caught.value.line == 21
    assert caught.value.path == ("spec", "metrics", 0, "successCondition")


def test_the_cluster_paths_native_templates_load_unchanged() -> None:
    folder = REPO_ROOT / "deploy" / "kubernetes" / "analysis"
    documents = [
        (path, doc)
        for path in sorted(folder.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict) and doc.get("kind") == "AnalysisTemplate"
    ]
    if not documents:
        pytest.skip(f"no native AnalysisTemplates in {folder}")
    validator = crd_validator()
    for path, doc in documents:
        assert doc["apiVersion"] == "argoproj.io/v1alpha1"
        validator.validate(doc)
        template = parse_analysis_template(doc, str(path))
        assert template.spec.metrics
