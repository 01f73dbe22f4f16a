"""The job provider: a local command; its exit code and the JSON on stdout are the result."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from kargo.analysis.errors import MeasurementError
from kargo.childenv import child_env
from kargo.model.analysis import JobMetric

OUTPUT_LIMIT = 1_000_000


class JobFailed(Exception):
    """The command exited non-zero: the measurement is Failed, with this message and value."""

    def __init__(self, message: str, value: Any) -> None:
        self.value = value
        super().__init__(message)


async def measure_job(job: JobMetric) -> Any:
    """Run the command (retrying up to backoffLimit times); its stdout JSON is the result."""
    attempts = job.backoff_limit + 1
    failure: JobFailed | None = None
    for _ in range(attempts):
        try:
            return await _run_once(job)
        except JobFailed as exc:
            failure = exc
    assert failure is not None
    raise failure


async def _run_once(job: JobMetric) -> Any:
    """One run of the command, killed when its timeout passes."""
    argv = [*job.command, *job.args]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(job.env),
            cwd=job.working_dir,
        )
    except OSError as exc:
        raise MeasurementError(f"cannot start {argv[0]!r}: {exc}") from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), job.timeout_seconds)
    except TimeoutError:
        raise MeasurementError(f"{argv[0]!r} timed out after {job.timeout_seconds}s") from None
    finally:
        if process.returncode is None:  # timed out or the run was stopped: leave nothing behind
            process.kill()
            await process.wait()
    value = _parse_output(stdout[:OUTPUT_LIMIT].decode(errors="replace"))
    if process.returncode != 0:
        tail = stderr.decode(errors="replace").strip()[-500:]
        raise JobFailed(f"{argv[0]!r} exited with code {process.returncode}: {tail}", value)
    return value


def _parse_output(text: str) -> Any:
    """stdout as JSON when it is JSON, else the stripped text (None when empty)."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return stripped
