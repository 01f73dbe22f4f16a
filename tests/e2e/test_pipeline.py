"""The whole pipeline end to end on a temporary clone: real commits, warehouse, stages, checks.

One pipeline is shared by the cases below, which run in order on sequential commits: a good
freight reaches production, a second one too (then the guide's commands run), then three bad
commits fail development's verification, a deploy is aborted, a build that cannot start fails its
promotion, freight naming a missing commit errors its promotion, a verification errors while the
checks service is down, and the webhook receiver saw every event type.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.pipeline_harness import (
    TEST_ADVISORY_ID,
    Pipeline,
    packaging_pin,
    processes,
    running_pipeline,
)
from tests.services import REPO_ROOT, VENV_BIN, port_open, require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.haproxy, pytest.mark.prometheus]

ROOMS = "app/src/planning_poker/rooms.py"
METRICS = "app/src/planning_poker/metrics.py"
LOCK = "app/requirements.lock"
NOTE = "app/E2E-NOTE.txt"
TEMPLATES = {"smoke-tests", "security-scan", "load-test"}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """One running pipeline for the module."""
    require_binary("haproxy")
    require_binary("prometheus")
    with running_pipeline(tmp_path_factory.mktemp("pipeline")) as running:
        yield running


@pytest.fixture(scope="module")
def originals(pipeline: Pipeline) -> dict[str, str]:
    """The clone's files that bad commits change, so each commit starts from the good app."""
    return {path: (pipeline.repo / path).read_text() for path in (ROOMS, METRICS, LOCK)}


def good_commit(pipeline: Pipeline, originals: dict[str, str], note: str) -> str:
    """A harmless app change on top of the good files."""
    return pipeline.commit(f"e2e: {note}", {**originals, NOTE: note + "\n"})


def measurements(run: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each metric result of an AnalysisRun by (template, metric)."""
    return {(m.get("template"), m["name"]): m for m in run["status"]["metricResults"]}


def failed_event(pipeline: Pipeline, freight: str) -> dict[str, Any]:
    """The FreightVerificationFailed event of freight."""
    found = [e for e in pipeline.events("FreightVerificationFailed") if freight in json.dumps(e)]
    assert found, "no FreightVerificationFailed event for the freight"
    return found[-1]


def verify_bad_commit(
    pipeline: Pipeline, files: dict[str, str], message: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Commit, promote to development, wait for its verification to fail; return the run."""
    commit = pipeline.commit(message, files)
    freight = pipeline.freight_for(commit)["metadata"]["name"]
    promotion = pipeline.promote("development", freight)
    assert promotion["status"]["phase"] == "Succeeded", promotion["status"].get("message")
    verdict = pipeline.verification("development", freight)
    assert verdict["phase"] == "Failed", verdict
    run = pipeline.get("analysisruns", verdict["analysisRun"]["name"])
    return freight, run, failed_event(pipeline, freight)


def test_a_good_freight_is_verified_in_development_and_reaches_production(
    pipeline: Pipeline, originals: dict[str, str]
) -> None:
    commit = good_commit(pipeline, originals, "first good change")
    freight = pipeline.freight_for(commit)["metadata"]["name"]

    promotion = pipeline.promote("development", freight)
    assert promotion["status"]["phase"] == "Succeeded", promotion["status"].get("message")
    verdict = pipeline.verification("development", freight)
    assert verdict["phase"] == "Successful", verdict["message"]

    run = pipeline.get("analysisruns", verdict["analysisRun"]["name"])
    results = measurements(run)
    assert {template for template, _ in results} == TEMPLATES
    for (template, metric), result in results.items():
        assert result["phase"] == "Successful", (template, metric, result.get("message"))
        assert result["measurements"], (template, metric)
        assert result["measurements"][-1].get("value") is not None, (template, metric)
    assert results[("load-test", "response-time")]["measurements"][-1]["value"] < 500

    pipeline.wait_current("production", freight)
    version = httpx.get(f"{pipeline.url('production')}/version", timeout=5).json()
    assert version["commit"] == commit

    wide = subprocess.run(
        [str(VENV_BIN / "kargo"), "get", "stage", "production", "-o", "wide"],
        env=pipeline.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert wide.returncode == 0, wide.stderr
    assert "healthy" in wide.stdout and commit[:7] in wide.stdout, wide.stdout


def test_b_the_guide_commands_run_verbatim_after_a_second_freight_reached_production(
    pipeline: Pipeline, originals: dict[str, str]
) -> None:
    commit = good_commit(pipeline, originals, "second good change")
    freight = pipeline.freight_for(commit)["metadata"]["name"]
    assert pipeline.promote("development", freight)["status"]["phase"] == "Succeeded"
    assert pipeline.verification("development", freight)["phase"] == "Successful"
    pipeline.wait_current("production", freight)

    # As a user does after `make demo`: the installer's PATH line, a new login shell, the script.
    home = pipeline.work / "home"
    home.mkdir()
    installed = subprocess.run(
        [str(VENV_BIN / "python"), str(REPO_ROOT / "scripts" / "install_cli.py")],
        env={**pipeline.env, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.returncode == 0 and "added" in installed.stdout, installed
    user = {k: pipeline.env[k] for k in ("KARGO_CONFIG", "KARGO_SERVER", "KARGO_TOKEN")}
    done = subprocess.run(
        ["bash", "-lc", "scripts/guide_commands.sh"],
        cwd=pipeline.repo,
        env={**user, "HOME": str(home), "PATH": os.defpath, "WORK_DIR": str(pipeline.work)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    (pipeline.state / "guide-output.txt").write_text(done.stdout + done.stderr)
    print(done.stdout)  # noqa: T201 (kept in the test report: the guide's output)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "14 of 14 guide command lines succeeded" in done.stdout
    assert (pipeline.work / "promotion-debug.yaml").stat().st_size > 0


def test_c_a_commit_that_breaks_voting_fails_smoke_tests_and_is_not_promoted(
    pipeline: Pipeline, originals: dict[str, str]
) -> None:
    broken = originals[ROOMS].replace("participant.vote = card", "participant.vote = None")
    assert broken != originals[ROOMS]
    freight, run, event = verify_bad_commit(
        pipeline, {**originals, ROOMS: broken}, "e2e: votes are lost"
    )

    smoke = measurements(run)[("smoke-tests", "smoke-test-success")]
    assert smoke["phase"] == "Failed"
    failed_checks = [
        c["name"] for c in smoke["measurements"][-1]["value"]["checks"] if not c["passed"]
    ]
    assert any("vote" in name or "stats" in name for name in failed_checks), failed_checks
    text = event["message"] + json.dumps(event.get("data"))
    assert "smoke-test-success" in text
    assert any(name in text for name in failed_checks), (failed_checks, event["message"])

    time.sleep(3)  # give auto-promotion a chance to (wrongly) act
    assert pipeline.current_freight("production") != freight


def test_d_a_lock_pinning_a_version_with_an_advisory_fails_the_security_scan(
    pipeline: Pipeline, originals: dict[str, str]
) -> None:
    lock = originals[LOCK].rstrip("\n") + "\n" + "\n".join(packaging_pin()) + "\n"
    freight, run, event = verify_bad_commit(
        pipeline, {**originals, LOCK: lock}, "e2e: pin packaging (advisory in the test database)"
    )

    vulnerabilities = measurements(run)[("security-scan", "vulnerability-check")]
    assert vulnerabilities["phase"] == "Failed"
    assert TEST_ADVISORY_ID in json.dumps(vulnerabilities["measurements"][-1]["value"])
    assert TEST_ADVISORY_ID in event["message"] + json.dumps(event.get("data"))
    assert pipeline.current_freight("production") != freight


def test_e_a_commit_that_makes_requests_800ms_slower_fails_the_load_test_with_its_p95(
    pipeline: Pipeline, originals: dict[str, str]
) -> None:
    slow = (
        originals[METRICS]
        .replace(
            "        started = time.perf_counter()\n",
            "        started = time.perf_counter()\n"
            '        if scope.get("path") not in ("/healthz", "/readyz", "/metrics"):\n'
            "            await asyncio.sleep(0.8)\n",
            1,
        )
        .replace("import time\n", "import asyncio\nimport time\n", 1)
    )
    assert "asyncio.sleep(0.8)" in slow
    freight, run, event = verify_bad_commit(
        pipeline, {**originals, METRICS: slow}, "e2e: every request 800 ms slower"
    )

    p95 = measurements(run)[("load-test", "response-time")]
    assert p95["phase"] == "Failed"
    measured = [m["value"] for m in p95["measurements"] if m.get("value") is not None]
    assert measured and max(measured) >= 700, measured
    text = event["message"] + json.dumps(event.get("data"))
    assert "response-time" in text
    # The event quotes the measured value in full; its integer part must be there.
    assert any(str(int(value)) in text for value in measured), (measured, text[:2000])
    assert pipeline.current_freight("production") != freight


def test_e2_aborting_a_deploy_stops_its_new_instances_and_the_stage_keeps_serving(
    pipeline: Pipeline, originals: dict[str, str]
) -> None:
    serving_before = httpx.get(f"{pipeline.url('development')}/version", timeout=5).json()
    commit = good_commit(pipeline, originals, "a change whose deploy is aborted")
    freight = pipeline.freight_for(commit)["metadata"]["name"]
    answer = pipeline.call(
        "POST",
        "/api/v1/projects/planning-poker/promotions",
        {"stage": "development", "freight": freight},
    )
    name = answer["metadata"]["name"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        steps = (
            pipeline.get("promotions", name).get("status", {}).get("stepExecutionMetadata") or []
        )
        if len(steps) == 3 and steps[2].get("status") == "Running":
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the deploy step never ran")
    time.sleep(0.5)  # let it start the new instance
    pipeline.call("POST", f"/api/v1/projects/planning-poker/promotions/{name}/abort")
    deadline = time.monotonic() + 60
    while pipeline.get("promotions", name)["status"]["phase"] != "Aborted":
        assert time.monotonic() < deadline, "the promotion was not aborted"
        time.sleep(0.5)

    stage = pipeline.call(
        "GET", "/api/v1/projects/planning-poker/stages/development?instances=true"
    )
    instances = stage["status"]["instances"]
    assert instances and all(i["state"] == "Serving" and i["healthy"] for i in instances), instances
    assert all(i["commit"] == serving_before["commit"] for i in instances), instances
    version = httpx.get(f"{pipeline.url('development')}/version", timeout=5).json()
    assert version["commit"] == serving_before["commit"]


def test_e3_a_build_that_cannot_start_fails_its_promotion_with_the_instance_log(
    pipeline: Pipeline, originals: dict[str, str]
) -> None:
    serving = httpx.get(f"{pipeline.url('development')}/version", timeout=5).json()["commit"]
    broken = originals[METRICS] + '\nraise SystemExit("e2e: this build refuses to start")\n'
    commit = pipeline.commit("e2e: an app that exits at start", {**originals, METRICS: broken})
    freight = pipeline.freight_for(commit)["metadata"]["name"]
    promotion = pipeline.promote("development", freight)
    assert promotion["status"]["phase"] == "Failed", promotion["status"]
    assert "exited before it became ready" in promotion["status"]["message"]
    assert "refuses to start" in promotion["status"]["message"]  # the instance's own log
    # Blue/green never switched: development still serves what it served.
    assert httpx.get(f"{pipeline.url('development')}/version", timeout=5).json()["commit"] == (
        serving
    )
    assert pipeline.current_freight("development") != freight


def test_e4_freight_naming_a_commit_that_does_not_exist_errors_its_promotion(
    pipeline: Pipeline,
) -> None:
    missing = "0" * 40
    ghost = f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {{name: e2e-ghost, namespace: planning-poker}}
alias: e2e-ghost
origin: {{kind: Warehouse, name: planning-poker}}
commits:
- repoURL: {pipeline.repo}
  id: "{missing}"
  branch: main
  message: a commit that is not in the repository
"""
    applied = httpx.post(
        f"{pipeline.engine_url}/api/v1/apply",
        content=ghost,
        headers={"Authorization": f"Bearer {pipeline.token}", "Content-Type": "application/yaml"},
    )
    assert applied.status_code == 200, applied.text
    promotion = pipeline.promote("development", "e2e-ghost")
    assert promotion["status"]["phase"] == "Errored", promotion["status"]
    assert missing[:12] in promotion["status"]["message"], promotion["status"]["message"]


def test_e5_verification_errors_while_the_checks_service_is_down(pipeline: Pipeline) -> None:
    checks = [
        pid
        for pid, argv in processes()
        if any(a.endswith("poker-checks") for a in argv) and str(pipeline.ports.checks) in argv
    ]
    assert len(checks) == 1, checks
    os.kill(checks[0], signal.SIGTERM)
    deadline = time.monotonic() + 20
    while port_open("127.0.0.1", pipeline.ports.checks):
        assert time.monotonic() < deadline, "the checks service did not stop"
        time.sleep(0.1)
    # Production's freight is good: verified again in development, it can only error, not fail.
    freight = pipeline.current_freight("production")
    assert freight is not None
    promotion = pipeline.promote("development", freight)
    assert promotion["status"]["phase"] == "Succeeded", promotion["status"]
    verdict = pipeline.verification("development", freight)
    assert verdict["phase"] == "Error", verdict
    run = pipeline.get("analysisruns", verdict["analysisRun"]["name"])
    errors = [m for m in run["status"]["metricResults"] if m["phase"] == "Error"]
    assert errors and "127.0.0.1" in json.dumps(errors), run["status"]


def test_f_the_webhook_receiver_got_every_event_type_each_webhook_id_once(
    pipeline: Pipeline,
) -> None:
    # Every type the engine emits, in this one run (docs/webhooks.md lists them).
    expected = {
        "freight.created",
        "promotion.created",
        "promotion.started",
        "promotion.succeeded",
        "promotion.failed",
        "promotion.errored",
        "promotion.aborted",
        "verification.succeeded",
        "verification.failed",
        "verification.errored",
        "smoke.completed",
        "security.findings",
        "loadtest.completed",
        "rollback.started",
        "rollback.succeeded",
    }
    # A delivery is queued a moment after the API shows its cause (e5's run ended in Error):
    # wait until every type was sent and none is pending, then check.
    deadline = time.monotonic() + 60
    while True:
        deliveries = pipeline.get("webhookdeliveries")
        pending = [d for d in deliveries if d["status"] != "Succeeded"]
        sent_all = expected <= {d["eventType"] for d in deliveries}
        if (not pending and sent_all) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert not pending, pending[:3]

    received = pipeline.deliveries()
    assert received and all(entry["verified"] for entry in received)
    sent_types = {d["eventType"] for d in deliveries}
    got_types = {entry["type"] for entry in received}
    assert expected <= sent_types, expected - sent_types
    assert sent_types <= got_types, sent_types - got_types
    assert "webhook.test" in got_types  # sent directly by `kargo test webhook local`

    ids = Counter(entry["webhookId"] for entry in received)
    duplicated = {webhook_id: n for webhook_id, n in ids.items() if n > 1}
    assert not duplicated, duplicated
    missing = {d["messageId"] for d in deliveries} - set(ids)
    assert not missing, missing
