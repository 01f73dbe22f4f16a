"""The guide's command lines send the right requests and print what the server answered.

These run over real HTTP against tests/pipeline/cli/fake_api.py (see its docstring for why);
test_against_server.py runs the same lines against the real engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.cli.conftest import kargo
from tests.pipeline.cli.fake_api import FakeApi, fake_api
from tests.services import free_port

SECRET = "tok-3f9a-canary-secret"


@pytest.fixture
def api(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    with fake_api(free_port()) as fake:
        monkeypatch.setenv("KARGO_SERVER", fake.url)
        yield fake


def test_get_promotion_planning_poker_lists_the_projects_promotions(api: FakeApi) -> None:
    ran = kargo("get", "promotion", "planning-poker")
    assert ran.code == 0, ran
    lines = ran.out.splitlines()
    assert lines[0].split() == ["NAME", "STAGE", "FREIGHT", "PHASE", "AGE"]
    assert lines[1].startswith("production.01jdx7k2m4q8r0s3t5v7w9y1z2")
    assert api.requests("GET", "/api/v1/projects/planning-poker/promotions")


def test_get_stage_development_gets_one_stage_of_the_only_project(api: FakeApi) -> None:
    ran = kargo("get", "stage", "development")
    assert ran.code == 0, ran
    assert ran.out.splitlines()[1].split()[:5] == [
        "development",
        "3f2a1b9",
        "wise-otter",
        "Healthy",
        "True",
    ]
    assert api.requests("GET", "/stages/development")


def test_a_misspelt_stage_gets_a_did_you_mean_and_exit_code_1(api: FakeApi) -> None:
    ran = kargo("get", "stage", "prodution")
    assert ran.code == 1
    assert ran.err.count("\n") == 1
    assert "did you mean 'production'?" in ran.err


def test_describe_promotion_planning_poker_shows_the_newest_promotion(api: FakeApi) -> None:
    ran = kargo("describe", "promotion", "planning-poker")
    assert ran.code == 0, ran
    assert "Name:           production.01jdx7k2m4q8r0s3t5v7w9y1z2" in ran.out
    assert "instance did not become ready in 30s" in ran.out


def test_events_field_selector_is_sent_and_applied(api: FakeApi) -> None:
    ran = kargo("get", "events", "--field-selector", "involvedObject.kind=Promotion")
    assert ran.code == 0, ran
    assert "FreightCreated" not in ran.out
    assert "PromotionFailed" in ran.out
    (request,) = api.requests("GET", "/events")
    assert request.query["fieldSelector"] == ["involvedObject.kind=Promotion"]


def test_promote_from_development_to_production_posts_the_guides_request(api: FakeApi) -> None:
    ran = kargo("promote", "planning-poker", "--from", "development", "--to", "production")
    assert ran.code == 0, ran
    (request,) = api.requests("POST", "/promotions")
    assert json.loads(request.body) == {"stage": "production", "fromStage": "development"}
    assert "created: promotion of wise-otter (3f2a1b9) to production" in ran.out


def test_promote_says_so_when_the_stage_already_runs_that_freight(api: FakeApi) -> None:
    message = "production already runs wise-otter"
    api.answers[("POST", "/api/v1/projects/planning-poker/promotions")] = (
        200,
        {"unchanged": True, "message": message},
    )
    ran = kargo("promote", "planning-poker", "--from", "development", "--to", "production")
    assert (ran.code, ran.out.strip()) == (0, message)


def test_a_refused_promotion_prints_the_servers_reason_on_one_line(api: FakeApi) -> None:
    reason = "freight wise-otter is not verified in development nor approved for production"
    api.answers[("POST", "/api/v1/projects/planning-poker/promotions")] = (
        409,
        {"error": {"code": "Conflict", "message": reason, "details": []}},
    )
    ran = kargo("promote", "planning-poker", "--from", "development", "--to", "production")
    assert (ran.code, ran.err) == (1, f"error: {reason}\n")


def test_rollback_to_development_posts_to_rollbacks(api: FakeApi) -> None:
    ran = kargo("rollback", "planning-poker", "--to", "development")
    assert ran.code == 0, ran
    (request,) = api.requests("POST", "/rollbacks")
    assert json.loads(request.body) == {"toStage": "development"}
    assert "rollback of brave-heron" in ran.out


def test_logs_and_export_print_the_servers_text(api: FakeApi) -> None:
    logs = kargo("logs", "promotion", "planning-poker")
    assert logs.code == 0, logs
    assert "deploy: instance not ready" in logs.out
    assert api.requests("GET", "/promotions/production.01jdx7k2m4q8r0s3t5v7w9y1z2/logs")
    export = kargo("export", "promotion", "planning-poker")
    assert (export.code, export.out) == (
        0,
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\n",
    )


def test_verbosity_4_logs_each_request_with_timing_and_redacts_the_token(api: FakeApi) -> None:
    ran = kargo("--v=4", "--token", SECRET, "get", "promotion")
    assert ran.code == 0, ran
    assert "GET http://127.0.0.1" in ran.err and "/api/v1/projects " in ran.err
    assert " 200 OK in " in ran.err and "milliseconds" in ran.err
    assert "authorization='Bearer <redacted>'" in ran.err
    assert SECRET not in ran.err + ran.out
    assert api.seen[0].headers["Authorization"] == f"Bearer {SECRET}"


def test_without_verbosity_nothing_is_logged(api: FakeApi) -> None:
    ran = kargo("get", "promotion")
    assert (ran.code, ran.err) == (0, "")


def test_watch_prints_the_table_then_a_row_per_change_of_that_kind(api: FakeApi) -> None:
    ran = kargo("get", "promotions", "-w")
    assert ran.code == 0, ran
    lines = ran.out.splitlines()
    assert len(lines) == 5  # header, three promotions, one change (the stage change is skipped)
    assert lines[4].startswith("development.01jdx6a1b2c3d4e5f6g7h8j9k0")
    assert lines[4].split()[3] == "Failed"
    assert lines[4][lines[0].index("PHASE") :].startswith("Failed")
    (request,) = api.requests("GET", "/api/v1/watch")
    assert request.query == {"project": ["planning-poker"], "kind": ["promotions"]}
