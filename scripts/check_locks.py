"""Fail when a hashed lock file no longer satisfies the pyproject.toml files it was made from."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {
    "requirements.lock": [
        "app/pyproject.toml",
        "pipeline/pyproject.toml",
        "checks/pyproject.toml",
        "requirements-dev.in",
    ],
    "app/requirements.lock": ["app/pyproject.toml"],
}
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\],]+)==([^\s;\\]+)")


def pinned_versions(lock: Path) -> dict[str, str]:
    """Map each package pinned in a lock file to its version, checking that it carries hashes."""
    pins: dict[str, str] = {}
    lines = lock.read_text().splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        name = canonicalize_name(match.group(1).split("[")[0])
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if "--hash=sha256:" not in line + following:
            raise SystemExit(f"{lock}:{number + 1}: {name} is pinned without a hash")
        pins[name] = match.group(2)
    return pins


def requirements_of(source: Path) -> list[Requirement]:
    """The direct requirements named by a pyproject.toml or a requirements .in file."""
    if source.suffix == ".toml":
        raw = tomllib.loads(source.read_text())["project"].get("dependencies", [])
    else:
        raw = [
            line.split("#")[0].strip()
            for line in source.read_text().splitlines()
            if line.split("#")[0].strip()
        ]
    return [Requirement(item) for item in raw]


def main() -> int:
    """Check every lock; print what is stale and how to fix it."""
    problems: list[str] = []
    for lock_name, sources in LOCKS.items():
        lock = ROOT / lock_name
        if not lock.exists():
            problems.append(f"{lock_name} is missing")
            continue
        pins = pinned_versions(lock)
        for source_name in sources:
            for requirement in requirements_of(ROOT / source_name):
                name = canonicalize_name(requirement.name)
                version = pins.get(name)
                if version is None:
                    problems.append(f"{lock_name}: {requirement} from {source_name} is not locked")
                elif not requirement.specifier.contains(version, prereleases=True):
                    problems.append(
                        f"{lock_name}: {name}=={version} does not satisfy "
                        f"{requirement} from {source_name}"
                    )
    for problem in problems:
        print(f"check-locks: {problem}", file=sys.stderr)
    if problems:
        print("check-locks: run 'make lock' to regenerate the lock files", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
