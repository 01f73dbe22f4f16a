"""Ages like kubectl's AGE column, and step durations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click
import pytest
from kargo.cli.tables import DURATION, age, elapsed, rfc3339, short_duration

from tests.pipeline.cli.conftest import NOW


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        # The boundaries of HumanDuration (k8s.io/apimachinery/pkg/util/duration), kubectl's AGE.
        (0, "0s"), (1, "1s"), (60, "60s"), (119, "119s"), (120, "2m"), (330, "5m30s"),
        (599, "9m59s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"),
        (3 * 3600 + 20 * 60, "3h20m"), (8 * 3600, "8h"), (47 * 3600 + 59 * 60, "47h"),
        (48 * 3600, "2d"), (4 * 86400 + 3600, "4d1h"), (8 * 86400, "8d"), (364 * 86400, "364d"),
        (729 * 86400, "729d"), (730 * 86400, "2y"), (800 * 86400, "2y70d"),
        (8 * 365 * 86400, "8y"),
        (-0.5, "0s"),
        (-5, "<invalid>"),
    ],
)  # fmt: skip
def test_ages_are_shortened_like_kubectl(seconds: float, shown: str) -> None:
    assert short_duration(seconds) == shown


def test_ages_count_from_aware_times_in_any_zone() -> None:
    assert age(NOW - timedelta(minutes=3), NOW) == "3m"
    assert age(datetime(2026, 11, 26, 7, tzinfo=timezone(timedelta(hours=1))), NOW) == "0s"
    assert age(None, NOW) == "<unknown>"


def test_times_are_printed_as_rfc3339_in_utc_with_z() -> None:
    plus_one = timezone(timedelta(hours=1))
    assert (
        rfc3339(datetime(2026, 11, 26, 7, 0, 5, 123456, tzinfo=plus_one)) == "2026-11-26T06:00:05Z"
    )
    assert rfc3339(datetime(2026, 11, 26, 6, 0, 5)) == "2026-11-26T06:00:05Z"  # naive: UTC
    assert rfc3339(None) == ""


def test_step_durations_are_precise_under_a_minute() -> None:
    start = NOW - timedelta(minutes=10)
    assert elapsed(start, start + timedelta(seconds=1.4), NOW) == "1.4s"
    assert elapsed(start, start + timedelta(minutes=3), NOW) == "3m"
    assert elapsed(NOW - timedelta(seconds=2), None, NOW) == "2.0s"
    assert elapsed(None, None, NOW) == ""


def test_timeouts_take_the_go_duration_grammar_and_refuse_others_as_usage_errors() -> None:
    assert [DURATION.convert(v, None, None) for v in ("90s", "10m", "1h30m", "500ms")] == [
        90, 600, 5400, 0.5,
    ]  # fmt: skip
    with pytest.raises(click.BadParameter, match="e.g. 90s, 5m, 1h30m or 500ms"):
        DURATION.convert("soon", None, None)
