"""A dispatcher in its own process, for the crash test: args DB URL SECRET_FILE."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import sqlalchemy as sa
from kargo.model.webhooks import WebhookConfig
from kargo.notify import RetrySchedule, WebhookDispatcher


async def main(database_url: str, url: str, secret_file: Path) -> None:
    """Dispatch until SIGTERM (or until SIGKILL, which is the point)."""
    config = WebhookConfig.model_validate(
        {
            "kind": "WebhookConfig",
            "metadata": {"name": "local", "namespace": "planning-poker"},
            "spec": {"url": url, "secretRef": {"file": str(secret_file)}},
        }
    )
    engine = sa.create_engine(database_url)
    dispatcher = WebhookDispatcher(
        engine, lambda: [config], retry_schedule=RetrySchedule.of([0.3] * 60), poll_interval=0.05
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await dispatcher.start()
    await stop.wait()
    await dispatcher.stop()
    engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
