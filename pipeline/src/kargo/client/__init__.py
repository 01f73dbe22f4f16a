"""The engine's REST API client (docs/api.md): KargoClient and the errors it raises."""

from __future__ import annotations

from kargo.client.errors import (
    ApiError,
    ErrorCode,
    KargoClientError,
    ProtocolError,
    ServerTimeout,
    ServerUnreachable,
)
from kargo.client.rest import DEFAULT_SERVER, KargoClient, Resource, document

__all__ = [
    "DEFAULT_SERVER",
    "ApiError",
    "ErrorCode",
    "KargoClient",
    "KargoClientError",
    "ProtocolError",
    "Resource",
    "ServerTimeout",
    "ServerUnreachable",
    "document",
]
