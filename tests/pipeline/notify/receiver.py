"""A real HTTP webhook receiver on loopback for the tests: verifies with its own secret copy."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: str
    status: int
    verified: bool
    at: float
    payload: Any = None


# Answer: (status, extra headers) for a request; the default accepts everything.
Responder = Callable[[str, dict[str, str]], tuple[int, dict[str, str]]]


@dataclass
class Receiver:
    """Thread-safe record of what arrived, and what to answer next."""

    secret: str
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    respond: Responder = lambda path, headers: (200, {})
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        """Requests answered 2xx."""
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def all(self) -> list[Received]:
        """Every request so far."""
        with self.lock:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until `count` requests were accepted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.accepted()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise TimeoutError(f"{len(self.accepted())} of {count} deliveries arrived in {timeout}s")

    def wait_for_status(self, status: int, count: int = 1, timeout: float = 20.0) -> None:
        """Block until `count` requests were answered with `status`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for r in self.all() if r.status == status) >= count:
                return
            time.sleep(0.02)
        raise TimeoutError(f"fewer than {count} answers {status} in {timeout}s")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            if receiver.delay:
                time.sleep(receiver.delay)
            try:
                payload = Webhook(receiver.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                payload, verified = None, False
            status, extra = receiver.respond(self.path, headers)
            if not verified:
                status = 401
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, headers, body, status, verified, time.monotonic(), payload)
                )
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            answer = json.dumps({"ok": 200 <= status < 300}).encode()
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler


@contextmanager
def receiving(
    secret: str, path: str = "/hooks", port: int = 0, receiver: Receiver | None = None
) -> Iterator[Receiver]:
    """A receiver on loopback (a free port, or `port`) for the block; `receiver` keeps a record."""
    receiver = receiver or Receiver(secret)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
