"""Errors as the API contract shapes them: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kargo.api.codes import ErrorCode
from kargo.config import ConfigError
from kargo.engine.errors import Conflict, Invalid, NotFound
from kargo.store import StoreConflict, StoreError, StoreNotFound

_STATUS = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INVALID: 422,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.TOO_MANY: 429,
}


class ApiError(Exception):
    """An error answer with a code, a message saying what to do, and details."""

    def __init__(self, code: ErrorCode, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


def error_response(code: ErrorCode, message: str, details: list[Any] | None = None) -> JSONResponse:
    """The JSON error answer with the matching HTTP status."""
    body = {"error": {"code": code.value, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=_STATUS[code])


def unavailable_response(exc: StoreError) -> JSONResponse:
    """The 503 answer for a database that failed (restarting, locked, full)."""
    return error_response(ErrorCode.UNAVAILABLE, f"the database is unavailable: {exc}")


def config_error_message(exc: ConfigError) -> str:
    """Each issue as `line N: field: problem`, so clients can point at their own files."""
    lines = []
    for issue in exc.issues:
        where = f"line {issue.line}: " if issue.line else ""
        field = f"{issue.path}: " if issue.path else ""
        lines.append(f"{where}{field}{issue.message}")
    return "invalid configuration:\n" + "\n".join(lines)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the engine raises to the contract's shape."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.code, exc.message, exc.details)

    async def config_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ConfigError)
        details = [i.to_dict() for i in exc.issues]
        return error_response(ErrorCode.INVALID, config_error_message(exc), details)

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return error_response(ErrorCode.NOT_FOUND, str(exc))

    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        return error_response(ErrorCode.CONFLICT, f"{exc}; read the resource again and retry")

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        return error_response(ErrorCode.INVALID, str(exc))

    async def store_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StoreError)
        return unavailable_response(exc)

    async def bad_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return error_response(ErrorCode.BAD_REQUEST, "the request body is not valid", details)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(ConfigError, config_error)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(StoreNotFound, not_found)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(StoreConflict, conflict)
    app.add_exception_handler(Invalid, invalid)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(RequestValidationError, bad_request)
