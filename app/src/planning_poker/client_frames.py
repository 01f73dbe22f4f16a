"""The common case of what a client sends, read in one pass: whole, unfragmented text frames.

A browser sends each message as one masked text frame, nearly always in a TCP segment of its
own. websockets' sans-I/O parser reads it through a chain of generators (each field a
`yield from` a buffered reader), which costs a paced vote tens of microseconds on a cold cache;
`texts` reads such data directly and gives up (None) on anything else: a frame cut short, a
control frame, a continuation, reserved bits, no mask, 64 KiB or more, or text that is not
UTF-8. The server then hands the data to websockets as before (`wsserver.RoomProtocol`), so
that every case websockets handles, and every error it answers, stays its own.
"""

from __future__ import annotations

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

TEXT_WHOLE = 0x81  # FIN, no reserved bits, opcode 1 (text): RFC 6455, 5.2
MASKED = 0x80
LENGTH_16 = 126
LENGTH_64 = 127
MASK_BYTES = 4


def texts(data: bytes) -> list[str] | None:
    """The messages in `data` when it is nothing but whole, masked text frames of under
    64 KiB carrying UTF-8, else None."""
    found: list[str] = []
    size = len(data)
    at = 0
    while at < size:
        if size - at < 2 + MASK_BYTES or data[at] != TEXT_WHOLE:
            return None
        second = data[at + 1]
        length = second & 0x7F
        if not second & MASKED or length == LENGTH_64:
            return None
        start = at + 2 + MASK_BYTES
        if length == LENGTH_16:
            start += 2
            if start > size:
                return None
            length = int.from_bytes(data[at + 2 : at + 4], "big")
        end = start + length
        if end > size:
            return None
        try:
            found.append(apply_mask(data[start:end], data[start - MASK_BYTES : start]).decode())
        except UnicodeDecodeError:
            return None
        at = end
    return found
