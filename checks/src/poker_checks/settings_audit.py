"""Configuration validation: the app's production settings are safe, the pipeline YAML parses.

Settings come as an env mapping (and/or a dotenv file). A key whose name ends in DEBUG must
not be truthy; a key naming a secret (SECRET, SECRET_KEY, TOKEN, PASSWORD) must not be empty,
a known placeholder, or shorter than 16 characters; a SECRET_KEY must be set; a key named
*_ENV or ENVIRONMENT must say production.
"""

from __future__ import annotations

from pathlib import Path

import yaml

_TRUTHY = {"1", "true", "yes", "on", "debug"}
_PLACEHOLDERS = {
    "",
    "changeme",
    "change-me",
    "changethis",
    "change_this",
    "secret",
    "secret-key",
    "secret_key",
    "default",
    "dev",
    "development",
    "insecure",
    "password",
    "test",
    "xxx",
    "todo",
    "your-secret-key",
    "please-change-me",
    "development-only-not-a-secret",
}
_PRODUCTION = {"prod", "production"}
_SECRET_MARKERS = ("SECRET", "TOKEN", "PASSWORD")
MIN_SECRET_LENGTH = 16


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a dotenv file (quotes stripped, comments and blanks skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def unsafe_settings(env: dict[str, str]) -> list[tuple[str, str]]:
    """(id, message) for each unsafe production setting."""
    problems: list[tuple[str, str]] = []
    for key, value in sorted(env.items()):
        upper = key.upper()
        if upper.endswith("DEBUG") and value.strip().lower() in _TRUTHY:
            problems.append(("CONFIG-DEBUG", f"{key}={value}: debug is on in production"))
        if any(marker in upper for marker in _SECRET_MARKERS) and not upper.endswith("_FILE"):
            lowered = value.strip().lower()
            if lowered in _PLACEHOLDERS or "change" in lowered or "placeholder" in lowered:
                problems.append(("CONFIG-DEFAULT-SECRET", f"{key} is a default/placeholder"))
            elif len(value) < MIN_SECRET_LENGTH:
                problems.append(
                    ("CONFIG-WEAK-SECRET", f"{key} is shorter than {MIN_SECRET_LENGTH} characters")
                )
    if not any("SECRET_KEY" in key.upper() for key in env):
        problems.append(("CONFIG-MISSING-SECRET", "no SECRET_KEY is set for production"))
    for key, value in sorted(env.items()):
        upper = key.upper()
        if (upper.endswith("_ENV") or upper == "ENVIRONMENT") and value.lower() not in _PRODUCTION:
            problems.append(("CONFIG-NOT-PRODUCTION", f"{key}={value}: not the production mode"))
    return problems


def yaml_errors(folder: Path) -> list[str]:
    """Files under folder that are not valid YAML, with the parser's message."""
    errors: list[str] = []
    for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
        try:
            list(yaml.safe_load_all(path.read_text()))
        except (OSError, yaml.YAMLError) as exc:
            errors.append(f"{path}: {exc}".replace("\n", " "))
    return errors
