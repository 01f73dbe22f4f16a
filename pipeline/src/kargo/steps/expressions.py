"""Kargo-style `${{ ... }}` expressions in step configuration, evaluated as CEL.

Available: `ctx.project`, `ctx.stage`, `ctx.promotion`, `ctx.freight`, `ctx.freightAlias`,
`vars.<name>`, `outputs.<alias>.<key>` (or `outputs["alias-with-dashes"].key`), and
`commitFrom(repoURL)` returning `{ID, Branch, Tag, Message, Author, RepoURL}`.
"""

from __future__ import annotations

import re
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celtypes import BoolType
from celpy.evaluation import CELEvalError

from kargo.steps.base import StepContext

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    """An expression could not be compiled or evaluated."""


def from_cel(value: Any) -> Any:
    """A plain Python value from a CEL value."""
    if isinstance(value, BoolType):
        return bool(value)
    if isinstance(value, dict):
        return {str(from_cel(k)): from_cel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_cel(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def evaluate(
    expression: str, variables: dict[str, Any], functions: dict[str, Any] | None = None
) -> Any:
    """Evaluate one CEL expression over JSON-like variables."""
    env = celpy.Environment()
    try:
        program = env.program(env.compile(expression), functions=functions or {})
        result = program.evaluate({k: json_to_cel(v) for k, v in variables.items()})
    except Exception as exc:  # celpy raises several unrelated types
        raise ExpressionError(f"cannot evaluate `{expression.strip()}`: {exc}") from exc
    if isinstance(result, CELEvalError):
        raise ExpressionError(f"cannot evaluate `{expression.strip()}`: {result}")
    return from_cel(result)


def context_variables(ctx: StepContext) -> dict[str, Any]:
    """The variables an expression in a promotion step sees."""
    return {
        "ctx": {
            "project": ctx.project,
            "stage": ctx.stage,
            "promotion": ctx.promotion,
            "freight": ctx.freight,
            "freightAlias": ctx.freight_alias,
        },
        "vars": dict(ctx.vars),
        "outputs": {k: dict(v) for k, v in ctx.outputs.items()},
    }


def _functions(ctx: StepContext) -> dict[str, Any]:
    def commit_from(repo_url: Any = None) -> Any:
        for commit in ctx.commits:
            if repo_url is None or commit.repo_url == str(repo_url):
                return json_to_cel(
                    {
                        "ID": commit.id,
                        "Branch": commit.branch,
                        "Tag": commit.tag,
                        "Message": commit.message,
                        "Author": commit.author,
                        "RepoURL": commit.repo_url,
                    }
                )
        raise ExpressionError(f"the freight carries no commit from {repo_url!r}")

    return {"commitFrom": commit_from}


def render(value: Any, ctx: StepContext) -> Any:
    """Resolve every `${{ }}` in a configuration value (recursively through lists and maps)."""
    if isinstance(value, dict):
        return {k: render(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, ctx) for v in value]
    if not isinstance(value, str) or "${{" not in value:
        return value
    variables = context_variables(ctx)
    functions = _functions(ctx)
    whole = _EXPRESSION.fullmatch(value.strip())
    if whole is not None:
        return evaluate(whole.group(1), variables, functions)
    return _EXPRESSION.sub(lambda m: _text(evaluate(m.group(1), variables, functions)), value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
