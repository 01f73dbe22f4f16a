"""Who a request comes from, and how much one client may do.

The client address is the TCP peer, unless the peer is a configured proxy (HAProxy): then it
is the right-most address of `X-Forwarded-For` that is not itself a trusted proxy. Nobody is
trusted by default, so a forged header from anywhere else changes nothing.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_TRACKED = 10_000  # clients (or client and room pairs) remembered per limit


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or CIDR blocks, e.g. `127.0.0.1, 10.0.0.0/8`."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def _trusted(address: str, proxies: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(scope: MutableMapping[str, Any], proxies: list[Network]) -> str:
    """The address a request comes from, honouring X-Forwarded-For only from trusted proxies."""
    client = scope.get("client") or ("unknown", 0)
    peer = str(client[0])
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded: list[str] = [
        value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name.lower() == b"x-forwarded-for"
    ]
    hops = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


class Buckets:
    """Token buckets by key (`rate` a second, bursts of `burst`), the least recent forgotten."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for the key if there is one."""
        now = time.monotonic() if now is None else now
        tokens, stamp = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        return allowed


@dataclass
class ClientLimits:
    """Per-client limits on room creation, joining a room, and open WebSockets."""

    rooms_per_hour: float
    joins_per_room_per_hour: float
    sockets: int

    def __post_init__(self) -> None:
        self._rooms = Buckets(self.rooms_per_hour / 3600, self.rooms_per_hour)
        self._joins = Buckets(self.joins_per_room_per_hour / 3600, self.joins_per_room_per_hour)
        self._open: defaultdict[str, int] = defaultdict(int)

    def may_create_room(self, client: str) -> bool:
        """Whether the client may create one more room now."""
        return self._rooms.allow(client)

    def may_join(self, client: str, room_id: str) -> bool:
        """Whether the client may add one more participant to the room now."""
        return self._joins.allow(f"{client} {room_id}")

    def open_socket(self, client: str) -> bool:
        """Count an opening WebSocket; False (and not counted) when the client has too many."""
        if self._open[client] >= self.sockets:
            return False
        self._open[client] += 1
        return True

    def close_socket(self, client: str) -> None:
        """Count a WebSocket that closed."""
        left = self._open.get(client, 0) - 1
        if left > 0:
            self._open[client] = left
        else:
            self._open.pop(client, None)
