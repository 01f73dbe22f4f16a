"""Secret references read at use time: `{name, key}` → a value, never stored.

The value of secret `name`, key `key` is the environment variable `KARGO_SECRET_<NAME>_<KEY>`
(upper case, other characters as `_`), else the file `$KARGO_SECRETS_DIR/<name>/<key>`. A leaf
module under every layer: analysis arguments and the `http` step's headers read through it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


class SecretNotFound(LookupError):
    """The referenced secret is in neither place; the message says where it was looked for."""


def secret_env_name(name: str, key: str) -> str:
    """The environment variable that holds a secret key."""
    return "KARGO_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{name}_{key}".upper())


def read_secret_key(name: str, key: str) -> str:
    """The value of a secret key from the environment or the secrets folder."""
    env_name = secret_env_name(name, key)
    if env_name in os.environ:
        return os.environ[env_name]
    folder = os.environ.get("KARGO_SECRETS_DIR")
    if folder and "/" not in name + key and not (name + key).startswith("."):
        try:
            return (Path(folder) / name / key).read_text(encoding="utf-8").rstrip("\n")
        except OSError:
            pass
    where = f" or the file $KARGO_SECRETS_DIR/{name}/{key}"
    raise SecretNotFound(f"secret {name}/{key} not found: set ${env_name}{where}")
