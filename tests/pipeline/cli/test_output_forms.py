"""`-o go-template`, RFC 3339 timestamps in every output form, and describe at 100 columns."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from kargo.cli.describing import describe_analysis_run, describe_generic, describe_promotion
from kargo.cli.gotemplate import GoTemplateError, render
from kargo.cli.kinds import resolve_kind
from kargo.cli.printing import Output, OutputFormat, format_resources
from kargo.client import KargoClientError, document
from kargo.model.analysis import AnalysisPhase, Measurement
from kargo.model.freight import GitCommit

from tests.pipeline.cli.conftest import NOW, kargo, load

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PLUS_ONE = timezone(timedelta(hours=1))
KIND_FIXTURES = [
    ("promotion", "promotions"), ("stage", "stages"), ("freight", "freight"),
    ("warehouse", "warehouses"), ("analysisrun", "analysisruns"), ("events", "events"),
    ("webhook-deliveries", "webhookdeliveries"),
]  # fmt: skip


def go(template: str, data: Any) -> str:
    """The go-template output of `kargo get` for data."""
    return render(template, data)


DOC = {
    "kind": "List",
    "items": [
        {"metadata": {"name": "dev", "annotations": {"kargo.akuity.io/alias": "wise-otter"}},
         "status": {"phase": "Succeeded", "steps": 3}},
        {"metadata": {"name": "prod"}, "status": {"phase": "Failed", "steps": 2.5}},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("template", "printed"),
    [
        ('{{range .items}}{{.metadata.name}}{{"\\n"}}{{end}}', "dev\nprod\n"),
        ("{{range $i, $s := .items}}{{$i}}:{{$s.metadata.name}} {{end}}", "0:dev 1:prod "),
        ('{{index (index .items 0).metadata.annotations "kargo.akuity.io/alias"}}', "wise-otter"),
        ("{{index .items 1 | len}} {{len .items}}", "2 2"),
        ('{{range .items}}{{if eq .status.phase "Succeeded"}}ok{{else if eq .status.phase '
         '"Failed"}}bad{{else}}?{{end}},{{end}}', "ok,bad,"),
        ('{{printf "%s has %d steps (%.1f)" .kind 3 2.5}}', "List has 3 steps (2.5)"),
        ("{{with .missing}}x{{else}}none{{end}} {{.missing}}", "none <no value>"),
        ("{{$n := len .items}}{{$n}} {{/* a comment */}}{{not .missing}}", "2 true"),
        ("{{- range .items }}\n  {{- .status.steps }};{{ end }}", "3;2.5;"),
        ("{{(index .items 1).status}}", "map[phase:Failed steps:2.5]"),
        ('{{.kind | printf "%q"}} {{and 1 0}} {{or 0 "x"}}', '"List" 0 x'),
    ],
)  # fmt: skip
def test_go_templates_print_as_kubectl_prints_them(template: str, printed: str) -> None:
    assert go(template, DOC) == printed


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{{.metadata.name", "template: output:1: unclosed action"),
        ("{{range .items}}x", "unexpected EOF"),
        ("{{end}}", "unexpected {{end}}"),
        ("{{lower .kind}}", 'function "lower" not defined'),
        ("{{.nope.deeper}}", "nil pointer evaluating interface {}.deeper"),
        ("{{.kind.first}}", "can't evaluate field first in type string"),
        ("{{index .items 9}}", "index out of range: 9"),
    ],
)
def test_a_go_template_error_reads_like_gos(template: str, error: str) -> None:
    with pytest.raises(GoTemplateError) as raised:
        go(template, DOC)
    assert error in str(raised.value)


def test_get_o_go_template_renders_the_list_or_the_one_resource() -> None:
    stages = load("stages")
    names = Output(OutputFormat.GO_TEMPLATE, "{{range .items}}{{.metadata.name}} {{end}}")
    assert format_resources(resolve_kind("stage"), stages, names) == "development production qa "
    one = Output(OutputFormat.GO_TEMPLATE, "{{.metadata.name}}@{{.metadata.creationTimestamp}}")
    text = format_resources(resolve_kind("stage"), stages[:1], one, single=True)
    assert text == "production@2026-11-22T08:00:00Z"
    broken = Output(OutputFormat.GO_TEMPLATE, "{{.metadata.name.first}}")
    with pytest.raises(KargoClientError, match="error executing template"):
        format_resources(resolve_kind("stage"), stages[:1], broken, single=True)


def test_a_template_that_does_not_parse_exits_1_before_asking_the_server(
    config_file: Path, tmp_path: Path
) -> None:
    env: dict[str, str | None] = {"KARGO_SERVER": "http://127.0.0.1:9"}  # nothing listens
    ran = kargo("get", "stages", "-o", "go-template={{.metadata.name", env=env)
    assert ran.code == 1, ran
    assert ran.err.startswith("error: error parsing template {{.metadata.name")
    assert "unclosed action" in ran.err
    (tmp_path / "t.tmpl").write_text("{{range .items}}")
    from_file = kargo("get", "stages", f"-o=go-template-file={tmp_path / 't.tmpl'}", env=env)
    assert from_file.code == 1 and "unexpected EOF" in from_file.err, from_file
    jsonpath = kargo("get", "stages", "-o", "jsonpath={range .items[*]}", env=env)
    assert jsonpath.code == 1 and "without an {end}" in jsonpath.err, jsonpath


def _times(data: Any) -> list[str]:
    """Every string in data that reads as a timestamp."""
    if isinstance(data, dict):
        return [t for v in data.values() for t in _times(v)]
    if isinstance(data, list):
        return [t for v in data for t in _times(v)]
    return [data] if isinstance(data, str) and re.match(r"^\d{4}-\d\d-\d\dT", data) else []


def _shifted(resources: list[Any]) -> list[Any]:
    """The resources with their creation times given at +01:00 (the same instants)."""
    for r in resources:
        if hasattr(r, "metadata") and hasattr(r.metadata, "creation_timestamp"):
            moment = r.metadata.creation_timestamp
            r.metadata.creation_timestamp = moment.astimezone(PLUS_ONE)
    return resources


@pytest.mark.parametrize(("kind", "fixture"), KIND_FIXTURES)
def test_json_and_yaml_give_every_time_in_rfc3339_with_z(kind: str, fixture: str) -> None:
    resources = _shifted(load(fixture))
    for form in (OutputFormat.JSON, OutputFormat.YAML):
        text = format_resources(resolve_kind(kind), resources, form)
        data = json.loads(text) if form is OutputFormat.JSON else yaml.safe_load(text)
        times = _times(data)
        assert times and all(RFC3339_Z.match(t) for t in times), (form, times)
        assert "+01:00" not in text


def test_text_output_gives_times_in_rfc3339_with_z() -> None:
    promotion = _shifted(load("promotions"))[0]
    assert promotion.metadata.creation_timestamp.utcoffset() == timedelta(hours=1)
    text = describe_promotion(promotion, [], None, NOW)
    assert "Created:        2026-11-26T05:50:00Z (10m ago)" in text
    assert document(promotion)["metadata"]["creationTimestamp"] == "2026-11-26T05:50:00Z"
    run = load("analysisruns")[0]
    run.status.started_at = datetime(2026, 11, 26, 6, 40, 13, 250000, tzinfo=PLUS_ONE)
    assert "Started:        2026-11-26T05:40:13Z (19m ago)" in describe_analysis_run(run, [], NOW)


LONG = "the instance did not become ready because " + "the health check kept failing " * 20


def _fits(text: str, width: int = 100) -> None:
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, too_long


def test_describe_keeps_every_line_within_100_columns_with_long_values() -> None:
    promotion = load("promotions")[0]
    promotion.status.message = LONG
    promotion.status.step_execution_metadata[-1].message = LONG
    promotion.metadata.annotations["kargo.akuity.io/description"] = LONG
    run = load("analysisruns")[0]
    run.status.message = LONG
    huge = {"checks": [{"name": f"check-{n}", "passed": True} for n in range(60)]}
    run.status.metric_results[0].measurements.append(
        Measurement(phase=AnalysisPhase.SUCCESSFUL, value=huge, started_at=NOW, message=LONG)
    )
    stage = load("stages")[0]
    stage.metadata.annotations["kargo.akuity.io/description"] = LONG
    freight = load("freight")[0]
    freight.commits.append(GitCommit(repoURL="/srv/" + "deep/" * 40, id="f" * 40, message=LONG))
    texts = [
        describe_promotion(promotion, load("events"), run, NOW),
        describe_analysis_run(run, load("events"), NOW, load("analysistemplates")),
        describe_generic(stage, [], NOW),
        describe_generic(freight, [], NOW),
    ]
    for text in texts:
        _fits(text)
    assert "health check kept failing" in texts[0] and '"check-0"' in texts[1]
    message = [line for line in texts[0].splitlines() if line.startswith("Message:")][0]
    following = texts[0].splitlines()[texts[0].splitlines().index(message) + 1]
    assert following.startswith(" " * 16) and following.strip()  # wrapped under the value


def test_describe_fits_a_narrower_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    promotion = load("promotions")[0]
    promotion.status.message = LONG
    _fits(describe_promotion(promotion, load("events"), None, NOW), 72)
