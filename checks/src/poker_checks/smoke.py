"""The smoke suite: API health, basic functionality over HTTP and WebSockets, and a user flow.

The checks run in order against one room: a facilitator, two voters (the facilitator and
alice vote 5, bob votes 8) and a spectator. A check whose prerequisite failed is reported
failed with "not run: needs ...", so the first real failure is the one that names the cause.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx

from poker_checks.poker_client import (
    ProtocolError,
    Room,
    RoomSocket,
    Seat,
    create_room,
    expect_json,
    join_room,
    participant,
)
from poker_checks.results import CheckResult, SmokeReport
from poker_checks.targets import SmokeRequest

VOTES = {"facilitator": "5", "alice": "5", "bob": "8"}
EXPECTED_STATS = {"average": 6.0, "median": 5.0, "mode": ["5"], "distribution": {"5": 2, "8": 1}}


class SmokeFailure(Exception):
    """A smoke check saw something wrong."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise SmokeFailure(f"{value!r} is not a number") from exc


class SmokeRun:
    """One run of the suite against one app URL."""

    def __init__(self, request: SmokeRequest, http: httpx.AsyncClient, stack: AsyncExitStack):
        self.request = request
        self.http = http
        self.stack = stack
        self.timeout = request.timeout_seconds
        self.seats: dict[str, Seat] = {}
        self.sockets: dict[str, RoomSocket] = {}

    async def healthz(self) -> None:
        """/healthz answers ok."""
        body = expect_json(await self.http.get("/healthz"), 200)
        _require(body.get("status") == "ok", f"/healthz said {body}")

    async def readyz(self) -> None:
        """/readyz answers ready."""
        body = expect_json(await self.http.get("/readyz"), 200)
        _require(body.get("status") == "ready", f"/readyz said {body}")

    async def version(self) -> None:
        """/version names a version and, when asked, the expected commit."""
        body = expect_json(await self.http.get("/version"), 200)
        _require(bool(body.get("version")), f"/version has no version: {body}")
        if self.request.commit:
            running = str(body.get("commit", ""))
            _require(
                running == self.request.commit,
                f"/version reports commit {running!r}, expected {self.request.commit!r}",
            )

    async def unknown_room(self) -> None:
        """An unknown room is a friendly 404 page."""
        response = await self.http.get("/r/no-such-room-smoke")
        _require(response.status_code == 404, f"unknown room answered {response.status_code}")
        _require("html" in response.headers.get("content-type", ""), "the 404 is not a page")

    async def create_room(self) -> None:
        """A facilitator creates a room."""
        self.seats["facilitator"] = await create_room(self.http, "smoke test", "Facilitator")

    async def join(self) -> None:
        """Two voters and a spectator join with distinct ids."""
        room_id = self.seats["facilitator"].room_id
        for name, role in (("alice", "voter"), ("bob", "voter"), ("carol", "spectator")):
            seat, status = await join_room(self.http, room_id, name, role)
            _require(status == 201, f"joining as {name} answered {status}, expected 201")
            self.seats[name] = seat
        ids = {seat.participant_id for seat in self.seats.values()}
        _require(len(ids) == 4, f"participant ids are not distinct: {ids}")

    async def connect(self) -> None:
        """Everyone connects and sees themselves, the room and the right roles."""
        for name, seat in self.seats.items():
            socket = await RoomSocket.open(str(self.http.base_url), seat, self.timeout)
            self.stack.push_async_callback(socket.close)
            self.sockets[name] = socket
            room = socket.room or {}
            _require(room.get("you") == seat.participant_id, f"{name} got you={room.get('you')}")
            _require(room.get("id") == seat.room_id, f"{name} got the state of {room.get('id')}")
        await self.sockets["alice"].ping(self.timeout)
        roles = {
            name: participant(self.sockets["carol"].room or {}, seat.participant_id).get("role")
            for name, seat in self.seats.items()
        }
        want = {"facilitator": "facilitator", "alice": "voter", "bob": "voter"}
        _require(roles == {**want, "carol": "spectator"}, f"roles seen: {roles}")

    def _all_voted(self, room: Room) -> bool:
        return all(
            participant(room, self.seats[name].participant_id).get("hasVoted") for name in VOTES
        )

    async def vote(self) -> None:
        """Three votes arrive and everyone sees them cast."""
        for name, card in VOTES.items():
            await self.sockets[name].send({"type": "vote", "card": card})
        for socket in self.sockets.values():
            await socket.wait_for(self._all_voted, self.timeout)

    async def votes_hidden(self) -> None:
        """Before the reveal nobody sees a vote but their own."""
        for viewer, socket in self.sockets.items():
            room = socket.room or {}
            _require(not room.get("revealed"), f"{viewer} sees the round revealed before reveal")
            for name in VOTES:
                entry = participant(room, self.seats[name].participant_id)
                if name == viewer:
                    _require(entry.get("vote") == VOTES[name], f"{name} cannot see own vote")
                else:
                    _require(
                        entry.get("vote") is None, f"{viewer} sees {name}'s vote before reveal"
                    )
        public = expect_json(await self.http.get(f"/api/rooms/{self.seats['alice'].room_id}"), 200)
        leaked = [p for p in public.get("participants", []) if p.get("vote") is not None]
        _require(not leaked, f"GET /api/rooms shows votes before reveal: {leaked}")

    async def reveal(self) -> None:
        """After the reveal everyone sees every vote."""
        await self.sockets["facilitator"].send({"type": "reveal"})
        for socket in self.sockets.values():
            room = await socket.wait_for(lambda r: bool(r.get("revealed")), self.timeout)
        for name, card in VOTES.items():
            seen = participant(room, self.seats[name].participant_id).get("vote")
            _require(seen == card, f"after reveal {name}'s vote is {seen!r}, expected {card!r}")

    async def stats(self) -> None:
        """The statistics of 5, 5, 8 are right."""
        stats = (self.sockets["carol"].room or {}).get("stats")
        _require(isinstance(stats, dict), f"no stats after reveal: {stats!r}")
        assert isinstance(stats, dict)
        average, median = _number(stats.get("average")), _number(stats.get("median"))
        _require(abs(average - 6.0) < 0.01, f"average is {average}, expected 6.0")
        _require(abs(median - 5.0) < 0.01, f"median is {median}, expected 5")
        mode = sorted(str(item) for item in stats.get("mode") or [])
        _require(mode == ["5"], f"mode is {mode}, expected ['5']")
        distribution = {str(k): int(v) for k, v in (stats.get("distribution") or {}).items()}
        _require(distribution == {"5": 2, "8": 1}, f"distribution is {distribution}")
        _require(stats.get("consensus") is False, f"consensus is {stats.get('consensus')!r}")

    async def reconnect(self) -> None:
        """Resuming with a token gives back the same participant, not a new one."""
        alice = self.seats["alice"]
        await self.sockets["alice"].close()
        seat, status = await join_room(self.http, alice.room_id, "alice", "voter", alice.token)
        _require(status == 200, f"resuming with a token answered {status}, expected 200")
        _require(
            seat.participant_id == alice.participant_id,
            f"resume gave participant {seat.participant_id}, expected {alice.participant_id}",
        )
        socket = await RoomSocket.open(str(self.http.base_url), seat, self.timeout)
        self.stack.push_async_callback(socket.close)
        room = socket.room or {}
        _require(room.get("you") == alice.participant_id, "the reconnect is someone else")
        entries = room.get("participants", [])
        named = [p for p in entries if p.get("name") == "alice"]
        _require(len(entries) == 4 and len(named) == 1, f"duplicate after reconnect: {entries}")


PLAN: list[tuple[str, str, str | None]] = [
    ("api-healthz", "healthz", None),
    ("api-readyz", "readyz", None),
    ("api-version", "version", None),
    ("unknown-room-404", "unknown_room", None),
    ("create-room", "create_room", None),
    ("join-participants", "join", "create-room"),
    ("websocket-state", "connect", "join-participants"),
    ("vote", "vote", "websocket-state"),
    ("votes-hidden-before-reveal", "votes_hidden", "vote"),
    ("reveal", "reveal", "vote"),
    ("stats-correct", "stats", "reveal"),
    ("reconnect-resumes-participant", "reconnect", "websocket-state"),
]


async def _timed(name: str, body: Callable[[], Awaitable[None]], timeout: float) -> CheckResult:
    started = time.perf_counter()
    error: str | None = None
    try:
        await asyncio.wait_for(body(), timeout)
    except (SmokeFailure, ProtocolError) as exc:
        error = str(exc)
    except TimeoutError:
        error = f"timed out after {timeout:.0f}s"
    except httpx.HTTPError as exc:
        error = f"HTTP error: {exc!r}"
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        error = f"unexpected answer: {type(exc).__name__}: {exc}"
    duration = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(name=name, passed=error is None, duration_ms=duration, error=error)


async def run_smoke(request: SmokeRequest) -> SmokeReport:
    """Run every smoke check against request.url."""
    results: dict[str, CheckResult] = {}
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=request.url.rstrip("/"), timeout=request.timeout_seconds)
        )
        run = SmokeRun(request, http, stack)
        for name, method, needs in PLAN:
            if needs is not None and not results[needs].passed:
                results[name] = CheckResult(
                    name=name, passed=False, duration_ms=0.0, error=f"not run: needs {needs}"
                )
                continue
            body = getattr(run, method)
            results[name] = await _timed(name, body, request.timeout_seconds * 3)
    checks = list(results.values())
    return SmokeReport(passed=all(check.passed for check in checks), checks=checks)
