"""Kargo's `kustomize-set-image`: set image tags or digests in a `kustomization.yaml`.

Equivalent to `kustomize edit set image`, without the binary: the `images` list is merged (an
entry is matched by `name`; `*` keeps a field's current value, as kustomize's preserve mark),
sorted by name as Kargo writes it, and the rest of the file (comments, order) is kept. With no
`images`, every image the freight carries is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored
from kargo.steps.workspace import existing_folder
from kargo.steps.yamlfiles import load_yaml, write_yaml

KIND = "kustomize-set-image"
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
PRESERVE = "*"
_FIELDS = ("name", "newName", "newTag", "digest")


class ImageUpdate(StrictModel):
    """One image to point at a new revision."""

    image: str = Field(min_length=1, description="The image's name or URL as the file has it.")
    name: str | None = Field(default=None, description="The entry's name, when not `image`.")
    new_name: str | None = Field(default=None, description="A replacement name or URL.")
    tag: str | None = Field(default=None, description="The tag to use (excludes digest).")
    digest: str | None = Field(default=None, description="The digest to use (excludes tag).")

    @model_validator(mode="after")
    def _tag_or_digest(self) -> ImageUpdate:
        if self.tag and self.digest:
            raise ValueError("set tag or digest, not both")
        return self


class KustomizeSetImageConfig(StrictModel):
    """Config of `kustomize-set-image`."""

    path: str = Field(min_length=1, description="The folder holding the kustomization file.")
    images: list[ImageUpdate] = Field(
        default_factory=list, description="Images to set (default: the freight's images)."
    )


def kustomization_file(folder: Path, path: str) -> Path:
    """The one kustomization file in a folder."""
    found = [folder / n for n in KUSTOMIZATION_NAMES if (folder / n).is_file()]
    if not found:
        raise StepErrored(KIND, f"no kustomization file in {path!r}", "path")
    if len(found) > 1:
        names = ", ".join(f.name for f in found)
        raise StepErrored(KIND, f"several kustomization files in {path!r}: {names}", "path")
    return found[0]


def _targets(ctx: StepContext, config: KustomizeSetImageConfig) -> dict[str, dict[str, str]]:
    targets: dict[str, dict[str, str]] = {}
    if config.images:
        for image in config.images:
            name = image.name or image.image
            entry = {"name": name}
            if image.new_name:
                entry["newName"] = image.new_name
            if image.digest:
                entry["digest"] = image.digest
            elif image.tag:
                entry["newTag"] = image.tag
            targets[name] = entry
        return targets
    repos = [i.repo_url for i in ctx.images]
    if len(set(repos)) != len(repos):
        raise StepErrored(KIND, "the freight carries one image twice; list images", "images")
    for carried in ctx.images:
        entry = {"name": carried.repo_url}
        if carried.digest and not carried.tag:
            entry["digest"] = carried.digest
        else:
            entry["newTag"] = carried.tag
        targets[carried.repo_url] = entry
    return targets


def merge_images(current: list[Any], targets: dict[str, dict[str, str]]) -> CommentedSeq:
    """The new `images` list, sorted by name: a targeted entry is replaced (Kargo's merge)."""
    merged: dict[str, CommentedMap] = {}
    for item in current:
        if isinstance(item, dict) and "name" in item:
            merged[str(item["name"])] = (
                item if isinstance(item, CommentedMap) else CommentedMap(item)
            )
    for name, target in targets.items():
        previous = dict(merged.get(name, {}))
        fresh = CommentedMap()
        for key in _FIELDS:
            value = target.get(key)
            if value == PRESERVE:
                value = previous.get(key)
            if value:
                fresh[key] = value
        merged[name] = fresh
    result = CommentedSeq()
    for name in sorted(merged):
        result.append(merged[name])
    return result


def commit_message(path: str, targets: dict[str, dict[str, str]]) -> str:
    """Kargo's message: `Updated <path> to use new image(s)`, a line per image in the file.

    Kargo builds it from the merged image map, so untouched images of the file are listed too.
    """
    if not targets:
        return ""
    plural = "s" if len(targets) > 1 else ""
    lines = [f"Updated {path} to use new image{plural}", ""]
    for name in sorted(targets):
        target = targets[name]
        ref = target.get("newName") or target["name"]
        if target.get("newTag"):
            ref += f":{target['newTag']}"
        if target.get("digest"):
            ref += f"@{target['digest']}"
        lines.append(f"- {ref}")
    return "\n".join(lines)


@register_step
class KustomizeSetImageStep(CheckedStep[KustomizeSetImageConfig]):
    """Point a kustomization's images at new tags or digests."""

    kind = KIND
    config_model = KustomizeSetImageConfig
    outputs = {"commitMessage": "a description of the change, for git-commit"}

    async def execute(self, ctx: StepContext, config: KustomizeSetImageConfig) -> StepResult:
        """Do the step's work."""
        folder = existing_folder(ctx.work_dir, config.path, KIND)
        file = kustomization_file(folder, config.path)
        document, yaml = load_yaml(file, KIND)
        if not isinstance(document, dict):
            raise StepErrored(KIND, f"{file.name} is not a mapping", "path")
        current = document.get("images") or []
        if not isinstance(current, list):
            raise StepErrored(KIND, f"{file.name}: images is not a list", "path")
        targets = _targets(ctx, config)
        merged = merge_images(current, targets)
        document["images"] = merged
        write_yaml(file, document, yaml, KIND)
        listed = {str(e["name"]): {str(k): str(v) for k, v in e.items()} for e in merged}
        message = commit_message(config.path, listed if targets else {})
        for line in message.splitlines()[2:]:
            await ctx.emit(f"kustomize-set-image: {line[2:]}")
        return StepResult(
            StepPhase.SUCCEEDED,
            f"set {len(targets)} image(s) in {config.path}",
            {"commitMessage": message} if message else {},
        )
