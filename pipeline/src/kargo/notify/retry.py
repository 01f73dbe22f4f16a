"""The retry schedule: exponential backoff with jitter, `Retry-After`, and when to give up.

Default schedule after each failed attempt: 5 s, 30 s, 2 min, 10 min, 1 h, 6 h (each ±20 %),
and no attempt starts more than 24 h after the first one: at most seven attempts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from kargo.model.webhooks import DEFAULT_GIVE_UP_AFTER, DEFAULT_RETRY_SCHEDULE, RetryPolicy


@dataclass(frozen=True)
class RetrySchedule:
    """Delays in seconds after attempt 1, 2, …; jitter as a fraction; the overall deadline."""

    delays: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    jitter: float = 0.2
    give_up_after: float = DEFAULT_GIVE_UP_AFTER

    @classmethod
    def from_policy(cls, policy: RetryPolicy) -> RetrySchedule:
        """The schedule a WebhookConfig's `retry` declares."""
        return cls(tuple(policy.backoff), policy.jitter, policy.give_up_after)

    @classmethod
    def of(cls, delays: Sequence[float], jitter: float = 0.0) -> RetrySchedule:
        """A schedule from plain delays; gives up after their sum plus a margin (for tests)."""
        return cls(tuple(delays), jitter, sum(delays) * (1 + jitter) + 60.0)

    def next_delay(
        self,
        attempts_made: int,
        elapsed: float,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds until the next attempt after `attempts_made` failures, or None to give up."""
        if attempts_made < 1 or attempts_made > len(self.delays):
            return None
        if retry_after is not None:
            delay = retry_after
        else:
            base = self.delays[attempts_made - 1]
            spread = (rng or random).uniform(-self.jitter, self.jitter)
            delay = max(0.0, base * (1.0 + spread))
        if elapsed + delay > self.give_up_after:
            return None
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
