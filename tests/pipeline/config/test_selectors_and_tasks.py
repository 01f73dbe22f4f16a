"""Stage selectors as Kargo reads them, and PromotionTask steps inflated as Kargo names them."""

from __future__ import annotations

import pytest
from kargo.config import ConfigError, check_references, load_text
from kargo.engine.registration import register_higher_layer_parsers
from kargo.expr.library import task_outputs
from kargo.model.common import ExpressionVar
from kargo.model.project import StageSelector
from kargo.model.promotiontask import PromotionTaskSpec, TaskInflationError, inflate_steps
from kargo.model.selectors import LabelSelectorRequirement
from kargo.model.stage import PromotionStepSpec, PromotionTaskReference

from tests.pipeline.documents import documents, git_warehouse, stage


@pytest.mark.parametrize(
    ("pattern", "name", "selected"),
    [
        ("qa", "qa", True),
        ("q*", "qa", False),  # no prefix: an exact name, as in Kargo
        ("glob:q*", "qa", True),
        ("glob:q*", "prod", False),
        ("glob:{qa,uat}", "uat", True),
        ("glob:q?", "qa", True),
        ("regex:^prod-(eu|us)$", "prod-eu", True),
        ("regex:prod", "my-prod-1", True),  # searched anywhere, as Go's MatchString
        ("regexp:^dev$", "development", False),
    ],
)
def test_stage_selector_name_patterns(pattern: str, name: str, selected: bool) -> None:
    assert StageSelector(name=pattern).matches(name, {}) is selected


def test_match_expressions_with_each_operator() -> None:
    selector = StageSelector.model_validate(
        {
            "matchLabels": {"tier": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["qa", "uat"]},
                {"key": "region", "operator": "NotIn", "values": ["cn"]},
                {"key": "owner", "operator": "Exists"},
                {"key": "frozen", "operator": "DoesNotExist"},
            ],
        }
    )
    good = {"tier": "web", "env": "qa", "owner": "ops"}
    assert selector.matches("any", good)
    assert not selector.matches("any", {**good, "env": "prod"})
    assert not selector.matches("any", {**good, "region": "cn"})
    assert not selector.matches("any", {k: v for k, v in good.items() if k != "owner"})
    assert not selector.matches("any", {**good, "frozen": "yes"})
    assert not selector.matches("any", {**good, "tier": "db"})


def test_a_requirement_needs_values_exactly_when_its_operator_does() -> None:
    with pytest.raises(ValueError, match="needs a non-empty `values`"):
        LabelSelectorRequirement.model_validate({"key": "a", "operator": "In"})
    with pytest.raises(ValueError, match="takes no `values`"):
        LabelSelectorRequirement.model_validate({"key": "a", "operator": "Exists", "values": ["x"]})


def test_a_bad_pattern_identifier_is_refused_with_its_line() -> None:
    text = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\n"
        "metadata: {name: shop, namespace: shop}\nspec:\n  promotionPolicies:\n"
        "  - stageSelector:\n      name: 'wild:q*'\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_text(text, "config.yaml")
    issue = caught.value.issues[0]
    assert (issue.line, issue.path) == (7, "spec.promotionPolicies[0].stageSelector.name")
    assert "invalid pattern identifier" in issue.message


def step(uses: str = "", **extra: object) -> PromotionStepSpec:
    return PromotionStepSpec.model_validate({"uses": uses, **extra} if uses else extra)


TASK = PromotionTaskSpec(
    vars=[ExpressionVar(name="repo", value=""), ExpressionVar(name="branch", value="main")],
    steps=[step("git-clone", **{"as": "clone"}), step("shell")],
)


def lookup(ref: PromotionTaskReference) -> PromotionTaskSpec | None:
    return TASK if ref.name == "clone-and-build" else None


def test_task_steps_inflate_with_kargo_aliases_and_variables() -> None:
    steps = [
        step("noop"),
        step(task={"name": "clone-and-build"}, vars=[{"name": "repo", "value": "/srv/app"}]),
        step(
            task={"name": "clone-and-build"},
            **{"as": "again"},
            vars=[{"name": "repo", "value": "x"}],
        ),
    ]
    inflated = inflate_steps(steps, [], lookup)
    assert [s.as_ for s in inflated] == [None, "task-2::clone", "task-2::step-2", "again::clone",
                                         "again::step-2"]  # fmt: skip
    variables = {v.name: v.value for v in inflated[1].vars}
    assert variables == {"branch": "main", "repo": "/srv/app"}


def test_a_required_task_variable_without_a_value_refuses_the_promotion() -> None:
    with pytest.raises(TaskInflationError, match="missing value for variable 'repo'"):
        inflate_steps([step(task={"name": "clone-and-build"})], [], lookup)
    # A value set on the promotion (the stage's template vars) satisfies it.
    given = [ExpressionVar(name="repo", value="/srv/app")]
    assert len(inflate_steps([step(task={"name": "clone-and-build"})], given, lookup)) == 2


def test_task_outputs_are_the_task_s_own_steps_by_short_alias() -> None:
    outputs = {"task-1::clone": {"commit": "abc"}, "other::clone": {"commit": "no"}, "x": {}}
    assert task_outputs("task-1::step-2", outputs) == {"clone": {"commit": "abc"}}
    assert task_outputs("plain", outputs) is None


PROJECT_TASK = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: clone-and-build, namespace: shop}
spec:
  vars:
  - name: repo
  steps:
  - uses: shell
    as: build
    config: {command: "echo ${{ vars.repo }}"}
"""
CLUSTER_TASK = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: ClusterPromotionTask
metadata: {name: notify}
spec:
  steps:
  - uses: noop
"""


def stage_using(task_lines: str) -> str:
    return documents(
        git_warehouse("/tmp/repo", namespace="shop", interval=None),
        stage("dev", task_lines, namespace="shop"),
    )


def test_tasks_load_and_references_to_them_resolve_in_their_scope() -> None:
    register_higher_layer_parsers()
    text = documents(
        PROJECT_TASK,
        CLUSTER_TASK,
        stage_using(
            "- task: {name: clone-and-build}\n  vars: [{name: repo, value: x}]\n"
            "- task: {name: notify, kind: ClusterPromotionTask}\n"
        ),
    )
    loaded = load_text(text, "tasks.yaml")
    assert {r.kind for r in loaded} >= {"PromotionTask", "ClusterPromotionTask"}
    cluster = next(r.resource for r in loaded if r.kind == "ClusterPromotionTask")
    assert cluster.project == ""
    assert check_references(loaded) == []


def test_a_missing_task_is_named_at_its_line() -> None:
    register_higher_layer_parsers()
    text = stage_using("- task:\n    name: nowhere\n")
    loaded = load_text(text, "stage.yaml")
    [issue] = check_references(loaded)
    assert issue.line == 19
    assert issue.path == "spec.promotionTemplate.spec.steps[0].task.name"
    assert "PromotionTask 'nowhere' is not defined" in issue.message


def test_a_task_s_steps_cannot_reference_another_task() -> None:
    register_higher_layer_parsers()
    text = PROJECT_TASK.replace("  - uses: shell\n", "  - task: {name: other}\n")
    with pytest.raises(ConfigError) as caught:
        load_text(text, "task.yaml")
    assert any(i.line == 8 and "steps[0]" in i.path for i in caught.value.issues)
