"""The rules Kargo's admission webhooks add to the CRD schemas, checked on each document.

Each rule follows `pkg/webhook/kubernetes` of Kargo v1.11: step aliases are unique and not
reserved (`step-<n>`, `task-<n>`); a stage requests each origin once; `MatchUpstream` needs one
upstream stage and no `direct`; a task step has no `if` and no `config`; a ProjectConfig is named
after its project and selects each stage name once. Steps' `uses` are checked against the
registry here too (Kargo finds an unknown step only when a promotion runs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from kargo.config.positions import Path, format_path
from kargo.config.stepkinds import step_kind_problem
from kargo.expr import ExprError, compile_expression
from kargo.expr.templates import TemplateError, check_template, has_expression

RESERVED_ALIAS = re.compile(r"^(step|task)-\d+$")
Problem = tuple[Path, str]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def step_problems(steps: list[Any], at: Path, *, allow_tasks: bool) -> Iterator[Problem]:
    """Duplicate or reserved aliases, task steps where none may be, unknown step kinds."""
    first: dict[str, int] = {}
    for index, raw in enumerate(steps):
        step = _dict(raw)
        here = (*at, index)
        alias = str(step.get("as") or "").strip()
        if alias:
            if alias in first:
                yield (
                    (*here, "as"),
                    f"step alias {alias!r} duplicates that of {format_path((*at, first[alias]))}",
                )
            else:
                first[alias] = index
            if RESERVED_ALIAS.match(alias):
                yield (*here, "as"), f"step alias {alias!r} is reserved (step-<n> and task-<n>)"
        if "task" in step:
            if not allow_tasks:
                yield (*here, "task"), "a task's steps run step kinds (`uses`), not other tasks"
            if step.get("if"):
                yield (*here, "if"), "a step referencing a task cannot have an 'if' condition"
            if "config" in step:
                yield (*here, "config"), "a step referencing a task cannot have a config"
        uses = step.get("uses")
        if isinstance(uses, str) and uses:
            problem = step_kind_problem(uses)
            if problem:
                yield (*here, "uses"), problem
        yield from _expression_problems(step, here)


def _expression_problems(value: Any, at: Path) -> Iterator[Problem]:
    """`${{ }}` templates anywhere under `value` that do not parse as expr."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _expression_problems(item, (*at, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _expression_problems(item, (*at, index))
    elif isinstance(value, str) and has_expression(value):
        try:
            check_template(value)
        except TemplateError as exc:
            yield at, f"not a valid expression: {exc}"


def _bare_expression(value: Any, at: Path) -> Iterator[Problem]:
    """A field that is one expr expression (no `${{ }}`) and does not parse."""
    if isinstance(value, str) and value.strip():
        try:
            compile_expression(value)
        except ExprError as exc:
            yield at, f"not a valid expression `{value.strip()}`: {exc.describe()}"


def _stage(data: dict[str, Any]) -> Iterator[Problem]:
    spec = _dict(data.get("spec"))
    requests = _list(spec.get("requestedFreight"))
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(requests):
        request = _dict(raw)
        origin = _dict(request.get("origin"))
        key = (str(origin.get("kind") or "Warehouse"), str(origin.get("name")))
        here: Path = ("spec", "requestedFreight", index)
        if key in seen:
            yield (
                (*here, "origin"),
                f"freight with origin {key[0]}/{key[1]} requested multiple times in "
                f"spec.requestedFreight (first at spec.requestedFreight[{seen[key]}])",
            )
        else:
            seen[key] = index
        sources = _dict(request.get("sources"))
        options = _dict(sources.get("autoPromotionOptions"))
        if options.get("selectionPolicy") == "MatchUpstream":
            where = (*here, "sources", "autoPromotionOptions", "selectionPolicy")
            if sources.get("direct"):
                yield (
                    where,
                    (
                        "selection policy 'MatchUpstream' cannot be used when accepting Freight "
                        "directly from its origin"
                    ),
                )
            if len(_list(sources.get("stages"))) != 1:
                yield (
                    where,
                    (
                        "selection policy 'MatchUpstream' requires exactly one upstream Stage "
                        "to be specified"
                    ),
                )
    template = _dict(_dict(spec.get("promotionTemplate")).get("spec"))
    yield from step_problems(
        _list(template.get("steps")),
        ("spec", "promotionTemplate", "spec", "steps"),
        allow_tasks=True,
    )
    yield from _expression_problems(
        _list(template.get("vars")), ("spec", "promotionTemplate", "spec", "vars")
    )
    yield from _expression_problems(_list(spec.get("vars")), ("spec", "vars"))
    verification = _dict(spec.get("verification"))
    yield from _expression_problems(
        _list(verification.get("args")), ("spec", "verification", "args")
    )


def _task(data: dict[str, Any]) -> Iterator[Problem]:
    steps = _list(_dict(data.get("spec")).get("steps"))
    yield from step_problems(steps, ("spec", "steps"), allow_tasks=False)
    yield from _expression_problems(_list(_dict(data.get("spec")).get("vars")), ("spec", "vars"))


def _warehouse(data: dict[str, Any]) -> Iterator[Problem]:
    spec = _dict(data.get("spec"))
    for index, raw in enumerate(_list(spec.get("subscriptions"))):
        git = _dict(_dict(raw).get("git"))
        at: Path = ("spec", "subscriptions", index, "git", "expressionFilter")
        yield from _bare_expression(git.get("expressionFilter"), at)
    criteria = _dict(spec.get("freightCreationCriteria")).get("expression")
    yield from _bare_expression(criteria, ("spec", "freightCreationCriteria", "expression"))


def _promotion(data: dict[str, Any]) -> Iterator[Problem]:
    steps = _list(_dict(data.get("spec")).get("steps"))
    yield from step_problems(steps, ("spec", "steps"), allow_tasks=False)


def _project_config(data: dict[str, Any]) -> Iterator[Problem]:
    meta = _dict(data.get("metadata"))
    if meta.get("name") != meta.get("namespace"):
        yield (
            ("metadata", "name"),
            f"name {meta.get('name')!r} must match project name {meta.get('namespace')!r}",
        )
    first: dict[str, int] = {}
    for index, raw in enumerate(_list(_dict(data.get("spec")).get("promotionPolicies"))):
        policy = _dict(raw)
        name = policy.get("stage") or _dict(policy.get("stageSelector")).get("name") or ""
        if not isinstance(name, str) or not name or ":" in name:
            continue
        if name in first:
            yield (
                ("spec", "promotionPolicies", index),
                f"stage name {name!r} already defined at spec.promotionPolicies[{first[name]}]",
            )
        else:
            first[name] = index


_RULES: dict[str, Callable[[dict[str, Any]], Iterator[Problem]]] = {
    "Stage": _stage,
    "Warehouse": _warehouse,
    "PromotionTask": _task,
    "ClusterPromotionTask": _task,
    "Promotion": _promotion,
    "ProjectConfig": _project_config,
}


def admission_problems(data: dict[str, Any]) -> list[Problem]:
    """What Kargo's webhooks would refuse in this document (already namespaced)."""
    rules = _RULES.get(str(data.get("kind")))
    return list(rules(data)) if rules else []
