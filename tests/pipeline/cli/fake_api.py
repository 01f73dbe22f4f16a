"""A loopback stand-in for the engine's API (docs/api.md), serving the fixture resources.

Why a fake: the real API server (kargo.api) is being written in parallel and cannot run here yet.
It answers over real HTTP on 127.0.0.1 and records what the CLI sent (method, path, headers,
body), which the real server would not reveal. test_against_server.py runs the same commands
against the real server once it exists.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.pipeline.cli.conftest import load

PROJECT = "planning-poker"
PLURALS = {
    "promotions": "promotions",
    "stages": "stages",
    "freight": "freight",
    "warehouses": "warehouses",
    "analysisruns": "analysisruns",
    "analysistemplates": "analysistemplates",
    "webhookconfigs": "webhookconfigs",
    "events": "events",
    "webhookdeliveries": "webhookdeliveries",
}


class SSE(str):
    """A text body served as text/event-stream."""


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """The running fake: its URL, what it received, and answers to override per path."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    answers: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)

    def requests(self, method: str, path_part: str) -> list[Seen]:
        """The requests with this method whose path contains path_part."""
        return [s for s in self.seen if s.method == method and path_part in s.path]


def _error(status: int, code: str, message: str) -> tuple[int, Any]:
    return status, {"error": {"code": code, "message": message, "details": []}}


def _answer(fake: FakeApi, method: str, path: str) -> tuple[int, Any]:
    if (method, path) in fake.answers:
        return fake.answers[(method, path)]
    parts = [p for p in path.split("/") if p]
    if path == "/api/v1/version":
        return 200, {"version": "0.1.0", "apiVersion": "kargo.akuity.io/v1alpha1"}
    if path == "/api/v1/watch":
        changed = dict(load("promotions")[1])
        changed["status"] = {**changed["status"], "phase": "Failed"}
        stage = load("stages")[0]
        stream = "".join(
            f"event: {kind}\ndata: {json.dumps(resource)}\n\n"
            for kind, resource in (("MODIFIED", changed), ("MODIFIED", stage))
        )
        return 200, SSE(stream)
    if path == "/api/v1/projects":
        return 200, {
            "items": [
                {
                    "apiVersion": "kargo.akuity.io/v1alpha1",
                    "kind": "Project",
                    "metadata": {"name": PROJECT},
                }
            ]
        }
    if len(parts) < 4 or parts[:3] != ["api", "v1", "projects"] or parts[3] != PROJECT:
        return _error(404, "NotFound", f"project {parts[3] if len(parts) > 3 else '?'} not found")
    if len(parts) == 5 and method == "GET" and parts[4] in PLURALS:
        return 200, {"items": load(PLURALS[parts[4]])}
    if len(parts) == 6 and method == "GET" and parts[4] in PLURALS:
        for item in load(PLURALS[parts[4]]):
            if item.get("metadata", {}).get("name") == parts[5]:
                return 200, item
        return _error(404, "NotFound", f"{parts[4]} {parts[5]} not found")
    if len(parts) == 7 and parts[6] == "logs":
        return 200, "clone: cloned /srv/poker at 9a8b7c6\ndeploy: instance not ready\n"
    if method == "POST" and parts[4:] == ["promotions"]:
        return 201, load("promotions")[0]
    if method == "POST" and parts[4:] == ["rollbacks"]:
        rollback = load("promotions")[2]
        return 201, {"items": [rollback]}
    if method == "GET" and parts[4:] == ["export"]:
        return 200, "apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\n"
    return _error(404, "NotFound", f"no route {method} {path}")


@contextmanager
def fake_api(port: int) -> Iterator[FakeApi]:
    """Serve the fake on 127.0.0.1:port until the block ends."""
    fake = FakeApi(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.seen.append(
                Seen(self.command, split.path, parse_qs(split.query), dict(self.headers), body)
            )
            status, payload = _answer(fake, self.command, split.path)
            is_text = isinstance(payload, str)
            data = payload.encode() if is_text else json.dumps(payload).encode()
            self.send_response(status)
            content_type = "text/plain" if is_text else "application/json"
            if isinstance(payload, SSE):
                content_type = "text/event-stream"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
