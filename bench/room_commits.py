"""Benchmark: a paced vote's SQLite commit, as the app's store writes it.

Both sides save the same rooms (100 rooms of a 10-participant document, one save every 10 ms,
the pace of the app benchmark's paced phase), alternating in slices, in this one process:

- baseline: the store as it was before (`Before`: each save rewrites the indexed
  last_activity_at in BEGIN, UPDATE and COMMIT, and a commit checkpoints the WAL at SQLite's
  1,000 pages);
- store: `RoomStore.save_many` (one autocommitted UPDATE, last_activity_at once a minute per
  room; the WAL left to `RoomStore.checkpoint`, run here once a second from a thread, as the
  app's background does).

Prints the commit time's percentiles for each and their ratio.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from planning_poker.decks import DeckKind, cards_for
from planning_poker.migrating import upgrade_to_head
from planning_poker.participants import Role
from planning_poker.rooms import Room
from planning_poker.store import RoomStore, encode_document, make_engine


class Before(RoomStore):
    """The store before: every save writes last_activity_at in BEGIN, UPDATE and COMMIT, and
    commits checkpoint at 1,000 pages."""

    _legacy: Any = None  # its own pooled connection, in the driver's transaction mode

    def _statement_for(self, row: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        return self._save_sql, row

    def _write_sqlite(self, rows: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        if self._legacy is None:  # with SQLite's own checkpoint threshold
            self._legacy = self.engine.raw_connection()
            self._legacy.driver_connection.execute("PRAGMA wal_autocheckpoint=1000")
        driver: Any = self._legacy.driver_connection
        try:
            counts = [driver.execute(sql, row).rowcount for sql, row in rows]
            driver.commit()
        except BaseException:
            driver.rollback()
            raise
        return counts


def rooms(count: int) -> list[Room]:
    """Rooms of ten participants, each with a vote."""
    made = []
    for _ in range(count):
        room = Room(
            secrets.token_hex(6), "Sprint", DeckKind.FIBONACCI, cards_for(DeckKind.FIBONACCI), 1.0
        )
        for number in range(10):
            role = Role.FACILITATOR if number == 0 else Role.VOTER
            joined = room.add_participant(f"Person {number}", role, "hash", 1.0)
            room.vote(joined.id, "5")
        made.append(room)
    return made


def percentile(samples: list[float], share: float) -> float:
    """The sample below which `share` of them fall."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


class Checkpoints(threading.Thread):
    """The app's background checkpoint: once a second, in its own thread."""

    def __init__(self, store: RoomStore) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            self.store.checkpoint()


def main() -> None:
    """Alternate the two writers slice by slice and print their commit times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per side")
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between saves")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        stores = {}
        for side in ("baseline", "store"):
            engine = make_engine(f"sqlite:///{Path(folder) / side}.db")
            upgrade_to_head(engine)
            stores[side] = Before(engine) if side == "baseline" else RoomStore(engine)
        made = {side: rooms(100) for side in stores}
        for side, store in stores.items():
            for room in made[side]:
                store.create(room)
        checkpoints = Checkpoints(stores["store"])
        checkpoints.start()
        samples: dict[str, list[float]] = {side: [] for side in stores}
        turn = 0
        for _ in range(args.slices):
            for side in ("baseline", "store") if turn % 2 == 0 else ("store", "baseline"):
                deadline = time.monotonic() + args.seconds / args.slices
                while time.monotonic() < deadline:
                    room = made[side][turn % 100]
                    turn += 1
                    room.version += 1
                    document = encode_document(room)
                    started = time.perf_counter()
                    saved = stores[side].save_many([(room, room.version - 1)], None, [document])
                    assert saved == [None]
                    samples[side].append((time.perf_counter() - started) * 1e6)
                    time.sleep(args.gap)
        checkpoints.stopped.set()
        checkpoints.join()
        for side, taken in samples.items():
            print(  # noqa: T201
                f"{side:<8} commits={len(taken)} p50={percentile(taken, 0.5):.0f}us "
                f"p95={percentile(taken, 0.95):.0f}us p99={percentile(taken, 0.99):.0f}us "
                f"max={max(taken):.0f}us"
            )
        mine, theirs = samples["store"], samples["baseline"]
        print(  # noqa: T201
            "ratio    store/baseline "
            + " ".join(
                f"{name}={percentile(mine, share) / percentile(theirs, share):.2f}"
                for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
            )
            + f" max={max(mine) / max(theirs):.2f}"
        )
        for store in stores.values():
            store.close()
            store.engine.dispose()


if __name__ == "__main__":
    main()
