"""A revealed round: the cards on the table, their statistics and the time it took, kept as is.

The record is made once at the reveal and never recomputed: the room shows it, the story keeps
it in its history and the CSV export writes it, so all three always agree.
"""

from __future__ import annotations

from typing import Any

from planning_poker.stats import compute_stats

MAX_ROUNDS_PER_STORY = 50


def round_record(
    number: int,
    votes: list[tuple[str, str]],
    deck: list[str],
    started_at: float | None,
    revealed_at: float,
) -> dict[str, Any]:
    """The stored form of one revealed round (`votes` are name and card pairs)."""
    stats = compute_stats([card for _, card in votes], deck)
    seconds = round(revealed_at - started_at) if started_at is not None else None
    return {
        "round": number,
        "votes": [[name, card] for name, card in votes],
        **stats.to_json(),
        "startedAt": started_at,
        "revealedAt": revealed_at,
        "seconds": seconds if seconds is None or seconds >= 0 else None,
    }


def stats_of(record: dict[str, Any]) -> dict[str, Any]:
    """The statistics part of a round record, in the shape of RoundStats.to_json()."""
    if "distribution" not in record:  # a record from before rounds kept their statistics
        return compute_stats([card for _, card in record.get("votes", [])], []).to_json()
    keys = ("average", "median", "mode", "consensus", "agreement", "distribution")
    return {key: record.get(key) for key in keys}


def seconds_spent(rounds: list[dict[str, Any]]) -> int | None:
    """The time all rounds of a story took, or None when none was measured."""
    measured = [r["seconds"] for r in rounds if isinstance(r.get("seconds"), int | float)]
    return round(sum(measured)) if measured else None
