"""http and http-download against a real loopback server."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kargo.steps.base import StepPhase
from kargo.steps.http import HttpConfig, HttpDownloadStep, HttpStep

from tests.pipeline.steps.support import context, run

SECRET = "Bearer top-secret-token"


@contextmanager
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            seen.append(
                {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
            )
            if self.path.startswith("/yaml"):
                payload, kind = b"state: done\nitems: [1, 2]\n", "text/x-anything"
            elif self.path.startswith("/job"):
                payload, kind = json.dumps({"state": "running"}).encode(), "application/json"
            elif self.path.startswith("/error"):
                payload, kind = json.dumps({"error": "quota exceeded"}).encode(), "application/json"
            elif self.path.startswith("/file"):
                payload, kind = b"downloaded contents", "application/octet-stream"
            else:
                payload, kind = json.dumps({"echo": body}).encode(), "application/json"
            status = 404 if self.path.startswith("/missing") else 200
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _answer  # noqa: N815 (http.server's naming)
        do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_request_fields_reach_the_server_and_secrets_stay_out_of_the_log(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    lines: list[str] = []

    async def log(line: str) -> None:
        lines.append(line)

    ctx.log = log
    (ctx.work_dir / "payload.json").write_text('{"text": "hi"}')
    with server() as (base, seen):
        result = run(
            HttpStep(),
            ctx,
            {
                "url": f"{base}/echo",
                "method": "POST",
                "headers": [{"name": "Authorization", "value": SECRET}],
                "queryParams": [{"name": "token", "value": "q-secret value"}],
                "bodyFromFile": "payload.json",
                "successExpression": "response.status == 200",
                "outputs": [{"name": "echoed", "fromExpression": "response.body.echo"}],
            },
        )
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert result.outputs == {"echoed": '{"text": "hi"}', "status": 200}
    assert seen[0]["auth"] == SECRET and seen[0]["path"] == "/echo?token=q-secret+value"
    assert lines == [f"http: POST {base}/echo → 200"]
    assert all("secret" not in line for line in lines)


def test_response_content_type_error_expression_and_polling(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    with server() as (base, _):
        parsed = run(
            HttpStep(),
            ctx,
            {
                "url": f"{base}/yaml",
                "responseContentType": "application/yaml",
                "successExpression": "response.body.state == 'done'",
                "outputs": [{"name": "count", "fromExpression": "len(response.body.items)"}],
            },
        )
        failed = run(
            HttpStep(),
            ctx,
            {
                "url": f"{base}/error",
                "failureExpression": "response.body.error != nil",
                "errorExpression": "response.body.error",
            },
        )
        waiting = run(
            HttpStep(),
            ctx,
            {
                "url": f"{base}/job",
                "successExpression": "response.body.state == 'done'",
                "pollInterval": "2s",
            },
        )
        missing = run(HttpStep(), ctx, {"url": f"{base}/missing"})
    assert parsed.phase is StepPhase.SUCCEEDED and parsed.outputs["count"] == 2
    assert failed.phase is StepPhase.FAILED and failed.message == "http: quota exceeded"
    assert waiting.phase is StepPhase.RUNNING and waiting.retry_after == 2.0
    assert missing.phase is StepPhase.FAILED and "unexpected status 404" in missing.message


def test_bad_expressions_and_config_are_reported_by_field(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    with server() as (base, _):
        broken = run(HttpStep(), ctx, {"url": f"{base}/job", "successExpression": "response.("})
    assert broken.phase is StepPhase.ERRORED and "http: config.successExpression" in broken.message
    with pytest.raises(ValueError, match="body and bodyFromFile exclude each other"):
        HttpConfig.model_validate({"url": "http://x", "body": "a", "bodyFromFile": "b"})
    with pytest.raises(ValueError, match="responseContentType must be one of"):
        HttpConfig.model_validate({"url": "http://x", "responseContentType": "text/html"})
    unreachable = run(
        HttpStep(), ctx, {"url": "http://127.0.0.1:9/x?token=s3cret", "timeout": "1s"}
    )
    assert unreachable.phase is StepPhase.ERRORED and "s3cret" not in unreachable.message


def test_http_download_saves_a_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    with server() as (base, _):
        done = run(HttpDownloadStep(), ctx, {"url": f"{base}/file", "outPath": "dl/file.bin"})
        again = run(HttpDownloadStep(), ctx, {"url": f"{base}/file", "outPath": "dl/file.bin"})
        replaced = run(
            HttpDownloadStep(),
            ctx,
            {"url": f"{base}/file", "outPath": "dl/file.bin", "allowOverwrite": True},
        )
        missing = run(HttpDownloadStep(), ctx, {"url": f"{base}/missing", "outPath": "m.bin"})
    assert done.phase is StepPhase.SUCCEEDED, done.message
    assert (ctx.work_dir / "dl/file.bin").read_bytes() == b"downloaded contents"
    assert again.phase is StepPhase.FAILED and "allowOverwrite" in again.message
    assert replaced.phase is StepPhase.SUCCEEDED
    assert missing.phase is StepPhase.ERRORED and "answered 404" in missing.message
    assert not (ctx.work_dir / "m.bin").exists()
