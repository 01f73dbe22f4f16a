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
    """The secret `name` kept in folder, made (random, 43 characters) on first use.

    The folder sits in the stage's folder, which a stage with `runAs` owns: it is opened without
    following a link and must be the engine's own, so the stage cannot point it elsewhere.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        where = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise OSError(f"stage secrets folder {folder}: {exc.strerror} (not a folder)") from exc
    try:
        if os.fstat(where).st_uid != os.geteuid():
            raise OSError(f"stage secrets folder {folder} is not the engine's own: remove it")
        existing = _read_secret(where, name)
        if existing is not None:
            return existing
        value = secrets.token_urlsafe(32)
        temporary = f".{name}.{os.getpid()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        with os.fdopen(os.open(temporary, flags, 0o600, dir_fd=where), "w") as handle:
            handle.write(value)
        try:  # the first writer wins; a concurrent one reads its value
            os.link(temporary, name, src_dir_fd=where, dst_dir_fd=where, follow_symlinks=False)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary, dir_fd=where)
        return _read_secret(where, name) or value
    finally:
        os.close(where)


def _read_secret(folder: int, name: str) -> str | None:
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
    except FileNotFoundError:
        return None
    with os.fdopen(descriptor) as handle:
        return handle.read().strip()
