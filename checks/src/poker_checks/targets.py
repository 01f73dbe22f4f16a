"""What the suites are asked to check: the JSON bodies of POST /smoke, /security and /load."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Target(BaseModel):
    """The stage and freight under test; extra keys from templates are ignored."""

    model_config = ConfigDict(extra="ignore")

    url: str | None = None
    freight: str | None = None
    commit: str | None = None
    source: str | None = Field(
        default=None, description="folder with the app source: pyproject.toml, lock, src"
    )


class SmokeRequest(Target):
    """Parameters of the smoke suite."""

    url: str
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class SecurityRequest(Target):
    """Parameters of the security suite."""

    lock: str | None = Field(
        default=None, description="lock file; default <source>/requirements.lock"
    )
    advisory_db: str | None = Field(default=None, description="folder of OSV JSON advisories")
    max_db_age_hours: float = Field(default=24.0 * 30, gt=0)
    fail_on_stale_db: bool = False
    online: bool = Field(default=False, description="also ask the OSV service, if reachable")
    osv_url: str | None = None
    require_online: bool = Field(default=False, description="an unreachable service fails")
    venv: str | None = Field(default=None, description="environment built for the freight")
    licence_allow: list[str] | None = None
    fail_on_unknown_licence: bool = False
    bandit: bool = True
    env: dict[str, str] | None = Field(default=None, description="production settings to validate")
    env_file: str | None = None
    config_dir: str | None = Field(default=None, description="pipeline configuration to lint")
    discover_config: bool = Field(
        default=True, description="find kargo/ beside the app when config_dir is not given"
    )
    stage: str = Field(
        default="production", description="the Stage whose deploy env is validated by default"
    )


class LoadRequest(Target):
    """Parameters of the load suite."""

    url: str
    users: int = Field(default=5, ge=1, le=500)
    spawn_rate: float = Field(default=5.0, gt=0)
    duration_seconds: float = Field(default=10.0, gt=0, le=600)
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    max_p95_ms: float = Field(default=500.0, gt=0)
