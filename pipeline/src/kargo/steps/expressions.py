"""Kargo's `${{ ... }}` expressions in promotion steps, with Kargo's context and functions.

The language is expr (kargo.expr); a field holding expressions is read as Kargo reads it (see
kargo.expr.templates): `${{ 40 + 2 }}` is a number, `${{ quote(40 + 2) }}` a string.

Context: `ctx.project`, `ctx.stage`, `ctx.promotion`, `ctx.targetFreight.{name, alias,
origin.name}`, `ctx.meta.promotion.{actor, rollback}`, `ctx.meta.step.alias`, `vars`,
`outputs` (by step alias), `task.outputs` (inside a PromotionTask's steps). Functions: Kargo's
library (kargo.expr.library) with secrets and config maps read from the state folder:
`<state_dir>/secrets/<project>/<name>/<key>` and `<state_dir>/configmaps/<project>/<name>/<key>`
(one file per key). Errors are one line: the field, the expression and the cause.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kargo.expr import ExprError, compile_expression
from kargo.expr.library import FreightArtifacts, KargoData, kargo_functions, task_outputs
from kargo.expr.templates import TemplateError, evaluate_template, has_expression
from kargo.steps.base import StepContext
from kargo.steps.resources import NoResourceReader, read_resource


class ExpressionError(ValueError):
    """An expression could not be compiled or evaluated; the message is one line."""


def evaluate(
    expression: str,
    variables: Mapping[str, Any],
    functions: Mapping[str, Any] | None = None,
    *,
    strict: bool = False,
) -> Any:
    """One bare expr expression (as the http step's); unknown names are nil, as in Kargo."""
    try:
        return compile_expression(expression).run(variables, functions or {}, strict=strict)
    except ExprError as exc:
        raise ExpressionError(f"`{' '.join(expression.split())}`: {exc.describe()}") from None


def read_data_folder(folder: Path) -> dict[str, str]:
    """A secret's or config map's keys, one file each; empty when the folder does not exist."""
    if not folder.is_dir():
        return {}
    data: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file():
            data[path.name] = path.read_text(encoding="utf-8").removesuffix("\n")
    return data


def data_folder(state_dir: Path, kind: str, project: str, name: str) -> Path:
    """Where one secret (`kind` "secrets") or config map ("configmaps") lives on this machine."""
    if "/" in name or name in ("", ".", ".."):
        raise ExpressionError(f"invalid {kind[:-1]} name {name!r}")
    return state_dir / kind / project / name


def stored_metadata(kind: str, project: str, name: str) -> dict[str, Any] | None:
    """A stored Stage's or Freight's `status.metadata` (set-metadata), None when absent."""
    try:
        body = read_resource(kind, project, name)
    except NoResourceReader:
        return None
    return None if body is None else dict((body.get("status") or {}).get("metadata") or {})


def kargo_data(ctx: StepContext) -> KargoData:
    """What Kargo's functions read, for this step."""
    origin = ctx.origin
    commits = [
        {
            "repoURL": c.repo_url,
            "id": c.id,
            "branch": c.branch,
            "tag": c.tag,
            "message": c.message,
            "author": c.author,
        }
        for c in ctx.commits
    ]
    images = [{"repoURL": i.repo_url, "tag": i.tag, "digest": i.digest} for i in ctx.images]
    charts = [{"repoURL": c.repo_url, "name": c.name, "version": c.version} for c in ctx.charts]
    return KargoData(
        freight=(FreightArtifacts(origin, commits, images, charts),),
        secret=lambda name: read_data_folder(
            data_folder(ctx.state_dir, "secrets", ctx.project, name)
        ),
        config_map=lambda name: read_data_folder(
            data_folder(ctx.state_dir, "configmaps", ctx.project, name)
        ),
        freight_metadata=lambda name: stored_metadata("Freight", ctx.project, name),
        stage_metadata=lambda name: stored_metadata("Stage", ctx.project, name),
        step_statuses=tuple(ctx.step_statuses),
        current_alias=ctx.alias,
    )


def context_variables(ctx: StepContext) -> dict[str, Any]:
    """The variables an expression in a promotion step sees, shaped as Kargo's BuildExprEnv."""
    alias = ctx.alias
    env: dict[str, Any] = {
        "ctx": {
            "project": ctx.project,
            "stage": ctx.stage,
            "promotion": ctx.promotion,
            "targetFreight": {
                "name": ctx.freight,
                "alias": ctx.freight_alias,
                "origin": {"name": ctx.origin},
            },
            "meta": {
                "promotion": {"actor": ctx.actor, "rollback": ctx.is_rollback},
                "step": {"alias": alias},
            },
            # Kept from earlier versions of this engine; Kargo spells them targetFreight.*.
            "freight": ctx.freight,
            "freightAlias": ctx.freight_alias,
        },
        "vars": dict(ctx.vars),
        "outputs": {k: dict(v) for k, v in ctx.outputs.items()},
    }
    task = task_outputs(alias, env["outputs"])
    if task is not None:
        env["task"] = {"outputs": task}
    return env


def verification_scope(
    project: str,
    stage: str,
    stage_vars: Sequence[tuple[str, str]],
    freight: Sequence[FreightArtifacts],
    state_dir: Path | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The variables and functions of a stage's verification arguments, as Kargo builds them.

    `ctx` has only `project` and `stage`; `vars` are the stage's own, evaluated in order.
    """

    def folder(kind: str) -> Callable[[str], Mapping[str, str]]:
        if state_dir is None:
            return lambda _name: {}
        return lambda name: read_data_folder(data_folder(state_dir, kind, project, name))

    data = KargoData(freight=freight, secret=folder("secrets"), config_map=folder("configmaps"))
    functions = kargo_functions(data, with_status=False)
    variables: dict[str, Any] = {}
    env: dict[str, Any] = {"ctx": {"project": project, "stage": stage}, "vars": variables}
    for name, value in stage_vars:
        variables[name] = render_with(value, env, functions, f"vars.{name}")
    return env, functions


def step_functions(ctx: StepContext) -> dict[str, Any]:
    """Kargo's functions as a promotion step sees them (with success, failure, status)."""
    return kargo_functions(kargo_data(ctx))


def render(value: Any, ctx: StepContext, field: str = "config") -> Any:
    """Every `${{ }}` in a configuration value evaluated (through lists and maps; keys stay)."""
    return render_with(value, context_variables(ctx), step_functions(ctx), field)


def render_with(
    value: Any, env: Mapping[str, Any], functions: Mapping[str, Any], field: str
) -> Any:
    """`render` over a given environment and functions; errors name the field's path."""
    if isinstance(value, Mapping):
        return {k: render_with(v, env, functions, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render_with(v, env, functions, f"{field}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or not has_expression(value):
        return value
    try:
        return evaluate_template(value, env, functions)
    except TemplateError as exc:
        raise ExpressionError(f"{field}: {exc}") from None


def evaluate_if(condition: str, ctx: StepContext) -> bool:
    """A step's `if:` with the same variables and functions as its config; must be a bool.

    Kargo wants `${{ ... }}`; a bare expression is accepted too, as this engine always has.
    """
    text = condition if has_expression(condition) else "${{ " + condition + " }}"
    value = render(text, ctx, "if")
    if not isinstance(value, bool):
        raise ExpressionError(
            f"if: {condition.strip()}: expression must evaluate to a boolean, got {value!r}"
        )
    return value
