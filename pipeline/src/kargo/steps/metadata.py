"""Kargo's `set-metadata` and `set-freight-alias`: change the Stage or Freight a promotion sees.

Both write through the engine's resource writer (steps/resources.py), so they only run inside
an engine. `set-metadata` merges values into `status.metadata` (read by the `stageMetadata` and
`freightMetadata` functions); `set-freight-alias` renames a freight's alias, which must stay
unique within the project.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.resources import NoResourceReader, list_resources, update_resource

ALIAS_LABEL = "kargo.akuity.io/alias"
_ALIAS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class MetadataUpdate(StrictModel):
    """Metadata to merge into one Stage or Freight."""

    kind: Literal["Stage", "Freight"] = Field(description="Which kind of resource.")
    name: str = Field(min_length=1, description="The resource's name.")
    values: dict[str, Any] = Field(min_length=1, description="Keys and values to set.")


class SetMetadataConfig(StrictModel):
    """Config of `set-metadata`."""

    updates: list[MetadataUpdate] = Field(min_length=1, description="The updates.")


@register_step
class SetMetadataStep(CheckedStep[SetMetadataConfig]):
    """Merge key/value metadata into Stages' or Freight's `status.metadata`."""

    kind = "set-metadata"
    config_model = SetMetadataConfig

    async def execute(self, ctx: StepContext, config: SetMetadataConfig) -> StepResult:
        """Do the step's work."""
        for index, update in enumerate(config.updates):

            def merge(body: dict[str, Any], values: dict[str, Any] = update.values) -> None:
                status = body.setdefault("status", {})
                status["metadata"] = {**(status.get("metadata") or {}), **values}

            try:
                found = update_resource(update.kind, ctx.project, update.name, merge)
            except NoResourceReader as exc:
                raise StepErrored(self.kind, str(exc)) from exc
            if found is None:
                raise StepFailed(
                    self.kind, f"no {update.kind} named {update.name!r}", f"updates[{index}].name"
                )
        return StepResult(StepPhase.SUCCEEDED, f"set metadata on {len(config.updates)} resource(s)")


class SetFreightAliasConfig(StrictModel):
    """Config of `set-freight-alias`."""

    name: str = Field(min_length=1, description="The Freight's name.")
    alias: str = Field(min_length=1, max_length=63, description="Its new alias.")


@register_step
class SetFreightAliasStep(CheckedStep[SetFreightAliasConfig]):
    """Give a Freight a new alias (unique in the project)."""

    kind = "set-freight-alias"
    config_model = SetFreightAliasConfig

    async def execute(self, ctx: StepContext, config: SetFreightAliasConfig) -> StepResult:
        """Do the step's work."""
        if not _ALIAS.match(config.alias):
            raise StepFailed(
                self.kind, f"{config.alias!r} is not a valid alias (a DNS label)", "alias"
            )
        try:
            taken = {
                str(f.get("alias"))
                for f in list_resources("Freight", ctx.project)
                if f["metadata"]["name"] != config.name
            }
            if config.alias in taken:
                raise StepFailed(
                    self.kind, f"alias {config.alias!r} is taken in {ctx.project}", "alias"
                )

            def rename(body: dict[str, Any]) -> None:
                body["alias"] = config.alias
                body["metadata"].setdefault("labels", {})[ALIAS_LABEL] = config.alias

            found = update_resource("Freight", ctx.project, config.name, rename)
        except NoResourceReader as exc:
            raise StepErrored(self.kind, str(exc)) from exc
        if found is None:
            raise StepFailed(self.kind, f"no Freight named {config.name!r}", "name")
        if config.name == ctx.freight:
            ctx.freight_alias = config.alias
        return StepResult(StepPhase.SUCCEEDED, f"freight {config.name} is now {config.alias}")
