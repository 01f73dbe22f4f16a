"""The watch stream's Server-Sent Events parser."""

from __future__ import annotations

from kargo.client.sse import ServerSentEvent, parse_sse


def test_events_end_at_blank_lines_and_multi_line_data_is_joined() -> None:
    lines = [
        ": keep-alive",
        "event: ADDED",
        'data: {"kind": "Stage",',
        'data:  "metadata": {"name": "dev"}}',
        "",
        "id: 7",
        "event: MODIFIED",
        "data: {}",
        "",
        "data: last without a blank line",
    ]
    assert list(parse_sse(lines)) == [
        ServerSentEvent("ADDED", '{"kind": "Stage",\n "metadata": {"name": "dev"}}'),
        ServerSentEvent("MODIFIED", "{}", "7"),
        ServerSentEvent("message", "last without a blank line"),
    ]


def test_events_without_data_are_dropped() -> None:
    assert list(parse_sse(["event: ADDED", "", ""])) == []
