"""The `deploy` step: run the freight's app on the local runtime behind the stage's stable port.

Nothing about the app is hard-coded: `command` and `env` come from the config, with `${PORT}` (the
instance's port, chosen by the runtime) and the other placeholders of `VARIABLES` filled in.
`strategy` follows Argo Rollouts' shape: `blueGreen: {...}`, or `canary: {steps: [...]}` with
`setWeight`, timed `pause` and `analysis` steps, ending in promotion. A rollback skips the canary
and switches at once (blue/green): the freight it returns to was already verified there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from kargo.model.base import StrictModel
from kargo.model.durations import parse_duration
from kargo.runtime.canary_analysis import analyse_canary, parse_analysis
from kargo.runtime.canarying import (
    CanaryError,
    abort_canary,
    promote_canary,
    serves_as_stable,
    set_canary_weight,
    start_canary,
)
from kargo.runtime.deploying import (
    DeploySpec,
    InstancesNotReady,
    deploy_blue_green,
    exited,
    log_tail,
    publish_source,
)
from kargo.runtime.environments import environment_path
from kargo.runtime.processes import ProcessStartError
from kargo.runtime.routing import RouterError
from kargo.runtime.state import InstanceRecord
from kargo.runtime.steps.git_clone import GitError, freight_commit
from kargo.runtime.substitution import UnknownPlaceholder
from kargo.runtime.users import RunAsError, resolve_user
from kargo.steps.base import Step, StepContext, StepPhase, StepResult, register_step

VARIABLES = (
    "PORT INSTANCE STAGE STAGE_DIR PROJECT FREIGHT FREIGHT_ALIAS COMMIT STATE_DIR WORK_DIR ENV_DIR "
    "PROMOTION"
)


class BlueGreenStrategy(StrictModel):
    """Start the new version beside the old, switch all traffic at once, stop the old."""

    drain_timeout: float = Field(default=3.0, ge=0, description="seconds for open requests")
    stop_timeout: float = Field(default=10.0, gt=0, description="SIGTERM to SIGKILL, seconds")


class CanaryStep(StrictModel):
    """One canary step, as in Argo Rollouts (setWeight, pause, analysis)."""

    set_weight: int | None = Field(default=None, ge=0, le=100)
    pause: dict[str, Any] | None = None
    analysis: dict[str, Any] | None = None


class CanaryStrategy(StrictModel):
    """Shift traffic to the new version in steps (progressive delivery)."""

    steps: list[CanaryStep] = Field(default_factory=list)


class Strategy(StrictModel):
    """Exactly one of blueGreen or canary."""

    blue_green: BlueGreenStrategy | None = None
    canary: CanaryStrategy | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> Strategy:
        """Refuse both or neither."""
        if (self.blue_green is None) == (self.canary is None):
            raise ValueError("set exactly one of strategy.blueGreen or strategy.canary")
        return self


class AffinityPath(StrictModel):
    """Requests under `prefix` are routed by the path's `field`-th "/"-separated part."""

    prefix: str = Field(pattern=r"^/[A-Za-z0-9._~/-]*$")
    field: int = Field(ge=2, le=16)


class Affinity(StrictModel):
    """Sticky routing: every request with the same key goes to the same version (a room)."""

    paths: list[AffinityPath] = Field(default_factory=list)
    response_header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]+$")
    expire: str = Field(default="24h", pattern=r"^[0-9]+[smhd]$")


class RunAs(StrictModel):
    """The OS user the stage's instances and init command run as (the engine must be root)."""

    user: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", description="a user name or uid"
    )
    group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="a group name or gid; default: the user's primary group",
    )


class DeployConfig(StrictModel):
    """Config of `deploy`."""

    port: int = Field(ge=1, le=65535, description="the stage's stable port on the router")
    replicas: int = Field(default=1, ge=1, le=4)
    command: list[str] = Field(min_length=1)
    init_command: list[str] = Field(
        default_factory=list, description="run once before the instances start (migrations)"
    )
    env: dict[str, str] = Field(default_factory=dict)
    env_dir: str | None = Field(default=None, description="default: <state_dir>/envs/<commit>")
    cwd: str | None = None
    source: str | None = Field(
        default=None, description="checkout published as <state_dir>/stages/<stage>/source"
    )
    readiness_path: str = "/readyz"
    health_path: str | None = Field(default=None, description="router check; default: readiness")
    readiness_timeout: float = Field(default=60.0, gt=0)
    strategy: Strategy = Field(default_factory=lambda: Strategy(blue_green=BlueGreenStrategy()))
    affinity: Affinity | None = None
    run_as: RunAs | None = Field(
        default=None, description="run the instances as this OS user, in their own stage folder"
    )
    commit: str | None = None
    repo_url: str | None = Field(default=None, alias="repoURL")


def unsupported_canary_step(canary: CanaryStrategy) -> str | None:
    """Why these canary steps cannot run here, or None."""
    for number, step in enumerate(canary.steps, 1):
        if step.analysis is not None:
            try:
                parse_analysis(step.analysis)
            except ValueError as exc:
                return f"canary step {number}: analysis: {exc}"
        if step.pause is not None:
            if not step.pause.get("duration"):
                return f"canary step {number}: a pause needs a duration (no manual resume yet)"
            try:
                parse_duration(str(step.pause["duration"]))
            except ValueError as exc:
                return f"canary step {number}: {exc}"
    return None


class CanaryFailed(Exception):
    """An analysis step found the canary bad; it was aborted (weight 0, instances stopped)."""


async def run_canary(
    ctx: StepContext, spec: DeploySpec, canary: CanaryStrategy
) -> list[InstanceRecord]:
    """Start the canary, walk its steps (setWeight, pause, analysis), then promote it.

    An analysis that fails, an error, or a cancelled promotion (`kargo promote --abort`) aborts
    the canary: its weight returns to 0 and its instances stop; stable serves everything.
    """
    if serves_as_stable(ctx.state_dir, spec):
        await ctx.emit(f"canary: {spec.freight[:12]} already is the stable version; finishing")
        return await deploy_blue_green(ctx.state_dir, spec, ctx.emit)
    started = await start_canary(ctx.state_dir, spec, percent=0, emit=ctx.emit)
    canary_url = f"http://127.0.0.1:{started[0].port}"
    try:
        for number, step in enumerate(canary.steps, 1):
            if step.set_weight is not None:
                set_canary_weight(ctx.state_dir, spec.stage, step.set_weight)
                await ctx.emit(f"canary: weight {step.set_weight}%")
            if step.pause is not None:
                seconds = parse_duration(str(step.pause["duration"])).total_seconds()
                await ctx.emit(f"canary: pause {seconds:.0f}s")
                await asyncio.sleep(seconds)
            if step.analysis is not None:
                analysis = parse_analysis(step.analysis)
                await ctx.emit(f"canary: analysis of {canary_url} (step {number})")
                outcome = await analyse_canary(ctx, number, analysis, canary_url, spec.commit)
                if not outcome.passed:
                    raise CanaryFailed(f"canary analysis {outcome.phase}: {outcome.message}")
                await ctx.emit(f"canary: analysis {outcome.phase}")
            if dead := exited(started):
                raise CanaryFailed(
                    f"canary instance {dead[0].id} exited at canary step {number}:\n"
                    + log_tail(dead[0])
                )
    except (RouterError, CanaryError, CanaryFailed, ValueError) as exc:
        await ctx.emit(f"canary: aborted: {exc}")
        await abort_canary(ctx.state_dir, spec.stage, spec.drain_timeout, spec.stop_timeout)
        raise
    except asyncio.CancelledError:
        await asyncio.shield(
            abort_canary(ctx.state_dir, spec.stage, spec.drain_timeout, spec.stop_timeout)
        )
        raise
    return await promote_canary(ctx.state_dir, spec.stage, spec.drain_timeout, spec.stop_timeout)


def deploy_spec(ctx: StepContext, config: DeployConfig) -> DeploySpec:
    """The runtime's DeploySpec for this promotion."""
    commit = config.commit or freight_commit(ctx, config.repo_url or "").id
    env_dir = Path(config.env_dir) if config.env_dir else environment_path(ctx.state_dir, commit)
    strategy = config.strategy.blue_green or BlueGreenStrategy()
    variables = {
        "STAGE": ctx.stage,
        "PROJECT": ctx.project,
        "FREIGHT": ctx.freight,
        "FREIGHT_ALIAS": ctx.freight_alias,
        "COMMIT": commit,
        "STATE_DIR": str(Path(ctx.state_dir).resolve()),
        "WORK_DIR": str(Path(ctx.work_dir).resolve()),
        "ENV_DIR": str(env_dir),
        "PROMOTION": ctx.promotion,
    }
    return DeploySpec(
        stage=ctx.stage,
        freight=ctx.freight,
        commit=commit,
        port=config.port,
        replicas=config.replicas,
        argv=list(config.command),
        init_argv=list(config.init_command),
        env=dict(config.env),
        variables=variables,
        env_dir=env_dir,
        cwd=(Path(ctx.work_dir) / config.cwd).resolve() if config.cwd else None,
        readiness_path=config.readiness_path,
        health_path=config.health_path or config.readiness_path,
        readiness_timeout=config.readiness_timeout,
        drain_timeout=strategy.drain_timeout,
        stop_timeout=strategy.stop_timeout,
        affinity=config.affinity.model_dump(by_alias=True) if config.affinity else None,
        run_as=config.run_as.user if config.run_as else None,
        run_as_group=config.run_as.group if config.run_as else None,
    )


@register_step
class DeployStep(Step[DeployConfig]):
    """Blue/green deploy of the freight's app to the stage (adopts what already runs)."""

    kind = "deploy"
    config_model = DeployConfig

    async def run(self, ctx: StepContext, config: DeployConfig) -> StepResult:
        """Start, wait ready, switch, drain; or adopt a deploy that a crash interrupted."""
        canary = config.strategy.canary
        if canary is not None and (problem := unsupported_canary_step(canary)):
            return StepResult(StepPhase.ERRORED, message=problem)
        try:
            if config.run_as is not None:  # before anything starts: unknown user, not switchable
                resolve_user(config.run_as.user, config.run_as.group)
            spec = deploy_spec(ctx, config)
            if not (spec.env_dir and spec.env_dir.exists()):
                return StepResult(
                    StepPhase.ERRORED,
                    message=f"no environment at {spec.env_dir}: run build-venv before deploy",
                )
            if canary is not None and not ctx.is_rollback:
                instances = await run_canary(ctx, spec, canary)
            else:
                instances = await deploy_blue_green(ctx.state_dir, spec, ctx.emit)
            if config.source:
                link = publish_source(ctx.state_dir, ctx.stage, Path(ctx.work_dir) / config.source)
                await ctx.emit(f"deploy: {link} -> {link.resolve()}")
        except (InstancesNotReady, CanaryFailed) as exc:
            return StepResult(StepPhase.FAILED, message=str(exc))
        except RunAsError as exc:
            return StepResult(StepPhase.ERRORED, message=f"deploy: config.{exc}")
        except (
            RouterError,
            ProcessStartError,
            UnknownPlaceholder,
            GitError,
            CanaryError,
            ValueError,
            OSError,
        ) as exc:
            return StepResult(StepPhase.ERRORED, message=str(exc))
        url = f"http://127.0.0.1:{config.port}"
        return StepResult(
            StepPhase.SUCCEEDED,
            message=f"{len(instances)} instance(s) of {ctx.freight[:12]} serve {url}",
            outputs={
                "url": url,
                "freight": ctx.freight,
                "commit": spec.commit,
                "instances": [{"pid": i.pid, "port": i.port, "id": i.id} for i in instances],
            },
        )
