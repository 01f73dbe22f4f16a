"""api layer: the engine's REST API (docs/api.md) and `serve()`, which runs it with the engine."""

from kargo.api.app import create_app
from kargo.api.server import ServerError, serve

__all__ = ["ServerError", "create_app", "serve"]
