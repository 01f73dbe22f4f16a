"""The token is checked and the body capped before a body is read (issue 15, items 7 and 9).

Raw sockets announce a large body and send only its first bytes: a server that answers at once
refused before reading; one that waits for the rest would have read (and held) it first.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.pipeline.harness import api_server, auth

API = "/api/v1"
FORTY_MB = 40 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with api_server(tmp_path_factory.mktemp("gate") / "state") as (base, _):
        yield base


def announce(base: str, path: str, headers: dict[str, str], length: int) -> str:
    """Send headers announcing `length` bytes and 1 KiB of them; the status line of the answer."""
    parts = urlsplit(base)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {length}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"{" + b" " * 1023)
        try:
            answer = connection.recv(4096).decode(errors="replace")
        except TimeoutError:
            return "no answer: the server waits for the body"
    return answer.splitlines()[0] if answer else "closed"


def test_an_unauthenticated_large_post_is_refused_before_its_body_is_read(server: str) -> None:
    path = f"{API}/projects/shop/promotions"
    assert announce(server, path, {"Content-Type": "application/json"}, FORTY_MB).startswith(
        "HTTP/1.1 401"
    )


def test_an_authenticated_body_above_the_cap_is_refused_with_413(server: str) -> None:
    path = f"{API}/projects/shop/promotions"
    headers = {**auth(server), "Content-Type": "application/json"}
    assert announce(server, path, headers, FORTY_MB).startswith("HTTP/1.1 413")

    def chunks() -> Iterator[bytes]:
        for _ in range(7):
            yield b" " * 1_000_000

    answer = httpx.post(f"{server}{API}/apply", content=chunks(), headers=auth(server), timeout=30)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "TooLarge"


def test_a_small_authenticated_body_still_reaches_its_route(server: str) -> None:
    answer = httpx.post(
        f"{server}{API}/projects/shop/promotions", json={"stage": "x"}, headers=auth(server)
    )
    assert answer.status_code in (400, 404, 422), answer.text  # judged by the route itself


def test_a_forged_forwarded_address_is_ignored_and_a_flood_of_refusals_is_folded(
    server: str,
) -> None:
    admin = auth(server)
    made = httpx.post(
        f"{server}{API}/tokens", json={"name": "gate-viewer", "role": "viewer"}, headers=admin
    )
    assert made.status_code == 201, made.text
    viewer = {"Authorization": f"Bearer {made.json()['token']}", "X-Forwarded-For": "203.0.113.9"}
    for _ in range(20):
        refused = httpx.post(
            f"{server}{API}/tokens", json={"name": "x", "role": "admin"}, headers=viewer
        )
        assert refused.status_code == 403
    records = httpx.get(f"{server}{API}/audit", params={"actor": "gate-viewer"}, headers=admin)
    denied = [r for r in records.json()["items"] if r["result"].startswith("denied")]
    assert len(denied) == 1, denied  # one record a minute per caller and kind, not twenty
    assert denied[0]["address"] == "127.0.0.1"  # the peer, not the forged header


def test_refusal_windows_record_the_first_and_count_the_rest() -> None:
    from kargo.auth.refusals import RefusalWindows

    now = [0.0]
    windows = RefusalWindows(window=60, clock=lambda: now[0])
    assert windows.admit("v", "POST /x", "tokens/*") == 0
    assert [windows.admit("v", "POST /x", "tokens/*") for _ in range(3)] == [None] * 3
    assert windows.admit("w", "POST /x", "tokens/*") == 0  # another caller has its own window
    now[0] = 61.0
    assert windows.admit("v", "POST /x", "tokens/*") == 3  # recorded, naming the three folded
