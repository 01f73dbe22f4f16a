"""Configuration errors that name the file, the line, the field path and what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the configuration."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"

    def to_dict(self) -> dict[str, object]:
        """The JSON form the API returns in `error.details`."""
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class ConfigError(Exception):
    """The configuration is invalid; nothing was stored."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))
