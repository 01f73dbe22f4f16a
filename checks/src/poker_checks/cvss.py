"""CVSS v3 base scores from vector strings, to rate OSV advisories that carry only a vector."""

from __future__ import annotations

import math

from poker_checks.results import Severity

_ATTACK_VECTOR = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_COMPLEXITY = {"L": 0.77, "H": 0.44}
_PRIVILEGES_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_PRIVILEGES_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_INTERACTION = {"N": 0.85, "R": 0.62}
_IMPACT = {"H": 0.56, "L": 0.22, "N": 0.0}


def _round_up(value: float) -> float:
    """CVSS 3.1 Roundup: the smallest one-decimal number not below value."""
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def base_score(vector: str) -> float:
    """The CVSS v3.x base score of a vector such as CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H."""
    parts = dict(part.split(":", 1) for part in vector.split("/") if ":" in part)
    try:
        changed = parts["S"] == "C"
        privileges = (_PRIVILEGES_CHANGED if changed else _PRIVILEGES_UNCHANGED)[parts["PR"]]
        exploitability = (
            8.22
            * _ATTACK_VECTOR[parts["AV"]]
            * _COMPLEXITY[parts["AC"]]
            * privileges
            * _INTERACTION[parts["UI"]]
        )
        iss = 1 - (
            (1 - _IMPACT[parts["C"]]) * (1 - _IMPACT[parts["I"]]) * (1 - _IMPACT[parts["A"]])
        )
    except KeyError as exc:
        raise ValueError(f"not a CVSS v3 vector: {vector!r} (missing or bad {exc})") from exc
    if changed:
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    else:
        impact = 6.42 * iss
    if impact <= 0:
        return 0.0
    total = impact + exploitability
    return _round_up(min(1.08 * total if changed else total, 10.0))


def severity_of_score(score: float) -> Severity:
    """The qualitative rating of a CVSS score (none is reported as low)."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW
