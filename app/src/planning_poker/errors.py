"""Errors a client can cause, each with a code that goes on the wire."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a request or a message was refused."""

    BAD_MESSAGE = "bad_message"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN_CARD = "unknown_card"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"


class RoomError(Exception):
    """A refused action: the client gets the code and message, nothing else changes."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The wire form of the error message."""
        return {"type": "error", "code": self.code.value, "message": self.message}


class StoreError(Exception):
    """The database could not be reached or refused the operation; try again later."""


class StaleRoomError(StoreError):
    """Another instance changed the room first; reload and apply again."""
