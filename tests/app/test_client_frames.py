"""Whole text frames read in one pass; everything else still goes through websockets' parser.

The frames are made by websockets' own serializer (the reference for RFC 6455 here). The
server runs in this process (uvicorn in a thread) so that a test can count what reaches
websockets' parser.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from planning_poker import client_frames, collector
from planning_poker.settings import load_settings
from planning_poker.web import create_app
from planning_poker.wsserver import RoomProtocol
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol as FrameProtocol
from websockets.protocol import Side
from websockets.uri import parse_uri

from tests.app.conftest import Server, create_room
from tests.services import free_port

PING = '{"type": "ping"}'
PONG = '{"type": "pong"}'


def frame(
    data: str | bytes,
    opcode: Opcode = Opcode.TEXT,
    fin: bool = True,
    rsv1: bool = False,
    mask: bool = True,
) -> bytes:
    """One frame as a client sends it (masked unless told otherwise)."""
    payload = data.encode() if isinstance(data, str) else data
    made = Frame(opcode, payload, fin).serialize(mask=mask)
    return bytes((made[0] | 0x40,)) + made[1:] if rsv1 else made  # serialize refuses RSV1


def test_whole_masked_text_frames_are_read_in_one_pass() -> None:
    long = "é" * 100  # 200 bytes: the 16-bit length form
    assert client_frames.texts(frame(PING) + frame(long)) == [PING, long]
    assert client_frames.texts(b"") == []


@pytest.mark.parametrize(
    "data",
    [
        frame(PING)[:-1],  # cut short
        frame(PING)[:3],  # inside the mask
        frame("é" * 100)[:3],  # inside the 16-bit length
        frame(PING) + frame(b"", Opcode.PING),  # a control frame after a text frame
        frame('{"type": ', fin=False),  # the first fragment of a message
        frame(PING, Opcode.CONT),
        frame(PING, rsv1=True),
        frame(PING, mask=False),
        frame("x" * 65536),  # the 64-bit length form
        frame(b"\xff\xfe"),  # not UTF-8
        frame(PING, Opcode.BINARY),
    ],
    ids=[
        "cut",
        "in-mask",
        "in-length",
        "then-ping",
        "fragment",
        "continuation",
        "reserved-bit",
        "unmasked",
        "64-bit-length",
        "not-utf8",
        "binary",
    ],
)
def test_anything_else_is_left_to_websockets(data: bytes) -> None:
    assert client_frames.texts(data) is None


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app under uvicorn with the room protocol, in a thread of this process; the
    collector set-up its start-up makes (`collector.settle`) is undone for the other tests."""
    thresholds = gc.get_threshold()
    port = free_port()
    settings = load_settings(data_dir=tmp_path_factory.mktemp("frames"))
    config = uvicorn.Config(
        create_app(settings),
        port=port,
        ws=RoomProtocol,
        log_level="warning",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the in-process server did not start"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", port)
    server.should_exit = True
    thread.join(15)
    assert not thread.is_alive(), "the in-process server did not stop"
    if collector._on_collection in gc.callbacks:  # noqa: SLF001 - undo for other tests
        gc.callbacks.remove(collector._on_collection)  # noqa: SLF001
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class RawClient:
    """A room WebSocket driven byte by byte: frames sent in the pieces a test chooses."""

    def __init__(self, server: Server) -> None:
        room = create_room(server)
        uri = f"{server.ws_base}/ws/rooms/{room['id']}?token={room['token']}&deltas=1"
        self.protocol = ClientProtocol(parse_uri(uri))
        self.socket = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.texts: list[str] = []
        self.frames: list[Frame] = []
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.handshake_exc is None and not self._opened():
            self._read()
        assert self.protocol.handshake_exc is None

    def _opened(self) -> bool:
        return self.protocol.state.name == "OPEN"

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            self.socket.sendall(data)

    def _read(self) -> None:
        self.protocol.receive_data(self.socket.recv(65536))
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self.frames.append(event)
                if event.opcode is Opcode.TEXT:
                    self.texts.append(event.data.decode())
        self._flush()

    def send(self, *pieces: bytes) -> None:
        """Send each piece in a TCP segment of its own."""
        for piece in pieces:
            self.socket.sendall(piece)
            time.sleep(0.05)

    def until(self, done: object, timeout: float = 5.0) -> None:
        """Read until `done()` holds."""
        deadline = time.monotonic() + timeout
        while not done():  # type: ignore[operator]
            assert time.monotonic() < deadline, f"got {self.texts} and {self.frames}"
            self._read()

    def pongs(self) -> int:
        """How many of the app's pong messages arrived."""
        return self.texts.count(PONG)

    def close(self) -> None:
        self.socket.close()


def test_a_whole_frame_skips_websockets_parser_and_a_split_one_goes_through_it(
    in_process: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = RawClient(in_process)
    client.until(lambda: any('"type":"state"' in t for t in client.texts))
    parsed: list[int] = []
    receive_data = FrameProtocol.receive_data

    def counted(self: FrameProtocol, data: bytes) -> None:
        if self.side is Side.SERVER:  # not the client's own parser, in this process too
            parsed.append(len(data))
        receive_data(self, data)

    monkeypatch.setattr(FrameProtocol, "receive_data", counted)
    client.send(frame(PING) + frame(PING))
    client.until(lambda: client.pongs() == 2)
    assert parsed == []
    whole = frame(PING)
    client.send(whole[:4], whole[4:])  # cut inside the mask: websockets reads both pieces
    client.until(lambda: client.pongs() == 3)
    assert parsed == [4, len(whole) - 4]
    client.send(frame(PING))  # websockets is between frames again
    client.until(lambda: client.pongs() == 4)
    assert len(parsed) == 2
    client.close()


def test_fragments_pings_and_bad_text_are_answered_as_websockets_answers_them(
    in_process: Server,
) -> None:
    client = RawClient(in_process)
    client.send(frame('{"type": ', fin=False), frame('"ping"}', Opcode.CONT))
    client.until(lambda: client.pongs() == 1)
    client.send(frame(PING))
    client.until(lambda: client.pongs() == 2)
    client.send(frame(b"are you there", Opcode.PING))
    client.until(lambda: any(f.opcode is Opcode.PONG for f in client.frames))
    assert [f.data for f in client.frames if f.opcode is Opcode.PONG] == [b"are you there"]
    client.send(frame(b"\xff\xfe"))
    client.until(lambda: client.protocol.close_rcvd is not None)
    assert client.protocol.close_rcvd is not None
    assert client.protocol.close_rcvd.code == 1007
    client.close()


def test_a_reserved_bit_still_fails_the_connection(in_process: Server) -> None:
    client = RawClient(in_process)
    client.send(frame(PING, rsv1=True))
    client.until(lambda: client.protocol.close_rcvd is not None)
    assert client.protocol.close_rcvd is not None
    assert client.protocol.close_rcvd.code == 1002
    client.close()
