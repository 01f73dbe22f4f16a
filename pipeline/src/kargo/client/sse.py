"""A Server-Sent Events parser: lines in, (event, data) pairs out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    """One event of an SSE stream."""

    event: str
    data: str
    id: str = ""


def parse_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Yield each event of a stream of text lines (a blank line ends an event)."""
    event, event_id = "", ""
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data), event_id)
            event, event_id = "", ""
            data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    if data:
        yield ServerSentEvent(event or "message", "\n".join(data), event_id)
