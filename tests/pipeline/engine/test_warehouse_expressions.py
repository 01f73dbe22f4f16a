"""A Warehouse's expr expressions: git `expressionFilter` and `freightCreationCriteria`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.criteria import meets_creation_criteria
from kargo.engine.gitdiscovery import DiscoveryError, discover_commits
from kargo.engine.warehouses import REFRESH_ANNOTATION, WarehouseReconciler
from kargo.model.freight import Freight
from kargo.model.warehouse import (
    DiscoveredArtifacts,
    GitDiscoveryResult,
    GitSubscription,
    Warehouse,
)
from kargo.store import Store, get_model, list_models

from tests.pipeline.harness import commit, make_repo


def subscription(repo: Path, **fields: object) -> GitSubscription:
    return GitSubscription.model_validate({"repoURL": str(repo), "branch": "main", **fields})


def test_expression_filter_keeps_the_commits_it_is_true_for(tmp_path: Path) -> None:
    # Kargo's documented example: skip commits marked [kargo-ignore].
    repo = make_repo(tmp_path / "repo")
    commit(repo, "app/a.py", "a = 1\n", "feat: a")
    commit(repo, "app/b.py", "b = 1\n", "chore: bump [kargo-ignore]")
    sub = subscription(repo, expressionFilter="!(subject contains '[kargo-ignore]')")
    assert [c.subject for c in discover_commits(sub, tmp_path / "cache")] == [
        "feat: a",
        "first version",
    ]
    dated = subscription(repo, expressionFilter="commitDate.After(date('2001-01-01'))")
    assert len(discover_commits(dated, tmp_path / "cache")) == 3


def test_an_expression_filter_that_cannot_evaluate_is_a_discovery_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    sub = subscription(repo, expressionFilter="subject > 3")
    with pytest.raises(DiscoveryError, match="expressionFilter `subject > 3`"):
        discover_commits(sub, tmp_path / "cache")


def warehouse(expression: str) -> Warehouse:
    return Warehouse.model_validate(
        {
            "metadata": {"name": "app", "namespace": "shop"},
            "spec": {
                "subscriptions": [{"git": {"repoURL": "/srv/a"}}, {"git": {"repoURL": "/srv/b"}}],
                "freightCreationCriteria": {"expression": expression},
            },
        }
    )


def results(tag_a: str, tag_b: str) -> DiscoveredArtifacts:
    return DiscoveredArtifacts(
        git=[
            GitDiscoveryResult.model_validate({"repoURL": url, "commits": [{"id": sha, "tag": t}]})
            for url, sha, t in (("/srv/a", "a" * 40, tag_a), ("/srv/b", "b" * 40, tag_b))
        ]
    )


def test_freight_creation_criteria_decide_with_commit_from() -> None:
    # Kargo's documented example, for commits: both repositories at the same tag.
    same_tag = warehouse("commitFrom('/srv/a').Tag == commitFrom('/srv/b').Tag")
    assert meets_creation_criteria(same_tag, results("v1.2.0", "v1.2.0"))
    assert not meets_creation_criteria(same_tag, results("v1.2.0", "v1.1.0"))


def test_a_warehouse_makes_freight_only_when_its_creation_criteria_hold(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    text = f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app, namespace: shop}}
spec:
  subscriptions:
  - git: {{repoURL: {repo}, branch: main}}
  freightCreationCriteria:
    expression: commitFrom('{repo}').Message startsWith 'release'
"""
    apply_resources(store, load_text(text))
    reconciler = WarehouseReconciler(store, tmp_path / "cache")
    warehouse = get_model(store, Warehouse, "shop", "app")
    assert warehouse is not None
    assert asyncio.run(reconciler.reconcile(warehouse)) is None  # "first version": no freight
    commit(repo, "app/a.py", "a = 2\n", "release 1.1")
    warehouse = get_model(store, Warehouse, "shop", "app")
    assert warehouse is not None
    warehouse.metadata.annotations[REFRESH_ANNOTATION] = "again"
    created = asyncio.run(reconciler.reconcile(warehouse))
    assert created is not None and created.commits[0].message == "release 1.1"
    assert [f.name for f in list_models(store, Freight, "shop")] == [created.name]
