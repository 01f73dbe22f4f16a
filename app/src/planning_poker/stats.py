"""Statistics of a revealed round: average, median, mode, consensus, agreement."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from planning_poker.decks import ABSTAIN_CARDS, numeric_value


@dataclass(frozen=True)
class RoundStats:
    """What the cards of one round say."""

    average: float | None
    median: float | None
    mode: list[str]
    consensus: bool
    agreement: float
    distribution: dict[str, int]

    def to_json(self) -> dict[str, object]:
        """The camelCase wire form."""
        return {
            "average": self.average,
            "median": self.median,
            "mode": self.mode,
            "consensus": self.consensus,
            "agreement": self.agreement,
            "distribution": self.distribution,
        }


def compute_stats(votes: list[str], deck: list[str]) -> RoundStats:
    """Statistics over the cast cards; ? and ☕ count in the distribution but not the numbers.

    The mode is the most common estimate (? and ☕ are not estimates); when every estimate
    differs there is none.
    """
    order = {card: index for index, card in enumerate(deck)}
    counts = Counter(votes)
    distribution = {card: counts[card] for card in sorted(counts, key=lambda c: order.get(c, 99))}
    numbers = [n for n in (numeric_value(card) for card in votes) if n is not None]
    average = round(statistics.fmean(numbers), 2) if numbers else None
    median = round(float(statistics.median(numbers)), 2) if numbers else None
    top = max(counts.values(), default=0)
    estimates = {card: n for card, n in distribution.items() if card not in ABSTAIN_CARDS}
    most = max(estimates.values(), default=0)
    all_differ = most == 1 and len(estimates) > 1
    mode = [] if all_differ else [card for card, n in estimates.items() if n == most and most]
    consensus = len(votes) > 0 and len(counts) == 1
    agreement = round(100.0 * top / len(votes), 1) if votes else 0.0
    return RoundStats(
        average=average,
        median=median,
        mode=mode,
        consensus=consensus,
        agreement=agreement,
        distribution=distribution,
    )
