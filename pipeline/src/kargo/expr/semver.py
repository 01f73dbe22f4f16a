"""Semantic versions as Kargo's semverParse and semverDiff read them (Masterminds semver)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from kargo.expr.errors import Fault
from kargo.expr.values import Methods, type_name

# Masterminds' lenient form: an optional v, one to three numbers, prerelease and metadata.
_VERSION = re.compile(
    r"v?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:\.(?P<patch>[0-9]+))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<meta>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)


class Version(Methods):
    """A parsed version with Masterminds' methods (Major(), IncMinor(), String(), ...)."""

    type_name = "*semver.Version"

    def __init__(self, major: int, minor: int, patch: int, pre: str = "", meta: str = ""):
        self.major, self.minor, self.patch, self.pre, self.meta = major, minor, patch, pre, meta

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """The version, or None when the text is not one."""
        match = _VERSION.fullmatch(text)
        if match is None:
            return None
        return cls(
            int(match["major"]),
            int(match["minor"] or 0),
            int(match["patch"] or 0),
            match["pre"] or "",
            match["meta"] or "",
        )

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += f"-{self.pre}"
        if self.meta:
            text += f"+{self.meta}"
        return text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def inc_patch(self) -> Version:
        """The next patch; a prerelease just loses its prerelease, as in Masterminds."""
        if self.pre:
            return Version(self.major, self.minor, self.patch)
        return Version(self.major, self.minor, self.patch + 1)

    def methods(self) -> Mapping[str, Callable[..., Any]]:
        """Masterminds' methods of *semver.Version."""
        return {
            "Major": lambda: self.major,
            "Minor": lambda: self.minor,
            "Patch": lambda: self.patch,
            "Prerelease": lambda: self.pre,
            "Metadata": lambda: self.meta,
            "IncMajor": lambda: Version(self.major + 1, 0, 0),
            "IncMinor": lambda: Version(self.major, self.minor + 1, 0),
            "IncPatch": self.inc_patch,
            "String": lambda: str(self),
            "Original": lambda: str(self),
        }


def _string(name: str, which: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Fault(f"{which} argument must be string, got {type_name(value)}")
    return value


def semver_parse(text: Any) -> Version:
    """semverParse(version): the version, or an error when it is not one."""
    version = Version.parse(_string("semverParse", "the", text))
    if version is None:
        raise Fault("invalid semantic version: Invalid Semantic Version")
    return version


def semver_diff(first: Any, second: Any) -> str:
    """semverDiff(a, b): Major, Minor, Patch, Metadata, None or Incomparable."""
    one = Version.parse(_string("semverDiff", "first", first))
    two = Version.parse(_string("semverDiff", "second", second))
    if one is None or two is None:
        return "Incomparable"
    if one.major != two.major:
        return "Major"
    if one.minor != two.minor:
        return "Minor"
    if one.patch != two.patch:
        return "Patch"
    if one.meta != two.meta:
        return "Metadata"
    return "None"
