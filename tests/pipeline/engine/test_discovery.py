"""Git discovery: branch heads with path filters, newest tag, highest SemVer tag."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.engine.gitdiscovery import DiscoveryError, discover_commits
from kargo.model.warehouse import CommitSelectionStrategy, GitSubscription

from tests.pipeline.harness import commit, git, make_repo


def subscription(repo: Path, **fields: object) -> GitSubscription:
    return GitSubscription.model_validate({"repoURL": str(repo), "branch": "main", **fields})


def test_include_and_exclude_paths_pick_the_commits_that_matter(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    app = commit(repo, "app/views.py", "x = 1\n", "app change")
    commit(repo, "docs/readme.md", "hello\n", "docs change")
    commit(repo, "app/README.md", "notes\n", "app docs")
    found = discover_commits(
        subscription(repo, includePaths=["app"], excludePaths=["app/README.md"]), tmp_path
    )
    assert [c.subject for c in found] == ["app change", "first version"]
    assert found[0].id == app and found[0].branch == "main"


def test_newest_tag_and_semver_strategies_read_tags(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "tag", "v1.10.0")
    commit(repo, "app/main.py", "print('v2')\n", "second")
    git(repo, "tag", "-a", "v1.9.0", "-m", "annotated, newer but lower")
    newest = discover_commits(
        subscription(repo, commitSelectionStrategy=CommitSelectionStrategy.NEWEST_TAG.value),
        tmp_path,
    )
    highest = discover_commits(
        subscription(repo, commitSelectionStrategy="SemVer", semverConstraint=">=1.0,<2"),
        tmp_path,
    )
    assert {newest[0].tag, newest[1].tag} == {"v1.9.0", "v1.10.0"}
    assert highest[0].tag == "v1.10.0" and highest[0].subject == "first version"


def test_a_missing_repository_is_a_discovery_error(tmp_path: Path) -> None:
    with pytest.raises(DiscoveryError, match="git clone"):
        discover_commits(subscription(tmp_path / "missing"), tmp_path / "cache")
