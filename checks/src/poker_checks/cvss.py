"""CVSS v2, v3.x and v4 ratings of OSV `severity[]` entries, with the maintained `cvss` library.

The library computes each version's base score and its qualitative rating (v2 has no critical:
its top band is high, as NVD rates v2). An advisory scored in several versions gets the most
severe rating, so a gate never passes a vulnerability because an older vector scores lower.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from poker_checks.results import Severity

_RATINGS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "none": Severity.LOW,
}
_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


def vector_rating(kind: str, vector: str) -> tuple[float, Severity]:
    """Base score and rating of one vector; kind is OSV's CVSS_V2, CVSS_V3 or CVSS_V4."""
    try:
        if kind == "CVSS_V4":
            v4 = CVSS4(vector)
            score, rating = float(v4.base_score), str(v4.severity)
        elif kind == "CVSS_V3":
            v3 = CVSS3(vector)
            score, rating = float(v3.scores()[0]), str(v3.severities()[0])
        elif kind == "CVSS_V2":
            v2 = CVSS2(vector)
            score, rating = float(v2.scores()[0]), str(v2.severities()[0])
        else:
            raise ValueError(f"not a CVSS severity type: {kind!r}")
    except CVSSError as exc:
        raise ValueError(f"not a valid {kind} vector: {exc}") from exc
    return score, _RATINGS[rating.lower()]


def worst_rating(entries: Iterable[Mapping[str, Any]]) -> Severity | None:
    """The most severe rating among OSV severity entries; None when none can be read."""
    found: list[Severity] = []
    for entry in entries:
        try:
            found.append(vector_rating(str(entry.get("type", "")), str(entry.get("score", "")))[1])
        except ValueError:
            continue
    return max(found, key=_ORDER.index) if found else None
