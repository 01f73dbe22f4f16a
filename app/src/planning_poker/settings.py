"""Settings from the environment (and CLI flags), validated at start."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from planning_poker.clients import Network, parse_networks
from planning_poker.scheduling import MAX_SLICE_SECONDS, MIN_SLICE_SECONDS

DEVELOPMENT_SECRET = "development-only-not-a-secret"
PLACEHOLDER_SECRETS = frozenset(
    {DEVELOPMENT_SECRET, "changeme", "change-me", "changethis", "secret", "secret-key", "xxx"}
)
MIN_SECRET_LENGTH = 16


class Environment(StrEnum):
    """Where the app runs; production demands a real secret."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """The settings cannot be used; the message names the variable and what is expected."""


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything the server needs to know to start."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias=_env("host", "HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("port", "PORT"))
    data_dir: Path = Field(Path("."), validation_alias=_env("data_dir", "PLANNING_POKER_DATA_DIR"))
    database_url: str | None = Field(None, validation_alias=_env("database_url", "DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=_env("redis_url", "REDIS_URL"))
    secret_key: SecretStr | None = Field(None, validation_alias=_env("secret_key", "SECRET_KEY"))
    environment: Environment = Field(
        Environment.DEVELOPMENT, validation_alias=_env("environment", "PLANNING_POKER_ENV")
    )
    commit: str = Field("unknown", validation_alias=_env("commit", "PLANNING_POKER_COMMIT"))
    room_expiry_days: float = Field(
        30.0, gt=0, validation_alias=_env("room_expiry_days", "PLANNING_POKER_ROOM_EXPIRY_DAYS")
    )
    facilitator_grace_seconds: float = Field(
        120.0,
        ge=0,
        validation_alias=_env(
            "facilitator_grace_seconds", "PLANNING_POKER_FACILITATOR_GRACE_SECONDS"
        ),
    )

    trusted_proxies: str = Field(
        "", validation_alias=_env("trusted_proxies", "PLANNING_POKER_TRUSTED_PROXIES")
    )
    allowed_origins_text: str = Field(
        "", validation_alias=_env("allowed_origins", "PLANNING_POKER_ALLOWED_ORIGINS")
    )
    rooms_per_client_per_hour: float = Field(
        600.0,
        gt=0,
        validation_alias=_env(
            "rooms_per_client_per_hour", "PLANNING_POKER_ROOMS_PER_CLIENT_PER_HOUR"
        ),
    )
    joins_per_client_per_room_per_hour: float = Field(
        30.0,
        gt=0,
        validation_alias=_env(
            "joins_per_client_per_room_per_hour",
            "PLANNING_POKER_JOINS_PER_CLIENT_PER_ROOM_PER_HOUR",
        ),
    )
    sockets_per_client: int = Field(
        500, gt=0, validation_alias=_env("sockets_per_client", "PLANNING_POKER_SOCKETS_PER_CLIENT")
    )
    departed_after_seconds: float = Field(
        3600.0,
        gt=0,
        validation_alias=_env("departed_after_seconds", "PLANNING_POKER_DEPARTED_AFTER_SECONDS"),
    )

    gc_thresholds: tuple[int, int, int] = Field(
        (10_000, 2, 1_000_000),
        validation_alias=_env("gc_thresholds", "PLANNING_POKER_GC_THRESHOLDS"),
    )

    scheduler_slice_seconds: float = Field(
        0.001,
        ge=0,
        le=MAX_SLICE_SECONDS,
        validation_alias=_env("scheduler_slice_seconds", "PLANNING_POKER_SCHEDULER_SLICE_SECONDS"),
    )

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.secret_key is None:
                raise ValueError("SECRET_KEY is required when PLANNING_POKER_ENV=production")
            value = self.secret_key.get_secret_value()
            if value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH:
                raise ValueError(
                    "SECRET_KEY is a placeholder or shorter than 16 characters; "
                    "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
                )
        if 0 < self.scheduler_slice_seconds < MIN_SLICE_SECONDS:
            raise ValueError(
                f"PLANNING_POKER_SCHEDULER_SLICE_SECONDS: 0 (the kernel's default) or "
                f"{MIN_SLICE_SECONDS} to {MAX_SLICE_SECONDS}"
            )
        if self.database_url is not None and not self.database_url.startswith(
            ("sqlite", "postgresql")
        ):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://")):
            raise ValueError("REDIS_URL must start with redis:// or rediss://")
        try:
            parse_networks(self.trusted_proxies.split(","))
        except ValueError as exc:
            raise ValueError(f"PLANNING_POKER_TRUSTED_PROXIES: {exc}") from None
        for origin in self.allowed_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(
                    f"PLANNING_POKER_ALLOWED_ORIGINS: {origin!r} is not an origin "
                    "like https://poker.example.com"
                )
        return self

    @property
    def proxies(self) -> list[Network]:
        """The proxies whose X-Forwarded-For is believed."""
        return parse_networks(self.trusted_proxies.split(","))

    @property
    def allowed_origins(self) -> list[str]:
        """The origins whose pages may open WebSockets (empty: the app's own Host)."""
        return [
            o.strip().rstrip("/").lower() for o in self.allowed_origins_text.split(",") if o.strip()
        ]

    @property
    def effective_database_url(self) -> str:
        """DATABASE_URL, or an SQLite file in the data directory."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'planning-poker.db').resolve()}"

    @property
    def secret(self) -> bytes:
        """The key that token hashes are made with."""
        if self.secret_key is None:
            return DEVELOPMENT_SECRET.encode()
        return self.secret_key.get_secret_value().encode()


def load_settings(**overrides: object) -> Settings:
    """Read the environment, apply overrides (CLI flags), or raise SettingsError."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from exc
