"""Freight: an immutable set of artifacts (commits, images, charts) that moves through stages."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from kargo.model.base import API_VERSION, Named, ObjectMeta, StrictModel
from kargo.model.common import FreightOrigin

_ADJECTIVES = (
    "amber", "brave", "calm", "clever", "daring", "eager", "fancy", "gentle", "happy", "jolly",
    "keen", "lively", "mighty", "nimble", "proud", "quick", "quiet", "rapid", "shiny", "silly",
    "smart", "snowy", "sunny", "swift", "tidy", "vivid", "wise", "witty", "zany", "zesty",
)  # fmt: skip
_ANIMALS = (
    "badger", "beaver", "bison", "camel", "cheetah", "coyote", "dolphin", "falcon", "ferret",
    "gecko", "heron", "ibis", "jaguar", "koala", "lemur", "llama", "lynx", "marmot", "moose",
    "narwhal", "otter", "panda", "puffin", "quokka", "raven", "salmon", "tapir", "walrus", "yak",
    "zebra",
)  # fmt: skip


class GitCommit(StrictModel):
    """A git commit carried by freight."""

    repo_url: str = Field(alias="repoURL")
    id: str
    branch: str = ""
    tag: str = ""
    message: str = ""
    author: str = ""
    committer: str = ""


class Image(StrictModel):
    """A container image carried by freight (Kargo's `images[]`)."""

    repo_url: str = Field(alias="repoURL")
    tag: str = ""
    digest: str = ""
    annotations: dict[str, str] = Field(default_factory=dict)


class Chart(StrictModel):
    """A Helm chart carried by freight (Kargo's `charts[]`)."""

    repo_url: str = Field(alias="repoURL")
    name: str = ""
    version: str = ""


class StageRef(StrictModel):
    """An empty marker value in Kargo's `currentlyIn`/`verifiedIn`/`approvedFor` maps."""


class VerifiedStage(StrictModel):
    """When freight was verified in a stage (the soak time counts from here)."""

    verified_at: datetime | None = None
    long_term_verified_at: datetime | None = None


class CurrentStage(StrictModel):
    """Since when freight has been in a stage."""

    since: datetime | None = None


class FreightStatus(StrictModel):
    """Where the freight is, where it was verified and where it is approved."""

    currently_in: dict[str, CurrentStage] = Field(default_factory=dict)
    verified_in: dict[str, VerifiedStage] = Field(default_factory=dict)
    approved_for: dict[str, StageRef] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)  # set by the set-metadata step


class Freight(StrictModel, Named):
    """Freight, shaped as in Kargo: artifacts at the top level, no spec, named by their sha1."""

    api_version: str = API_VERSION
    kind: Literal["Freight"] = "Freight"
    metadata: ObjectMeta
    alias: str = ""
    origin: FreightOrigin
    commits: list[GitCommit] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    charts: list[Chart] = Field(default_factory=list)
    discovered_at: datetime | None = None
    status: FreightStatus = Field(default_factory=FreightStatus)

    def is_verified_in(self, stage: str) -> bool:
        """Whether the freight passed verification in the stage."""
        return stage in self.status.verified_in


def freight_name(
    origin: FreightOrigin,
    commits: list[GitCommit],
    images: list[Image] | None = None,
    charts: list[Chart] | None = None,
) -> str:
    """The freight's name: the sha1 of its origin and artifact set, so equal sets share a name."""
    artifacts = sorted((c.repo_url, c.id) for c in commits)
    content: dict[str, object] = {"origin": origin.name, "commits": artifacts}
    if images:
        content["images"] = sorted((i.repo_url, i.tag, i.digest) for i in images)
    if charts:
        content["charts"] = sorted((c.repo_url, c.name, c.version) for c in charts)
    payload = json.dumps(content, sort_keys=True)
    return hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()


def freight_alias(name: str, taken: set[str]) -> str:
    """A memorable adjective-animal alias derived from the name, unique within `taken`."""
    rng = random.Random(name)
    for _ in range(50):
        alias = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_ANIMALS)}"
        if alias not in taken:
            return alias
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_ANIMALS)}-{name[:6]}"
