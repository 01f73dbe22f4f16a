"""Webhook delivery benchmark: deliveries per second and p95 event→delivery latency.

A local receiver (deploy/local/webhook_receiver.py, verifying every signature) runs in its own
process. The baseline, in this same process, POSTs signed bodies straight to it with httpx: the
ceiling for one Python client on this machine. Then the real path: events written through the
store (SQLite by default, or --database-url), tailed by the WebhookDispatcher, signed, delivered
and logged. Two runs: a backlog (N events queued, then the dispatcher starts) for throughput,
and a steady stream (events at --rate per second) for latency from the event row's timestamp
to the receiver's arrival timestamp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from kargo.model.webhooks import WebhookConfig
from kargo.notify import WebhookDispatcher
from kargo.notify.signing import generate_secret, request_headers
from kargo.store import Store
from support import ROOT, answers, free_port, wait

RECEIVER = ROOT / "deploy" / "local" / "webhook_receiver.py"


class ReceiverLog:
    """The receiver's JSONL file, read incrementally."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[dict[str, Any]] = []
        self._offset = 0

    def refresh(self) -> list[dict[str, Any]]:
        """Every entry so far (complete lines only)."""
        if self.path.exists():
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offset += len(complete)
            self.entries += [json.loads(line) for line in complete.splitlines() if line]
        return self.entries


def parse(moment: str) -> float:
    """Epoch seconds of an ISO timestamp."""
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


async def baseline(config: WebhookConfig, count: int, concurrency: int) -> float:
    """Signed POSTs straight to the receiver, no store: requests per second."""
    body = json.dumps({"type": "webhook.test", "timestamp": "2026-01-01T00:00:00Z", "data": {}})
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient() as client:

        async def one(index: int) -> None:
            async with limit:
                moment = datetime.now().astimezone()
                headers = request_headers(config, f"msg_base{index}", moment, body, None)
                response = await client.post(config.spec.url, content=body, headers=headers)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - started)


def emit(store: Store, index: int) -> None:
    """One promotion.succeeded event, written as the engine writes it."""
    with store.transaction() as tx:
        tx.event(
            project="bench",
            reason="PromotionSucceeded",
            type="Normal",
            involved_kind="Promotion",
            involved_name=f"p-{index}",
            message="bench",
            data={"stage": "development", "freight": f"f{index}", "promotion": f"p-{index}"},
        )


async def wait_for(log: ReceiverLog, count: int, timeout: float = 300.0) -> None:
    """Until the receiver logged `count` deliveries (all verified)."""
    deadline = time.monotonic() + timeout
    while len(log.refresh()) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(log.entries)} of {count} deliveries arrived")
        await asyncio.sleep(0.1)
    if not all(entry["verified"] for entry in log.entries):
        raise SystemExit("a delivery failed signature verification")


async def dispatch(
    store: Store, config: WebhookConfig, args: argparse.Namespace, log: ReceiverLog, base: float
) -> None:
    """Backlog throughput, then steady-stream latency, through the real dispatcher."""
    for index in range(args.count):
        emit(store, index)
    dispatcher = WebhookDispatcher(
        store.engine,
        lambda: [config],
        max_concurrency=args.concurrency,
        per_endpoint_concurrency=args.per_endpoint,
        poll_interval=0.05,
    )
    already = len(log.refresh())
    started = time.perf_counter()
    await dispatcher.start()
    await wait_for(log, already + args.count)
    elapsed = time.perf_counter() - started
    rate = args.count / elapsed
    print(
        f"dispatcher backlog  : {rate:8.1f} deliveries/s ({args.count} events), "
        f"{rate / base:.2f}× the baseline"
    )
    already = len(log.refresh())
    for index in range(args.count, args.count + args.stream):
        emit(store, index)
        dispatcher.wake()
        await asyncio.sleep(1.0 / args.rate)
    await wait_for(log, already + args.stream)
    await dispatcher.stop()
    latencies = sorted(
        parse(e["receivedAt"]) - parse(e["payload"]["timestamp"]) for e in log.entries[already:]
    )
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"event→delivery      : p50 {statistics.median(latencies) * 1000:6.0f} ms, "
        f"p95 {p95 * 1000:6.0f} ms ({args.stream} events at {args.rate}/s)"
    )


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description="webhook delivery benchmark")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--stream", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--per-endpoint", type=int, default=4, help="the dispatcher's default")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        secret_file = tmp / "secret"
        secret_file.write_text(generate_secret())
        log_file = tmp / "received.jsonl"
        port = free_port()
        receiver = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--port", str(port), "--secret-file", str(secret_file)]
            + ["--store", str(log_file)],
            stderr=subprocess.DEVNULL,
        )
        try:
            healthz = f"http://127.0.0.1:{port}/healthz"
            wait("the receiver to start", lambda: answers(healthz), 10, 0.05)
            config = WebhookConfig.model_validate(
                {
                    "kind": "WebhookConfig",
                    "metadata": {"name": "bench"},
                    "spec": {
                        "url": f"http://127.0.0.1:{port}/hooks",
                        "secretRef": {"file": str(secret_file)},
                    },
                }
            )
            rate = asyncio.run(baseline(config, args.count, args.concurrency))
            print(f"baseline (direct)   : {rate:8.1f} signed POSTs/s to the same receiver")
            store = Store.open(args.database_url, tmp / "state")
            try:
                asyncio.run(dispatch(store, config, args, ReceiverLog(log_file), rate))
            finally:
                store.close()
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
