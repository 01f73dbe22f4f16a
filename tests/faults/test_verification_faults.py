"""SIGKILL of the checks service during a verification, and of Prometheus during a metric query.

The stage's verification runs the repository's smoke-tests template (the checks service drives
the app) or a load-test metric read from Prometheus. The service is killed while the
AnalysisRun measures and is not brought back: the run must end in a clear phase (Error or Failed,
with a message naming the metric) within its error budget, never hang; the promotion and the
stage's serving are untouched, and a client loop through HAProxy sees no failed request.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pipeline_harness import process, processes, prometheus_config
from tests.faults.deploys import BLUE_GREEN, Deploying, deploying, wait_serving
from tests.faults.pipeline import PROJECT
from tests.pipeline.harness import wait_until
from tests.pipeline.runtime.support import Load
from tests.services import REPO_ROOT, VENV_BIN, free_port, require_binary

# No bug found here: they run under `make chaos`, not `make test`.
pytestmark = [pytest.mark.haproxy, pytest.mark.chaos]

SMOKE = (REPO_ROOT / "kargo" / "analysis-templates" / "smoke-tests.yaml").read_text()
LOAD_METRIC = f"""\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: load-metric, namespace: {PROJECT}}}
spec:
  args: [{{name: prometheus-url}}, {{name: stage}}]
  metrics:
  # load-test.yaml's memory-usage query (or 0 before the first scrape)
  - name: memory-usage
    provider:
      prometheus:
        address: "{{{{args.prometheus-url}}}}"
        query: >-
          max(process_resident_memory_bytes{{stage="{{{{args.stage}}}}"}}) / 1048576
          or vector(0)
        timeout: 5
    interval: 1s
    count: 30
    successCondition: result < 512
    consecutiveErrorLimit: 2
"""


def verification_of(stage: str, service_url: str, template: str, arg: str) -> str:
    """A stage's verification block running `template` with the service's URL as `arg`."""
    return (
        "  verification:\n"
        f"    analysisTemplates: [{{name: {template}}}]\n"
        "    args:\n"
        "    - {name: stage-url, value: 'http://127.0.0.1:STAGE_PORT'}\n"
        f"    - {{name: stage, value: {stage}}}\n"
        f"    - {{name: {arg}, value: '{service_url}'}}\n"
    )


def pid_of(marker: str) -> int:
    """The pid of the one process whose argv names `marker` (a path of this test)."""
    found = [pid for pid, argv in processes() if any(marker in part for part in argv)]
    assert len(found) == 1, found
    return found[0]


def runs(run: Deploying) -> list[dict[str, Any]]:
    """The project's AnalysisRuns."""
    return run.store.list("AnalysisRun", PROJECT)


def verify_under_fault(run: Deploying, kill: int, measured: int) -> tuple[dict[str, Any], str]:
    """Deploy, kill `kill` once the run took `measured` measurements; the run and a summary."""
    port = run.ports["blue"]
    name = run.promote("blue", run.freights[0])
    assert run.wait_ended(name)["status"]["phase"] == "Succeeded"
    wait_serving(port, run.commit(run.freights[0]))
    with Load(f"http://127.0.0.1:{port}/version") as load:
        wait_until(
            lambda: any(
                r.get("status", {}).get("phase") == "Running"
                and sum(len(m.get("measurements") or []) for m in r["status"]["metricResults"])
                >= measured
                for r in runs(run)
            ),
            timeout=90,
            what="the verification to measure",
        )
        os.kill(kill, signal.SIGKILL)
        started = time.monotonic()
        ended = wait_until(
            lambda: next(
                (
                    r
                    for r in runs(run)
                    if r.get("status", {}).get("phase") not in (None, "Pending", "Running")
                ),
                None,
            ),
            timeout=120,
            what="the AnalysisRun to end after the kill",
        )
        took = time.monotonic() - started
    status = ended["status"]
    summary = (
        f"run {status['phase']} {took:.1f}s after the kill: {status.get('message', '')[:200]}; "
        f"requests ok {load.report.ok} failed {load.report.failed}"
    )
    assert load.report.failed == 0, load.report.errors[:3]
    return ended, summary


def test_the_checks_service_killed_during_smoke_tests_ends_the_run_in_error_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    monkeypatch.setenv("KARGO_SECRETS_DIR", str(secrets))
    checks_port = free_port()
    checks_url = f"http://127.0.0.1:{checks_port}"
    smoke = SMOKE.replace("  name: smoke-tests\n", f"  name: smoke-tests\n  namespace: {PROJECT}\n")
    token = secrets / "checks" / "token"
    with ExitStack() as stack:
        verification = verification_of("blue", checks_url, "smoke-tests", "checks-url")
        run = stack.enter_context(
            deploying(tmp_path, {"blue": BLUE_GREEN}, 1, "---\n" + smoke, verification)
        )
        stack.enter_context(
            process(
                [str(VENV_BIN / "poker-checks"), "serve", "--port", str(checks_port)]
                + ["--token-file", str(token), "--create-token"]
                + ["--target", f"http://127.0.0.1:{run.ports['blue']}"],
                tmp_path,
                dict(os.environ),
                tmp_path / "checks.log",
                f"{checks_url}/healthz",
            )
        )
        ended, summary = verify_under_fault(run, pid_of(str(token)), measured=0)
        found = run.check()
    print(summary, dict(found.counts))
    assert ended["status"]["phase"] in ("Error", "Failed"), summary
    assert "smoke" in ended["status"].get("message", "") or any(
        m.get("message") for m in ended["status"]["metricResults"]
    ), summary
    assert found.total == 0, found.examples


def test_prometheus_killed_during_a_load_test_metric_ends_the_run_in_error_with_a_message(
    tmp_path: Path,
) -> None:
    binary = require_binary("prometheus")
    prometheus_port = free_port()
    url = f"http://127.0.0.1:{prometheus_port}"
    data = tmp_path / "prometheus"
    with ExitStack() as stack:
        verification = verification_of("blue", url, "load-metric", "prometheus-url")
        run = stack.enter_context(
            deploying(tmp_path, {"blue": BLUE_GREEN}, 1, "---\n" + LOAD_METRIC, verification)
        )
        stack.enter_context(
            process(
                [
                    binary,
                    f"--config.file={prometheus_config(tmp_path / 'prometheus.yml', run.state)}",
                    f"--storage.tsdb.path={data}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                ],
                tmp_path,
                dict(os.environ),
                tmp_path / "prometheus.log",
                f"{url}/-/ready",
            )
        )
        ended, summary = verify_under_fault(run, pid_of(str(data)), measured=2)
        found = run.check()
    shutil.rmtree(data, ignore_errors=True)
    print(summary, dict(found.counts))
    assert ended["status"]["phase"] in ("Error", "Failed"), summary
    assert ended["status"].get("message"), summary
    assert found.total == 0, found.examples
