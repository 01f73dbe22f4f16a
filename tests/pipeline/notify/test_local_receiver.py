"""deploy/local/webhook_receiver.py, the receiver `make demo` starts, as a real process."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
from kargo.notify import send_test_webhook

from tests.pipeline.notify.samples import webhook
from tests.services import REPO_ROOT, free_port, running

RECEIVER = REPO_ROOT / "deploy" / "local" / "webhook_receiver.py"


def test_the_local_receiver_creates_the_secret_verifies_deliveries_and_lists_them(
    tmp_path: Path,
) -> None:
    port = free_port()
    secret_file = tmp_path / "state" / "webhook-receiver.secret"
    store = tmp_path / "state" / "received.jsonl"
    argv = [sys.executable, str(RECEIVER), "--port", str(port), "--create-secret"]
    argv += ["--secret-file", str(secret_file), "--store", str(store)]
    base = f"http://127.0.0.1:{port}"
    with running(argv, f"{base}/healthz"):
        assert secret_file.read_text().startswith("whsec_")
        config = webhook("local", f"{base}/hooks", secret_file)
        result = asyncio.run(send_test_webhook(config))
        assert result.ok and result.status == 200
        forged = httpx.post(
            f"{base}/hooks",
            content=b'{"type":"webhook.test"}',
            headers={
                "webhook-id": "msg_x",
                "webhook-timestamp": "1",
                "webhook-signature": "v1,AA==",
            },
        )
        assert forged.status_code == 401
        listed = httpx.get(f"{base}/received").json()
        page = httpx.get(f"{base}/").text
    assert [entry["verified"] for entry in listed] == [False, True]
    assert listed[1]["type"] == "webhook.test" and listed[1]["webhookId"] == result.message_id
    assert "webhook.test" in page and result.message_id in page
    lines = [json.loads(line) for line in store.read_text().splitlines()]
    assert [line["verified"] for line in lines] == [True, False]
