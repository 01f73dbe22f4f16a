"""The built-in steps against real processes and a real loopback HTTP server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from kargo.steps.base import FreightCommit, StepContext, StepPhase, StepResult
from kargo.steps.builtin import builtin_step_kinds
from kargo.steps.expressions import ExpressionError, render
from kargo.steps.fail import FailConfig, FailStep
from kargo.steps.http import HttpConfig, HttpStep
from kargo.steps.shell import ShellConfig, ShellStep

from tests.pipeline.harness import http_server


def context(tmp_path: Path) -> StepContext:
    return StepContext(
        project="shop",
        stage="dev",
        promotion="dev.1.abc",
        freight="abc123",
        freight_alias="brave-otter",
        commits=[FreightCommit(repo_url="/repo", id="f00d", message="fix")],
        work_dir=tmp_path / "work",
        state_dir=tmp_path,
        outputs={"build": {"image": "app:1"}},
        vars={"port": "8101"},
    )


def run_shell(tmp_path: Path, **config: Any) -> StepResult:
    return asyncio.run(ShellStep().run(context(tmp_path), ShellConfig(**config)))


def test_the_builtin_kinds_are_registered() -> None:
    assert builtin_step_kinds() == [
        "argocd-update",
        "argocd-wait",
        "compose-output",
        "copy",
        "delete",
        "fail",
        "file-write",
        "git-clear",
        "git-commit",
        "git-push",
        "git-tag",
        "helm-template",
        "helm-update-chart",
        "http",
        "http-download",
        "json-parse",
        "json-update",
        "kustomize-build",
        "kustomize-set-image",
        "noop",
        "set-freight-alias",
        "set-metadata",
        "shell",
        "tar",
        "toml-parse",
        "toml-update",
        "untar",
        "yaml-merge",
        "yaml-parse",
        "yaml-update",
    ]


def test_expressions_resolve_context_vars_outputs_and_commits(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    config = {
        "url": "http://127.0.0.1:${{ vars.port }}/${{ ctx.stage }}",
        "image": "${{ outputs.build.image }}",
        "commit": "${{ commitFrom('/repo').ID }}",
        "count": "${{ 1 + 2 }}",
        "list": ["${{ ctx.freightAlias }}"],
    }
    assert render(config, ctx) == {
        "url": "http://127.0.0.1:8101/dev",
        "image": "app:1",
        "commit": "f00d",
        "count": 3,
        "list": ["brave-otter"],
    }
    with pytest.raises(ExpressionError, match="cannot fetch key from <nil>"):
        render("${{ outputs.missing.key }}", ctx)


def test_shell_captures_output_and_fails_on_a_non_zero_exit(tmp_path: Path) -> None:
    ok = run_shell(tmp_path, command="echo hello $KARGO_STAGE")
    assert ok.phase is StepPhase.SUCCEEDED and ok.outputs == {"stdout": "hello dev", "exitCode": 0}
    bad = run_shell(tmp_path, command="echo boom; exit 4")
    assert bad.phase is StepPhase.FAILED and bad.message == "shell: exit code 4: boom"


def test_shell_errors_when_the_command_outlives_its_timeout(tmp_path: Path) -> None:
    result = run_shell(tmp_path, command="sleep 5", timeout="200ms")
    assert result.phase is StepPhase.ERRORED and "timed out after 200ms" in result.message


def test_http_judges_the_response_with_success_and_failure_expressions(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    with http_server() as base:

        def call(**config: Any) -> StepResult:
            return asyncio.run(HttpStep().run(ctx, HttpConfig(**config)))

        ok = call(url=f"{base}/ok", successExpression="response.body.ok == true",
                  outputs=[{"name": "ok", "fromExpression": "response.body.ok"}])  # fmt: skip
        failed = call(url=f"{base}/bad", failureExpression="response.body.ok == false")
        unexpected = call(url=f"{base}/broken")
        unreachable = call(url="http://127.0.0.1:9/", timeout="1s")
    assert ok.phase is StepPhase.SUCCEEDED and ok.outputs["ok"] is True
    assert failed.phase is StepPhase.FAILED and "failure expression" in failed.message
    assert unexpected.phase is StepPhase.FAILED and "unexpected status 500" in unexpected.message
    assert unreachable.phase is StepPhase.ERRORED


def test_fail_fails_with_its_message(tmp_path: Path) -> None:
    result = asyncio.run(FailStep().run(context(tmp_path), FailConfig(message="frozen")))
    assert result.phase is StepPhase.FAILED and result.message == "frozen"
