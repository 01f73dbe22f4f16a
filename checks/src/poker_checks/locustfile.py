"""The locust scenario: create rooms, join participants over WebSocket, vote and reveal.

Run by poker_checks.load as `locust -f <this file> --headless ...`. Each simulated user is a
facilitator with one voter: it creates a room, joins the voter over HTTP, opens both WebSockets,
then loops voting, revealing and starting a new round. WebSocket round trips are reported to
locust as requests of type "WS" so they count in the percentiles.
"""

from __future__ import annotations

import json
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, between, events, task
from locust.exception import StopUser
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

TIMEOUT = 10.0


def refresh_loop_clock(**_: Any) -> None:
    """Refresh gevent's cached loop time so --run-time counts from now, not from import.

    libev measures timers from the loop's cached "now", taken when the hub was created; on a
    busy machine the imports before the run can take seconds, which a short --run-time would
    otherwise swallow whole.
    """
    gevent.get_hub().loop.update_now()


events.init.add_listener(refresh_loop_clock)  # type: ignore[no-untyped-call]


class ScenarioError(Exception):
    """The app did not answer as the protocol says."""


class PokerUser(HttpUser):
    """A facilitator and a voter estimating round after round in their own room."""

    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        """Create the room, join the voter and open both sockets."""
        self.sockets: list[ClientConnection] = []
        body = {"name": "load", "deck": "fibonacci", "facilitatorName": "lead"}
        with self.client.post("/api/rooms", json=body, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"create room answered {response.status_code}")
                raise StopUser()
            room = response.json()
        self.room_id = str(room["id"])
        join = {"name": "voter", "role": "voter"}
        with self.client.post(
            f"/api/rooms/{self.room_id}/participants",
            json=join,
            name="/api/rooms/[id]/participants",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"join answered {response.status_code}")
                raise StopUser()
            voter = response.json()
        try:
            self.facilitator = self._open(str(room["token"]))
            self.voter = self._open(str(voter["token"]))
        except ScenarioError as exc:
            raise StopUser() from exc

    def on_stop(self) -> None:
        """Close the sockets."""
        for socket in getattr(self, "sockets", []):
            try:
                socket.close()
            except WebSocketException:
                pass

    def _ws_url(self, token: str) -> str:
        base = str(self.host).rstrip("/")
        scheme = "wss" if base.startswith("https") else "ws"
        return f"{scheme}://{base.split('://', 1)[1]}/ws/rooms/{self.room_id}?token={token}"

    def _open(self, token: str) -> ClientConnection:
        def body() -> ClientConnection:
            socket = connect(self._ws_url(token), open_timeout=TIMEOUT)
            self._read_state(socket, lambda room: True)
            return socket

        socket: ClientConnection = self._measure("connect", body)
        self.sockets.append(socket)
        return socket

    def _read_state(self, socket: ClientConnection, predicate: Any) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            raw = socket.recv(timeout=max(0.01, deadline - time.monotonic()))
            message = json.loads(raw)
            if message.get("type") == "error":
                raise ScenarioError(f"server refused: {message}")
            if message.get("type") == "state" and predicate(message["room"]):
                return dict(message["room"])

    def _measure(self, name: str, body: Any) -> Any:
        """Run body and report it to locust as one WS request."""
        started = time.perf_counter()
        exception: Exception | None = None
        result: Any = None
        try:
            result = body()
        except (ScenarioError, WebSocketException, TimeoutError, OSError, ValueError) as exc:
            exception = exc
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=exception,
            context={},
        )
        if exception is not None:
            raise ScenarioError(str(exception)) from exception
        return result

    @task(5)
    def estimate(self) -> None:
        """Both vote, the facilitator reveals and starts a new round."""

        def vote() -> None:
            self.facilitator.send(json.dumps({"type": "vote", "card": "3"}))
            self.voter.send(json.dumps({"type": "vote", "card": "5"}))
            self._read_state(
                self.facilitator,
                lambda room: sum(bool(p.get("hasVoted")) for p in room["participants"]) >= 2,
            )

        def reveal() -> None:
            self.facilitator.send(json.dumps({"type": "reveal"}))
            self._read_state(self.facilitator, lambda room: bool(room.get("revealed")))

        def new_round() -> None:
            self.facilitator.send(json.dumps({"type": "new_round"}))
            self._read_state(self.facilitator, lambda room: not room.get("revealed"))

        try:
            self._measure("vote", vote)
            self._measure("reveal", reveal)
            self._measure("new_round", new_round)
            self._drain(self.voter)
        except ScenarioError:
            return  # already counted as a failed WS request

    def _drain(self, socket: ClientConnection) -> None:
        """Discard the voter's queued state messages."""
        try:
            while True:
                socket.recv(timeout=0)
        except (TimeoutError, WebSocketException):
            return

    @task(2)
    def view_room(self) -> None:
        """Read the public room state."""
        self.client.get(f"/api/rooms/{self.room_id}", name="/api/rooms/[id]")

    @task(1)
    def health(self) -> None:
        """Probe the health endpoint."""
        self.client.get("/healthz")
