"""A Warehouse's expressions: git `expressionFilter` and `freightCreationCriteria.expression`.

Both are expr, as in Kargo. `expressionFilter` keeps the commits (NewestFromBranch: `id`,
`commitDate`, `author`, `committer`, `subject`) or tags (the tag strategies: also `tag`,
`creatorDate`, `tagger`) for which it is true. `freightCreationCriteria.expression` is evaluated
once per discovery over the newest artifacts with `commitFrom`, `imageFrom` and `chartFrom`;
freight is created automatically only when it is true. An expression that cannot be evaluated
keeps the commit out (filter) or creates no freight (criteria), and the error says why.
"""

from __future__ import annotations

from typing import Any

from kargo.expr import ExprError, compile_expression
from kargo.expr.library import FreightArtifacts, KargoData, kargo_functions
from kargo.model.warehouse import (
    CommitSelectionStrategy,
    DiscoveredArtifacts,
    DiscoveredCommit,
    GitSubscription,
    Warehouse,
)


class CriteriaError(ValueError):
    """A warehouse expression could not be evaluated (one line: expression, field, cause)."""


def _commit_env(sub: GitSubscription, commit: DiscoveredCommit) -> dict[str, Any]:
    env: dict[str, Any] = {
        "id": commit.id,
        "commitDate": commit.creator_date,
        "author": commit.author,
        "committer": commit.author,
        "subject": commit.subject,
    }
    if sub.commit_selection_strategy is not CommitSelectionStrategy.NEWEST_FROM_BRANCH:
        env.update({"tag": commit.tag, "creatorDate": commit.creator_date, "tagger": ""})
    return env


def filter_commits(sub: GitSubscription, commits: list[DiscoveredCommit]) -> list[DiscoveredCommit]:
    """The commits (or tags) the subscription's `expressionFilter` keeps, in order."""
    if not sub.expression_filter:
        return commits
    program = compile_expression(sub.expression_filter)
    kept = []
    for commit in commits:
        try:
            value = program.run(_commit_env(sub, commit))
        except ExprError as exc:
            raise CriteriaError(
                f"git expressionFilter `{sub.expression_filter}` on {commit.id[:7]}: "
                f"{exc.describe()}"
            ) from None
        if value is True:
            kept.append(commit)
    return kept


def _artifacts(warehouse: Warehouse, found: DiscoveredArtifacts) -> FreightArtifacts:
    """The newest of each discovered artifact, as freight would carry them."""
    commits = [
        {
            "repoURL": r.repo_url,
            "id": r.commits[0].id,
            "branch": r.commits[0].branch,
            "tag": r.commits[0].tag,
            "message": r.commits[0].subject,
            "author": r.commits[0].author,
        }
        for r in found.git
        if r.commits
    ]
    images = [
        {"repoURL": r.repo_url, "tag": r.references[0].tag, "digest": r.references[0].digest}
        for r in found.images
        if r.references
    ]
    charts = [
        {"repoURL": r.repo_url, "name": r.name, "version": r.versions[0]}
        for r in found.charts
        if r.versions
    ]
    return FreightArtifacts(origin=warehouse.name, commits=commits, images=images, charts=charts)


def meets_creation_criteria(warehouse: Warehouse, found: DiscoveredArtifacts) -> bool:
    """Whether `freightCreationCriteria.expression` holds for the newest discovered artifacts."""
    criteria = warehouse.spec.freight_creation_criteria
    if criteria is None or not criteria.expression.strip():
        return True
    data = KargoData(freight=[_artifacts(warehouse, found)])
    try:
        value = compile_expression(criteria.expression).run(
            {}, kargo_functions(data, with_status=False)
        )
    except ExprError as exc:
        raise CriteriaError(
            f"freightCreationCriteria.expression `{criteria.expression.strip()}`: {exc.describe()}"
        ) from None
    return value is True
