"""One app process the local runtime runs for a stage, as the runtime and the API describe it."""

from __future__ import annotations

from pydantic import ConfigDict

from kargo.model.base import StrictModel


class Instance(StrictModel):
    """One app process the local runtime runs for a stage."""

    model_config = ConfigDict(frozen=True)

    id: str
    pid: int | None
    port: int
    freight: str
    commit: str
    track: str
    state: str
    healthy: bool
    log_file: str
