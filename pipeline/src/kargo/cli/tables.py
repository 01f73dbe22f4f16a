"""Cells and tables as kubectl prints them: aligned tables (upper-case headers, three spaces
between columns), times (RFC 3339 with a `Z`), ages (90s, 5m30s, 3h20m, 4d2h, 2y), durations.

Status words are coloured on a terminal (the phases themselves are `kargo.model`'s enums).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click

from kargo.model.durations import duration_seconds

GAP = "   "
GOOD_WORDS = frozenset({"Succeeded", "Successful", "Healthy", "True", "Normal", "Verified", "ok"})
BAD_WORDS = frozenset(
    {"Failed", "Errored", "Error", "Unhealthy", "False", "Warning", "Aborted", "failed"}
)
BUSY_WORDS = frozenset({"Running", "Pending", "Progressing", "Inconclusive", "Verifying"})


def style_for(word: str) -> str | None:
    """The colour a status word gets on a terminal, or None."""
    if word in GOOD_WORDS:
        return "green"
    if word in BAD_WORDS:
        return "red"
    if word in BUSY_WORDS:
        return "yellow"
    return None


@dataclass
class Table:
    """Headers, rows of cells, and which columns hold status words worth colouring."""

    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    status_columns: frozenset[int] = frozenset()

    def add(self, *cells: object) -> None:
        """Append a row; None becomes an empty cell and long cells are cut."""
        self.rows.append([_cell(c) for c in cells])


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("\n", " ")


def _style(text: str, column: int, table: Table, header: bool) -> dict[str, Any]:
    """Bold for a header, the status colour for a status word, else nothing."""
    if header:
        return {"bold": True}
    colour = style_for(text) if column in table.status_columns else None
    return {"fg": colour} if colour else {}


def render_table(
    table: Table, no_headers: bool = False, colour: bool = False, empty: str = "<none>"
) -> str:
    """The table as text; empty cells show as <none> like kubectl; no trailing spaces."""
    lines = [] if no_headers else [table.headers]
    lines += [[c if c else empty for c in row] for row in table.rows]
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(table.headers))]
    out = []
    for number, line in enumerate(lines):
        cells = []
        for i, text in enumerate(line):
            padded = text if i == len(line) - 1 else text.ljust(widths[i])
            style = _style(text, i, table, number == 0 and not no_headers) if colour else {}
            cells.append(click.style(text, **style) + padded[len(text) :] if style else padded)
        out.append(GAP.join(cells).rstrip())
    return "\n".join(out)


def render_row(row: list[str], widths_from: Table, colour: bool = False) -> str:
    """One row (for --watch), aligned to the widths of a table already printed."""
    single = Table(widths_from.headers, [*widths_from.rows, row], widths_from.status_columns)
    return render_table(single, colour=colour).splitlines()[-1]


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
