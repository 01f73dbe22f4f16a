"""Parse an AnalysisTemplate in either form, and check it fully at load time.

`parse_analysis_template` is what the config loader calls for kind AnalysisTemplate. It
normalises the guide's shorthand and Argo Rollouts' native form into one model, compiles every
condition (expr), checks durations and `{{args.name}}` references, and raises AnalysisTemplateError
naming the file, line, field and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from kargo.analysis.arguments import references
from kargo.analysis.conditions import ConditionSyntaxError, compile_condition
from kargo.analysis.errors import AnalysisTemplateError
from kargo.analysis.native import normalise_native_spec
from kargo.analysis.shorthand import normalise_shorthand_spec
from kargo.model.analysis import ANALYSIS_TEMPLATE_KIND, AnalysisTemplate
from kargo.model.base import API_VERSION
from kargo.model.durations import duration_seconds as parse_duration

ARGO_API_VERSION = "argoproj.io/v1alpha1"
API_VERSIONS = (API_VERSION, ARGO_API_VERSION)
LineMap = Mapping[str, int] | Callable[[str], int | None]


class _Locator:
    """Finds the line of a field path in a line map, falling back to its parents."""

    def __init__(self, source: str, line: int | None, line_map: LineMap | None):
        self.source = source
        self.line = line
        self.line_map = line_map or {}

    def _lookup(self, path: str) -> int | None:
        if callable(self.line_map):
            return self.line_map(path)
        return self.line_map.get(path)

    def line_of(self, path: str) -> int | None:
        """The line of the field, of its nearest parent, or of the document."""
        candidate = path
        while candidate:
            found = self._lookup(candidate)
            if found is not None:
                return found
            cut = max(candidate.rfind("."), candidate.rfind("["))
            candidate = candidate[:cut] if cut > 0 else ""
        return self.line

    def __call__(self, path: str, expected: str) -> AnalysisTemplateError:
        return AnalysisTemplateError(self.source, path, expected, line=self.line_of(path))


def parse_analysis_template(
    doc: Mapping[str, Any],
    source: str,
    line: int | None = None,
    *,
    line_map: LineMap | None = None,
) -> AnalysisTemplate:
    """An AnalysisTemplate from one YAML document of either form, or AnalysisTemplateError.

    `line` is the document's first line; `line_map` maps field paths such as
    `spec.metrics[0].successCondition` to lines (a mapping, see
    `kargo.analysis.lines.field_lines`, or a function of the path returning a line or None).
    """
    refuse = _Locator(source, line, line_map)
    if not isinstance(doc, Mapping):
        raise refuse("", "expected a mapping (one YAML document)")
    if doc.get("kind") != ANALYSIS_TEMPLATE_KIND:
        raise refuse("kind", f"expected {ANALYSIS_TEMPLATE_KIND}, got {doc.get('kind')!r}")
    api_version = doc.get("apiVersion")
    if api_version not in API_VERSIONS:
        raise refuse(
            "apiVersion", f"expected one of {', '.join(API_VERSIONS)}, got {api_version!r}"
        )
    unknown = sorted(set(doc) - {"apiVersion", "kind", "metadata", "spec"})
    if unknown:
        raise refuse(unknown[0], "unsupported field; expected apiVersion, kind, metadata, spec")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        raise refuse("spec", "expected a mapping with metrics")
    if api_version == ARGO_API_VERSION:
        internal_spec = normalise_native_spec(spec, refuse)
    else:
        internal_spec = normalise_shorthand_spec(spec, refuse)
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping):
        raise refuse("metadata", "expected a mapping with a name")
    try:
        template = AnalysisTemplate.model_validate(
            {
                "apiVersion": API_VERSION,
                "kind": ANALYSIS_TEMPLATE_KIND,
                "metadata": dict(metadata),
                "spec": internal_spec,
            }
        )
    except ValidationError as exc:
        raise _from_validation_error(exc, refuse) from None
    _check_semantics(template, refuse)
    return template


def _from_validation_error(exc: ValidationError, refuse: _Locator) -> AnalysisTemplateError:
    """The first pydantic error as an AnalysisTemplateError with the field path."""
    first = exc.errors()[0]
    path = ""
    for part in first["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("web", "prometheus", "job") and path.endswith(".provider"):
            path += f".{part}"
        else:
            path += f".{part}" if path else str(part)
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unsupported field"
    elif first["type"] == "missing":
        message = "required field is missing"
    return refuse(path, message)


def _check_semantics(template: AnalysisTemplate, refuse: _Locator) -> None:
    """Durations, unique metric names, expr conditions and argument references."""
    spec = template.spec
    declared = {arg.name for arg in spec.args}
    if spec.timeout is not None:
        _check_duration(spec.timeout, "spec.timeout", refuse)
    seen: set[str] = set()
    for index, metric in enumerate(spec.metrics):
        path = f"spec.metrics[{index}]"
        if metric.name in seen:
            raise refuse(f"{path}.name", f"expected a unique metric name, {metric.name!r} repeats")
        seen.add(metric.name)
        for field in ("interval", "initial_delay", "timeout"):
            value = getattr(metric, field)
            if value is not None:
                alias = "initialDelay" if field == "initial_delay" else field
                _check_duration(value, f"{path}.{alias}", refuse)
        for alias, expression in (
            ("successCondition", metric.success_condition),
            ("failureCondition", metric.failure_condition),
        ):
            if expression is None:
                continue
            try:
                compile_condition(expression)
            except ConditionSyntaxError as exc:
                raise refuse(f"{path}.{alias}", str(exc)) from None
        used = references(metric.provider.model_dump(by_alias=True))
        undeclared = sorted(used - declared)
        if undeclared:
            raise refuse(
                f"{path}.provider",
                f"expected every {{{{args.NAME}}}} to be declared in spec.args; "
                f"undeclared: {', '.join(undeclared)}",
            )


def _check_duration(value: str, path: str, refuse: _Locator) -> None:
    """Raise unless the value is an Argo duration."""
    try:
        parse_duration(value)
    except ValueError as exc:
        raise refuse(path, str(exc)) from None
