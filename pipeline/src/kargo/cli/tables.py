"""Aligned tables as kubectl prints them: upper-case headers, three spaces between columns.

Status words are coloured on a terminal (the phases themselves are `kargo.model`'s enums).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import click

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


def _colour(text: str, column: int, table: Table, padded: str) -> str:
    """Wrap the padded cell in ANSI colour when its word has a status colour."""
    if column not in table.status_columns:
        return padded
    colour = style_for(text)
    if colour is None:
        return padded
    return click.style(text, fg=colour) + padded[len(text) :]


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
        is_header = number == 0 and not no_headers
        cells = []
        for i, text in enumerate(line):
            last = i == len(line) - 1
            padded = text if last else text.ljust(widths[i])
            if colour and is_header:
                padded = click.style(text, bold=True) + padded[len(text) :]
            elif colour:
                padded = _colour(text, i, table, padded)
            cells.append(padded)
        out.append(GAP.join(cells).rstrip())
    return "\n".join(out)


def render_row(table: Table, row: list[str], widths_from: Table, colour: bool = False) -> str:
    """One row (for --watch), aligned to the widths of a table already printed."""
    single = Table(widths_from.headers, [*widths_from.rows, row], widths_from.status_columns)
    return render_table(single, colour=colour).splitlines()[-1]
