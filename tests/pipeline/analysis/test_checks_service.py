"""The repository's smoke-tests template against the real checks service (poker-checks serve)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from kargo.analysis.arguments import SecretResolver
from kargo.analysis.lines import load_analysis_templates
from kargo.analysis.runs import build_analysis_run, run_analysis
from kargo.model.analysis import AnalysisPhase, AnalysisRun

from tests.services import REPO_ROOT, VENV_BIN, free_port, running

CHECKS_TOKEN = "analysis-test-checks-token"
STAGE_URL = f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def checks_url() -> Iterator[str]:
    """The checks service on a free loopback port, allowed to test STAGE_URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(VENV_BIN / "poker-checks"), "serve", "--port", str(port)]
    env = {"POKER_CHECKS_TOKEN": CHECKS_TOKEN, "POKER_CHECKS_TARGETS": STAGE_URL}
    with running(argv, f"{url}/healthz", env=env):
        yield url


def run_smoke_template(
    checks_url: str, saved: list[AnalysisRun], resolve_secret: SecretResolver | None = None
) -> AnalysisRun:
    """The repository's smoke-tests template run against STAGE_URL (down) to its end."""
    templates = load_analysis_templates(REPO_ROOT / "kargo/analysis-templates/smoke-tests.yaml")
    run = build_analysis_run(
        name=f"development-{len(saved)}",
        templates=templates,
        stage="development",
        freight="f1",
        commit="c0ffee",
        args={"stage-url": STAGE_URL, "checks-url": checks_url},
    )

    async def save(updated: AnalysisRun) -> None:
        saved.append(updated.model_copy(deep=True))

    async def is_terminated() -> bool:
        return False

    secrets = {"resolve_secret": resolve_secret} if resolve_secret is not None else {}
    asyncio.run(run_analysis(run, templates, save=save, is_terminated=is_terminated, **secrets))
    return run


def test_smoke_tests_against_a_stage_that_is_down_fail_naming_the_failed_check(
    checks_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The template reads the token through its secret reference checks/token.
    monkeypatch.setenv("KARGO_SECRET_CHECKS_TOKEN", CHECKS_TOKEN)
    saved: list[AnalysisRun] = []
    run = run_smoke_template(checks_url, saved)
    assert run.status.phase is AnalysisPhase.FAILED, run.status.message
    assert "api-healthz" in (run.status.message or "")
    failed = [r for r in run.status.metric_results if r.phase is AnalysisPhase.FAILED]
    assert failed and all(r.measurements[-1].value is not None for r in failed)
    assert saved[-1].status.phase is AnalysisPhase.FAILED
    assert CHECKS_TOKEN not in saved[-1].model_dump_json()


def test_without_the_token_the_checks_service_refuses_the_measurement(checks_url: str) -> None:
    run = run_smoke_template(checks_url, [], resolve_secret=lambda ref: "not-the-token")
    assert run.status.phase is AnalysisPhase.ERROR, run.status.message
    assert "401" in (run.status.message or "")


def test_every_call_to_the_checks_service_sends_the_token_from_its_secret_reference() -> None:
    for path in sorted((REPO_ROOT / "kargo" / "analysis-templates").glob("*.yaml")):
        for template in load_analysis_templates(path):
            token = next(a for a in template.spec.args if a.name == "checks-token")
            assert token.value is None and token.value_from is not None, path.name
            ref = token.value_from.secret_key_ref
            assert (ref.name, ref.key) == ("checks", "token"), path.name
            for metric in template.spec.metrics:
                web = metric.provider.web
                if web is None or "checks-url" not in web.url:
                    continue
                headers = {h.key: h.value for h in web.headers}
                assert headers.get("Authorization") == "Bearer {{args.checks-token}}", (
                    path.name,
                    metric.name,
                )
