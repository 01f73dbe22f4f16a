"""Hand the config layer parsers that live above it (analysis templates in both forms)."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel

from kargo.config.stepkinds import register_step_registry
from kargo.model.analysis import ClusterAnalysisTemplate
from kargo.model.registry import LineOf, register_parser


def register_higher_layer_parsers() -> None:
    """Route (Cluster)AnalysisTemplates to the analysis parser; hand over the step registry."""
    from kargo.analysis.parsing import parse_analysis_template
    from kargo.steps.base import step_kinds
    from kargo.steps.builtin import builtin_step_kinds

    builtin_step_kinds()  # importing it registers http, shell, fail and noop
    try:
        importlib.import_module("kargo.runtime.steps")  # git-clone, build-venv, deploy
    except ImportError:
        pass

    def parse(
        document: dict[str, Any], source: str, line: int | None, line_of: LineOf | None
    ) -> BaseModel:
        return parse_analysis_template(document, source, line=line, line_map=line_of)

    def parse_cluster(
        document: dict[str, Any], source: str, line: int | None, line_of: LineOf | None
    ) -> BaseModel:
        as_namespaced = {**document, "kind": "AnalysisTemplate"}
        template = parse_analysis_template(as_namespaced, source, line=line, line_map=line_of)
        body = template.model_dump(by_alias=True, exclude_none=True)
        return ClusterAnalysisTemplate.model_validate({**body, "kind": "ClusterAnalysisTemplate"})

    register_parser("AnalysisTemplate", parse)
    register_parser("ClusterAnalysisTemplate", parse_cluster)
    register_step_registry(step_kinds)
