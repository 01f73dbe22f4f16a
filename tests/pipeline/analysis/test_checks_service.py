"""The repository's smoke-tests template against the real checks service (poker-checks serve)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from kargo.analysis.lines import load_analysis_templates
from kargo.analysis.runs import build_analysis_run, run_analysis
from kargo.model.analysis import AnalysisPhase, AnalysisRun

from tests.services import REPO_ROOT, VENV_BIN, free_port, running


@pytest.fixture(scope="module")
def checks_url() -> Iterator[str]:
    """The checks service on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(VENV_BIN / "poker-checks"), "serve", "--port", str(port)]
    with running(argv, f"{url}/healthz"):
        yield url


def test_smoke_tests_against_a_stage_that_is_down_fail_naming_the_failed_check(
    checks_url: str,
) -> None:
    templates = load_analysis_templates(REPO_ROOT / "kargo/analysis-templates/smoke-tests.yaml")
    run = build_analysis_run(
        name="development-1",
        templates=templates,
        stage="development",
        freight="f1",
        commit="c0ffee",
        args={"stage-url": f"http://127.0.0.1:{free_port()}", "checks-url": checks_url},
    )
    saved: list[AnalysisRun] = []

    async def save(updated: AnalysisRun) -> None:
        saved.append(updated.model_copy(deep=True))

    async def is_terminated() -> bool:
        return False

    asyncio.run(run_analysis(run, templates, save=save, is_terminated=is_terminated))
    assert run.status.phase is AnalysisPhase.FAILED, run.status.message
    assert "api-healthz" in (run.status.message or "")
    failed = [r for r in run.status.metric_results if r.phase is AnalysisPhase.FAILED]
    assert failed and all(r.measurements[-1].value is not None for r in failed)
    assert saved[-1].status.phase is AnalysisPhase.FAILED
