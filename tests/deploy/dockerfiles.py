"""Checks of the container recipes: hashed installs only, no registry host, a non-root user."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

URL = re.compile(r"\b[a-z][a-z0-9+.-]*://([^/:'\"\s]+)", re.IGNORECASE)
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
INDEX_OPTIONS = ("--index-url", "--extra-index-url", "--find-links", "--trusted-host", "-i", "-f")
PIP_INSTALL = re.compile(r"pip3?\s+install\b([^&;|]*)")


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, without comments."""
    joined: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    if pending:
        joined.append(pending)
    return [
        Instruction(keyword.upper(), rest.strip())
        for keyword, _, rest in (line.partition(" ") for line in joined)
    ]


def image_has_registry_host(image: str) -> bool:
    """Whether an image reference names a host (`host.tld/…`, `host:port/…`, `localhost/…`)."""
    first, slash, _ = image.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def dockerfile_problems(text: str, lock: str) -> list[str]:
    """Every way the recipe departs from: hashed lock install, no hosts, non-root, health check."""
    found = []
    parsed = instructions(text)
    for instruction in parsed:
        for match in URL.finditer(instruction.arguments):
            if match.group(1) not in LOOPBACK:
                found.append(f"{instruction.keyword} names the host {match.group(1)}")
        if instruction.keyword == "FROM":
            image = instruction.arguments.split()[0]
            if image_has_registry_host(image):
                found.append(f"FROM names a registry host: {image}")
    installs = [
        shlex.split(match.group(1))
        for instruction in parsed
        if instruction.keyword == "RUN"
        for match in PIP_INSTALL.finditer(instruction.arguments)
    ]
    for words in installs:
        for option in INDEX_OPTIONS:
            if any(w == option or w.startswith(option + "=") for w in words):
                found.append(f"pip install names a package index ({option})")
        if "--no-deps" not in words:
            found.append(f"pip install without --no-deps: {' '.join(words)}")
    hashed = [w for w in installs if "--require-hashes" in w and "-r" in w]
    if not any(w[w.index("-r") + 1] == lock for w in hashed if w.index("-r") + 1 < len(w)):
        found.append(f"no `pip install --require-hashes --no-deps -r {lock}`")
    users = [i.arguments.split(":")[0] for i in parsed if i.keyword == "USER"]
    if not users or users[-1] in ("root", "0"):
        found.append("the image runs as root; end with a USER that is not root")
    healthchecks = [i for i in parsed if i.keyword == "HEALTHCHECK"]
    if not healthchecks or "/healthz" not in healthchecks[-1].arguments:
        found.append("no HEALTHCHECK on /healthz")
    return found
