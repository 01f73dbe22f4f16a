"""The online scan against an OSV-compatible HTTP service on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from poker_checks.security import run_security
from poker_checks.targets import SecurityRequest

from tests.services import free_port

RECORD = {
    "id": "GHSA-onln-0000-0001",
    "summary": "remote code execution in uvicorn (test record)",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "uvicorn"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "999"}]}],
        }
    ],
    "database_specific": {"severity": "CRITICAL"},
}


class _OsvHandler(BaseHTTPRequestHandler):
    """Answers like the OSV query API for one known record (the real service is unreachable)."""

    def _send(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        queries = json.loads(self.rfile.read(length))["queries"]
        results = [
            {"vulns": [{"id": RECORD["id"]}]} if q["package"]["name"] == "uvicorn" else {}
            for q in queries
        ]
        self._send({"results": results})

    def do_GET(self) -> None:
        self._send(RECORD)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def osv_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OsvHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_online_advisory_is_added_and_fails_the_scan(app_source: Path, osv_service: str) -> None:
    request = SecurityRequest(
        source=str(app_source), online=True, osv_url=osv_service, bandit=False
    )
    report = run_security(request)
    online = [f for f in report.findings if f.kind == "advisory-online"]
    assert [(f.id, f.package, f.fixed_in) for f in online] == [
        ("GHSA-onln-0000-0001", "uvicorn", "999")
    ]
    assert report.critical == 1 and not report.passed
    assert report.advisory_db.online is not None and "1 advisories" in report.advisory_db.online


def test_an_unreachable_service_is_reported_and_fails_only_when_required(
    app_source: Path,
) -> None:
    request = SecurityRequest(
        source=str(app_source), online=True, osv_url=f"http://127.0.0.1:{free_port()}", bandit=False
    )
    report = run_security(request)
    assert report.passed
    assert report.advisory_db.online is not None
    assert report.advisory_db.online.startswith("unavailable")
    strict = run_security(request.model_copy(update={"require_online": True}))
    assert not strict.passed
    assert [c.name for c in strict.checks if not c.passed] == ["online-vulnerability-scan"]
