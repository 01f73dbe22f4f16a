"""Real documents from Kargo's and Argo Rollouts' docs, test data and akuity's example projects.

Each unit (an example project's folder, or one file) is loaded the way `kargo apply` loads it:
`load_texts`, then `check_references`. An accepted unit is then evaluated: every analysis
condition runs against a sample measurement, every `${{ }}` in steps, vars and verification
arguments compiles and calls only functions Kargo defines, with only Kargo's variables. The test
prints each unit as accepted-and-evaluated or refused-with-reason, with the counts, and fails on
an accepted unit that cannot be evaluated, or on a refusal that does not name file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kargo.analysis.conditions import evaluate_condition
from kargo.config import ConfigError, LoadedResource, check_references, load_texts
from kargo.engine.registration import register_higher_layer_parsers
from kargo.expr import BUILTIN_NAMES, ExprError, compile_expression
from kargo.expr.library import KargoData, kargo_functions
from kargo.expr.templates import RESERVED, expressions_in, has_expression
from kargo.model.analysis import AnalysisTemplate, ClusterAnalysisTemplate

CORPUS = Path(__file__).parent / "corpus"
KARGO_NAMES = {"ctx", "vars", "outputs", "task", "secrets"}
KARGO_FUNCTIONS = set(kargo_functions(KargoData())) | set(BUILTIN_NAMES) | set(RESERVED)
SAMPLES: list[Any] = [1, 0.97, True, "ok", [0.97], [1, 2], [[0.97]]]


def units() -> list[tuple[str, list[Path]]]:
    """Each example project is one unit; every other corpus file is its own."""
    found: list[tuple[str, list[Path]]] = []
    for project in sorted((CORPUS / "projects").iterdir()):
        found.append((f"projects/{project.name}/", sorted(project.glob("*.yaml"))))
    for path in sorted(CORPUS.rglob("*.yaml")):
        if "projects" not in path.relative_to(CORPUS).parts:
            found.append((str(path.relative_to(CORPUS)), [path]))
    return found


def load_unit(files: list[Path]) -> list[LoadedResource]:
    """Load as `kargo apply` does; ConfigError with every problem when refused."""
    register_higher_layer_parsers()
    texts = [(p.read_text(), str(p.relative_to(CORPUS))) for p in files]
    loaded = load_texts(texts)
    problems = check_references(loaded)
    if problems:
        raise ConfigError(problems)
    return loaded


def _sample_results(condition: str) -> Iterator[Any]:
    yield from SAMPLES
    fields = set(re.findall(r"result\.(\w+)", condition))
    if fields:
        yield dict.fromkeys(fields, 1)
        yield dict.fromkeys(fields, True)


def condition_problems(template: AnalysisTemplate | ClusterAnalysisTemplate) -> list[str]:
    """Conditions that no sample measurement can evaluate."""
    problems = []
    for metric in template.spec.metrics:
        for field in ("success_condition", "failure_condition"):
            condition = getattr(metric, field, None)
            if not condition:
                continue
            errors = []
            for sample in _sample_results(condition):
                try:
                    evaluate_condition(condition, sample)
                    break
                except Exception as exc:  # the condition's one-line error
                    errors.append(str(exc))
            else:
                problems.append(f"{template.name}/{metric.name}: {errors[0]}")
    return problems


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str) and has_expression(value):
        yield value


def template_problems(resource: Any) -> list[str]:
    """`${{ }}` expressions that do not compile, or use names or functions Kargo lacks."""
    body = resource.to_dict()
    problems = []
    for template in _strings(body.get("spec", {})):
        for expression in expressions_in(template):
            try:
                program = compile_expression(expression)
            except ExprError as exc:
                problems.append(f"`{expression.strip()}`: {exc.describe()}")
                continue
            unknown = (program.names() - KARGO_NAMES) | (program.calls() - KARGO_FUNCTIONS)
            if unknown:
                problems.append(f"`{expression.strip()}`: unknown {', '.join(sorted(unknown))}")
    return problems


def evaluation_problems(loaded: list[LoadedResource]) -> list[str]:
    """Everything in an accepted unit that cannot be evaluated."""
    problems: list[str] = []
    for item in loaded:
        if isinstance(item.resource, AnalysisTemplate | ClusterAnalysisTemplate):
            problems += [f"{item.source}: {p}" for p in condition_problems(item.resource)]
        elif item.kind in ("Stage", "PromotionTask", "ClusterPromotionTask", "Promotion"):
            problems += [f"{item.source}: {p}" for p in template_problems(item.resource)]
    return problems


def test_every_corpus_document_is_accepted_and_evaluated_or_refused_with_a_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    accepted, refused, broken = [], [], []
    for name, files in units():
        try:
            loaded = load_unit(files)
        except ConfigError as exc:
            refused.append((name, exc.issues))
            continue
        problems = evaluation_problems(loaded)
        (broken if problems else accepted).append((name, problems or loaded))
    with capsys.disabled():
        print(f"\ncorpus: {len(accepted)} accepted and evaluated, {len(refused)} refused")
        for name, _ in accepted:
            print(f"  accepted  {name}")
        for name, issues in refused:
            print(
                f"  refused   {name}: {issues[0]}"
                + (f" (+{len(issues) - 1})" if issues[1:] else "")
            )
        for name, problems in broken:
            print(f"  BROKEN    {name}: {problems}")
    assert not broken, "accepted documents whose expressions or conditions cannot evaluate"
    for name, issues in refused:
        for issue in issues:
            assert issue.file and issue.line, f"{name}: refusal without file and line: {issue}"
            assert issue.message, f"{name}: refusal without a reason"
    assert accepted and refused


def test_every_corpus_file_names_its_source() -> None:
    for path in CORPUS.rglob("*.yaml"):
        assert path.read_text().startswith("# Source: github.com/"), path
