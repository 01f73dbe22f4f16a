"""Semantic versions and constraints as Kargo reads them (Masterminds/semver syntax).

Constraints: comparisons `=`, `!=`, `>`, `<`, `>=`, `<=`, tilde `~1.2`, caret `^1.2`,
wildcards `1.2.x` / `1.*`, hyphen ranges `1.2 - 1.4`; `,` or spaces mean AND, `||` means OR.
Without `strict`, versions may omit the minor or patch (`v1`, `1.2`) and carry a `v` prefix.
A constraint without a pre-release part does not match pre-releases, as in Masterminds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import semver

_LOOSE = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$"
)
_PART = re.compile(r"^(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$")
_TERM = re.compile(r"^(!=|>=|<=|=>|=<|=|>|<|~>|~|\^)?\s*v?(\S+)$")


class ConstraintError(ValueError):
    """A constraint that does not parse."""


def parse_version(text: str, strict: bool = True) -> semver.Version | None:
    """The version a tag names, or None when it is not a semantic version."""
    candidate = text
    if strict:
        try:
            return semver.Version.parse(candidate.removeprefix("v"))
        except ValueError:
            return None
    match = _LOOSE.match(candidate)
    if match is None:
        return None
    major, minor, patch, pre, build = match.groups()
    return semver.Version(int(major), int(minor or 0), int(patch or 0), pre, build)


Check = Callable[[semver.Version], bool]


def _bound(text: str) -> tuple[semver.Version, int, str | None]:
    """(version with wildcards as 0, count of given parts, prerelease) of a constraint operand."""
    match = _PART.match(text)
    if match is None:
        raise ConstraintError(f"{text!r} is not a version")
    parts = match.groups()[:3]
    given = 0
    numbers = []
    for part in parts:
        if part is None or part in ("x", "X", "*"):
            numbers.append(0)
        else:
            if given < len(numbers):
                raise ConstraintError(f"{text!r}: a wildcard may only end a version")
            numbers.append(int(part))
            given += 1
    major, minor, patch = numbers
    return semver.Version(major, minor, patch, prerelease=match.group(4)), given, match.group(4)


def _next(version: semver.Version, given: int) -> semver.Version:
    if given <= 1:
        return version.bump_major()
    return version.bump_minor()


def _term(op: str, operand: str) -> Check:
    low, given, _ = _bound(operand)
    if op in ("", "=") and given == 0:
        return lambda v: True
    if op in ("", "=") and given < 3:
        upper = _next(low, given)
        return lambda v: low <= v < upper
    if op in ("~", "~>"):
        tilde = low.bump_major() if given == 1 else low.bump_minor()
        return lambda v: low <= v < tilde
    if op == "^":
        if low.major > 0 or given == 1:
            caret = low.bump_major()
        elif low.minor > 0 or given == 2:
            caret = low.bump_minor()
        else:
            caret = low.bump_patch()
        return lambda v: low <= v < caret
    if op == "!=":
        return lambda v: v != low
    if op == ">":
        edge = _next(low, given) if given < 3 else low
        return (lambda v: v >= edge) if given < 3 else (lambda v: v > low)
    if op == "<":
        return lambda v: v < low
    if op in (">=", "=>"):
        return lambda v: v >= low
    if op in ("<=", "=<"):
        if given < 3:
            below = _next(low, given)
            return lambda v: v < below
        return lambda v: v <= low
    return lambda v: v == low


def _and_group(text: str) -> tuple[list[Check], bool]:
    text = re.sub(r"\s*-\s+", " - ", text.strip())
    hyphen = re.fullmatch(r"(\S+) - (\S+)", text)
    if hyphen:
        return [_term(">=", hyphen.group(1)), _term("<=", hyphen.group(2))], "-" in text.replace(
            " - ", ""
        )
    text = re.sub(r"(!=|>=|<=|=>|=<|=|>|<|~>|~|\^)\s+", r"\1", text)
    terms = [t for t in re.split(r"[,\s]+", text) if t]
    checks, wants_pre = [], False
    for term in terms:
        match = _TERM.match(term)
        if match is None:
            raise ConstraintError(f"{term!r} is not a constraint")
        op, operand = match.group(1) or "", match.group(2)
        wants_pre |= "-" in operand
        checks.append(_term(op, operand))
    return checks, wants_pre


def constraint_check(constraint: str) -> Check:
    """A predicate for versions meeting the constraint (empty: every release version)."""
    if not constraint.strip():
        return lambda v: v.prerelease is None
    groups = [_and_group(g) for g in constraint.split("||")]

    def check(version: semver.Version) -> bool:
        for checks, wants_pre in groups:
            if version.prerelease is not None and not wants_pre:
                continue
            if all(c(version) for c in checks):
                return True
        return False

    return check


def validate_constraint(constraint: str) -> None:
    """Raise ConstraintError when the constraint does not parse."""
    constraint_check(constraint)
