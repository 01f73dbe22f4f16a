"""Configuration validation: the app's production settings are safe, the pipeline YAML parses.

Settings come as an env mapping (and/or a dotenv file). A key whose name ends in DEBUG must
not be truthy; a key naming a secret (SECRET, SECRET_KEY, TOKEN, PASSWORD) must not be empty,
a known placeholder, or shorter than 16 characters; a SECRET_KEY must be set; a key named
*_ENV or ENVIRONMENT must say production. Values with `${...}` are filled in by the runtime and
are not judged. Without an explicit env, the deploy step's env of the production Stage in the
pipeline configuration is validated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
            problems.append(("CONFIG-DEBUG", f"{key}: debug is on in production"))
        if "${" in value:
            continue  # filled in by the runtime at deploy time; its value is not known here
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
            problems.append(("CONFIG-NOT-PRODUCTION", f"{key}: not the production mode"))
    return problems


def yaml_errors(folder: Path) -> list[str]:
    """Files under folder that are not valid YAML, with the parser's message."""
    errors: list[str] = []
    for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
        try:
            list(yaml.safe_load_all(path.read_text()))
        except OSError as exc:
            errors.append(f"{path}: cannot read: {exc.strerror}")
        except yaml.YAMLError as exc:
            errors.append(f"{path}: {_yaml_problem(exc)}")
    return errors


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The parser's problem and position, without the snippet of the file it quotes."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "not valid YAML"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def stage_settings(config_dir: Path, stage: str) -> dict[str, str] | None:
    """The env of the deploy step of the named Stage in the pipeline configuration, if any."""
    for path in sorted([*config_dir.glob("*.yaml"), *config_dir.glob("*.yml")]):
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except (OSError, yaml.YAMLError):
            continue
        for document in documents:
            if not isinstance(document, dict) or document.get("kind") != "Stage":
                continue
            if (document.get("metadata") or {}).get("name") != stage:
                continue
            env = _deploy_env(document)
            if env is not None:
                return env
    return None


def _deploy_env(stage: dict[str, Any]) -> dict[str, str] | None:
    template = ((stage.get("spec") or {}).get("promotionTemplate") or {}).get("spec") or {}
    for step in template.get("steps") or []:
        if isinstance(step, dict) and step.get("uses") == "deploy":
            env = (step.get("config") or {}).get("env")
            if isinstance(env, dict):
                return {str(key): str(value) for key, value in env.items()}
    return None


def pipeline_config_issues(folder: Path) -> list[str]:
    """Problems in the pipeline configuration: the engine's own loader when it is installed.

    With the kargo package importable, every resource is validated as `kargo apply` would
    (file, line, field path); otherwise only the YAML syntax is checked.
    """
    try:  # optional: kargo is not a dependency of poker-checks, only used when installed beside it
        from kargo.config.errors import ConfigError
        from kargo.config.loading import config_files, load_texts
        from kargo.engine.registration import register_higher_layer_parsers
    except ImportError:
        return yaml_errors(folder)
    register_higher_layer_parsers()  # analysis templates (shorthand and native) as the engine reads
    try:
        # rbac.yaml is the server's access policy, not a resource (as `kargo server` skips it)
        files = [f for f in config_files(folder) if f.name != "rbac.yaml"]
        load_texts([(f.read_text(encoding="utf-8"), str(f)) for f in files])
    except ConfigError as exc:
        return [str(issue) for issue in exc.issues]
    except (OSError, ValueError) as exc:
        return [f"{folder}: {exc}"]
    return []
