"""Times as kubectl shows them: ages (90s, 5m30s, 3h20m, 4d2h, 2y) and step durations."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from kargo.model.durations import duration_seconds


def rfc3339(moment: datetime | None) -> str:
    """A time as RFC 3339 in UTC with a `Z`, to the second ("" for none): 2026-11-26T05:50:00Z."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_duration(seconds: float) -> str:
    """kubectl's AGE (apimachinery's HumanDuration): 90s, 5m30s, 45m, 3h20m, 20h, 3d4h, 30d, 2y."""
    if seconds < -1:
        return "<invalid>"
    total = max(int(seconds), 0)
    minutes, hours, days = total // 60, total // 3600, total // 86400
    if total < 120:
        return f"{total}s"
    if minutes < 10:
        return f"{minutes}m" + (f"{total % 60}s" if total % 60 else "")
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" + (f"{minutes % 60}m" if minutes % 60 else "")
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d" + (f"{hours % 24}h" if hours % 24 else "")
    if days < 730:
        return f"{days}d"
    years = days // 365
    if years < 8:
        return f"{years}y" + (f"{days % 365}d" if days % 365 else "")
    return f"{years}y"


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago moment was, as kubectl's AGE column shows it; `<unknown>` when absent."""
    if moment is None:
        return "<unknown>"
    return short_duration(((now or datetime.now(UTC)) - moment).total_seconds())


def elapsed(start: datetime | None, end: datetime | None, now: datetime | None = None) -> str:
    """A step's duration, precise below a minute (1.2s), else short (3m); empty if not started."""
    if start is None:
        return ""
    seconds = ((end or now or datetime.now(UTC)) - start).total_seconds()
    if seconds < 60:
        return f"{max(seconds, 0):.1f}s"
    return short_duration(seconds)


class Duration(click.ParamType[float, object]):
    """A `--timeout`-style option: the one duration grammar (90s, 5m, 1h30m, 500ms), in seconds."""

    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """Seconds, or a usage error (exit 2) saying what to write."""
        if isinstance(value, float):
            return value
        try:
            return duration_seconds(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = Duration()
