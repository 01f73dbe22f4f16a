"""Kubernetes label selectors, equality- and set-based: `app=poker,tier!=db,env in (dev,qa),!old`.

One parser for the API's `labelSelector` and the CLI's `-l` (and its watch), with kubectl's
grammar: requirements joined by commas outside parentheses; `key`, `!key`, `key=v`, `key==v`,
`key!=v`, `key in (a,b)`, `key notin (a,b)`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s*\(([^()]*)\)$")
_EQUALITY = re.compile(rf"^({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)$")
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")


@dataclass(frozen=True)
class Requirement:
    """One requirement on a label: exists, not exists, in, not in (= and != are one-value sets)."""

    key: str
    operator: str  # exists | !exists | in | notin
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether labels meet the requirement (notin and != match a missing label, as kubectl)."""
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!exists":
            return self.key not in labels
        if self.operator == "in":
            return labels.get(self.key) in self.values
        return labels.get(self.key) not in self.values


def _split(text: str) -> list[str]:
    """The requirements of a selector: commas inside `( … )` do not split."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    """The requirements of a selector; ValueError naming the part that does not parse."""
    requirements = []
    for part in _split(text or ""):
        if found := _SET.match(part):
            values = frozenset(v.strip() for v in found.group(3).split(",") if v.strip())
            requirements.append(Requirement(found.group(1), found.group(2), values))
        elif found := _EQUALITY.match(part):
            operator = "notin" if found.group(2) == "!=" else "in"
            requirements.append(Requirement(found.group(1), operator, frozenset({found.group(3)})))
        elif found := _EXISTS.match(part):
            requirements.append(
                Requirement(found.group(2), "!exists" if found.group(1) else "exists")
            )
        else:
            raise ValueError(
                f"label selector {part!r}: expected key=value, key!=value, key in (a,b), "
                "key notin (a,b), key or !key"
            )
    return requirements


def labels_match(labels: Mapping[str, str], requirements: list[Requirement]) -> bool:
    """Whether labels meet every requirement."""
    return all(r.matches(labels) for r in requirements)
