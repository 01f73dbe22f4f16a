"""`kargo apply -f DIR` against a real server reports each problem once, at its file and line."""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.cli.conftest import kargo
from tests.pipeline.harness import admin_token, api_server

MISSPELT = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: shop}
spec:
  intervall: 5m
  subscriptions:
  - git: {repoURL: /tmp/nowhere, branch: main}
"""
BAD = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: shop}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: shell
        as: go
      - uses: jira
        as: go
"""


def test_apply_of_a_folder_prints_each_problem_once_with_its_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "a-warehouse.yaml").write_text(MISSPELT)
    (folder / "b-stage.yaml").write_text(BAD)
    with api_server(tmp_path / "state") as (base, _):
        env = {"KARGO_SERVER": base, "KARGO_TOKEN": admin_token(tmp_path / "state")}
        ran = kargo("apply", "-f", str(folder), env={**env, "KARGO_CONFIG": str(tmp_path / "c")})
    assert ran.code != 0
    text = ran.out + ran.err
    stage_file = folder / "b-stage.yaml"
    assert (
        f"{stage_file}:13: spec.promotionTemplate.spec.steps[1].uses: jira: a Kargo Enterprise"
        in (text)
    )
    assert f"{stage_file}:14: spec.promotionTemplate.spec.steps[1].as: step alias 'go'" in text
    assert text.count("jira: a Kargo Enterprise step") == 1
    assert text.count("duplicates that of") == 1
    assert f"{folder / 'a-warehouse.yaml'}:5: spec.intervall: unknown field" in text
    assert text.count("spec.intervall") == 1
    assert "<request>" not in text
