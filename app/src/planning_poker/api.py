"""HTTP API: create and join rooms, read state, export results, operations endpoints."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from planning_poker import __version__
from planning_poker.answers import CSV, ERRORS, CreatedRoom, Joined, RoomView
from planning_poker.clients import client_address
from planning_poker.decks import DeckError, DeckKind, cards_for
from planning_poker.errors import ErrorCode, RoomError, StoreError
from planning_poker.migrations_child import Migrations
from planning_poker.participants import Role, clean_name
from planning_poker.rooms import Room, RoomSettings, new_id
from planning_poker.runtime import Services
from planning_poker.schema import schema_current
from planning_poker.security import hash_token, new_token
from planning_poker.stories import export_csv

ROOM_NAME_LENGTH = 80
router = APIRouter()


class CamelModel(BaseModel):
    """Request bodies in camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CreateRoom(CamelModel):
    """POST /api/rooms."""

    name: str = Field(max_length=1000)
    deck: DeckKind = DeckKind.FIBONACCI
    cards: list[str] | None = Field(None, max_length=100)
    facilitator_name: str = Field(max_length=1000)
    settings: dict[str, Any] | None = None


class JoinRoom(CamelModel):
    """POST /api/rooms/{id}/participants."""

    name: str = Field("", max_length=1000)
    role: Role = Role.VOTER
    token: str | None = Field(None, max_length=200)


def services(request: Request) -> Services:
    """The running app's services."""
    found: Services = request.app.state.services
    return found


def error_response(exc: RoomError | StoreError) -> JSONResponse:
    """The HTTP form of a refused request."""
    if isinstance(exc, StoreError):
        body = {"code": ErrorCode.UNAVAILABLE.value, "message": "the database is unavailable"}
        return JSONResponse(body, status_code=503)
    status = {
        ErrorCode.NOT_FOUND: 404,
        ErrorCode.NOT_ALLOWED: 403,
        ErrorCode.CONFLICT: 409,
        ErrorCode.RATE_LIMITED: 429,
    }.get(exc.code, 422)
    return JSONResponse({"code": exc.code.value, "message": exc.message}, status_code=status)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is current."""
    running = services(request)
    engine = running.engine
    try:
        if running.schema_heads is None:  # started without the lifespan (in-process tests)
            url = engine.url.render_as_string(hide_password=False)
            heads = Migrations(url, apply=False).heads
            running.schema_heads = await asyncio.to_thread(heads, engine)
        current = await asyncio.to_thread(schema_current, engine, running.schema_heads)
    except StoreError as exc:
        return JSONResponse({"status": "not-ready", "reason": str(exc)}, status_code=503)
    if not current:
        body = {"status": "not-ready", "reason": "database migrations are not current"}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok", "migrations": "current"})


@router.get("/version")
async def version(request: Request) -> dict[str, str]:
    """The app version and the git commit it was built from."""
    return {"version": __version__, "commit": services(request).settings.commit}


@router.post(
    "/api/rooms",
    status_code=201,
    response_model=None,
    responses={**ERRORS, 201: {"model": CreatedRoom}},
)
async def create_room(
    request: Request, response: Response, body: CreateRoom
) -> dict[str, str] | JSONResponse:
    """Create a room; the caller becomes its facilitator.

    `X-Room-Id` names the new room so that a router can keep its later requests on this version.
    """
    running = services(request)
    if not running.limits.may_create_room(client_address(request.scope, running.settings.proxies)):
        return error_response(RoomError(ErrorCode.RATE_LIMITED, "too many new rooms; try later"))
    try:
        cards = cards_for(body.deck, body.cards)
    except DeckError as exc:
        return error_response(RoomError(ErrorCode.INVALID, str(exc)))
    try:
        now = time.time()
        room = Room(
            id=new_id(12),
            name=clean_name(body.name, "room name", ROOM_NAME_LENGTH),
            deck_kind=body.deck,
            cards=cards,
            created_at=now,
            settings=RoomSettings.from_json(body.settings),
        )
        token = new_token()
        facilitator = room.add_participant(
            clean_name(body.facilitator_name, "facilitatorName"),
            Role.FACILITATOR,
            hash_token(running.settings.secret, token),
            now,
        )
        await running.hub.create(room)
    except (RoomError, StoreError) as exc:
        return error_response(exc)
    response.headers["X-Room-Id"] = room.id
    return {
        "id": room.id,
        "url": f"/r/{room.id}",
        "participantId": facilitator.id,
        "token": token,
    }


@router.post(
    "/api/rooms/{room_id}/participants",
    status_code=201,
    response_model=None,
    responses={**ERRORS, 200: {"model": Joined, "description": "Resumed"}, 201: {"model": Joined}},
)
async def join_room(
    request: Request, room_id: str, body: Annotated[JoinRoom, Body()]
) -> dict[str, str] | JSONResponse:
    """Join with a display name, or resume the participant whose token is given."""
    running = services(request)
    secret = running.settings.secret
    if body.role is Role.FACILITATOR:
        return error_response(RoomError(ErrorCode.INVALID, "join as voter or spectator"))
    if body.token:
        token_hash = hash_token(secret, body.token)
        try:
            room = await running.hub.load(room_id)
        except StoreError as exc:
            return error_response(exc)
        if room is None:
            return error_response(RoomError(ErrorCode.NOT_FOUND, "no such room"))
        existing = room.by_token_hash(token_hash)
        if existing is not None:
            body_out = {"participantId": existing.id, "token": body.token}
            return JSONResponse(body_out, status_code=200)
    client = client_address(request.scope, running.settings.proxies)
    if not running.limits.may_join(client, room_id):
        return error_response(RoomError(ErrorCode.RATE_LIMITED, "too many joins; try later"))
    token = new_token()
    token_hash = hash_token(secret, token)

    def join(room: Room) -> str:
        return room.add_participant(body.name, body.role, token_hash, time.time()).id

    try:
        participant_id = await running.hub.mutate(room_id, join)
    except (RoomError, StoreError) as exc:
        return error_response(exc)
    return {"participantId": participant_id, "token": token}


@router.get(
    "/api/rooms/{room_id}", response_model=None, responses={**ERRORS, 200: {"model": RoomView}}
)
async def room_state(request: Request, room_id: str) -> dict[str, object] | JSONResponse:
    """The room as seen by nobody in particular."""
    try:
        view = await services(request).hub.view(room_id)
    except StoreError as exc:
        return error_response(exc)
    if view is None:
        return error_response(RoomError(ErrorCode.NOT_FOUND, "no such room"))
    return view


@router.get("/api/rooms/{room_id}/export.csv", response_model=None, responses={**ERRORS, 200: CSV})
async def export_room(request: Request, room_id: str) -> Response:
    """The room's results as CSV."""
    try:
        room = await services(request).hub.load(room_id)
    except StoreError as exc:
        return error_response(exc)
    if room is None:
        return error_response(RoomError(ErrorCode.NOT_FOUND, "no such room"))
    filename = f"planning-poker-{room.id}.csv"
    return Response(
        export_csv(room.stories),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
