"""The step reference (docs/steps.md) rendered from the registered step kinds' models.

Each kind's section lists its config fields (with their path, type, whether required, default
and description, all read from the pydantic model) and its outputs (the kind's `outputs`).
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from kargo.steps.base import Step

HEADER = """\
# Promotion step reference

Generated from the step models by `scripts/step_reference.py`; do not edit by hand
(`tests/pipeline/steps/test_reference.py` fails when this file is out of date).
Field paths use Kargo's notation: `a.b` for a nested field, `a[].b` for a field of each item.
A step that cannot finish reports **Failed** when the change is wrong (the promotion fails) or
**Errored** when something technical broke (the promotion errors, after `retry.errorThreshold`).
"""


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in args)
    if origin is list:
        return f"[]{_type_name(args[0])}" if args else "[]any"
    if origin is dict:
        return f"map[{_type_name(args[0])}]{_type_name(args[1])}" if len(args) == 2 else "map"
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(annotation))
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "object"
        if issubclass(annotation, enum.Enum):
            return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
        return {"str": "string", "int": "int", "bool": "boolean", "float": "number"}.get(
            annotation.__name__, annotation.__name__
        )
    return "any"


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return ""
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    else:
        value = info.default
    if value is None or value is PydanticUndefined or value in ([], {}, ""):
        return ""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return f"`{value}`"


def field_rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str, str]]:
    """(path, type, required, default, description) of every field, nested ones flattened."""
    rows = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}{key}"
        annotation = info.annotation
        rows.append(
            (
                f"`{path}`",
                _type_name(annotation),
                "Y" if info.is_required() else "N",
                _default(info),
                (info.description or "").replace("|", "\\|"),
            )
        )
        nested = _model_of(annotation)
        if nested is not None:
            many = typing.get_origin(annotation) is list or any(
                typing.get_origin(a) is list for a in typing.get_args(annotation)
            )
            rows.extend(field_rows(nested, f"{path}[]." if many else f"{path}."))
    return rows


def section(kind: str, step: type[Step[Any]]) -> str:
    """One step kind's section."""
    summary = (step.__doc__ or "").strip().splitlines()[0] if step.__doc__ else ""
    lines = [f"## `{kind}`", "", summary, "", "| Field | Type | Required | Default | Description |"]
    lines.append("|---|---|---|---|---|")
    rows = field_rows(step.config_model)
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if not rows:
        lines.append("| (none) | | | | |")
    lines.append("")
    if step.outputs:
        lines += ["| Output | Description |", "|---|---|"]
        lines += [f"| `{n}` | {d} |" for n, d in step.outputs.items()]
    else:
        lines.append("No outputs.")
    lines.append("")
    return "\n".join(lines)


def render_reference(kinds: dict[str, type[Step[Any]]]) -> str:
    """The whole reference, kinds in name order."""
    index = ", ".join(f"[`{k}`](#{k})" for k in sorted(kinds))
    parts = [HEADER, f"Step kinds: {index}.", ""]
    parts += [section(k, kinds[k]) for k in sorted(kinds)]
    return "\n".join(parts).rstrip() + "\n"
