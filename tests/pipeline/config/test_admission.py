"""Admission as Kargo's API server and webhooks do it: each refusal names file, line and field."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kargo.config import ConfigError, ConfigIssue, check_references, load_text
from kargo.engine.registration import register_higher_layer_parsers
from kargo.model.project import ProjectConfig, VerificationOutcome

HEAD = "apiVersion: kargo.akuity.io/v1alpha1\n"
WAREHOUSE = (
    HEAD + "kind: Warehouse\nmetadata: {name: app, namespace: shop}\nspec:\n"
    "  subscriptions:\n  - git: {repoURL: /tmp/repo, branch: main}\n"
)


def stage(body: str) -> str:
    return (
        HEAD
        + "kind: Stage\nmetadata:\n  name: dev\n  namespace: shop\nspec:\n"
        + "  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n"
        + "    sources: {direct: true}\n"
        + body
    )


def steps(*lines: str) -> str:
    return "  promotionTemplate:\n    spec:\n      steps:\n" + "".join(f"{x}\n" for x in lines)


def refusals(text: str, source: str = "broken.yaml") -> list[ConfigIssue]:
    register_higher_layer_parsers()
    with pytest.raises(ConfigError) as caught:
        load_text(text, source)
    return caught.value.issues


def only(text: str) -> ConfigIssue:
    found = refusals(text)
    assert len(found) == 1, found
    return found[0]


# A dozen broken documents: (document, line, field path, words the message must contain).
BROKEN = [
    pytest.param(
        WAREHOUSE.replace(HEAD, "apiVersion: apps/v1\n"),
        1,
        "apiVersion",
        "expected kargo.akuity.io/v1alpha1",
        id="apiVersion-of-another-group",
    ),
    pytest.param(
        HEAD + "kind: Warehouse\nmetadata:\n  name: app\n  name: other\nspec: {}\n",
        5,
        "metadata.name",
        "duplicate key 'name' (first written on line 4)",
        id="duplicate-key",
    ),
    pytest.param(
        stage(
            steps("      - uses: shell", "        as: go", "      - uses: shell", "        as: go")
        ),
        16,
        "spec.promotionTemplate.spec.steps[1].as",
        "duplicates that of spec.promotionTemplate.spec.steps[0]",
        id="duplicate-step-alias",
    ),
    pytest.param(
        stage(steps("      - uses: shell", "        as: step-2")),
        14,
        "spec.promotionTemplate.spec.steps[0].as",
        "reserved",
        id="reserved-step-alias",
    ),
    pytest.param(
        stage("  - origin: {kind: Warehouse, name: app}\n    sources: {direct: true}\n"),
        10,
        "spec.requestedFreight[1].origin",
        "requested multiple times",
        id="origin-requested-twice",
    ),
    pytest.param(
        HEAD
        + "kind: ProjectConfig\nmetadata: {name: shop, namespace: shop}\nspec:\n"
        + "  promotionPolicies:\n  - stage: dev\n    stageSelector: {name: dev}\n",
        6,
        "spec.promotionPolicies[0]",
        "exactly one of stage or stageSelector",
        id="stage-and-stageSelector",
    ),
    pytest.param(
        HEAD + "kind: ProjectConfig\nmetadata:\n  name: other\n  namespace: shop\nspec: {}\n",
        4,
        "metadata.name",
        "must match project name 'shop'",
        id="projectconfig-named-differently",
    ),
    pytest.param(
        stage(steps("      - uses: git-open-pr", "        config: {repoURL: x}")),
        13,
        "spec.promotionTemplate.spec.steps[0].uses",
        "git-open-pr: needs the pull-request API of a Git hosting service",
        id="kargo-step-not-on-one-machine",
    ),
    pytest.param(
        HEAD + "kind: Promotoin\nmetadata: {name: x}\n",
        2,
        "kind",
        "not supported",
        id="unsupported-kind",
    ),
    pytest.param(
        stage(
            "    \n  verification:\n    analysisTemplates:\n    - name: smoke\n      kind: Other\n"
        ),
        14,
        "spec.verification.analysisTemplates[0].kind",
        "AnalysisTemplate",
        id="analysis-template-reference-kind",
    ),
    pytest.param(
        stage("").replace("sources: {direct: true}", "sources: {requiredSoakTime: soon}"),
        9,
        "spec.requestedFreight[0].sources.requiredSoakTime",
        "does not match the pattern",
        id="soak-time-pattern",
    ),
    pytest.param(
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: smoke}\n"
        "spec:\n  metrics:\n  - name: ok\n    successCondition: result ==\n"
        "    provider:\n      web: {url: 'http://127.0.0.1:1/'}\n",
        7,
        "spec.metrics[0].successCondition",
        "",
        id="analysis-template-condition-line",
    ),
    pytest.param(
        stage(
            steps(
                "      - task: {name: shared}",
                "        if: ${{ true }}",
            )
        ),
        14,
        "spec.promotionTemplate.spec.steps[0].if",
        "cannot have an 'if' condition",
        id="task-step-with-if",
    ),
    pytest.param(
        stage("").replace(
            "sources: {direct: true}",
            "sources: {direct: true, autoPromotionOptions: {selectionPolicy: MatchUpstream}}",
        ),
        9,
        "spec.requestedFreight[0].sources.autoPromotionOptions.selectionPolicy",
        "MatchUpstream",
        id="match-upstream-with-direct",
    ),
]


@pytest.mark.parametrize(("text", "line", "path", "words"), BROKEN)
def test_each_refusal_names_file_line_field_and_what_was_expected(
    text: str, line: int, path: str, words: str
) -> None:
    issue = next((i for i in refusals(text) if i.path == path), None)
    assert issue is not None, refusals(text)
    assert (issue.file, issue.line, issue.path) == ("broken.yaml", line, path)
    assert words in issue.message
    assert "did you mean" not in issue.message


def test_an_unsupported_kind_is_never_answered_with_did_you_mean() -> None:
    issue = only(HEAD + "kind: Promotoin\nmetadata: {name: x}\n")
    assert "did you mean" not in issue.message and "not supported" in issue.message


@pytest.mark.parametrize(
    ("api_version", "kind", "words"),
    [
        ("argoproj.io/v1alpha1", "Rollout", "needs Argo Rollouts, which runs on the cluster path"),
        ("argoproj.io/v1alpha1", "Application", "needs Argo CD, which runs on the cluster path"),
        ("kargo.akuity.io/v1alpha1", "ClusterConfig", "need the cluster path"),
        ("v1", "ConfigMap", "not supported on one machine"),
    ],
)
def test_kinds_that_exist_elsewhere_say_where_they_run(
    api_version: str, kind: str, words: str
) -> None:
    issue = only(f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x}}\n")
    assert issue.path == "kind" and words in issue.message and "did you mean" not in issue.message


def test_the_same_resource_twice_in_one_apply_is_refused_at_the_second() -> None:
    issue = only(WAREHOUSE + "---\n" + WAREHOUSE)
    assert issue.line == 10 and issue.path == "metadata.name"
    assert "defined twice in one apply (first at broken.yaml:3)" in issue.message


def test_a_yaml_alias_bomb_is_refused_quickly() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = HEAD + "kind: Project\nmetadata: {name: x}\n" + "\n".join(levels) + "\n"
    started = time.monotonic()
    issue = only(text)
    assert time.monotonic() - started < 2.0
    assert "expands to more than 100000 nodes through YAML aliases" in issue.message


def test_a_document_in_a_file_with_a_duplicate_key_does_not_hide_the_others() -> None:
    text = WAREHOUSE + "---\n" + HEAD + "kind: Project\nmetadata:\n  name: a\n  name: b\n"
    found = refusals(text)
    assert [i.path for i in found] == ["metadata.name"]


def test_auto_rollback_written_empty_defaults_as_kargo_documents() -> None:
    register_higher_layer_parsers()
    text = (
        HEAD + "kind: ProjectConfig\nmetadata: {name: shop, namespace: shop}\nspec:\n"
        "  promotionPolicies:\n  - stageSelector: {name: prod}\n    autoRollback: {}\n"
    )
    config = load_text(text)[0].resource
    assert isinstance(config, ProjectConfig)
    rollback = config.spec.promotion_policies[0].auto_rollback
    assert rollback is not None
    assert rollback.on_verification == [VerificationOutcome.FAILED]
    assert rollback.on_promotion == []


def test_a_cel_rule_of_the_crd_is_evaluated() -> None:
    text = (
        HEAD + "kind: ProjectConfig\nmetadata: {name: shop, namespace: shop}\nspec:\n"
        "  promotionPolicies:\n  - stageSelector: {name: prod}\n    autoRollback:\n"
        "      onVerification: [Errored]\n"
    )
    messages = [i.message for i in refusals(text)]
    assert "onVerification[0] must be Failed or Error" in messages


def test_a_kargo_field_this_engine_lacks_says_so_without_a_guess() -> None:
    issue = only(stage("  shard: east\n"))
    assert issue.path == "spec.shard" and issue.line == 10
    assert (
        "does not support on one machine" in issue.message and "did you mean" not in issue.message
    )


def test_references_and_cycles_point_at_the_field_that_names_them() -> None:
    register_higher_layer_parsers()
    text = WAREHOUSE + "---\n" + stage("").replace("name: app}", "name: ap}") + "---\n"
    text += (
        stage("")
        .replace("name: dev", "name: qa")
        .replace("sources: {direct: true}", "sources:\n      stages:\n      - uat")
    )
    text += "---\n" + stage("").replace("name: dev", "name: uat").replace(
        "sources: {direct: true}", "sources:\n      stages:\n      - qa"
    )
    loaded = load_text(text, "pipeline.yaml")
    issues = {i.path: i for i in check_references(loaded)}
    missing = issues["spec.requestedFreight[0].origin.name"]
    assert missing.line == 15 and "warehouse 'ap' is not defined" in missing.message
    cycle = issues["spec.requestedFreight[0].sources.stages[0]"]
    assert cycle.line == 28 and "cycle: qa → uat → qa" in cycle.message


def test_a_stage_verified_by_a_cluster_analysis_template_finds_the_cluster_scoped_one() -> None:
    register_higher_layer_parsers()
    template = (
        "apiVersion: argoproj.io/v1alpha1\nkind: ClusterAnalysisTemplate\n"
        "metadata: {name: smoke}\nspec:\n  metrics:\n  - name: ok\n"
        "    successCondition: result == true\n"
        "    provider:\n      web: {url: 'http://127.0.0.1:1/', jsonPath: '{$.ok}'}\n"
    )
    verified = stage(
        "  verification:\n    analysisTemplates:\n    - name: smoke\n"
        "      kind: ClusterAnalysisTemplate\n"
    )
    loaded = load_text(template + "---\n" + WAREHOUSE + "---\n" + verified, "stage.yaml")
    cluster = next(r.resource for r in loaded if r.kind == "ClusterAnalysisTemplate")
    assert cluster.project == ""
    assert check_references(loaded) == []
    # A namespaced template of that name does not satisfy a cluster reference.
    namespaced = template.replace("ClusterAnalysisTemplate", "AnalysisTemplate")
    loaded = load_text(namespaced + "---\n" + WAREHOUSE + "---\n" + verified, "stage.yaml")
    [issue] = check_references(loaded)
    assert "cluster analysis template 'smoke' is not defined" in issue.message
    assert issue.path == "spec.verification.analysisTemplates[0].name"


def test_a_broken_expression_in_a_step_is_refused_at_load_with_its_line() -> None:
    issue = only(
        stage(steps("      - uses: shell", "        config:", "          command: ${{ ctx. }}"))
    )
    assert (issue.line, issue.path) == (15, "spec.promotionTemplate.spec.steps[0].config.command")
    assert "not a valid expression" in issue.message and "column" in issue.message


def test_warehouse_expressions_are_checked_at_load() -> None:
    text = (
        WAREHOUSE.replace("branch: main}", 'branch: main, expressionFilter: "subject contains"}')
        + "  freightCreationCriteria:\n    expression: commitFrom('x').ID ==\n"
    )
    paths = {i.path: i.line for i in refusals(text)}
    assert paths == {
        "spec.subscriptions[0].git.expressionFilter": 6,
        "spec.freightCreationCriteria.expression": 8,
    }


def test_the_step_kind_check_reads_the_registry() -> None:
    from kargo.steps.base import _REGISTRY, Step, register_step

    text = stage(steps("      - uses: x-local-probe"))
    assert "unknown step kind 'x-local-probe'" in only(text).message

    class Probe(Step[Any]):
        kind = "x-local-probe"

    register_step(Probe)
    try:
        assert load_text(text)[0].kind == "Stage"
    finally:
        _REGISTRY.pop("x-local-probe", None)
