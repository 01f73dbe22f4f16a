"""A Warehouse's expr expressions: git `expressionFilter` and `freightCreationCriteria`."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.engine.criteria import meets_creation_criteria
from kargo.engine.gitdiscovery import DiscoveryError, discover_commits
from kargo.model.warehouse import (
    DiscoveredArtifacts,
    GitDiscoveryResult,
    GitSubscription,
    Warehouse,
)

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
