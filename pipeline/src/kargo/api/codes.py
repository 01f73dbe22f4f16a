"""The API's error codes (docs/api.md, "Errors"), named here for the contract and the client."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    """The error codes of docs/api.md."""

    NOT_FOUND = "NotFound"
    CONFLICT = "Conflict"
    INVALID = "Invalid"
    BAD_REQUEST = "BadRequest"
    FORBIDDEN = "Forbidden"
    UNAUTHORIZED = "Unauthorized"
    UNAVAILABLE = "Unavailable"
    TOO_LARGE = "TooLarge"
    TOO_MANY = "TooManyRequests"
