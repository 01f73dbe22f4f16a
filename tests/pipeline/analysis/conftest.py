"""Fixtures for the analysis tests: a real JSON HTTP server on loopback and a real Prometheus."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services import free_port, require_binary, running

Reply = tuple[int, Any]  # status, JSON-able body (a str is sent as is)
Route = Callable[[dict[str, Any]], Reply]


@dataclass
class JsonServer:
    """A loopback HTTP server answering each path with a configurable route."""

    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay: dict[str, float] = field(default_factory=dict)


def _handler(server: JsonServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": raw.decode(),
            }
            server.requests.append(request)
            time.sleep(server.delay.get(self.path, 0.0))
            route = server.routes.get(self.path)
            status, body = route(request) if route else (404, {"error": "no route"})
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def json_server() -> Iterator[JsonServer]:
    """A real HTTP server on a free loopback port, stopped after the test."""
    port = free_port()
    state = JsonServer(url=f"http://127.0.0.1:{port}")
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


class _MetricsEndpoint:
    """Exposition text that changes on every scrape: a histogram of 0.3 s requests, gauges."""

    def __init__(self) -> None:
        self.scrapes = 0

    def render(self) -> str:
        self.scrapes += 1
        n = self.scrapes * 10
        series = 'stage="dev",track="stable",freight="f1"'
        lines = [
            "# TYPE http_request_duration_seconds histogram",
            f'http_request_duration_seconds_bucket{{{series},le="0.25"}} 0',
            f'http_request_duration_seconds_bucket{{{series},le="0.5"}} {n}',
            f'http_request_duration_seconds_bucket{{{series},le="+Inf"}} {n}',
            f"http_request_duration_seconds_count{{{series}}} {n}",
            f"http_request_duration_seconds_sum{{{series}}} {n * 0.3}",
            "# TYPE demo_memory_bytes gauge",
            'demo_memory_bytes{instance_name="a"} 1000',
            'demo_memory_bytes{instance_name="b"} 3000',
            "# TYPE process_cpu_seconds_total counter",
            f'process_cpu_seconds_total{{stage="dev",track="stable",freight="f1"}} '
            f"{self.scrapes * 0.2}",
            "# TYPE process_resident_memory_bytes gauge",
            'process_resident_memory_bytes{stage="dev",track="stable",freight="f1"} 104857600',
        ]
        return "\n".join(lines) + "\n"


@dataclass
class PrometheusServer:
    """A real Prometheus scraping a tiny metrics endpoint twice a second."""

    url: str


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Prometheus on a free port with two scrapes of data already stored."""
    binary = require_binary("prometheus")
    folder: Path = tmp_path_factory.mktemp("prometheus")
    endpoint = _MetricsEndpoint()
    metrics_port = free_port()

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = endpoint.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", metrics_port), Metrics)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 500ms\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: demo\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    port = free_port()
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        with running(argv, f"{url}/-/ready"):
            _wait_for_samples(url, "count(http_request_duration_seconds_count) > 0", 2)
            yield PrometheusServer(url=url)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _wait_for_samples(url: str, query: str, samples: int, timeout: float = 20.0) -> None:
    """Wait until the metrics endpoint has been scraped `samples` times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}/api/v1/query", params={"query": f"{query}"}).json()
        scraped = httpx.get(
            f"{url}/api/v1/query",
            params={"query": "count_over_time(up[1m])"},
        ).json()
        results = scraped["data"]["result"]
        if answer["data"]["result"] and results and float(results[0]["value"][1]) >= samples:
            return
        time.sleep(0.3)
    raise TimeoutError(f"Prometheus at {url} has no data for {query!r} after {timeout}s")
