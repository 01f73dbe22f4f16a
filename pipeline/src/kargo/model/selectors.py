"""Selectors as Kargo reads them: name patterns (exact, `glob:`, `regex:`) and label selectors.

A name pattern is an exact name unless it starts with `glob:` (doublestar globbing: `*`, `?`,
`[...]`, `{a,b}`) or `regex:`/`regexp:` (a regular expression searched anywhere in the name, as
Go's `MatchString` does). Label selectors are Kubernetes' `matchLabels` and `matchExpressions`
(`In`, `NotIn`, `Exists`, `DoesNotExist`), ANDed together.
"""

from __future__ import annotations

import enum
import re
from functools import cache

from pydantic import Field, model_validator
from wcmatch import fnmatch as wildcard

from kargo.model.base import StrictModel

GLOB_PREFIX = "glob:"
REGEX_PREFIXES = ("regex:", "regexp:")
_GLOB_FLAGS = wildcard.BRACE | wildcard.CASE


class NamePatternError(ValueError):
    """A name pattern that cannot be compiled."""


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise NamePatternError(f"invalid regular expression {pattern!r}: {exc}") from exc


def check_name_pattern(pattern: str) -> None:
    """Raise NamePatternError when a `glob:`/`regex:` pattern cannot be used."""
    if pattern.startswith(GLOB_PREFIX):
        glob = pattern[len(GLOB_PREFIX) :]
        if glob.count("[") != glob.count("]") or glob.count("{") != glob.count("}"):
            raise NamePatternError(f"invalid glob pattern {glob!r}: unbalanced brackets")
        return
    for prefix in REGEX_PREFIXES:
        if pattern.startswith(prefix):
            _regex(pattern[len(prefix) :])
            return
    if ":" in pattern:
        identifier = pattern.split(":", 1)[0]
        raise NamePatternError(
            f'invalid pattern identifier {identifier!r}: must be "regex", "regexp" or "glob"'
        )


def name_matches(pattern: str, name: str) -> bool:
    """Whether a name matches a Kargo name pattern."""
    if pattern.startswith(GLOB_PREFIX):
        return bool(wildcard.fnmatch(name, pattern[len(GLOB_PREFIX) :], flags=_GLOB_FLAGS))
    for prefix in REGEX_PREFIXES:
        if pattern.startswith(prefix):
            return _regex(pattern[len(prefix) :]).search(name) is not None
    return name == pattern


class SelectorOperator(enum.StrEnum):
    """The operators of a label selector requirement."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class LabelSelectorRequirement(StrictModel):
    """One `matchExpressions` entry."""

    key: str = Field(min_length=1)
    operator: SelectorOperator
    values: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        wants_values = self.operator in (SelectorOperator.IN, SelectorOperator.NOT_IN)
        if wants_values and not self.values:
            raise ValueError(f"operator {self.operator.value} needs a non-empty `values` list")
        if not wants_values and self.values:
            raise ValueError(f"operator {self.operator.value} takes no `values`")
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether labels satisfy this requirement."""
        present = self.key in labels
        if self.operator is SelectorOperator.IN:
            return present and labels[self.key] in self.values
        if self.operator is SelectorOperator.NOT_IN:
            return not present or labels[self.key] not in self.values
        if self.operator is SelectorOperator.EXISTS:
            return present
        return not present


class LabelSelector(StrictModel):
    """Kubernetes' label selector: every label and every expression must match."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)

    def matches_labels(self, labels: dict[str, str]) -> bool:
        """Whether these labels are selected."""
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        return all(e.matches(labels) for e in self.match_expressions)
