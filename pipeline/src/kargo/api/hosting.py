"""The engine's side of a server: leadership, reconcilers and the webhook dispatcher.

They run on a thread of their own with an event loop of their own (`EngineThread`), so a store
transaction waiting out SQLite's busy timeout, a git fetch, a process stop or a HAProxy socket
call in the engine never stalls the loop that serves HTTP and the watch streams. That thread is
the one boundary between the two: the API hands the engine work only through thread-safe calls
(`Engine.abort_running`, `Engine.wake`, `WebhookDispatcher.wake`) and through the store, whose
watchers hop onto each side's loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from kargo.api.state import ServerState
from kargo.auth.secretfiles import secrets_dir
from kargo.engine.controller import Engine

log = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0  # the dispatcher's grace (5 s) and the cancelled tasks' clean-up fit in it


def _dispatcher(state: ServerState) -> Any:
    try:
        from kargo.model.webhooks import WebhookConfig
        from kargo.notify.dispatcher import WebhookDispatcher
    except ImportError:
        return None
    from kargo.store import list_models

    return WebhookDispatcher(
        state.store.engine,
        lambda: list_models(state.store, WebhookConfig),
        base_dir=secrets_dir(state.state_dir),
    )


async def lead(state: ServerState, stopping: asyncio.Event) -> None:
    """While this server holds the engine lease: run the engine and the webhook dispatcher.

    A lost lease stops both (running promotions stay Running; the next leader resumes them)
    and the server stands by again. Stopping gives the lease up so a standby takes over at once.
    """
    leadership = state.leadership
    while await leadership.acquire(stopping):
        engine = Engine(state.store, state.state_dir)
        state.engine = engine
        engine_task = asyncio.create_task(engine.run(), name="engine")
        state.dispatcher = _dispatcher(state)
        if state.dispatcher is not None:
            await state.dispatcher.start()
        kept = asyncio.create_task(leadership.keep(), name="lease-renewal")
        stop = asyncio.create_task(stopping.wait(), name="stop")
        try:
            await asyncio.wait({kept, stop, engine_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            kept.cancel()
            stop.cancel()
            if state.dispatcher is not None:
                await state.dispatcher.stop()
                state.dispatcher = None
            await engine.stop()
            await asyncio.gather(engine_task, return_exceptions=True)
            state.engine = None
        if stopping.is_set():
            await asyncio.to_thread(leadership.give_up)
            return
        log.warning("this server no longer leads; standing by")


class EngineThread:
    """`lead()` on a daemon thread with its own event loop, started and stopped from any thread."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self._thread = threading.Thread(target=self._main, name="kargo-engine", daemon=True)
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def start(self) -> None:
        """Start the thread; return once its loop runs."""
        self._thread.start()
        self._started.wait()

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Ask `lead()` to give up and wait for the thread; False when it did not end in time."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stopping.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the engine did not stop within %.0f s", timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        try:
            asyncio.run(self._lead())
        except Exception:  # logged: the API keeps serving, /api/v1/leader shows it no longer leads
            log.exception("the engine thread ended with an error")
        finally:
            self._started.set()

    async def _lead(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._started.set()
        await lead(self.state, self._stopping)


@contextlib.asynccontextmanager
async def running(state: ServerState) -> AsyncIterator[ServerState]:
    """Run the engine side (`lead`) on its own thread for the block's duration."""
    host = EngineThread(state)
    host.start()
    try:
        yield state
    finally:
        await asyncio.to_thread(host.stop)
