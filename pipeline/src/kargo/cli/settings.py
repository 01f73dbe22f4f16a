"""The CLI config file (~/.config/kargo/config.yaml, mode 0600); where server and token come from.

Precedence, as the issue asks: a flag (`--server`, `--token`), then the environment (`KARGO_SERVER`,
`KARGO_TOKEN`), then the config file, then the local default. The file keeps one entry per server,
like kubeconfig contexts, so two servers never share a token or a default project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from kargo.auth.credentials import (
    ConfigFile,
    ConfigFileError,
    ServerEntry,
    config_path,
    load_config,
    save_config,
)
from kargo.client import DEFAULT_SERVER

__all__ = [
    "ConfigFile",
    "ConfigFileError",
    "Connection",
    "ServerEntry",
    "config_path",
    "load_config",
    "redacted_view",
    "resolve_connection",
    "save_config",
]


@dataclass(frozen=True)
class Connection:
    """The server, token and default project a command uses."""

    server: str
    token: str | None
    project: str | None


def resolve_connection(
    flag_server: str | None, flag_token: str | None, config: ConfigFile
) -> Connection:
    """Apply the precedence flag > environment > config file > default."""
    server = (
        flag_server or os.environ.get("KARGO_SERVER") or config.current_server or DEFAULT_SERVER
    ).rstrip("/")
    if "://" not in server:
        server = f"http://{server}"
    entry = config.entry(server)
    token = flag_token or os.environ.get("KARGO_TOKEN") or (entry.token if entry else None)
    return Connection(server, token, entry.project if entry else None)


def redacted_view(config: ConfigFile) -> dict[str, Any]:
    """The config as `kargo config view` shows it: tokens replaced."""
    data = config.to_dict()
    for entry in data.get("servers", []):
        if entry.get("token"):
            entry["token"] = "<redacted>"
    return data
