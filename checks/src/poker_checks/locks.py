"""Dependency checks on a hashed lock: present, pinned with hashes, consistent with pyproject."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*==\s*([^\s;\\]+)")


@dataclass
class LockedPackage:
    """One `name==version` entry of a lock and whether it carries hashes."""

    name: str
    version: str
    line: int
    hashes: int


@dataclass
class LockFile:
    """The packages of a lock file, and lines that are not exact pins."""

    path: Path
    packages: dict[str, LockedPackage] = field(default_factory=dict)
    unpinned: list[str] = field(default_factory=list)

    def pins(self) -> dict[str, str]:
        """Canonical package name to pinned version."""
        return {name: package.version for name, package in self.packages.items()}


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines joined at trailing backslashes, with comments dropped, numbered from 1."""
    result: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0] if not raw.lstrip().startswith("#") else ""
        if not buffer:
            start = number
        if line.rstrip().endswith("\\"):
            buffer += line.rstrip()[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            result.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        result.append((start, buffer.strip()))
    return result


def parse_lock(path: Path) -> LockFile:
    """Read a pip/uv requirements lock with `name==version --hash=...` entries."""
    lock = LockFile(path=path)
    for number, line in _logical_lines(path.read_text()):
        if line.startswith("-"):
            continue
        match = _PIN.match(line)
        if match is None:
            # the line number only: a report never echoes what a file holds
            lock.unpinned.append(f"{path.name} line {number}")
            continue
        name = canonicalize_name(match.group(1))
        lock.packages[name] = LockedPackage(
            name=name, version=match.group(3), line=number, hashes=line.count("--hash=")
        )
    return lock


def unhashed(lock: LockFile) -> list[str]:
    """Packages pinned without any --hash."""
    return [
        f"{name}=={package.version} (line {package.line})"
        for name, package in sorted(lock.packages.items())
        if package.hashes == 0
    ]


def direct_requirements(pyproject: Path) -> list[Requirement]:
    """The [project].dependencies of a pyproject.toml."""
    document = tomllib.loads(pyproject.read_text())
    raw = document.get("project", {}).get("dependencies", [])
    return [Requirement(item) for item in raw]


def inconsistencies(lock: LockFile, pyproject: Path) -> list[str]:
    """Direct requirements the lock does not pin, or pins at a version outside the specifier."""
    problems: list[str] = []
    try:
        requirements = direct_requirements(pyproject)
    except (OSError, tomllib.TOMLDecodeError, InvalidRequirement) as exc:
        return [f"{pyproject}: cannot read dependencies: {exc}"]
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        package = lock.packages.get(name)
        if package is None:
            problems.append(f"{requirement} is required by {pyproject.name} but not in the lock")
        elif not requirement.specifier.contains(package.version, prereleases=True):
            problems.append(
                f"{requirement} is required by {pyproject.name} "
                f"but the lock pins {name}=={package.version}"
            )
    return problems
