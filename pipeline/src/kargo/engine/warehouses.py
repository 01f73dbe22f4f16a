"""Warehouse reconciler: discover commits and images on the interval or on refresh, make freight."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from kargo.engine.chartdiscovery import discover_charts
from kargo.engine.criteria import CriteriaError, meets_creation_criteria
from kargo.engine.gitdiscovery import DiscoveryError, discover_commits
from kargo.engine.imagediscovery import discover_images
from kargo.engine.writing import record_event, transact, update_model
from kargo.model.base import ObjectMeta, utcnow
from kargo.model.common import Condition, ConditionStatus, FreightOrigin, set_condition
from kargo.model.event import EventReason
from kargo.model.freight import (
    Chart,
    Freight,
    GitCommit,
    Image,
    freight_alias,
    freight_name,
)
from kargo.model.warehouse import (
    REFRESH_ANNOTATION,
    DiscoveredArtifacts,
    FreightCreationPolicy,
    GitDiscoveryResult,
    Warehouse,
)
from kargo.steps.repocreds import registry_credentials
from kargo.store import Store, Transaction, list_models, save_model

log = logging.getLogger(__name__)


def discovery_due(warehouse: Warehouse) -> bool:
    """Whether the warehouse needs discovery: a new refresh token, or its interval has passed."""
    token = warehouse.metadata.annotations.get(REFRESH_ANNOTATION)
    if token and token != warehouse.status.last_handled_refresh:
        return True
    if warehouse.status.observed_generation != warehouse.metadata.generation:
        return True
    found = warehouse.status.discovered_artifacts
    if found is None or found.discovered_at is None:
        return True
    interval = timedelta(seconds=warehouse.spec.interval_seconds())
    return utcnow() - found.discovered_at >= interval


class WarehouseReconciler:
    """Discovers artifacts for one warehouse at a time and turns the newest into freight."""

    def __init__(self, store: Store, cache_dir: Path, state_dir: Path | None = None) -> None:
        self.store = store
        self.cache_dir = cache_dir
        self.state_dir = state_dir or cache_dir.parent  # where the secret store lives

    async def reconcile(self, warehouse: Warehouse) -> Freight | None:
        """Discover if due; returns freight it created, if any."""
        if not discovery_due(warehouse):
            return None
        token = warehouse.metadata.annotations.get(REFRESH_ANNOTATION)
        try:
            results = await asyncio.to_thread(self._discover, warehouse)
            creatable = meets_creation_criteria(warehouse, results)
        except (DiscoveryError, CriteriaError) as exc:
            self._record_failure(warehouse, str(exc), token)
            return None
        return transact(
            self.store, lambda tx: self._record(tx, warehouse, results, token, creatable)
        )

    def _discover(self, warehouse: Warehouse) -> DiscoveredArtifacts:
        found = DiscoveredArtifacts()
        for sub in warehouse.spec.subscriptions:
            if sub.git is not None:
                commits = discover_commits(sub.git, self.cache_dir / "git")
                found.git.append(GitDiscoveryResult(repoURL=sub.git.repo_url, commits=commits))
            elif sub.image is not None:
                credentials = registry_credentials(
                    self.state_dir, warehouse.project, "image", sub.image.repo_url
                )
                found.images.append(discover_images(sub.image, credentials))
            elif sub.chart is not None:
                credentials = registry_credentials(
                    self.state_dir,
                    warehouse.project,
                    "image" if sub.chart.repo_url.startswith("oci://") else "helm",
                    sub.chart.repo_url,
                )
                found.charts.append(discover_charts(sub.chart, credentials))
        return found

    def _record(
        self,
        tx: Transaction,
        warehouse: Warehouse,
        results: DiscoveredArtifacts,
        token: str | None,
        creatable: bool = True,
    ) -> Freight | None:
        created: Freight | None = None
        automatic = warehouse.spec.freight_creation_policy is FreightCreationPolicy.AUTOMATIC
        automatic = automatic and creatable  # freightCreationCriteria.expression held
        if automatic and results.complete():
            created = self._create_freight(tx, warehouse, results)

        def mutate(current: Warehouse) -> None:
            results.discovered_at = utcnow()
            current.status.discovered_artifacts = results
            current.status.observed_generation = current.metadata.generation
            if token:
                current.status.last_handled_refresh = token
            if created is not None:
                current.status.last_freight_id = created.name
            current.status.conditions = set_condition(
                current.status.conditions,
                Condition(
                    type="Ready",
                    status=ConditionStatus.TRUE,
                    reason="DiscoverySucceeded",
                    last_transition_time=utcnow(),
                ),
            )

        update_model(tx, Warehouse, warehouse.project, warehouse.name, mutate)
        return created

    def _create_freight(
        self, tx: Transaction, warehouse: Warehouse, results: DiscoveredArtifacts
    ) -> Freight | None:
        images = [
            Image(repoURL=r.repo_url, tag=r.references[0].tag, digest=r.references[0].digest)
            for r in results.images
        ]
        charts = [
            Chart(repoURL=r.repo_url, name=r.name, version=r.versions[0]) for r in results.charts
        ]
        commits = [
            GitCommit(
                repoURL=r.repo_url,
                id=r.commits[0].id,
                branch=r.commits[0].branch,
                tag=r.commits[0].tag,
                message=r.commits[0].subject,
                author=r.commits[0].author,
            )
            for r in results.git
        ]
        origin = FreightOrigin(name=warehouse.name)
        name = freight_name(origin, commits, images, charts)
        if tx.get("Freight", warehouse.project, name) is not None:
            return None
        taken = {f.alias for f in list_models(self.store, Freight, warehouse.project)}
        freight = Freight(
            metadata=ObjectMeta(name=name, namespace=warehouse.project),
            alias=freight_alias(name, taken),
            origin=origin,
            commits=commits,
            images=images,
            charts=charts,
            discovered_at=utcnow(),
        )
        freight.metadata.labels["kargo.akuity.io/alias"] = freight.alias
        saved = save_model(tx, freight)
        record_event(
            tx,
            project=warehouse.project,
            reason=EventReason.FREIGHT_CREATED,
            kind="Freight",
            name=name,
            message=f"Freight {saved.alias} created by warehouse {warehouse.name} from "
            + _artifacts_text(commits, images, charts),
            data={
                "freight": name,
                "freightAlias": saved.alias,
                "warehouse": warehouse.name,
                "commit": commits[0].id if commits else "",
                "commits": [c.model_dump(by_alias=True) for c in commits],
                "images": [i.model_dump(by_alias=True) for i in images],
                "charts": [c.model_dump(by_alias=True) for c in charts],
            },
        )
        return saved

    def _record_failure(self, warehouse: Warehouse, error: str, token: str | None) -> None:
        log.warning("discovery for warehouse %s failed: %s", warehouse.name, error)

        def work(tx: Transaction) -> None:
            def mutate(current: Warehouse) -> None:
                found = current.status.discovered_artifacts or DiscoveredArtifacts()
                found.discovered_at = utcnow()
                current.status.discovered_artifacts = found
                current.status.observed_generation = current.metadata.generation
                if token:
                    current.status.last_handled_refresh = token
                current.status.conditions = set_condition(
                    current.status.conditions,
                    Condition(
                        type="Ready",
                        status=ConditionStatus.FALSE,
                        reason="DiscoveryFailed",
                        message=error,
                        last_transition_time=utcnow(),
                    ),
                )

            update_model(tx, Warehouse, warehouse.project, warehouse.name, mutate)
            record_event(
                tx,
                project=warehouse.project,
                reason=EventReason.DISCOVERY_FAILED,
                kind="Warehouse",
                name=warehouse.name,
                message=f"discovery failed: {error}",
                data={"warehouse": warehouse.name, "error": error},
            )

        transact(self.store, work)


def _artifacts_text(commits: list[GitCommit], images: list[Image], charts: list[Chart]) -> str:
    """`commit abc1234 (subject)`, `image repo:tag`, `chart name version`, joined by `and`."""
    parts = [f"commit {c.id[:7]} ({c.message})" for c in commits]
    parts += [f"image {i.repo_url}:{i.tag}" for i in images]
    parts += [f"chart {c.name} {c.version}" for c in charts]
    return " and ".join(parts)
