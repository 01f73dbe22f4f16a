"""Outage and crash: a dispatcher killed with SIGKILL mid-outage loses and duplicates nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kargo.model.deliveries import DeliveryStatus
from kargo.notify import list_deliveries
from kargo.store import Store

from tests.pipeline.notify.receiver import Receiver
from tests.pipeline.notify.samples import PIPELINE_NOTIFICATIONS, emit_pipeline_run

PROCESS = Path(__file__).with_name("dispatcher_process.py")


@contextmanager
def dispatcher_process(
    store: Store, url: str, secret_file: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """The dispatcher in a child process; killed at the end if still running."""
    database = store.engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, str(PROCESS), database, url, str(secret_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def wait_until(condition: object, timeout: float = 30.0) -> None:
    """Poll a zero-argument callable until it is true."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def test_a_dispatcher_killed_during_an_outage_delivers_everything_once_per_webhook_id(
    store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    outage = {"on": True}
    receiver.respond = lambda path, headers: (503, {}) if outage["on"] else (200, {})
    emit_pipeline_run(store)
    first_ids: set[str] = set()

    with dispatcher_process(store, receiver.url, secret_file[1]) as process:
        wait_until(lambda: len({r.headers["webhook-id"] for r in receiver.all()}) == 18)
        first_ids = {r.headers["webhook-id"] for r in receiver.all()}
        process.kill()  # SIGKILL, in the middle of the outage
        process.wait(timeout=10)

    emit_pipeline_run(
        store, "-again"
    )  # the engine goes on recording events while the dispatcher is down
    with dispatcher_process(store, receiver.url, secret_file[1]):
        failures_before = len(receiver.all())
        wait_until(lambda: len(receiver.all()) > failures_before + 10)
        outage["on"] = False
        wait_until(lambda: len(receiver.accepted()) >= 2 * PIPELINE_NOTIFICATIONS)
        time.sleep(1.0)  # anything further would be a duplicate

    accepted = receiver.accepted()
    assert all(r.verified for r in receiver.all())
    ids = [r.headers["webhook-id"] for r in accepted]
    assert len(ids) == len(set(ids)) == 2 * PIPELINE_NOTIFICATIONS
    assert first_ids <= set(ids)
    per_notification: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for request in receiver.all():
        key = (request.payload["data"]["event"]["uid"], request.payload["type"])
        per_notification[key].add(request.headers["webhook-id"])
    assert all(len(found) == 1 for found in per_notification.values())
    log = list_deliveries(store.engine, limit=1000)
    assert len(log) == 2 * PIPELINE_NOTIFICATIONS
    assert {record.status for record in log} == {DeliveryStatus.SUCCEEDED}
