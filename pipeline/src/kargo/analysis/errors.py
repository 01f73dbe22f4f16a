"""Errors of the analysis layer: a bad template (permanent) and a failed measurement."""

from __future__ import annotations

import re

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class AnalysisTemplateError(ValueError):
    """A template is invalid: names the file, line, field and what was expected."""

    def __init__(self, source: str, field: str, expected: str, *, line: int | None = None) -> None:
        self.source = source
        self.field = field
        self.expected = expected
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {field}: {expected}")

    @property
    def path(self) -> tuple[str | int, ...]:
        """The field as a tuple (`("spec", "metrics", 0, "successCondition")`), for line lookups."""
        return tuple(int(index) if index else key for key, index in _PART.findall(self.field))


class AnalysisArgumentError(ValueError):
    """A run cannot start: an argument has no value or a secret cannot be read."""


class MeasurementError(Exception):
    """A measurement could not be taken (network, timeout, bad answer): its phase is Error."""


class NoDataError(Exception):
    """A query answered with no data: the measurement is Inconclusive with this message."""


class AnalysisRunError(ValueError):
    """A run refers to a template it was not given."""
