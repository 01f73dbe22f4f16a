"""Kargo's expression functions: published examples from akuity/kargo with expected values."""

from __future__ import annotations

from typing import Any

import pytest
from kargo.expr import ExprRuntimeError, compile_expression, to_json_value
from kargo.expr.library import FreightArtifacts, KargoData, kargo_functions, task_outputs

FRONTEND = {"repoURL": "https://github.com/example/frontend.git", "id": "abc", "tag": "v1.2.0"}
BACKEND = {"repoURL": "https://github.com/example/backend.git", "id": "def", "branch": "main"}
DATA = KargoData(
    freight=(
        FreightArtifacts(
            "web", commits=(FRONTEND,), images=({"repoURL": "ghcr.io/x/web", "tag": "1.0"},)
        ),
        FreightArtifacts("api", commits=(BACKEND, dict(FRONTEND, id="zzz"))),
    ),
    secret=lambda name: {"token": "s3cret"} if name == "slack" else {},
    config_map=lambda name: {"repoURL": "https://x/y.git"} if name == "my-config" else {},
    stage_metadata=lambda name: {"aws-region": "eu-west-1"} if name == "prod" else None,
    step_statuses=(("clone", "Succeeded"), ("task-1::build", "Errored"), ("push", "Failed")),
    current_alias="task-1::publish",
)


def run(source: str, data: KargoData = DATA) -> Any:
    return compile_expression(source).run(
        {"ctx": {"stage": "prod"}}, kargo_functions(data), strict=False
    )


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # Source: akuity/kargo pkg/expressions/function/functions_test.go Test_semverDiff.
        ("1.1.1", "2.2.2", "Major"),
        ("1.1.1", "1.2.2", "Minor"),
        ("1.1.1", "1.1.2", "Patch"),
        ("1.1.1+build1", "1.1.1+build2", "Metadata"),
        ("1.2.3", "1.2.3", "None"),
        ("invalid", "1.0.0", "Incomparable"),
        ("1.0.0", "invalid", "Incomparable"),
        ("invalid1", "invalid2", "Incomparable"),
        ("1.0.0-alpha", "1.0.0-beta", "None"),
        ("1.0.0-alpha.1+build.1", "1.0.0-alpha.1+build.2", "Metadata"),
        ("1.0.0-alpha", "2.0.0-alpha", "Major"),
        ("1.1.0-alpha", "1.2.0-alpha", "Minor"),
        ("1.1.1-alpha", "1.1.2-alpha", "Patch"),
        ("v1.0.0", "v2.0.0", "Major"),
    ],
)
def test_semver_diff_gives_kargos_published_results(first: str, second: str, expected: str) -> None:
    assert run(f"semverDiff({first!r}, {second!r})") == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Source: Kargo's expressions reference (semverParse's methods).
        ("semverParse('1.2.3').IncMinor().String()", "1.3.0"),
        ("semverParse('v1.2.3').IncMajor().String()", "2.0.0"),
        ("semverParse('1.2.3-rc.1').IncPatch().String()", "1.2.3"),
        ("semverParse('1.2.3').IncPatch().String()", "1.2.4"),
        ("semverParse('1.2.3-rc.1+b7').Prerelease()", "rc.1"),
        ("semverParse('1.2.3-rc.1+b7').Metadata()", "b7"),
        ("semverParse('1.2').Minor()", 2),
        ("semverParse('1.2.3').Major() + semverParse('1.2.3').Patch()", 4),
    ],
)
def test_semver_parse_exposes_masterminds_methods(source: str, expected: Any) -> None:
    assert run(source) == expected


def test_semver_parse_refuses_what_is_not_a_version() -> None:
    with pytest.raises(ExprRuntimeError, match="invalid semantic version"):
        run("semverParse('invalid')")
    with pytest.raises(ExprRuntimeError, match="argument must be string, got int"):
        run("semverParse(123)")


def test_commit_from_finds_the_commit_and_disambiguates_with_warehouse() -> None:
    # Source: Kargo's expressions reference, commitFrom(repoURL, [freightOrigin]).
    assert run("commitFrom('https://github.com/example/backend.git').ID") == "def"
    assert run("commitFrom('https://github.com/example/backend').Branch") == "main"
    assert (
        run("commitFrom('https://github.com/example/frontend.git', warehouse('web')).ID") == "abc"
    )
    assert (
        run("commitFrom('https://github.com/example/frontend.git', warehouse('api')).ID") == "zzz"
    )
    with pytest.raises(ExprRuntimeError, match="multiple requested Freight"):
        run("commitFrom('https://github.com/example/frontend.git')")
    assert run("commitFrom('https://nowhere/x.git')") is None
    assert run("commitFrom('https://nowhere/x.git')?.ID ?? 'none'") == "none"


def test_a_commit_serialises_with_kargos_json_names() -> None:
    commit = run("commitFrom('https://github.com/example/backend.git')")
    assert to_json_value(commit) == {
        "repoURL": "https://github.com/example/backend.git",
        "id": "def",
        "branch": "main",
    }


def test_image_and_chart_from_are_typed_and_nil_when_not_carried() -> None:
    assert run("imageFrom('ghcr.io/x/web').Tag") == "1.0"
    assert run("imageFrom('public.ecr.aws/nginx/nginx')") is None
    assert run("chartFrom('oci://example.com/my-chart')") is None
    assert run("chartFrom('https://example.com/charts', 'my-chart', warehouse('web'))") is None
    with pytest.raises(ExprRuntimeError, match="must be FreightOrigin"):
        run("imageFrom('ghcr.io/x/web', 'web')")


def test_warehouse_returns_a_freight_origin() -> None:
    # Source: Kargo's expressions reference: Kind is always Warehouse.
    assert run("warehouse('my-warehouse').Kind") == "Warehouse"
    assert run("warehouse('my-warehouse').Name") == "my-warehouse"
    with pytest.raises(ExprRuntimeError, match="name must not be empty"):
        run("warehouse('')")


def test_secret_and_config_map_are_string_maps_empty_when_missing() -> None:
    # Source: Kargo's expressions reference (`secret('slack').token`, `configMap('my-config')`).
    assert run("'Bearer ' + secret('slack').token") == "Bearer s3cret"
    assert run("configMap('my-config').repoURL") == "https://x/y.git"
    assert run("configMap('absent')") == {}
    assert run("secret('slack').missing") == ""  # Go's map[string]string zero value


def test_metadata_lookups_give_maps_or_nil() -> None:
    # Source: Kargo's expressions reference (stageMetadata examples).
    assert run("stageMetadata(ctx.stage)['aws-region']") == "eu-west-1"
    assert run("stageMetadata(ctx.stage)['tier'] ?? 'default-tier'") == "default-tier"
    assert run("stageMetadata('dev')?.config?.settings?.timeoutSeconds ?? 300") == 300
    assert run("freightMetadata('abc') == nil") is True


def test_status_functions_see_the_steps_so_far() -> None:
    assert run("always()") is True
    assert run("failure()") is True and run("success()") is False
    assert run("status('build')") == "Errored"  # same task namespace as the current step
    assert run("status('clone')") == ""  # a top-level step, not in this task
    clean = KargoData(step_statuses=(("a", "Succeeded"), ("b", "Skipped")))
    assert run("success() && !failure()", clean) is True


def test_verification_arguments_have_no_status_functions() -> None:
    functions = kargo_functions(DATA, with_status=False)
    assert "success" not in functions and "status" not in functions
    assert {"commitFrom", "imageFrom", "chartFrom", "secret", "configMap"} <= set(functions)


def test_task_outputs_are_the_outputs_of_the_same_task() -> None:
    outputs = {"t::a": {"x": 1}, "t::b": {"y": 2}, "other": {"z": 3}}
    assert task_outputs("t::c", outputs) == {"a": {"x": 1}, "b": {"y": 2}}
    assert task_outputs("plain", outputs) is None
