"""Read configuration files (a file or a folder, multi-document YAML) into validated resources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kargo.config.errors import ConfigError, ConfigIssue
from kargo.config.fields import allowed_fields, did_you_mean
from kargo.config.positions import PositionedDocument, load_documents
from kargo.model.registry import known_kinds, model_for, parse_resource
from kargo.model.secret import SecretDocument

DEFAULT_PROJECT = "planning-poker"
CLUSTER_SCOPED = frozenset({"Project"})
YAML_SUFFIXES = (".yaml", ".yml")
KUSTOMIZE_API = "kustomize.config.k8s.io/"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class LoadedResource:
    """A validated resource and where it was written."""

    resource: BaseModel
    source: str
    line: int

    @property
    def kind(self) -> str:
        """The resource's kind."""
        return str(getattr(self.resource, "kind", ""))


def config_files(path: Path) -> list[Path]:
    """The YAML files under a folder (recursively, sorted), or the file itself.

    A `kustomization.yaml` in the folder adds the files and folders its `resources` name
    outside it (as `kubectl apply -k` would take them), so a Kargo folder laid out for
    kustomize loads unchanged.
    """
    if not path.is_dir():
        return [path]
    found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES)
    seen = {p.resolve() for p in found}
    for kustomization in [p for p in found if p.name in KUSTOMIZATION_FILES]:
        for extra in _kustomize_resources(kustomization, seen):
            seen.add(extra.resolve())
            found.append(extra)
    return found


def _kustomize_resources(kustomization: Path, seen: set[Path]) -> list[Path]:
    """The YAML files a kustomization's `resources` name that are not loaded already."""
    try:
        data = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []  # reported when the file itself is loaded
    resources = data.get("resources") if isinstance(data, dict) else None
    extra: list[Path] = []
    for entry in resources if isinstance(resources, list) else []:
        target = (kustomization.parent / str(entry)).resolve()
        if target.is_dir():
            files = [*config_files(target)]
        elif target.is_file() and target.suffix in YAML_SUFFIXES:
            files = [target]
        else:
            continue  # a remote base or a missing file: kustomize's business
        extra += [f for f in files if f.resolve() not in seen]
    return extra


def load_path(path: Path, default_project: str | None = None) -> list[LoadedResource]:
    """Load every resource under a path; raise ConfigError listing every problem found."""
    if not path.exists():
        raise ConfigError([ConfigIssue(str(path), None, "", "no such file or folder")])
    texts = []
    for file in config_files(path):
        try:
            texts.append((file.read_text(encoding="utf-8"), str(file)))
        except OSError as exc:
            raise ConfigError([ConfigIssue(str(file), None, "", f"cannot read: {exc}")]) from exc
    return load_texts(texts, default_project)


def load_text(
    text: str, source: str = "<input>", default_project: str | None = None
) -> list[LoadedResource]:
    """Load the resources in one YAML text."""
    return load_texts([(text, source)], default_project)


def load_texts(
    texts: list[tuple[str, str]], default_project: str | None = None
) -> list[LoadedResource]:
    """Load resources from several (text, source) pairs, all validated before any is returned."""
    documents: list[PositionedDocument] = []
    issues: list[ConfigIssue] = []
    for text, source in texts:
        try:
            documents.extend(load_documents(text, source))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            issues.append(ConfigIssue(source, line, "", f"not valid YAML: {exc}"))
    project = default_project or _only_project(documents) or DEFAULT_PROJECT
    loaded = []
    for document in documents:
        resource = _validate(document, project, issues)
        if resource is not None:
            loaded.append(LoadedResource(resource, document.source, document.line))
    if issues:
        raise ConfigError(issues)
    return loaded


def _only_project(documents: list[PositionedDocument]) -> str | None:
    names = [
        str(d.data.get("metadata", {}).get("name"))
        for d in documents
        if isinstance(d.data, dict) and d.data.get("kind") == "Project"
    ]
    return names[0] if len(names) == 1 else None


def _validate(
    document: PositionedDocument, project: str, issues: list[ConfigIssue]
) -> BaseModel | None:
    data = document.data
    if not isinstance(data, dict):
        issues.append(ConfigIssue(document.source, document.line, "", "expected a mapping"))
        return None
    kind = data.get("kind")
    if kind == "Kustomization" and str(data.get("apiVersion", "")).startswith(KUSTOMIZE_API):
        return None  # kustomize's list of the folder's files, which are loaded themselves
    model = model_for(str(kind)) if kind else None
    if kind == "Secret" and data.get("apiVersion") == "v1":
        model = SecretDocument
    if model is None:
        expected = ", ".join(known_kinds())
        hint = did_you_mean(str(kind), known_kinds()) if kind else ""
        issues.append(
            ConfigIssue(
                document.source,
                document.line_of(("kind",)),
                "kind",
                f"unknown kind {kind!r}{hint}; expected one of {expected}",
            )
        )
        return None
    data = _with_namespace(data, project)
    try:
        if model is SecretDocument:
            return SecretDocument.model_validate(data)
        return parse_resource(data, document.source, document.line)
    except ValidationError as exc:
        for error in exc.errors():
            if model is SecretDocument:  # never echo what was given: it may be a secret
                error = {**error, "input": "<hidden>"}
            issues.append(_issue(document, model, error))
        return None
    except Exception as exc:  # a kind's own parser (e.g. analysis templates) reports its way
        line = getattr(exc, "line", None) or document.line
        path = str(getattr(exc, "field", "") or "")
        message = str(getattr(exc, "expected", "") or exc)
        issues.append(ConfigIssue(document.source, line, path, message))
        return None


def _with_namespace(data: dict[str, Any], project: str) -> dict[str, Any]:
    meta = data.get("metadata")
    if not isinstance(meta, dict) or data.get("kind") in CLUSTER_SCOPED:
        return data
    if not meta.get("namespace"):
        return {**data, "metadata": {**meta, "namespace": project}}
    return data


def _issue(document: PositionedDocument, model: type[BaseModel], error: Any) -> ConfigIssue:
    keys = _keys(document)
    loc: tuple[str | int, ...] = tuple(
        p
        for p in error["loc"]
        if isinstance(p, int) or p in keys or ("[" not in p and not p[:1].isupper())
    )
    path = _format_path(loc)
    line = document.line_of(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = allowed_fields(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed) if loc else ""
        choices = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return ConfigIssue(document.source, line, path, f"unknown field{hint}{choices}")
    if kind == "missing":
        return ConfigIssue(document.source, line, path, "required field is missing")
    return ConfigIssue(document.source, line, path, f"{error['msg']} (got {error['input']!r})")


def _keys(document: PositionedDocument) -> set[str]:
    keys: set[str] = {str(p) for path in document.lines for p in path if isinstance(p, str)}
    return keys


def _format_path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
