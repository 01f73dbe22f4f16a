"""Hand the config layer parsers that live above it (analysis templates in both forms)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kargo.model.registry import register_parser


def register_higher_layer_parsers() -> None:
    """Route every AnalysisTemplate (kargo or argoproj apiVersion) to the analysis parser."""
    from kargo.analysis.parsing import parse_analysis_template

    def parse(document: dict[str, Any], source: str, line: int | None) -> BaseModel:
        return parse_analysis_template(document, source, line=line)

    register_parser("AnalysisTemplate", parse)
