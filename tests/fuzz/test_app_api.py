"""schemathesis against the Planning Poker app's HTTP API, in process over a real SQLite file.

Every operation of the app's OpenAPI document gets generated requests, valid and not: no answer
is a 5xx, every answer's status, media type and body are as documented (`planning_poker.answers`),
and every 4xx under `/api/` has the body `{"code", "message"}` (422s add `problems`),
docs/app-protocol.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from planning_poker.migrating import upgrade_to_head
from planning_poker.settings import load_settings
from planning_poker.web import create_app

from tests.fuzz.test_engine_api import CHECKS, fuzz_operations

CODES = {"bad_message", "too_large", "rate_limited", "not_allowed", "unknown_card", "invalid",
         "not_found", "conflict", "unavailable"}  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app over a fresh SQLite database (migrated here: the fuzzer runs no lifespan)."""
    data_dir: Path = tmp_path_factory.mktemp("app-api")
    application = create_app(load_settings(data_dir=data_dir), migrate=False)
    upgrade_to_head(application.state.services.engine)
    application.openapi()  # built once, before schemathesis fetches it
    try:
        yield application
    finally:
        application.state.services.engine.dispose()


def check_error_shape(response: Any) -> None:
    """A 4xx answer of the API carries the documented error body."""
    if 400 <= response.status_code < 500 and "/api/" in response.request.url:
        body = response.json()
        assert body.get("code") in CODES and body.get("message"), body
        assert set(body) <= {"code", "message", "problems"}, body


def test_app_api_answers_no_5xx_and_errors_in_the_documented_shape(app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = fuzz_operations(schema.include(path_regex=r"^/api/"), {}, check_error_shape)
    assert not failures, "\n".join(f"{label}: {why}" for label, why in failures.items())


def test_a_real_room_answers_as_documented(app: Any) -> None:
    # Generated room ids name no room, so the fuzzer sees the room routes' 404s only: here a
    # room is created, joined, resumed, read and exported, each answer checked against its
    # schema (the routes declared none: the room view, tokens and CSV were undocumented).
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)

    def call(path: str, method: str, **parts: Any) -> Any:
        case = schema[path][method].Case(**parts)
        response = case.call()
        case.validate_response(response, checks=CHECKS)
        return response

    created = call("/api/rooms", "POST", body={"name": "Sprint 7", "facilitatorName": "Ada"})
    assert created.status_code == 201
    room = {"room_id": created.json()["id"]}
    joined = call("/api/rooms/{room_id}/participants", "POST", path_parameters=room,
                  body={"name": "Bo", "role": "spectator"})  # fmt: skip
    assert joined.status_code == 201
    resumed = call("/api/rooms/{room_id}/participants", "POST", path_parameters=room,
                   body={"token": joined.json()["token"]})  # fmt: skip
    assert resumed.status_code == 200
    view = call("/api/rooms/{room_id}", "GET", path_parameters=room).json()
    assert [p["role"] for p in view["participants"]] == ["facilitator", "spectator"]
    exported = call("/api/rooms/{room_id}/export.csv", "GET", path_parameters=room)
    assert exported.headers["content-type"][0].startswith("text/csv")
    answers = schema.raw_schema["paths"]["/api/rooms/{room_id}"]["get"]["responses"]
    assert "RoomView" in str(answers["200"]) and "ErrorAnswer" in str(answers["4XX"])
