"""The CLI config file (~/.config/kargo/config.yaml, mode 0600): one entry per server.

It lives below the API layer because the server writes its first admin token into it; the CLI
reads it (`kargo.cli.session`). Entries are keyed by server address, like kubeconfig contexts:
two servers on different addresses never share or overwrite each other's token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(ValueError):
    """The config file cannot be read or written; the message names the file."""


def config_path() -> Path:
    """KARGO_CONFIG, else $XDG_CONFIG_HOME/kargo/config.yaml, else ~/.config/kargo/config.yaml."""
    explicit = os.environ.get("KARGO_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kargo" / "config.yaml"


@dataclass
class ServerEntry:
    """What the CLI remembers about one server."""

    server: str
    token: str | None = None
    project: str | None = None
    state_dir: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The YAML form."""
        out = {"server": self.server}
        if self.token:
            out["token"] = self.token
        if self.project:
            out["project"] = self.project
        if self.state_dir:
            out["stateDir"] = self.state_dir
        return out


@dataclass
class ConfigFile:
    """The whole config file: the current server and one entry per server."""

    current_server: str | None
    servers: list[ServerEntry]
    path: Path

    def entry(self, server: str) -> ServerEntry | None:
        """The entry of a server, matched without a trailing slash."""
        wanted = server.rstrip("/")
        return next((e for e in self.servers if e.server.rstrip("/") == wanted), None)

    def ensure(self, server: str) -> ServerEntry:
        """The entry of a server, created when missing."""
        found = self.entry(server)
        if found is None:
            found = ServerEntry(server.rstrip("/"))
            self.servers.append(found)
        return found

    def to_dict(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {}
        if self.current_server:
            out["currentServer"] = self.current_server
        out["servers"] = [e.to_dict() for e in self.servers]
        return out


def load_config(path: Path | None = None) -> ConfigFile:
    """Read the config file; a missing file is an empty config."""
    target = path or config_path()
    if not target.exists():
        return ConfigFile(None, [], target)
    try:
        data = yaml.safe_load(target.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"cannot read {target}: {exc}; fix or delete it") from exc
    if not isinstance(data, dict):
        raise ConfigFileError(f"{target} is not a mapping; fix or delete it")
    entries = []
    for item in data.get("servers") or []:
        if isinstance(item, dict) and item.get("server"):
            entries.append(
                ServerEntry(
                    str(item["server"]),
                    item.get("token"),
                    item.get("project"),
                    item.get("stateDir"),
                )
            )
    current = data.get("currentServer")
    return ConfigFile(str(current) if current else None, entries, target)


def save_config(config: ConfigFile) -> None:
    """Write the config file with mode 0600 (it may hold tokens)."""
    target = config.path
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(config.to_dict(), handle, sort_keys=False)
        os.chmod(target, 0o600)
    except OSError as exc:
        raise ConfigFileError(f"cannot write {target}: {exc}") from exc


def remember_server_token(
    server: str, token: str, state_dir: Path, path: Path | None = None
) -> Path:
    """Store a server's admin token in its own entry (other servers' entries stay as they are)."""
    config = load_config(path)
    entry = config.ensure(server)
    entry.token = token
    entry.state_dir = str(state_dir.resolve())
    if config.current_server is None:
        config.current_server = entry.server
    save_config(config)
    return config.path
