"""api layer: the engine's REST API (docs/api.md); `kargo.api.server.serve` runs it with the engine.

Nothing is imported here, so that `kargo.api.contract` (which the client and CLI read) does not
load FastAPI's routes, the store and the engine: import `kargo.api.app` or `kargo.api.server`.
"""
