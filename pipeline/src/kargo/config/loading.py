"""Read configuration files (a file or a folder, multi-document YAML) into validated resources.

Each document goes through what a Kubernetes API server with Kargo installed does: its
apiVersion and kind are checked, then the upstream CRD schema (with its CEL rules), then the
model, then Kargo's admission webhook rules. A set is refused whole, each problem reported once
with its file, the line of the offending field, the field path and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kargo.config.admission import admission_problems
from kargo.config.crds import field_in_schema, has_schema, schema_problems
from kargo.config.errors import ConfigError, ConfigIssue
from kargo.config.fields import allowed_fields, did_you_mean
from kargo.config.kinds import CLUSTER_SCOPED, kind_problem
from kargo.config.positions import (
    ConfigSyntaxError,
    PositionedDocument,
    format_path,
    line_in,
    load_documents,
)
from kargo.config.positions import Path as FieldPath
from kargo.model.registry import model_for, parse_resource
from kargo.model.secret import SecretDocument

DEFAULT_PROJECT = "planning-poker"
YAML_SUFFIXES = (".yaml", ".yml")
MISSING = "required field is missing"
UNSUPPORTED_FIELD = "a Kargo field this engine does not support on one machine"
KUSTOMIZE_API = "kustomize.config.k8s.io/"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class LoadedResource:
    """A validated resource, where it was written, and the line of each of its fields."""

    resource: BaseModel
    source: str
    line: int
    lines: Mapping[FieldPath, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def kind(self) -> str:
        """The resource's kind."""
        return str(getattr(self.resource, "kind", ""))

    def line_of(self, path: FieldPath) -> int:
        """The line of a field (or of its nearest written parent, or of the document)."""
        return line_in(self.lines, path, self.line)

    def issue(self, path: FieldPath, message: str) -> ConfigIssue:
        """A problem with one of this resource's fields."""
        return ConfigIssue(self.source, self.line_of(path), format_path(path), message)


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
        except (OSError, UnicodeDecodeError) as exc:
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
        refused: list[ConfigSyntaxError] = []
        try:
            documents.extend(load_documents(text, source, refused))
        except ConfigSyntaxError as exc:
            issues.append(ConfigIssue(source, exc.line, exc.path, exc.message))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            issues.append(ConfigIssue(source, line, "", f"not valid YAML: {_yaml_problem(exc)}"))
        except RecursionError:
            issues.append(ConfigIssue(source, None, "", "not valid YAML: nested too deeply"))
        issues.extend(ConfigIssue(source, r.line, r.path, r.message) for r in refused)
    project = default_project or _only_project(documents) or DEFAULT_PROJECT
    loaded = []
    for document in documents:
        resource = _validate(document, project, issues)
        if resource is not None:
            loaded.append(LoadedResource(resource, document.source, document.line, document.lines))
    issues.extend(_duplicates(loaded))
    if issues:
        raise ConfigError(issues)
    return loaded


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's problem in one line: what it was doing, what it found, and the column."""
    context = getattr(exc, "context", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    column = f" (column {mark.column + 1})" if mark is not None else ""
    return f"{context}: {problem}{column}" if context else f"{problem}{column}"


def _only_project(documents: list[PositionedDocument]) -> str | None:
    names = [
        str(d.data.get("metadata", {}).get("name"))
        for d in documents
        if isinstance(d.data, dict) and d.data.get("kind") == "Project"
    ]
    return names[0] if len(names) == 1 else None


def _duplicates(loaded: list[LoadedResource]) -> list[ConfigIssue]:
    first: dict[tuple[str, str, str], LoadedResource] = {}
    issues = []
    for item in loaded:
        key = (item.kind, getattr(item.resource, "project", ""), getattr(item.resource, "name", ""))
        earlier = first.get(key)
        if earlier is None:
            first[key] = item
            continue
        where = f" in project {key[1]!r}" if key[1] else ""
        issues.append(
            item.issue(
                ("metadata", "name"),
                f"{key[0]} {key[2]!r}{where} is defined twice in one apply "
                f"(first at {earlier.source}:{earlier.line_of(('metadata', 'name'))})",
            )
        )
    return issues


def _validate(
    document: PositionedDocument, project: str, issues: list[ConfigIssue]
) -> BaseModel | None:
    data = document.data
    if not isinstance(data, dict):
        issues.append(ConfigIssue(document.source, document.line, "", "expected a mapping"))
        return None

    def report(path: FieldPath, message: str, line: int | None = None) -> None:
        where = line or document.line_of(path)
        issues.append(ConfigIssue(document.source, where, format_path(path), message))

    kind, api_version = data.get("kind"), data.get("apiVersion")
    if kind == "Kustomization" and str(api_version or "").startswith(KUSTOMIZE_API):
        return None  # kustomize's list of the folder's files, which are loaded themselves
    problem = kind_problem(api_version, kind)
    if problem is not None:
        report((problem[0],), problem[1])
        return None
    data = _with_namespace(data, project)
    mine: list[ConfigIssue] = []

    def report_here(path: FieldPath, message: str, line: int | None = None) -> None:
        where = line or document.line_of(path)
        mine.append(ConfigIssue(document.source, where, format_path(path), message))

    reported: list[FieldPath] = []
    for schema_problem in schema_problems(data):
        reported.append(schema_problem.path)
        report_here(schema_problem.path, schema_problem.message)
    resource = _parse(document, data, report_here, reported)
    for path, message in admission_problems(data):
        if not _covered(path, reported):
            reported.append(path)
            report_here(path, message)
    issues.extend(sorted(mine, key=lambda i: i.line or 0))
    return None if mine else resource


def _parse(
    document: PositionedDocument,
    data: dict[str, Any],
    report: Callable[..., None],
    reported: list[FieldPath],
) -> BaseModel | None:
    kind = str(data.get("kind"))
    model = SecretDocument if kind == "Secret" else model_for(kind)
    assert model is not None

    def line_of(dotted: str) -> int | None:
        return document.lines.get(_split(dotted))

    try:
        if model is SecretDocument:
            return SecretDocument.model_validate(data)
        return parse_resource(data, document.source, document.line, line_of)
    except ValidationError as exc:
        errors = exc.errors()
        if model is SecretDocument:  # never echo what was given: it may be a secret
            errors = [{**error, "input": "<hidden>"} for error in errors]
        described = [_describe(document, model, data, error) for error in errors]
        # A Kargo field this engine lacks (an `image` subscription) explains the "missing"
        # alternative beside it (`git`): say the first, not both.
        unsupported = {p[:-1] for p, m in described if m.startswith(UNSUPPORTED_FIELD)}
        for path, message in described:
            if message == MISSING and path[:-1] in unsupported:
                continue
            if not _covered(path, reported):
                reported.append(path)
                report(path, message)
        return None
    except Exception as exc:  # a kind's own parser (e.g. analysis templates) reports its way
        path = _split(str(getattr(exc, "field", "") or ""))
        if not _covered(path, reported):
            reported.append(path)
            message = str(getattr(exc, "expected", "") or exc)
            report(path, message, getattr(exc, "line", None))
        return None


def _covered(path: FieldPath, reported: list[FieldPath]) -> bool:
    """Whether a problem at `path` (or around it) was already reported."""
    return any(path[: len(r)] == r or r[: len(path)] == path for r in reported)


def _split(dotted: str) -> FieldPath:
    parts: list[str | int] = []
    for piece in dotted.replace("]", "").split("."):
        if not piece:
            continue
        name, *indices = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i) for i in indices if i.isdigit())
    return tuple(parts)


def _with_namespace(data: dict[str, Any], project: str) -> dict[str, Any]:
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        return data
    if data.get("kind") in CLUSTER_SCOPED:
        if "namespace" in meta:
            return {**data, "metadata": {k: v for k, v in meta.items() if k != "namespace"}}
        return data
    if not meta.get("namespace"):
        return {**data, "metadata": {**meta, "namespace": project}}
    return data


def _describe(
    document: PositionedDocument, model: type[BaseModel], data: dict[str, Any], error: Any
) -> tuple[FieldPath, str]:
    keys = {str(p) for path in document.lines for p in path if isinstance(p, str)}
    loc: FieldPath = tuple(
        p
        for p in error["loc"]
        if isinstance(p, int) or p in keys or ("[" not in p and not p[:1].isupper())
    )
    kind = error["type"]
    if kind == "extra_forbidden":
        api_version, kind_name = str(data.get("apiVersion")), str(data.get("kind"))
        if has_schema(api_version, kind_name) and field_in_schema(api_version, kind_name, loc):
            return loc, (
                f"{UNSUPPORTED_FIELD} ({kind_name} has it in Kargo; see docs/kargo-support.md)"
            )
        allowed = allowed_fields(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed) if loc else ""
        choices = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return loc, f"unknown field{hint}{choices}"
    if kind == "missing":
        return loc, MISSING
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        return loc, message
    return loc, f"{message} (got {error['input']!r})"
