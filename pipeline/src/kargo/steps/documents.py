"""Kargo's structured-file steps: `json-update`, `toml-update`, and the `*-parse` steps.

Updates use the key paths of `yaml-update` and keep the file's layout where the format allows
(TOML through tomlkit keeps comments and order; JSON keeps key order and its indentation).
`json-parse`, `yaml-parse` and `toml-parse` evaluate each `fromExpression` over the parsed
document (its top-level keys are the expression's variables) and return the named outputs.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import tomlkit
import yaml
from pydantic import Field
from tomlkit.exceptions import TOMLKitError

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.expressions import ExpressionError, evaluate
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.keypaths import KeyPathError, set_value
from kargo.steps.workspace import existing_file
from kargo.steps.yaml_update import YamlUpdate, quote_if_necessary


class DocumentUpdateConfig(StrictModel):
    """Config of `json-update` and `toml-update`."""

    path: str = Field(min_length=1, description="The file to update.")
    updates: list[YamlUpdate] = Field(min_length=1, description="The keys to set.")


def _updates_message(path: str, updates: list[YamlUpdate]) -> str:
    lines = [f"Updated {path}", ""]
    return "\n".join(lines + [f"- {u.key}: {quote_if_necessary(u.value)}" for u in updates])


def _set_all(document: Any, updates: list[YamlUpdate], kind: str, table: Any = dict) -> None:
    for index, update in enumerate(updates):
        if not isinstance(update.value, str | int | float | bool) and update.value is not None:
            raise StepFailed(
                kind, "expected a string, number or boolean", f"updates[{index}].value"
            )
        try:
            set_value(document, update.key, update.value, table)
        except KeyPathError as exc:
            raise StepErrored(kind, str(exc), f"updates[{index}].key") from exc


def _json_indent(text: str) -> int:
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" ")
        if stripped:
            return len(line) - len(stripped) or 2
    return 2


class _DocumentUpdateStep(CheckedStep[DocumentUpdateConfig]):
    """Set values at key paths in a structured file, written back in its own layout."""

    config_model = DocumentUpdateConfig
    outputs = {"commitMessage": "a description of the change, for git-commit"}
    format_name: ClassVar[str]

    def load(self, text: str) -> Any:
        """The parsed document (raises ValueError when the text is not of the format)."""
        raise NotImplementedError

    def dump(self, document: Any, original: str) -> str:
        """The document as text, in the original's layout."""
        raise NotImplementedError

    def new_table(self) -> Any:
        """A mapping to create on the way to a new key."""
        return {}

    async def execute(self, ctx: StepContext, config: DocumentUpdateConfig) -> StepResult:
        """Do the step's work."""
        file = existing_file(ctx.work_dir, config.path, self.kind)
        text = file.read_text(encoding="utf-8")
        try:
            document = self.load(text)
        except ValueError as exc:
            raise StepErrored(
                self.kind, f"{config.path} is not valid {self.format_name}: {exc}", "path"
            ) from exc
        _set_all(document, config.updates, self.kind, self.new_table)
        file.write_text(self.dump(document, text), encoding="utf-8")
        return StepResult(
            StepPhase.SUCCEEDED,
            f"updated {len(config.updates)} key(s)",
            {"commitMessage": _updates_message(config.path, config.updates)},
        )


@register_step
class JsonUpdateStep(_DocumentUpdateStep):
    """Set values at key paths in a JSON file (key order and indentation kept)."""

    kind = "json-update"
    format_name = "JSON"

    def load(self, text: str) -> Any:
        """Parse JSON."""
        return json.loads(text)

    def dump(self, document: Any, original: str) -> str:
        """JSON with the original's indentation."""
        return json.dumps(document, indent=_json_indent(original)) + "\n"


@register_step
class TomlUpdateStep(_DocumentUpdateStep):
    """Set values at key paths in a TOML file (comments and order kept)."""

    kind = "toml-update"
    format_name = "TOML"

    def load(self, text: str) -> Any:
        """Parse TOML round-trip."""
        try:
            return tomlkit.parse(text)
        except TOMLKitError as exc:
            raise ValueError(str(exc)) from exc

    def dump(self, document: Any, original: str) -> str:
        """TOML as tomlkit keeps it."""
        return tomlkit.dumps(document)

    def new_table(self) -> Any:
        """A TOML table."""
        return tomlkit.table()


class ParseOutput(StrictModel):
    """One output computed from the parsed document."""

    name: str = Field(min_length=1, description="The output's name.")
    from_expression: str = Field(min_length=1, description="An expression over the document.")


class ParseConfig(StrictModel):
    """Config of `json-parse`, `yaml-parse` and `toml-parse`."""

    path: str = Field(min_length=1, description="The file to parse.")
    outputs: list[ParseOutput] = Field(min_length=1, description="Values to extract.")


def _parsed(kind: str, file: Path, path: str) -> Any:
    text = file.read_text(encoding="utf-8")
    try:
        if kind == "json-parse":
            return json.loads(text)
        if kind == "toml-parse":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        what = kind.split("-")[0].upper()
        raise StepErrored(kind, f"{path} is not valid {what}: {exc}", "path") from exc


class _ParseStep(CheckedStep[ParseConfig]):
    """Extract values from a structured file with expressions."""

    config_model = ParseConfig
    outputs = {"<name>": "each output's value"}

    async def execute(self, ctx: StepContext, config: ParseConfig) -> StepResult:
        """Do the step's work."""
        file = existing_file(ctx.work_dir, config.path, self.kind)
        document = _parsed(self.kind, file, config.path)
        variables = dict(document) if isinstance(document, dict) else {"document": document}
        found: dict[str, Any] = {}
        for index, output in enumerate(config.outputs):
            try:
                found[output.name] = evaluate(output.from_expression, variables)
            except ExpressionError as exc:
                raise StepFailed(self.kind, str(exc), f"outputs[{index}].fromExpression") from exc
        return StepResult(StepPhase.SUCCEEDED, f"extracted {len(found)} value(s)", found)


@register_step
class JsonParseStep(_ParseStep):
    """Extract values from a JSON file with expressions."""

    kind = "json-parse"


@register_step
class YamlParseStep(_ParseStep):
    """Extract values from a YAML file with expressions."""

    kind = "yaml-parse"


@register_step
class TomlParseStep(_ParseStep):
    """Extract values from a TOML file with expressions."""

    kind = "toml-parse"
