"""Dates and durations: now(), duration(), date(), timezone() and their Go methods."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kargo.expr.errors import Fault
from kargo.expr.values import format_duration, is_number, type_name

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
# Go reference layout pieces, longest first, as strftime directives.
_LAYOUT = [
    ("January", "%B"),
    ("Monday", "%A"),
    ("Z07:00", "%z"),
    ("-07:00", "%z"),
    ("-0700", "%z"),
    ("2006", "%Y"),
    ("Jan", "%b"),
    ("Mon", "%a"),
    ("MST", "%Z"),
    (".000000", ".%f"),
    (".000", ".%f"),
    ("01", "%m"),
    ("02", "%d"),
    ("15", "%H"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("PM", "%p"),
    ("06", "%y"),
]
_DEFAULT_LAYOUTS = [
    "%Y-%m-%d",
    "%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%a, %d %b %Y %H:%M:%S %Z",
    "%d %b %y %H:%M %Z",
    "%A, %d-%b-%y %H:%M:%S %Z",
    "%a, %d %b %Y %H:%M:%S %z",
]


def parse_duration(text: str) -> dt.timedelta:
    """A Go duration string (`1h30m`, `-1.5h`, `300ms`) as a timedelta."""
    if not isinstance(text, str):
        raise Fault(f"duration() needs a string, got {type_name(text)}")
    body = text
    sign = 1.0
    if body[:1] in "+-" and body:
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return dt.timedelta(0)
    seconds, position = 0.0, 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not body or position != len(body):
        raise Fault(f'time: invalid duration "{text}"')
    return dt.timedelta(seconds=sign * seconds)


def go_layout(layout: str) -> str:
    """A Go time layout (`2006-01-02 15:04:05`) as a strptime format."""
    out, i = [], 0
    while i < len(layout):
        for piece, directive in _LAYOUT:
            if layout.startswith(piece, i):
                out.append(directive)
                i += len(piece)
                break
        else:
            out.append(layout[i].replace("%", "%%"))
            i += 1
    return "".join(out)


def timezone(name: str) -> dt.tzinfo:
    """A time zone by its IANA name."""
    if name in ("UTC", ""):
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Fault(f"unknown time zone {name}") from None


def parse_date(text: str, layout: str | None = None, zone: str | None = None) -> dt.datetime:
    """date(str[, layout[, timezone]]) as expr parses it; a date without a zone is UTC."""
    if not isinstance(text, str):
        raise Fault(f"date() needs a string, got {type_name(text)}")
    tz = timezone(zone) if zone is not None else dt.UTC
    if layout is not None:
        formats = [go_layout(layout)]
    else:
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
        except ValueError:
            formats = _DEFAULT_LAYOUTS
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise Fault(f'cannot parse "{text}" as date')


def now() -> dt.datetime:
    """The current time (UTC)."""
    return dt.datetime.now(dt.UTC)


def format_time(value: dt.datetime, layout: str) -> str:
    """A time written with a Go layout."""
    return value.strftime(go_layout(layout))


def _time_table(value: dt.datetime) -> Mapping[str, Callable[..., Any]]:
    return {
        "Year": lambda: value.year,
        "Month": lambda: value.month,
        "Day": lambda: value.day,
        "Hour": lambda: value.hour,
        "Minute": lambda: value.minute,
        "Second": lambda: value.second,
        "Nanosecond": lambda: value.microsecond * 1000,
        "Weekday": lambda: (value.weekday() + 1) % 7,
        "YearDay": lambda: value.timetuple().tm_yday,
        "Unix": lambda: int(value.timestamp()),
        "UnixMilli": lambda: int(value.timestamp() * 1000),
        "Format": lambda layout: format_time(value, layout),
        "In": lambda tz: value.astimezone(tz),
        "UTC": lambda: value.astimezone(dt.UTC),
        "Add": lambda d: value + d,
        "Sub": lambda other: value - other,
        "Before": lambda other: value < other,
        "After": lambda other: value > other,
        "Equal": lambda other: value == other,
        "IsZero": lambda: value == dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        "String": lambda: str(value),
    }


def _duration_table(value: dt.timedelta) -> Mapping[str, Callable[..., Any]]:
    seconds = value.total_seconds()
    return {
        "Hours": lambda: seconds / 3600,
        "Minutes": lambda: seconds / 60,
        "Seconds": lambda: seconds,
        "Milliseconds": lambda: round(seconds * 1000),
        "Microseconds": lambda: round(seconds * 1_000_000),
        "Nanoseconds": lambda: round(seconds * 1e9),
        "Abs": lambda: abs(value),
        "String": lambda: format_duration(value),
    }


def time_methods(value: Any) -> Mapping[str, Callable[..., Any]]:
    """The Go methods of a time or a duration (none for other values)."""
    if isinstance(value, dt.datetime):
        return _time_table(value)
    if isinstance(value, dt.timedelta):
        return _duration_table(value)
    return {}


def as_duration(value: Any) -> dt.timedelta:
    """A duration from a duration or a number of nanoseconds."""
    if isinstance(value, dt.timedelta):
        return value
    if is_number(value):
        return dt.timedelta(microseconds=value / 1000)
    raise Fault(f"expected a duration, got {type_name(value)}")
