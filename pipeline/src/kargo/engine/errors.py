"""Engine errors the API maps to HTTP statuses; each message says what to do."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of the engine's refusals."""


class NotFound(EngineError):
    """The named resource does not exist."""


class Invalid(EngineError):
    """The request cannot be carried out as asked (not eligible, bad combination)."""


class Conflict(EngineError):
    """The resource changed meanwhile, or the operation clashes with its state."""
