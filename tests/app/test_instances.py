"""Two app processes sharing PostgreSQL and Redis serve one room together."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.app.conftest import (
    Peer,
    Server,
    app_server,
    create_room,
    join,
    member,
    postgres_database,
)
from tests.services import require_redis

OpenPeer = Callable[[Server, str, str], Peer]


@pytest.mark.postgres
@pytest.mark.redis
def test_participants_on_two_instances_see_the_same_room(tmp_path: Path, peers: OpenPeer) -> None:
    redis_url = require_redis()
    with ExitStack() as stack:
        database_url = stack.enter_context(postgres_database())
        env = {"REDIS_URL": redis_url}
        one = stack.enter_context(app_server(tmp_path, env=env, database_url=database_url))
        two = stack.enter_context(app_server(tmp_path, env=env, database_url=database_url))
        assert httpx.get(two.base + "/readyz").json()["status"] == "ready"
        room = create_room(one)
        ann = join(two, room["id"], "Ann")
        fay = peers(one, room["id"], room["token"])
        ann_ws = peers(two, room["id"], ann["token"])
        fay.state(lambda r: member(r, "Ann").get("online") is True)

        ann_ws.send({"type": "vote", "card": "13"})
        seen = fay.state(lambda r: member(r, "Ann").get("hasVoted") is True)
        assert member(seen, "Ann")["vote"] is None

        fay.send({"type": "vote", "card": "13"})
        fay.send({"type": "reveal"})
        revealed = ann_ws.state(lambda r: r["revealed"])
        assert revealed["stats"]["consensus"] is True
        assert member(revealed, "Fay")["vote"] == "13"

        ann_ws.close()
        away = fay.state(lambda r: member(r, "Ann").get("online") is False)
        assert len(away["participants"]) == 2
