"""Configuration is validated before anything is stored, with file, line and field in errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.config import ConfigError, check_references, load_path, load_text
from kargo.model.stage import Stage
from kargo.model.warehouse import Warehouse

WAREHOUSE = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: app
  namespace: shop
spec:
  subscriptions:
  - git:
      repoURL: /tmp/repo
      branch: main
      includePaths: [app/]
"""


def stage(name: str, sources: str) -> str:
    return f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: {name}
  namespace: shop
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {sources}
"""


def test_a_folder_of_multi_document_files_loads_every_resource(tmp_path: Path) -> None:
    (tmp_path / "warehouse.yaml").write_text(WAREHOUSE)
    (tmp_path / "stages.yaml").write_text(
        stage("dev", "{direct: true}") + "---\n" + stage("prod", "{stages: [dev]}")
    )
    loaded = load_path(tmp_path)
    assert sorted(r.kind for r in loaded) == ["Stage", "Stage", "Warehouse"]
    warehouse = next(r.resource for r in loaded if isinstance(r.resource, Warehouse))
    assert warehouse.spec.subscriptions[0].git.include_paths == ["app/"]
    assert check_references(loaded) == []


def test_an_unknown_field_names_file_line_path_and_a_suggestion() -> None:
    text = stage("dev", "{direct: true}").replace("  requestedFreight:", "  requestedFrieght:")
    with pytest.raises(ConfigError) as caught:
        load_text(text, "stage.yaml")
    message = str(caught.value)
    assert (
        'stage.yaml:7: spec.requestedFrieght: unknown field (did you mean "requestedFreight"?)'
        in (message)
    )


def test_a_wrong_type_and_a_missing_field_are_both_reported() -> None:
    text = WAREHOUSE.replace("      repoURL: /tmp/repo\n", "").replace(
        "      branch: main", "      branch: main\n      discoveryLimit: many"
    )
    with pytest.raises(ConfigError) as caught:
        load_text(text, "warehouse.yaml")
    paths = {issue.path: issue for issue in caught.value.issues}
    assert paths["spec.subscriptions[0].git.repoURL"].message == "required field is missing"
    assert paths["spec.subscriptions[0].git.discoveryLimit"].line == 10
    assert "integer" in paths["spec.subscriptions[0].git.discoveryLimit"].message


def test_unresolved_references_are_refused_with_a_suggestion() -> None:
    loaded = load_text(WAREHOUSE + "---\n" + stage("prod", "{stages: [deve]}") + "---\n"
                       + stage("dev", "{direct: true}"))  # fmt: skip
    issues = check_references(loaded)
    assert [str(i.message) for i in issues] == [
        "stage 'deve' is not defined (did you mean \"dev\"?)"
    ]


def test_cycles_in_stage_sources_are_refused() -> None:
    loaded = load_text(
        WAREHOUSE + "---\n" + stage("a", "{stages: [b]}") + "---\n" + stage("b", "{stages: [a]}")
    )
    issues = check_references(loaded)
    assert any("cycle: a → b → a" in i.message or "cycle: b → a → b" in i.message for i in issues)


def test_a_resource_without_namespace_joins_the_only_project() -> None:
    text = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: shop}\n---\n"
        + stage("dev", "{direct: true}").replace("  namespace: shop\n", "")
    )
    loaded = load_text(text)
    stages = [r.resource for r in loaded if isinstance(r.resource, Stage)]
    assert stages[0].project == "shop"


def test_invalid_yaml_syntax_is_reported_with_its_line() -> None:
    with pytest.raises(ConfigError, match=r"bad.yaml:4: not valid YAML"):
        load_text("kind: Stage\nmetadata:\n  name: [unclosed\n", "bad.yaml")


def test_the_cluster_kargo_folder_loads_unchanged_with_its_kustomize_resources() -> None:
    root = Path(__file__).resolve().parents[3]
    loaded = load_path(root / "deploy/kubernetes/kargo")
    kinds = sorted((r.kind, getattr(r.resource, "name", "")) for r in loaded)
    assert kinds == [
        ("AnalysisTemplate", "load-test"),
        ("AnalysisTemplate", "security-scan"),
        ("AnalysisTemplate", "smoke-tests"),
        ("Project", "planning-poker"),
        ("ProjectConfig", "planning-poker"),
        ("Stage", "development"),
        ("Stage", "production"),
        ("Warehouse", "planning-poker"),
    ]
    assert check_references(loaded) == []
