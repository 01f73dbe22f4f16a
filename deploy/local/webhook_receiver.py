"""A local webhook receiver for `make demo`: checks Standard Webhooks signatures, keeps what came.

It needs only the standard library and the `standardwebhooks` package (no kargo), so that it
shows what any receiver would see. Each POST to the hooks path is verified with the receiver's
own copy of the secret and appended to a JSONL file, verified or not. `GET /` is a small page of
what arrived, `GET /received` the same as JSON, `GET /healthz` answers `ok`.

    python deploy/local/webhook_receiver.py --port 8095 --create-secret \
        --secret-file .kargo/secrets/webhook-receiver.secret --store .kargo/webhooks-received.jsonl

`--create-secret` writes a new `whsec_` secret to the file when it does not exist yet (the engine
reads the same file through `secretRef.file` in kargo/webhooks.yaml). The secret may also come
from an environment variable (`--secret-env KARGO_WEBHOOK_SECRET`).
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import logging
import os
import secrets
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

log = logging.getLogger("webhook-receiver")
MAX_BODY = 1024 * 1024
PAGE_ROWS = 200


def load_secret(secret_file: Path | None, secret_env: str | None, create: bool) -> str:
    """The receiver's copy of the secret (created in the file when asked and missing)."""
    if secret_env:
        value = os.environ.get(secret_env, "").strip()
        if not value:
            raise SystemExit(f"webhook-receiver: environment variable {secret_env} is not set")
        return value
    if secret_file is None:
        raise SystemExit("webhook-receiver: give --secret-file or --secret-env")
    if not secret_file.exists() and create:
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        value = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(value + "\n")
    try:
        return secret_file.read_text().strip()
    except OSError as exc:
        raise SystemExit(f"webhook-receiver: cannot read {secret_file}: {exc.strerror}") from exc


class Inbox:
    """What arrived, appended to a JSONL file and kept in memory for the page."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.entries: list[dict[str, Any]] = []
        if store.exists():
            for line in store.read_text().splitlines():
                try:
                    self.entries.append(json.loads(line))
                except ValueError:
                    continue
        store.parent.mkdir(parents=True, exist_ok=True)

    def add(self, entry: dict[str, Any]) -> None:
        """Keep one received request."""
        with self.lock:
            self.entries.append(entry)
            with self.store.open("a") as handle:
                handle.write(json.dumps(entry) + "\n")

    def recent(self, limit: int = PAGE_ROWS) -> list[dict[str, Any]]:
        """Newest first."""
        with self.lock:
            return list(reversed(self.entries[-limit:]))


def page(entries: list[dict[str, Any]]) -> str:
    """A small HTML page listing what arrived."""
    rows = []
    for entry in entries:
        mark = "✔" if entry["verified"] else "✘ " + html.escape(entry.get("error") or "")
        summary = html.escape(json.dumps(entry.get("payload", {}).get("data", {}))[:160])
        rows.append(
            f"<tr><td>{html.escape(entry['receivedAt'])}</td>"
            f"<td>{html.escape(str(entry.get('type')))}</td>"
            f"<td><code>{html.escape(str(entry.get('webhookId')))}</code></td>"
            f"<td>{mark}</td><td><code>{summary}</code></td></tr>"
        )
    body = (
        "\n".join(rows) or "<tr><td colspan=5>nothing yet: try kargo test webhook local</td></tr>"
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=5>"
        "<title>Webhooks received</title><style>body{font-family:sans-serif}"
        "td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}</style></head>"
        f"<body><h1>Webhooks received ({len(entries)} shown)</h1><table>"
        "<tr><th>received</th><th>type</th><th>webhook-id</th><th>signature</th><th>data</th></tr>"
        f"{body}</table></body></html>"
    )


def handler_for(inbox: Inbox, secret: str, hooks_path: str) -> type[BaseHTTPRequestHandler]:
    """The request handler bound to an inbox and a secret."""
    verifier = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        server_version = "kargo-webhook-receiver/1"

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, b"ok\n", "text/plain")
            elif path in ("/received", hooks_path):
                self._send(200, json.dumps(inbox.recent()).encode(), "application/json")
            elif path == "/":
                self._send(200, page(inbox.recent()).encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found\n", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            if self.path.split("?", 1)[0] != hooks_path:
                self._send(404, b"not found\n", "text/plain")
                return
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._send(413, b"too large\n", "text/plain")
                return
            raw = self.rfile.read(length).decode("utf-8", errors="replace")
            headers = {key.lower(): value for key, value in self.headers.items()}
            entry: dict[str, Any] = {
                "receivedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "webhookId": headers.get("webhook-id"),
                "webhookTimestamp": headers.get("webhook-timestamp"),
                "signatures": len((headers.get("webhook-signature") or "").split()),
            }
            try:
                payload = verifier.verify(raw, headers)
                entry |= {"verified": True, "type": payload.get("type"), "payload": payload}
                status = 200
            except (WebhookVerificationError, ValueError) as exc:
                entry |= {"verified": False, "error": str(exc) or type(exc).__name__}
                status = 401
            inbox.add(entry)
            answer = {"received": entry["verified"], "webhookId": entry["webhookId"]}
            self._send(status, json.dumps(answer).encode(), "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Run the receiver until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--path", default="/hooks", help="where webhooks are POSTed")
    parser.add_argument("--secret-file", type=Path)
    parser.add_argument("--secret-env")
    parser.add_argument("--create-secret", action="store_true")
    parser.add_argument("--store", type=Path, default=Path(".kargo/webhooks-received.jsonl"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="webhook-receiver: %(message)s")
    secret = load_secret(args.secret_file, args.secret_env, args.create_secret)
    try:
        Webhook(secret)
    except Exception as exc:  # the library raises bare errors for bad base64
        raise SystemExit(
            f"webhook-receiver: the secret is not a valid whsec_ secret: {exc}"
        ) from exc
    server = ThreadingHTTPServer(
        (args.host, args.port), handler_for(Inbox(args.store), secret, args.path)
    )
    server.daemon_threads = True
    log.info(
        "listening on http://%s:%d%s, storing to %s", args.host, args.port, args.path, args.store
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
