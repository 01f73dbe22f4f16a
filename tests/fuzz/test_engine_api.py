"""schemathesis against the engine's OpenAPI document, with an admin token, in process.

Every operation of `/openapi.json` gets generated requests (valid and not) against the real app
over a real SQLite store holding the repository's pipeline: no answer is a 5xx, every answer's
status and media type are documented and its body matches the documented schema, and every
error answer (4xx) has the body `{"error": {"code", "message", "details"}}`. The engine itself
does not run (promotions stay queued), so the test stays fast and side-effect free.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import given, settings
from kargo.api.app import create_app
from kargo.api.server import open_state
from kargo.auth.tokens import bootstrap_admin_token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import examples

ROOT = Path(__file__).resolve().parents[2]
ERROR_CODES = {"NotFound", "Conflict", "Invalid", "BadRequest", "Forbidden", "Unauthorized",
               "Unavailable"}  # fmt: skip
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip
"""No 5xx; the status, the media type and the body as the operation documents them."""


@pytest.fixture(scope="module")
def engine_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    """The engine's app over a store with the repository's pipeline, and an admin header."""
    state_dir = tmp_path_factory.mktemp("engine-api")
    state = open_state(ROOT / "kargo", state_dir, None)
    secret = bootstrap_admin_token(state.store)
    assert secret is not None
    app = create_app(state)
    app.openapi()  # built once here: on a loaded machine building it outlasted the loader's 10 s
    try:
        yield app, {"Authorization": f"Bearer {secret}"}
    finally:
        state.store.close()


def fuzz_operations(schema: Any, headers: dict[str, str], check: Any) -> dict[str, str]:
    """Run generated requests against every operation; the first failure of each, by label."""
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=examples(8))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)
            check(response)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 (collected so one report names every route)
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:600]}"
    return failures


def check_error_shape(response: Any) -> None:
    """A 4xx answer carries the contract's error body."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert error["code"] in ERROR_CODES and error["message"], body
        assert isinstance(error.get("details", []), list), body


def test_engine_api_answers_no_5xx_and_errors_in_the_documented_shape(
    engine_api: tuple[Any, dict[str, str]],
) -> None:
    app, headers = engine_api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
    # The watch and follow routes stream until the client leaves: not for request fuzzing.
    schema = schema.exclude(path_regex=r"/watch$|/logs$")
    failures = fuzz_operations(schema, headers, check_error_shape)
    assert not failures, "\n".join(f"{label}: {why}" for label, why in failures.items())


def test_every_operation_documents_its_errors_as_json_error_answers(
    engine_api: tuple[Any, dict[str, str]],
) -> None:
    # The routes answering text (export, audit export, logs, watch) documented their errors
    # as text/plain, which is not what they answer (found by content_type_conformance).
    app, _ = engine_api
    document = app.openapi()
    wrong = {
        f"{method.upper()} {path} {status}": list(answer.get("content", {}))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status, answer in operation["responses"].items()
        if status in ("4XX", "5XX")
        and answer.get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/ErrorAnswer"}
    }
    assert not wrong, wrong
    assert "ErrorAnswer" in document["components"]["schemas"]
