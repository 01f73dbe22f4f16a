"""Kargo's `yaml-update`: set scalar values at key paths in a YAML file, in place.

The file is edited round-trip: comments, key order and each value's quoting style are kept.
As Kargo documents, only scalars are written and only keys that exist are updated.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.keypaths import KeyPathError, get_value, set_value, split_key
from kargo.steps.workspace import existing_file
from kargo.steps.yamlfiles import load_yaml, write_yaml

KIND = "yaml-update"
Scalar = str | int | float | bool | None


class YamlUpdate(StrictModel):
    """One key to set."""

    key: str = Field(min_length=1, description="Dotted key path (`image.tag`, `a\\.b`, `list.0`).")
    value: Any = Field(description="The new scalar value (string, number or boolean).")


class YamlUpdateConfig(StrictModel):
    """Config of `yaml-update`."""

    path: str = Field(min_length=1, description="The YAML file to update.")
    updates: list[YamlUpdate] = Field(min_length=1, description="The keys to set.")


def quote_if_necessary(value: Any) -> str:
    """A value as the commit message shows it: strings YAML would read otherwise are quoted."""
    if isinstance(value, str):
        if value == "" or value.lower() in ("true", "false", "null", "yes", "no", "~"):
            return json.dumps(value)
        try:
            float(value)
        except ValueError:
            return value
        return json.dumps(value)
    return json.dumps(value)


def _styled(old: Any, new: Any) -> Any:
    """The new value in the old value's quoting style."""
    if isinstance(new, str):
        if isinstance(old, DoubleQuotedScalarString):
            return DoubleQuotedScalarString(new)
        if isinstance(old, SingleQuotedScalarString):
            return SingleQuotedScalarString(new)
    return new


def apply_updates(document: Any, updates: list[YamlUpdate], kind: str) -> None:
    """Set each update's key (which must exist) to its scalar value."""
    for index, update in enumerate(updates):
        field = f"updates[{index}]"
        if not isinstance(update.value, Scalar):
            raise StepFailed(kind, "expected a string, number or boolean", f"{field}.value")
        try:
            split_key(update.key)
            old = get_value(document, update.key)
        except KeyPathError as exc:
            raise StepErrored(kind, f"key not found: {exc}", f"{field}.key") from exc
        if isinstance(old, dict | list):
            raise StepFailed(
                kind, f"{update.key!r} holds a mapping or list, not a scalar", f"{field}.key"
            )
        set_value(document, update.key, _styled(old, update.value))


@register_step
class YamlUpdateStep(CheckedStep[YamlUpdateConfig]):
    """Update scalar values in a YAML file, keeping its comments and layout."""

    kind = KIND
    config_model = YamlUpdateConfig
    outputs = {"commitMessage": "a description of the change, for git-commit"}

    async def execute(self, ctx: StepContext, config: YamlUpdateConfig) -> StepResult:
        """Do the step's work."""
        file = existing_file(ctx.work_dir, config.path, KIND)
        document, yaml = load_yaml(file, KIND)
        apply_updates(document, config.updates, KIND)
        write_yaml(file, document, yaml, KIND)
        lines = [f"Updated {config.path}", ""]
        lines += [f"- {u.key}: {quote_if_necessary(u.value)}" for u in config.updates]
        return StepResult(
            StepPhase.SUCCEEDED,
            f"updated {len(config.updates)} key(s) in {config.path}",
            {"commitMessage": "\n".join(lines)},
        )
