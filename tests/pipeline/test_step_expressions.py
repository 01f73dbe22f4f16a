"""Kargo's step expression context: names, state-folder secrets and config maps, `if:`."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.steps.base import FreightCommit, StepContext
from kargo.steps.expressions import (
    ExpressionError,
    context_variables,
    evaluate_if,
    render,
    verification_scope,
)


def context(tmp_path: Path, **extra: object) -> StepContext:
    return StepContext(
        project="shop",
        stage="prod",
        promotion="prod.1.abc",
        freight="abc123",
        freight_alias="brave-otter",
        commits=[FreightCommit(repo_url="https://git.example/app.git", id="f00d", tag="v1.2.0")],
        work_dir=tmp_path / "work",
        state_dir=tmp_path,
        outputs={"t1::build": {"image": "app:1"}, "clone": {"path": "/src"}},
        vars={"repo": "https://git.example/app.git"},
        origin="app",
        actor="alice",
        alias="t1::deploy",
        step_statuses=[("clone", "Succeeded"), ("t1::build", "Succeeded")],
        **extra,  # type: ignore[arg-type]
    )


def test_the_context_is_shaped_as_kargos(tmp_path: Path) -> None:
    env = context_variables(context(tmp_path))
    assert env["ctx"]["targetFreight"] == {
        "name": "abc123",
        "alias": "brave-otter",
        "origin": {"name": "app"},
    }
    assert env["ctx"]["meta"] == {
        "promotion": {"actor": "alice", "rollback": False},
        "step": {"alias": "t1::deploy"},
    }
    assert env["task"] == {"outputs": {"build": {"image": "app:1"}}}


def test_config_reads_task_outputs_and_the_state_folders_secrets(tmp_path: Path) -> None:
    secret = tmp_path / "secrets" / "shop" / "slack"
    secret.mkdir(parents=True)
    (secret / "token").write_text("xoxb-1\n")
    config = {
        "image": "${{ task.outputs.build.image }}",
        "auth": "Bearer ${{ secret('slack').token }}",
        "missing": "${{ configMap('none').key }}",
        "tag": "${{ commitFrom(vars.repo).Tag }}",
        "next": "${{ semverParse(commitFrom(vars.repo).Tag).IncMinor().String() }}",
    }
    assert render(config, context(tmp_path)) == {
        "image": "app:1",
        "auth": "Bearer xoxb-1",
        "missing": "",
        "tag": "v1.2.0",
        "next": "1.3.0",
    }


def test_if_has_the_same_functions_as_config(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    assert evaluate_if("${{ success() && status('build') == 'Succeeded' }}", ctx) is True
    assert evaluate_if("${{ commitFrom(vars.repo).ID == 'other' }}", ctx) is False
    assert evaluate_if("always()", ctx) is True  # a bare expression is accepted too
    with pytest.raises(ExpressionError, match="if: .*must evaluate to a boolean, got 'app'"):
        evaluate_if("${{ ctx.targetFreight.origin.name }}", ctx)


def test_an_error_names_the_field_path_and_the_expression(tmp_path: Path) -> None:
    with pytest.raises(ExpressionError) as caught:
        render({"apps": [{"name": "${{ nope() }}"}]}, context(tmp_path))
    assert (
        str(caught.value)
        == "config.apps[0].name: ${{ nope() }}: unknown func nope (line 1, column 2)"
    )


def test_verification_scope_has_stage_context_vars_and_no_step_status(tmp_path: Path) -> None:
    env, functions = verification_scope(
        "shop", "prod", [("a", "x"), ("b", "${{ vars.a }}y")], [], tmp_path
    )
    assert env == {"ctx": {"project": "shop", "stage": "prod"}, "vars": {"a": "x", "b": "xy"}}
    assert "success" not in functions and "secret" in functions
