"""Errors the API client raises: one per outcome a user can act on, never a raw httpx error.

The codes are the server's own `kargo.api.codes.ErrorCode`.
"""

from __future__ import annotations

from typing import Any

from kargo.api.codes import ErrorCode as ErrorCode


class KargoClientError(Exception):
    """Anything that went wrong talking to the kargo server; the message says what to do."""


class ServerUnreachable(KargoClientError):
    """The server does not answer at the configured address."""

    def __init__(self, server: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the kargo server at {server} ({reason}); start it with "
            "`kargo server --config kargo/` or `make demo`, or point --server/KARGO_SERVER "
            "at a running one"
        )
        self.server = server


class ServerTimeout(KargoClientError):
    """The server accepted the connection but did not answer in time."""


class ProtocolError(KargoClientError):
    """The server answered something that is not what docs/api.md promises."""


class ApiError(KargoClientError):
    """The server refused the request with a structured error."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    @property
    def not_found(self) -> bool:
        """Whether the server said the thing does not exist."""
        return self.status == 404 or self.code == ErrorCode.NOT_FOUND

    def one_line(self) -> str:
        """The message with its details folded into one line."""
        parts = [self.message]
        for detail in self.details[:5]:
            if isinstance(detail, dict):
                where = " ".join(
                    str(detail[k]) for k in ("file", "line", "field", "path") if detail.get(k)
                )
                text = str(detail.get("message", "")) or str(detail)
                parts.append(f"{where}: {text}" if where else text)
            else:
                parts.append(str(detail))
        return "; ".join(p for p in parts if p)
