"""The `shell` step: run a command with a timeout, capture its output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from pydantic import Field

from kargo.childenv import child_env
from kargo.model.base import StrictModel
from kargo.model.durations import parse_duration
from kargo.steps.base import Step, StepContext, StepPhase, StepResult, register_step

TAIL = 4000


class ShellConfig(StrictModel):
    """A command run by /bin/sh (or argv when `args` is given)."""

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    timeout: str = "5m"
    env: dict[str, str] = Field(default_factory=dict)
    work_dir: str | None = None


@register_step
class ShellStep(Step[ShellConfig]):
    """Run a command; a non-zero exit fails the promotion, a timeout errors it."""

    kind = "shell"
    config_model = ShellConfig

    async def run(self, ctx: StepContext, config: ShellConfig) -> StepResult:
        """Run the command to completion (again, after a crash: commands must be idempotent)."""
        if not config.command and not config.args:
            return StepResult(StepPhase.ERRORED, "shell: give `command` or `args`")
        argv = config.args or ["/bin/sh", "-c", config.command or ""]
        cwd = ctx.work_dir / config.work_dir if config.work_dir else ctx.work_dir
        cwd.mkdir(parents=True, exist_ok=True)
        env = child_env({**config.env, "KARGO_STAGE": ctx.stage, "KARGO_FREIGHT": ctx.freight})
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        )
        try:
            process = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            # Cancelled while starting: let the start finish, then stop what was started.
            with contextlib.suppress(OSError):
                started = await spawn
                _kill_group(started)
                await started.wait()
            raise
        except OSError as exc:
            return StepResult(StepPhase.ERRORED, f"shell: cannot start {argv[0]!r}: {exc}")
        output: list[str] = []
        timeout = parse_duration(config.timeout).total_seconds()
        try:
            await asyncio.wait_for(self._collect(process, output, ctx), timeout)
        except asyncio.CancelledError:
            _kill_group(process)
            await process.wait()
            raise
        except TimeoutError:
            _kill_group(process)
            await process.wait()
            return StepResult(
                StepPhase.ERRORED,
                f"shell: timed out after {config.timeout}",
                outputs=self._outputs(output, None),
            )
        code = await process.wait()
        outputs = self._outputs(output, code)
        if code != 0:
            tail = outputs["stdout"].strip().splitlines()[-1:] or [""]
            return StepResult(
                StepPhase.FAILED, f"shell: exit code {code}: {tail[0]}".rstrip(": "), outputs
            )
        return StepResult(StepPhase.SUCCEEDED, "", outputs)

    async def _collect(
        self, process: asyncio.subprocess.Process, output: list[str], ctx: StepContext
    ) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            output.append(line)
            await ctx.emit(line)
        await process.wait()

    def _outputs(self, output: list[str], code: int | None) -> dict[str, Any]:
        text = "\n".join(output)
        return {"stdout": text[-TAIL:], "exitCode": code}


def _kill_group(process: asyncio.subprocess.Process) -> None:
    """Kill the command and everything it started (it runs in its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
