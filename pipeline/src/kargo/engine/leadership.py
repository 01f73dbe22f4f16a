"""Leader election: of the servers sharing a database, the holder of the `engine` lease reconciles.

The others serve the API and stand by. As with Kubernetes' leader election, the lease lasts
`ttl` seconds and is renewed every `renew_every`, and a standby looks for a free lease every
`retry_every`; a leader that cannot renew before its lease would lapse steps down, so two
engines never act at once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from kargo.store import Store, StoreError
from kargo.store.leases import (
    LeaseRecord,
    new_holder_identity,
    read_lease,
    release,
    try_acquire,
)

log = logging.getLogger(__name__)

ENGINE_LEASE = "engine"


class Leadership:
    """Campaigns for, keeps and gives up one lease."""

    def __init__(
        self,
        store: Store,
        name: str = ENGINE_LEASE,
        ttl: float = 15.0,
        renew_every: float = 5.0,
        retry_every: float = 1.0,
    ) -> None:
        if not 0 < renew_every < ttl:
            raise ValueError(f"renew_every ({renew_every}) must be between 0 and ttl ({ttl})")
        self.store = store
        self.name = name
        self.ttl = ttl
        self.renew_every = renew_every
        self.retry_every = retry_every  # how often a standby looks for a free lease
        self.holder = new_holder_identity()
        self._renewed_at = 0.0

    def claim(self) -> bool:
        """Take or renew the lease now; False while another server holds it or on a store error."""
        try:
            won = try_acquire(self.store, self.name, self.holder, self.ttl)
        except StoreError as exc:
            log.warning("lease %s: %s", self.name, exc)
            return False
        if won:
            self._renewed_at = time.monotonic()
        return won

    async def _try(self) -> bool:
        return await asyncio.to_thread(self.claim)

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Wait until this server holds the lease (True) or `stopping` is set (False)."""
        announced = ""
        while not stopping.is_set():
            if await self._try():
                log.info("lease %s: acquired by %s; this server leads", self.name, self.holder)
                return True
            current = await asyncio.to_thread(self.current_holder)
            if current != announced:
                log.info("lease %s: held by %s; standing by", self.name, current)
                announced = current
            try:
                await asyncio.wait_for(stopping.wait(), timeout=self.retry_every)
            except TimeoutError:
                pass
        return False

    async def keep(self) -> None:
        """Renew the lease until it is lost; return then (the caller stops leading)."""
        while True:
            await asyncio.sleep(self.renew_every)
            if await self._try():
                continue
            lapsed = time.monotonic() - self._renewed_at
            if lapsed >= self.ttl - self.renew_every:
                log.error("lease %s: not renewed for %.1fs; stepping down", self.name, lapsed)
                return
            if (await asyncio.to_thread(self.current_holder)) not in ("", self.holder):
                log.error("lease %s: taken over by another server; stepping down", self.name)
                return

    def record(self) -> LeaseRecord | None:
        """The lease as stored (None when never held or unreadable)."""
        try:
            return read_lease(self.store, self.name)
        except StoreError as exc:
            log.warning("lease %s: %s", self.name, exc)
            return None

    def current_holder(self) -> str:
        """Who holds the lease now ('' when nobody or unknown)."""
        record = self.record()
        return record.holder if record and not record.expired(time.time()) else ""

    def give_up(self) -> None:
        """Release the lease so a standby takes over at once."""
        try:
            release(self.store, self.name, self.holder)
        except StoreError as exc:
            log.warning("lease %s: could not release: %s", self.name, exc)
