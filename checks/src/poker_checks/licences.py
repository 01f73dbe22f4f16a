"""Licence allow-list check over the installed distributions of the locked packages.

Licences are read from distribution metadata: `License-Expression` (SPDX) first, then the
free-text `License` field, then `License ::` classifiers, normalised to SPDX ids; expressions
are parsed by the maintained license-expression library. With a venv
path the freight's own environment is read; otherwise the environment running this service.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import cast

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseExpression,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)
from packaging.utils import canonicalize_name

DEFAULT_ALLOWED = (
    "MIT",
    "MIT-0",
    "BSD",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "0BSD",
    "Apache-2.0",
    "ISC",
    "PSF-2.0",
    "Python-2.0",
    "MPL-2.0",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Unlicense",
    "Zlib",
    "CC0-1.0",
)
_ALIASES = {
    "mit license": "MIT",
    "mit": "MIT",
    "bsd license": "BSD",
    "bsd": "BSD",
    "new bsd license": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-3": "BSD-3-Clause",
    "apache 2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "python software foundation license": "PSF-2.0",
    "isc license (iscl)": "ISC",
    "isc license": "ISC",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "gnu library or lesser general public license (lgpl)": "LGPL-2.1-or-later",
    "the unlicense (unlicense)": "Unlicense",
}


@dataclass(frozen=True)
class LicenceVerdict:
    """The licence found for one package and whether the allow-list accepts it."""

    package: str
    licence: str | None
    allowed: bool


def _normalise(text: str) -> str:
    return _ALIASES.get(text.strip().lower(), text.strip())


def licence_of(metadata: Message) -> str | None:
    """The SPDX-ish licence of a distribution, or None when its metadata says nothing usable."""
    expression = metadata.get("License-Expression")
    if expression:
        return str(expression).strip()
    free_text = str(metadata.get("License") or "").strip()
    if free_text and "\n" not in free_text and len(free_text) < 80 and free_text != "UNKNOWN":
        return _normalise(free_text)
    classifiers = [
        c.split("::")[-1].strip()
        for c in metadata.get_all("Classifier") or []
        if c.startswith("License ::") and c.count("::") >= 2
    ]
    if classifiers:
        return " OR ".join(_normalise(c) for c in classifiers)
    return None


@functools.cache
def _spdx() -> Licensing:
    """The SPDX licence list of license-expression (built once: it is large)."""
    return get_spdx_licensing()


def is_allowed(licence: str, allowed: Iterable[str]) -> bool:
    """Whether an SPDX expression is acceptable, parsed with license-expression.

    `A OR B` needs either, `A AND B` both, parentheses and precedence (AND binds tighter) as
    SPDX defines; `A WITH exception` is judged by A. An expression that does not parse is refused.
    """
    allowed_ids = {_normalise(item).lower() for item in allowed}
    try:
        parsed = _spdx().parse(_normalise(licence))
    except ExpressionError:
        return False
    return parsed is not None and _accepted(parsed, allowed_ids)


def _accepted(node: LicenseExpression, allowed_ids: set[str]) -> bool:
    if isinstance(node, AND):
        return all(_accepted(arg, allowed_ids) for arg in node.args)
    if isinstance(node, OR):
        return any(_accepted(arg, allowed_ids) for arg in node.args)
    if isinstance(node, LicenseWithExceptionSymbol):
        return _accepted(node.license_symbol, allowed_ids)
    key = str(getattr(node, "key", ""))
    return _normalise(key).lower() in allowed_ids


def site_packages(venv: Path) -> list[str]:
    """The site-packages folders of a virtualenv."""
    return [str(path) for path in sorted(venv.glob("lib/python*/site-packages"))]


def check_licences(
    packages: Iterable[str], allowed: Iterable[str] = DEFAULT_ALLOWED, venv: Path | None = None
) -> list[LicenceVerdict]:
    """A verdict for each locked package found installed; missing ones have licence None."""
    search = site_packages(venv) if venv is not None else None
    installed: dict[str, Message] = {}
    distributions = (
        importlib.metadata.distributions(path=search)
        if search is not None
        else importlib.metadata.distributions()
    )
    for distribution in distributions:
        metadata = cast(Message, distribution.metadata)
        name = metadata.get("Name")
        if name:
            installed.setdefault(canonicalize_name(str(name)), metadata)
    allowed = tuple(allowed)
    verdicts: list[LicenceVerdict] = []
    for package in sorted({canonicalize_name(p) for p in packages}):
        found = installed.get(package)
        licence = licence_of(found) if found is not None else None
        verdicts.append(
            LicenceVerdict(
                package=package,
                licence=licence,
                allowed=licence is not None and is_allowed(licence, allowed),
            )
        )
    return verdicts
