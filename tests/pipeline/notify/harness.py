"""Run a real WebhookDispatcher around a test scenario."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from kargo.model.webhooks import WebhookConfig
from kargo.notify import RetrySchedule, WebhookDispatcher
from kargo.store import Store

SHORT = RetrySchedule.of([0.2, 0.2, 0.2, 0.2])


def run_with_dispatcher(
    store: Store,
    configs: Sequence[WebhookConfig],
    scenario: Callable[[WebhookDispatcher], Awaitable[None]],
    schedule: RetrySchedule = SHORT,
    **options: Any,
) -> None:
    """Start a dispatcher on the store, run the scenario, stop the dispatcher."""

    async def main() -> None:
        dispatcher = WebhookDispatcher(
            store.engine,
            lambda: list(configs),
            retry_schedule=schedule,
            poll_interval=0.05,
            **options,
        )
        await dispatcher.start()
        try:
            await scenario(dispatcher)
        finally:
            await dispatcher.stop()

    asyncio.run(main())
