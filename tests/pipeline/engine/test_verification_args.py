"""A stage's verification `args` holding `${{ }}`: evaluated as Kargo does, not passed as text."""

from __future__ import annotations

from pathlib import Path

from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.engine.registration import register_higher_layer_parsers
from kargo.model.analysis import AnalysisRun
from kargo.model.freight import Freight
from kargo.model.stage import Stage, VerificationPhase
from kargo.store import Store, get_model, list_models

from tests.pipeline.documents import analysis_template, documents, git_warehouse, project, stage
from tests.pipeline.harness import http_server, make_repo, running_engine, wait_until


def pipeline(repo: Path, base_url: str, value: str) -> str:
    return documents(
        project(),
        git_warehouse(repo),
        analysis_template("smoke", f"{base_url}/{{{{args.path}}}}", args="- name: path"),
        stage(
            "dev",
            stage_vars="- {name: check, value: \"o${{ 'k' }}\"}",
            verification=f"""\
analysisTemplates: [{{name: smoke}}]
args:
- {{name: path, value: '{value}'}}
""",
        ),
    )


def verify(store: Store, tmp_path: Path, value: str) -> Stage:
    register_higher_layer_parsers()
    repo = make_repo(tmp_path / "repo")
    with http_server() as base_url, running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo, base_url, value)))
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        request_promotion(store, PromotionRequest("shop", "dev", freight.name))

        def verified() -> Stage | None:
            stage = get_model(store, Stage, "shop", "dev")
            current = stage.status.current_freight if stage else None
            if current and current.verification_history:
                if current.verification_history[0].phase.is_terminal():
                    return stage
            return None

        return wait_until(verified, what="the verification to finish")


def test_verification_args_are_evaluated_with_the_stages_context_and_vars(
    store: Store, tmp_path: Path
) -> None:
    stage = verify(store, tmp_path, "${{ vars.check }}")
    info = stage.status.current_freight.verification_history[0]  # type: ignore[union-attr]
    assert info.phase is VerificationPhase.SUCCESSFUL, info.message
    runs = list_models(store, AnalysisRun, "shop")
    assert [(a.name, a.value) for a in runs[0].spec.args] == [("path", "ok")]


def test_a_verification_arg_that_is_not_a_string_errors_in_one_line(
    store: Store, tmp_path: Path
) -> None:
    stage = verify(store, tmp_path, "${{ len(ctx.stage) }}")
    info = stage.status.current_freight.verification_history[0]  # type: ignore[union-attr]
    assert info.phase is VerificationPhase.ERROR
    assert info.message == (
        "spec.verification.args path: ${{ len(ctx.stage) }} gave 3, not a string "
        "(Kargo needs a string here: wrap the expression in quote())"
    )
