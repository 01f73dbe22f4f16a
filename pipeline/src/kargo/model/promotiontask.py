"""PromotionTask and ClusterPromotionTask: reusable steps a Stage runs as `task: {name, kind}`.

A promotion is built with its task steps inflated, as Kargo's `InflateSteps` does: a task step
with alias A (its `as`, else `task-<n>`) becomes the task's steps, each aliased `A::<alias>`
(`as`, else `step-<n>`), each carrying the task's variables first: a default, or the value the
stage's step gives; a variable with no default and no value refuses the promotion. Inside the
task, `task.outputs.<alias>` reads the outputs of the task's own earlier steps
(`kargo.expr.library.task_outputs`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field

from kargo.model.base import EmptyStatus, Resource, StrictModel
from kargo.model.common import ExpressionVar
from kargo.model.stage import PromotionStepSpec, PromotionTaskReference

ALIAS_SEPARATOR = "::"


class PromotionTaskSpec(StrictModel):
    """The task's variables (a value is a default; none means required) and its steps."""

    vars: list[ExpressionVar] = Field(default_factory=list)
    steps: list[PromotionStepSpec] = Field(min_length=1)


class PromotionTask(Resource[PromotionTaskSpec, EmptyStatus]):
    """Steps shared by the stages of one project."""

    kind: Literal["PromotionTask"] = "PromotionTask"
    status: EmptyStatus = Field(default_factory=EmptyStatus)


class ClusterPromotionTask(Resource[PromotionTaskSpec, EmptyStatus]):
    """Steps shared by every project (cluster-scoped: it belongs to no project)."""

    kind: Literal["ClusterPromotionTask"] = "ClusterPromotionTask"
    status: EmptyStatus = Field(default_factory=EmptyStatus)


class TaskInflationError(ValueError):
    """A task step cannot be inflated (missing task, missing variable)."""


TaskLookup = Callable[[PromotionTaskReference], PromotionTaskSpec | None]
"""Find a task's spec by reference (a PromotionTask in the project or a ClusterPromotionTask)."""


def kargo_alias(step: PromotionStepSpec, index: int) -> str:
    """The alias Kargo gives the step at `index` (0-based): `as`, `task-<n>` or `step-<n>`."""
    if step.as_:
        return step.as_
    return f"task-{index + 1}" if step.task is not None else f"step-{index + 1}"


def _task_vars(
    task: PromotionTaskSpec, promotion_vars: list[ExpressionVar], step_vars: list[ExpressionVar]
) -> list[ExpressionVar]:
    set_on_promotion = {v.name for v in promotion_vars if v.value != ""}
    given = {v.name for v in step_vars if v.value != ""}
    inflated: list[ExpressionVar] = []
    for var in task.vars:
        if var.name in set_on_promotion:
            continue
        if var.value != "":
            inflated.append(var)
        elif var.name not in given:
            raise TaskInflationError(f"missing value for variable {var.name!r}")
    return [*inflated, *step_vars]


def inflate_steps(
    steps: list[PromotionStepSpec], promotion_vars: list[ExpressionVar], lookup: TaskLookup
) -> list[PromotionStepSpec]:
    """The steps with every task step replaced by the task's steps, aliased as Kargo does."""
    inflated: list[PromotionStepSpec] = []
    for index, step in enumerate(steps):
        if step.task is None:
            inflated.append(step)
            continue
        alias = kargo_alias(step, index)
        task = lookup(step.task)
        if task is None:
            raise TaskInflationError(
                f"step {alias!r}: {step.task.kind} {step.task.name!r} is not defined"
            )
        try:
            variables = _task_vars(task, promotion_vars, step.vars)
        except TaskInflationError as exc:
            raise TaskInflationError(
                f"inflate task steps for task {step.task.name!r} ({alias!r}): {exc}"
            ) from exc
        for inner_index, inner in enumerate(task.steps):
            inflated.append(
                inner.model_copy(
                    update={
                        "as_": f"{alias}{ALIAS_SEPARATOR}{kargo_alias(inner, inner_index)}",
                        "vars": [*variables, *inner.vars],
                    }
                )
            )
    return inflated
