"""What a running app holds: settings, database engine, store, hub, fan-out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from planning_poker.clients import ClientLimits
from planning_poker.fanout import Fanout
from planning_poker.hub import Hub
from planning_poker.settings import Settings
from planning_poker.store import RoomStore, make_engine


@dataclass
class Services:
    """The long-lived parts of one app instance."""

    settings: Settings
    engine: Engine
    store: RoomStore
    fanout: Fanout
    hub: Hub
    limits: ClientLimits
    schema_heads: frozenset[str] | None = None  # the code's head revisions, once known


def build_services(settings: Settings) -> Services:
    """Wire the parts together (nothing is connected yet)."""
    engine = make_engine(settings.effective_database_url)
    store = RoomStore(engine)
    fanout = Fanout(settings.redis_url)
    hub = Hub(store, fanout, settings.facilitator_grace_seconds, settings.departed_after_seconds)
    limits = ClientLimits(
        settings.rooms_per_client_per_hour,
        settings.joins_per_client_per_room_per_hour,
        settings.sockets_per_client,
    )
    return Services(settings, engine, store, fanout, hub, limits)
