"""Template arguments: `{{args.name}}` substitution, defaults, and secrets read at use time.

A stage's `spec.verification.args` may hold Kargo's `${{ ... }}` expressions; they are
evaluated when the run is built (`evaluate_arguments`) and each must give a string, as in Kargo.

A secret argument (`valueFrom.secretKeyRef: {name, key}`) is read when a measurement is taken,
from the environment variable `KARGO_SECRET_<NAME>_<KEY>` (upper case, other characters as `_`)
or else the file `$KARGO_SECRETS_DIR/<name>/<key>`. Its value is never stored in a run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kargo.analysis.errors import AnalysisArgumentError
from kargo.expr.templates import TemplateError, evaluate_template
from kargo.model.analysis import Argument, SecretKeyRef

ARG_REFERENCE = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")
SecretResolver = Callable[[SecretKeyRef], str]


def secret_env_name(ref: SecretKeyRef) -> str:
    """The environment variable that holds a secret key."""
    return "KARGO_SECRET_" + re.sub(r"[^A-Z0-9]", "_", f"{ref.name}_{ref.key}".upper())


def resolve_secret_from_environment(ref: SecretKeyRef) -> str:
    """A secret's value from the environment or the secrets folder, or AnalysisArgumentError."""
    env_name = secret_env_name(ref)
    if env_name in os.environ:
        return os.environ[env_name]
    folder = os.environ.get("KARGO_SECRETS_DIR")
    if folder:
        path = Path(folder) / ref.name / ref.key
        try:
            return path.read_text(encoding="utf-8").rstrip("\n")
        except OSError:
            pass
    where = f" or the file $KARGO_SECRETS_DIR/{ref.name}/{ref.key}"
    raise AnalysisArgumentError(f"secret {ref.name}/{ref.key} not found: set ${env_name}{where}")


def references(value: Any) -> set[str]:
    """Names of the arguments a value (string, list or mapping, nested) refers to."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(ARG_REFERENCE.findall(value))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found |= references(key) | references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= references(item)
    return found


def substitute(value: Any, values: Mapping[str, str]) -> Any:
    """The value with every `{{args.name}}` replaced; unknown names raise AnalysisArgumentError."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise AnalysisArgumentError(f"args.{name} has no value")
            return values[name]

        return ARG_REFERENCE.sub(replace, value)
    if isinstance(value, Mapping):
        return {substitute(k, values): substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    return value


def evaluate_arguments(
    args: Mapping[str, str], env: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]
) -> dict[str, str]:
    """Each argument's `${{ }}` evaluated (Kargo's rules); one-line AnalysisArgumentError else."""
    values: dict[str, str] = {}
    for name, template in args.items():
        try:
            value = evaluate_template(template, env, functions)
        except TemplateError as exc:
            raise AnalysisArgumentError(f"spec.verification.args {name}: {exc}") from None
        if not isinstance(value, str):
            raise AnalysisArgumentError(
                f"spec.verification.args {name}: {template.strip()} gave {value!r}, not a string "
                "(Kargo needs a string here: wrap the expression in quote())"
            )
        values[name] = value
    return values


def merge_arguments(declared: Iterable[Argument], supplied: Sequence[Argument]) -> list[Argument]:
    """Declared arguments overlaid with supplied values; missing values raise with their names."""
    by_name = {arg.name: arg for arg in declared}
    for arg in supplied:
        if arg.name in by_name or arg.value is not None or arg.value_from is not None:
            by_name[arg.name] = arg
    missing = sorted(n for n, a in by_name.items() if a.value is None and a.value_from is None)
    if missing:
        raise AnalysisArgumentError(
            "arguments without a value: " + ", ".join(missing) + " (set them in the stage's "
            "spec.verification.args or give the template a default value)"
        )
    return list(by_name.values())


def as_arguments(supplied: Sequence[Argument] | Mapping[str, str]) -> list[Argument]:
    """Arguments from a list of Argument or a plain name → value mapping."""
    if isinstance(supplied, Mapping):
        return [Argument(name=k, value=str(v)) for k, v in supplied.items()]
    return list(supplied)


def argument_values(
    args: Sequence[Argument], resolve_secret: SecretResolver
) -> tuple[dict[str, str], list[str]]:
    """Values of the arguments (secrets read now) and the secret values, to redact from messages."""
    values: dict[str, str] = {}
    secrets: list[str] = []
    for arg in args:
        if arg.value_from is not None:
            secret = resolve_secret(arg.value_from.secret_key_ref)
            values[arg.name] = secret
            if secret:
                secrets.append(secret)
        elif arg.value is not None:
            values[arg.name] = arg.value
    return values, secrets


def redact(text: str, secrets: Sequence[str]) -> str:
    """The text with every secret value replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
