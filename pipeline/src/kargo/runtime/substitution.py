"""`${NAME}` placeholders in a deploy step's command and environment, filled in by the runtime."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class UnknownPlaceholder(ValueError):
    """A `${NAME}` that the runtime does not provide."""


def expand(text: str, variables: dict[str, str]) -> str:
    """Replace every `${NAME}` with its value; `${{ ... }}` (engine expressions) is left alone."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            known = ", ".join(sorted(variables))
            raise UnknownPlaceholder(f"unknown placeholder ${{{name}}} (known: {known})")
        return variables[name]

    return PLACEHOLDER.sub(replace, text)
