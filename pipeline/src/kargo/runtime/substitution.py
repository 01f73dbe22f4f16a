"""`${NAME}` placeholders in a deploy step's command and environment, filled in by the runtime.

`${NAME}` takes a value the runtime knows (PORT, STAGE, COMMIT...). `${SECRET:name}` takes the
stage's own random secret of that name, made on first use and kept (mode 0600) under
`<state_dir>/stages/<stage>/secrets/`, so that it is never written in the configuration and stays
the same across deploys. `${{ ... }}` (the engine's expressions) is left alone.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::([a-z0-9][a-z0-9_.-]*))?\}")


class UnknownPlaceholder(ValueError):
    """A `${NAME}` that the runtime does not provide."""


def expand(
    text: str,
    variables: dict[str, str],
    functions: dict[str, Callable[[str], str]] | None = None,
) -> str:
    """Replace every `${NAME}` with its value and every `${FUNCTION:argument}` with its result."""
    functions = functions or {}

    def replace(match: re.Match[str]) -> str:
        name, argument = match.group(1), match.group(2)
        if argument is not None:
            if name not in functions:
                known = ", ".join(sorted(functions)) or "none"
                raise UnknownPlaceholder(
                    f"unknown placeholder ${{{name}:{argument}}} (known functions: {known})"
                )
            return functions[name](argument)
        if name not in variables:
            known = ", ".join(sorted(variables))
            raise UnknownPlaceholder(f"unknown placeholder ${{{name}}} (known: {known})")
        return variables[name]

    return PLACEHOLDER.sub(replace, text)


def stage_secret(folder: Path, name: str) -> str:
    """The secret `name` kept in folder, made (random, 43 characters) on first use."""
    path = folder / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    temporary = folder / f".{name}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
    try:
        os.link(temporary, path)  # the first writer wins; a concurrent one reads its value
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text().strip()
