"""Apply: validate a set of resources as a whole, then create or update them in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kargo.config import ConfigError, ConfigIssue, LoadedResource, check_references
from kargo.engine.writing import record_audit, transact
from kargo.model.base import ObjectMeta
from kargo.model.outcomes import ApplyAction
from kargo.model.project import Project
from kargo.model.registry import model_for
from kargo.model.secret import SecretDocument
from kargo.steps.secretstore import SecretError, StoredSecret, parse_secret, save_secret
from kargo.store import Store, Transaction, to_document

_COMPARED = ("apiVersion", "spec", "alias", "origin", "commits")


@dataclass(frozen=True)
class ApplyResult:
    """The outcome for one resource."""

    kind: str
    name: str
    namespace: str
    action: ApplyAction

    def to_dict(self) -> dict[str, str]:
        """The API's JSON form."""
        return {
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "action": self.action.value,
        }


_REFERENCED = ("Stage", "Warehouse", "AnalysisTemplate", "PromotionTask")
_REFERENCED_CLUSTER = ("ClusterAnalysisTemplate", "ClusterPromotionTask")


def _existing(store: Store, projects: set[str]) -> list[BaseModel]:
    """The stored resources that the applied ones may refer to."""
    found: list[BaseModel] = []
    wanted = [(k, p) for k in _REFERENCED for p in projects] + [
        (k, "") for k in _REFERENCED_CLUSTER
    ]
    for kind, project in wanted:
        model = model_for(kind)
        if model is not None:
            found.extend(model.model_validate(b) for b in store.list(kind, project))
    return found


def _same(new: dict[str, Any], old: dict[str, Any]) -> bool:
    if any(new.get(k) != old.get(k) for k in _COMPARED):
        return False
    new_meta, old_meta = new.get("metadata", {}), old.get("metadata", {})
    if new_meta.get("labels", {}) != old_meta.get("labels", {}):
        return False
    # Stored annotations may carry the engine's own (e.g. a warehouse's refresh token); an update
    # keeps them, so the file's annotations being already there means nothing would change.
    stored = old_meta.get("annotations", {})
    return all(stored.get(k) == v for k, v in new_meta.get("annotations", {}).items())


def apply_resources(
    store: Store,
    loaded: list[LoadedResource],
    actor: str = "unknown",
    source: str = "api",
    state_dir: Path | None = None,
) -> list[ApplyResult]:
    """Check references (with what is stored), then write everything or nothing.

    Secrets go to the secret store under `state_dir` (a configuration folder's); without one
    (an API request) they are refused, so no secret travels through the API.
    """
    secrets = [r for r in loaded if isinstance(r.resource, SecretDocument)]
    loaded = [r for r in loaded if not isinstance(r.resource, SecretDocument)]
    parsed = _parse_secrets(secrets, state_dir)
    projects = {getattr(r.resource, "project", "") for r in loaded} - {""}
    issues = check_references(loaded, _existing(store, projects))
    if issues:
        raise ConfigError(issues)
    declared_projects = {r.resource.name for r in loaded if isinstance(r.resource, Project)}

    def work(tx: Transaction) -> list[ApplyResult]:
        results = []
        for project in sorted(projects - declared_projects):
            if tx.get("Project", "", project) is None:
                tx.create(to_document(Project(metadata=ObjectMeta(name=project))))
        for item in loaded:
            results.append(_apply_one(tx, item, actor, source))
        return results

    results = transact(store, work)
    for project, secret in parsed:
        assert state_dir is not None
        save_secret(state_dir, project, secret)
        results.append(ApplyResult("Secret", secret.name, project, ApplyAction.CONFIGURED))
    return results


def _parse_secrets(
    secrets: list[LoadedResource], state_dir: Path | None
) -> list[tuple[str, StoredSecret]]:
    issues = []
    parsed = []
    for item in secrets:
        if state_dir is None:
            issues.append(
                ConfigIssue(
                    item.source,
                    item.line,
                    "kind",
                    "Secrets are accepted only in the "
                    "configuration folder (kargo server --config), never through the API",
                )
            )
            continue
        assert isinstance(item.resource, SecretDocument)
        try:
            namespace, secret = parse_secret(item.resource.revealed())
        except SecretError as exc:
            issues.append(ConfigIssue(item.source, item.line, "", str(exc)))
            continue
        parsed.append((namespace or item.resource.project, secret))
    if issues:
        raise ConfigError(issues)
    return parsed


def _apply_one(tx: Transaction, item: LoadedResource, actor: str, source: str) -> ApplyResult:
    body = to_document(item.resource)
    meta = body["metadata"]
    kind, project, name = body["kind"], meta.get("namespace") or "", meta["name"]
    existing = tx.get(kind, project, name)
    if existing is None:
        body.pop("status", None)
        tx.create(body)
        action = ApplyAction.CREATED
    elif _same(body, existing):
        action = ApplyAction.UNCHANGED
    else:
        updated = dict(existing)
        for key in _COMPARED:
            if key in body:
                updated[key] = body[key]
        updated["metadata"] = {
            **existing["metadata"],
            "labels": meta.get("labels", {}),
            "annotations": {
                **existing["metadata"].get("annotations", {}),
                **meta.get("annotations", {}),
            },
        }
        tx.update(updated, spec_changed=True)
        action = ApplyAction.CONFIGURED
    if action is not ApplyAction.UNCHANGED:
        record_audit(
            tx,
            project=project,
            actor=actor,
            action=f"apply.{action.value}",
            resource=f"{kind}/{name}",
            source=source,
        )
    return ApplyResult(kind, name, project, action)


__all__ = ["ApplyResult", "ConfigError", "apply_resources"]
