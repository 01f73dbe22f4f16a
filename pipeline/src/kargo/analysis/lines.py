"""Read AnalysisTemplate YAML files with the line of every field, for precise errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kargo.analysis.errors import AnalysisTemplateError
from kargo.analysis.parsing import parse_analysis_template
from kargo.model.analysis import AnalysisTemplate


def field_lines(node: yaml.Node, path: str = "") -> dict[str, int]:
    """Map field paths (`spec.metrics[0].successCondition`) to 1-based lines in a YAML node."""
    lines: dict[str, int] = {}
    if path:
        lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            lines.update(field_lines(value_node, child))
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(field_lines(item, f"{path}[{index}]"))
    return lines


def load_analysis_templates(path: Path) -> list[AnalysisTemplate]:
    """Every AnalysisTemplate in a YAML file (several documents allowed), checked fully."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        nodes: list[yaml.Node | None] = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise AnalysisTemplateError(source, "", f"expected readable YAML: {exc}") from None
    templates = []
    for node in nodes:
        if node is None:
            continue
        doc: Any = yaml.SafeLoader(text).construct_document(node)
        templates.append(
            parse_analysis_template(
                doc, source, line=node.start_mark.line + 1, line_map=field_lines(node)
            )
        )
    return templates
