"""WebSocket frames built once: a message's frame shared by all its receivers.

The server offers the app a direct path for such frames (a `FrameWriter`, found in the ASGI
scope's extensions under `FRAMES_EXTENSION`); `outbox.Outbox` uses it when it is there.
"""

from __future__ import annotations

import struct
from typing import Protocol

FRAMES_EXTENSION = "planning_poker.frames"  # the ASGI scope extension holding a FrameWriter


class FrameWriter(Protocol):
    """The server's direct path: write a ready-made frame now, or say it cannot."""

    def write_frame(self, frame: bytes) -> bool:
        """Write the frame if the ASGI send would write it without waiting; else False."""
        ...


class Text:
    """A text message and its WebSocket frame, built once for every receiver."""

    __slots__ = ("text", "frame")

    def __init__(self, text: str) -> None:
        self.text = text
        self.frame = text_frame(text)


def text_frame(text: str) -> bytes:
    """The unmasked, unfragmented frame a server sends for a text message (RFC 6455, 5.2)."""
    data = text.encode()
    size = len(data)
    if size < 126:
        return bytes((0x81, size)) + data
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + data
    return struct.pack("!BBQ", 0x81, 127, size) + data
