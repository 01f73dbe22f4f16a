"""The step framework's contract: what a promotion step is given and what it returns.

A step kind is a class with a `kind` name (as in Kargo: `git-clone`, `http`, `shell`...), a typed
`Config` model, and an async `run`. Steps must be idempotent: after an engine crash the engine runs
the interrupted step again with the same context, and the step must converge (adopt what it finds
instead of duplicating it).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from kargo.model.base import StrictModel


class StepPhase(enum.StrEnum):
    """Outcome of one step run."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"  # the change is bad: the promotion fails
    ERRORED = "Errored"  # something technical broke: the promotion errors
    RUNNING = "Running"  # not finished; the engine calls run() again after `retry_after` seconds

    def is_terminal(self) -> bool:
        """Whether the step has finished."""
        return self is not StepPhase.RUNNING


@dataclass(frozen=True)
class FreightCommit:
    """The git commit a freight carries."""

    repo_url: str
    id: str
    branch: str = ""
    tag: str = ""
    message: str = ""
    author: str = ""


@dataclass(frozen=True)
class FreightImage:
    """A container image a freight carries."""

    repo_url: str
    tag: str = ""
    digest: str = ""


@dataclass(frozen=True)
class FreightChart:
    """A Helm chart a freight carries."""

    repo_url: str
    name: str = ""
    version: str = ""


@dataclass
class StepContext:
    """Everything a step may know about the promotion it runs in."""

    project: str
    stage: str
    promotion: str
    freight: str
    freight_alias: str
    commits: list[FreightCommit]
    work_dir: Path  # private to this promotion, kept across a resume
    state_dir: Path  # the engine's state folder (runtime data, caches)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # by step alias
    vars: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], Awaitable[None]] | None = None
    is_rollback: bool = False
    images: list[FreightImage] = field(default_factory=list)
    charts: list[FreightChart] = field(default_factory=list)
    origin: str = ""  # the warehouse the freight came from
    actor: str = ""  # who asked for the promotion
    alias: str = ""  # this step's alias (`task::step` inside a PromotionTask)
    step_statuses: list[tuple[str, str]] = field(default_factory=list)  # (alias, status) so far

    async def emit(self, line: str) -> None:
        """Append a line to the promotion's step log."""
        if self.log is not None:
            await self.log(line)


@dataclass
class StepResult:
    """What a step reports back; `outputs` become `outputs.<alias>.<key>` for later steps."""

    phase: StepPhase
    message: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    retry_after: float = 1.0


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class Step(Generic[ConfigT]):
    """Base class of a step kind."""

    kind: ClassVar[str]
    config_model: ClassVar[type[StrictModel]]
    outputs: ClassVar[dict[str, str]] = {}  # output name → what it holds (the step reference)

    async def run(self, ctx: StepContext, config: ConfigT) -> StepResult:
        """Run (or resume) the step."""
        raise NotImplementedError


_REGISTRY: dict[str, type[Step[Any]]] = {}


def register_step(cls: type[Step[Any]]) -> type[Step[Any]]:
    """Class decorator: make a step kind available under its `kind` name."""
    if cls.kind in _REGISTRY and _REGISTRY[cls.kind] is not cls:
        raise ValueError(f"step kind {cls.kind!r} is registered twice")
    _REGISTRY[cls.kind] = cls
    return cls


def step_kinds() -> dict[str, type[Step[Any]]]:
    """All registered step kinds by name."""
    return dict(_REGISTRY)
