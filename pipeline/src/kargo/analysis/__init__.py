"""Analysis: AnalysisTemplates in both forms, expr conditions, providers and AnalysisRuns.

The entry points are `parse_analysis_template` (config loading), `build_analysis_run` and
`run_analysis` (the engine's verification).
"""

from __future__ import annotations

from kargo.analysis.errors import (
    AnalysisArgumentError,
    AnalysisRunError,
    AnalysisTemplateError,
)
from kargo.analysis.lines import load_analysis_templates
from kargo.analysis.parsing import parse_analysis_template
from kargo.analysis.runs import build_analysis_run, run_analysis

__all__ = [
    "AnalysisArgumentError",
    "AnalysisRunError",
    "AnalysisTemplateError",
    "build_analysis_run",
    "load_analysis_templates",
    "parse_analysis_template",
    "run_analysis",
]
