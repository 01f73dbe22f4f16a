"""Ages like kubectl's AGE column, and step durations."""

from __future__ import annotations

from datetime import timedelta

import click
import pytest
from kargo.cli.timefmt import DURATION, age, elapsed, short_duration

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


def test_age_reads_rfc3339_timestamps_with_z_or_offsets() -> None:
    assert age((NOW - timedelta(minutes=3)).isoformat().replace("+00:00", "Z"), NOW) == "3m"
    assert age("2026-11-26T07:00:00+01:00", NOW) == "0s"
    assert age(None, NOW) == "<unknown>"
    assert age("yesterday", NOW) == "<unknown>"


def test_step_durations_are_precise_under_a_minute() -> None:
    assert elapsed("2026-11-26T05:50:01Z", "2026-11-26T05:50:02.400Z", NOW) == "1.4s"
    assert elapsed("2026-11-26T05:00:00Z", "2026-11-26T05:03:00Z", NOW) == "3m"
    assert elapsed("2026-11-26T05:59:58Z", None, NOW) == "2.0s"
    assert elapsed(None, None, NOW) == ""


def test_timeouts_take_the_go_duration_grammar_and_refuse_others_as_usage_errors() -> None:
    assert [DURATION.convert(v, None, None) for v in ("90s", "10m", "1h30m", "500ms")] == [
        90, 600, 5400, 0.5,
    ]  # fmt: skip
    with pytest.raises(click.BadParameter, match="e.g. 90s, 5m, 1h30m or 500ms"):
        DURATION.convert("soon", None, None)
