"""make demo's two freights: production runs an earlier one first, so a rollback has a target.

The warehouse makes freight from its newest app commit only, so after one delivery production
has nothing to roll back to and the guide's `kargo rollback planning-poker --to development`
fails. The demo therefore delivers two commits: production first runs and verifies an earlier
one (approved for it), then the later one goes through development as usual. The pair is the
warehouse's newest app commit and the app commit before it; when no earlier commit's `kargo/`
configuration loads with today's engine (the security scan's pipeline-config check would fail
it), the pair is the newest app commit and the branch's head, when that is a later commit.
Freight the warehouse did not make is applied, discovered in the pair's order, so that
auto-promotion prefers the later one.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from kargo.api.contract import FreightView, StageView
from kargo.client import KargoClient
from kargo.engine.verification import last_stable_freight
from kargo.model.base import utcnow
from kargo.model.common import FreightOrigin
from kargo.model.freight import GitCommit, freight_alias, freight_name
from kargo.model.warehouse import Warehouse
from poker_checks.settings_audit import pipeline_config_issues

CONFIG_FOLDER = "kargo"  # the pipeline configuration inside the repository


def discovered_commits(engine: KargoClient, project: str, warehouse: str) -> list[GitCommit]:
    """The warehouse's last discovered commits of its first git subscription, newest first."""
    found = engine.resource(project, Warehouse, warehouse).status.discovered_artifacts
    if found is None or not found.git:
        return []
    result = found.git[0]
    return [
        GitCommit(
            repoURL=result.repo_url,
            id=c.id,
            branch=c.branch,
            tag=c.tag,
            message=c.subject,
            author=c.author,
        )
        for c in result.commits
    ]


def needs_earlier(production: StageView) -> bool:
    """Whether production has no earlier stable freight for a rollback to return to."""
    return last_stable_freight(production) is None


def freight_pair(
    engine: KargoClient, project: str, warehouse: str, newest: FreightView, repo: Path
) -> tuple[FreightView, FreightView] | None:
    """(earlier, later) freight to deliver in that order (applied when missing), or None."""
    commits = discovered_commits(engine, project, warehouse)
    if not commits or commits[0].id not in {c.id for c in newest.commits}:
        return None  # the warehouse moved on since `newest`
    seen = newest.discovered_at or newest.metadata.creation_timestamp or utcnow()
    earlier = next((c for c in commits[1:] if config_loads(c.id, repo)), None)
    if earlier is not None:
        before = seen.replace(microsecond=0) - timedelta(minutes=1)
        return apply_freight(engine, project, warehouse, earlier, before), newest
    head = branch_head(engine, project, warehouse, repo, commits[0])
    if head is None or not config_loads(head.id, repo):
        return None
    return newest, apply_freight(engine, project, warehouse, head, utcnow())


def branch_head(
    engine: KargoClient, project: str, warehouse: str, repo: Path, newest: GitCommit
) -> GitCommit | None:
    """The subscribed branch's head when it is a later commit than the newest app commit."""
    subscription = engine.resource(project, Warehouse, warehouse).spec.subscriptions[0].git
    if subscription is None or not subscription.branch:
        return None
    git = ["git", "-C", str(repo), "log", "-1", "--format=%H%n%an <%ae>%n%s"]
    shown = subprocess.run(
        [*git, f"refs/heads/{subscription.branch}"], capture_output=True, text=True, check=False
    )
    lines = shown.stdout.splitlines()
    if shown.returncode != 0 or len(lines) < 3 or lines[0] == newest.id:
        return None
    return GitCommit(
        repoURL=newest.repo_url,
        id=lines[0],
        branch=subscription.branch,
        message=lines[2],
        author=lines[1],
    )


def apply_freight(
    engine: KargoClient, project: str, warehouse: str, commit: GitCommit, discovered: datetime
) -> FreightView:
    """The freight carrying commit, applied (discovered at `discovered`) when it is missing."""
    origin = FreightOrigin(name=warehouse)
    name = freight_name(origin, [commit])
    existing = {f.name: f for f in engine.resources(project, FreightView)}
    if name not in existing:
        document = {
            "apiVersion": "kargo.akuity.io/v1alpha1",
            "kind": "Freight",
            "metadata": {"name": name, "namespace": project},
            "alias": freight_alias(name, {f.alias for f in existing.values()}),
            "origin": origin.model_dump(mode="json", by_alias=True),
            "commits": [commit.model_dump(mode="json", by_alias=True, exclude_none=True)],
            "discoveredAt": discovered.isoformat().replace("+00:00", "Z"),
        }
        engine.apply(yaml.safe_dump(document, sort_keys=False))
    return next(f for f in engine.resources(project, FreightView) if f.name == name)


def config_loads(commit: str, repo: Path) -> bool:
    """Whether the commit's pipeline configuration loads with today's engine (no issues)."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit, CONFIG_FOLDER],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return False
    with tempfile.TemporaryDirectory(prefix="kargo-demo-config-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(folder, filter="data")
        return not pipeline_config_issues(Path(folder) / CONFIG_FOLDER)
