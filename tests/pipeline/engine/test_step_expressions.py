"""`${{ }}` in a real promotion: Kargo's context, functions in `if:`, one-line errors."""

from __future__ import annotations

from pathlib import Path

from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.model.freight import Freight
from kargo.model.promotion import Promotion
from kargo.store import Store, get_model, list_models

from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import make_repo, running_engine, wait_until


def pipeline(repo: Path, steps: str) -> str:
    return documents(
        project(),
        git_warehouse(repo),
        stage("dev", steps, template_vars=f'- {{name: repo, value: "{repo}"}}'),
    )


def promote(store: Store, state: Path, text: str) -> Promotion:
    with running_engine(store, state):
        apply_resources(store, load_text(text), actor="test")
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        name = request_promotion(
            store, PromotionRequest("shop", "dev", freight.name, actor="alice")
        )
        return wait_until(
            lambda: (
                (p := get_model(store, Promotion, "shop", name.name))
                and p.status.phase.is_terminal()
                and p
            ),
            what="the promotion to finish",
        )


def test_if_and_config_see_kargos_context_and_functions(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = tmp_path / "state"
    greeting = state / "configmaps" / "shop" / "app-config"
    greeting.mkdir(parents=True)
    (greeting / "greeting").write_text("hello\n")
    steps = """\
      - uses: shell
        as: who
        config:
          command: >-
            echo ${{ ctx.targetFreight.origin.name }} ${{ ctx.meta.promotion.actor }}
            ${{ len(ctx.targetFreight.name) }}
      - uses: shell
        as: never
        if: ${{ commitFrom(vars.repo).ID == 'not-this-one' }}
        config: {command: "exit 1"}
      - uses: shell
        as: greet
        if: ${{ success() && status('who') == 'Succeeded' && commitFrom(vars.repo) != nil }}
        config:
          command: echo ${{ configMap('app-config').greeting }} ${{ outputs.who.exitCode }}
"""
    promotion = promote(store, state, pipeline(repo, steps))
    assert promotion.status.phase.value == "Succeeded", promotion.status.message
    assert promotion.status.state["who"]["stdout"] == "app alice 40"
    metas = {m.alias: m.status.value for m in promotion.status.step_execution_metadata}
    assert metas == {"who": "Succeeded", "never": "Skipped", "greet": "Succeeded"}
    assert promotion.status.state["greet"]["stdout"] == "hello 0"


def test_an_expression_error_is_one_line_naming_field_expression_and_cause(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    steps = """\
      - uses: shell
        as: bad
        config:
          command: echo ${{ vars.repo + 1 }}
"""
    promotion = promote(store, tmp_path / "state", pipeline(repo, steps))
    assert promotion.status.phase.value == "Errored"
    assert promotion.status.message == (
        "step 1 (bad, shell) errored: config.command: ${{ vars.repo + 1 }}: "
        "invalid operation: + (mismatched types string and int) (line 1, column 12)"
    )
