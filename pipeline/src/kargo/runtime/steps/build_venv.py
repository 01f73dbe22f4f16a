"""The `build-venv` step: the freight commit's virtual environment, cached per commit."""

from __future__ import annotations

from pydantic import Field

from kargo.model.base import StrictModel
from kargo.runtime.environments import EnvironmentBuildError, UvMissing, build_environment
from kargo.runtime.steps.git_clone import GitError, freight_commit
from kargo.steps.base import Step, StepContext, StepPhase, StepResult, register_step


class BuildVenvConfig(StrictModel):
    """Config of `build-venv`; paths are relative to the promotion's work_dir."""

    path: str = Field(min_length=1, description="the app's folder in the checkout")
    lock_file: str | None = Field(default=None, description="default: <path>/requirements.lock")
    python: str = "3.11"
    commit: str | None = Field(default=None, description="cache key; default: the freight's commit")
    repo_url: str | None = Field(default=None, alias="repoURL")


@register_step
class BuildVenvStep(Step[BuildVenvConfig]):
    """Build (or reuse) `<state_dir>/envs/<commit>` from the checkout's hashed lock file."""

    kind = "build-venv"
    config_model = BuildVenvConfig

    async def run(self, ctx: StepContext, config: BuildVenvConfig) -> StepResult:
        """Reuse the commit's environment or build it atomically."""
        try:
            commit = config.commit or freight_commit(ctx, config.repo_url or "").id
        except GitError as exc:
            return StepResult(StepPhase.ERRORED, message=str(exc))
        app_path = (ctx.work_dir / config.path).resolve()
        lock = (ctx.work_dir / (config.lock_file or f"{config.path}/requirements.lock")).resolve()
        log: list[str] = []
        try:
            built = await build_environment(
                ctx.state_dir, commit, app_path, lock, config.python, log
            )
        except UvMissing as exc:
            return StepResult(StepPhase.ERRORED, message=str(exc))
        except EnvironmentBuildError as exc:
            # A lock file or package that does not install is a bad change, not an outage.
            return StepResult(StepPhase.FAILED, message=str(exc))
        except OSError as exc:
            return StepResult(StepPhase.ERRORED, message=f"cannot build the environment: {exc}")
        for entry in log:
            await ctx.emit(entry)
        how = "reused" if built.cached else "built"
        await ctx.emit(f"build-venv: {how} {built.path}")
        return StepResult(
            StepPhase.SUCCEEDED,
            message=f"environment {how} for {commit[:12]}",
            outputs={
                "path": str(built.path),
                "bin": str(built.bin),
                "commit": commit,
                "cached": built.cached,
            },
        )
