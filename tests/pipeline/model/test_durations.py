"""One duration grammar (Go's time.ParseDuration plus d and w) for every duration and flag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kargo.model.durations import duration_seconds, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        # Examples of Go's time.ParseDuration documentation and tests (src/time/format_test.go).
        ("1h30m", 5400.0), ("500ms", 0.5), ("90s", 90.0), ("2h45m", 9900.0), ("1.5h", 5400.0),
        ("300ms", 0.3), ("0", 0.0), ("1h15m30.918273645s", 4530.918273645), (".5s", 0.5),
        ("1000us", 0.001), ("1µs", 1e-6), ("7d", 604800.0), ("2w", 1209600.0),
    ],
)  # fmt: skip
def test_go_durations_parse_to_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == pytest.approx(seconds)
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5", "1h 30m", "-5s", "5x", "h"])
def test_anything_else_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 90s, 5m, 1h30m or 500ms|negative"):
        duration_seconds(text)


def test_a_bare_number_is_told_it_needs_a_unit() -> None:
    with pytest.raises(ValueError, match="a unit is required"):
        duration_seconds("45")


def test_durations_are_written_back_in_the_same_grammar() -> None:
    assert [format_duration(s) for s in (0, 0.2, 59, 250, 3723, 5400)] == [
        "0s", "1s", "59s", "4m10s", "1h2m3s", "1h30m",
    ]  # fmt: skip
    assert duration_seconds(format_duration(3723)) == 3723
