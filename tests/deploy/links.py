"""Cross-checks between Kargo, Argo CD and the overlays: the pipeline's names line up.

A Stage's promotion steps edit files of its overlay and sync an Argo CD Application; the
Application must exist, authorize exactly that Stage, and deploy that overlay from the repository
the Warehouse watches into the namespace the overlay declares.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.deploy import steps
from tests.deploy.manifests import Manifest, kustomization_file, load_yaml, of_kind

PROJECT = "planning-poker"
AUTHORIZED_STAGE = "kargo.akuity.io/authorized-stage"
WORKSPACE_CLONE = "./repo/"
KARGO_SIMPLE_EXPRESSION = re.compile(r"\$\{\{\s*(ctx\.stage|vars\.([A-Za-z_]\w*))\s*\}\}")


def resolve(text: str, stage: str, variables: dict[str, str]) -> str:
    """Expand `${{ ctx.stage }}` and `${{ vars.X }}`; other expressions stay as they are."""

    def expand(match: re.Match[str]) -> str:
        if match.group(1) == "ctx.stage":
            return stage
        name = match.group(2)
        return resolve(variables[name], stage, variables) if name in variables else match.group(0)

    return KARGO_SIMPLE_EXPRESSION.sub(expand, text)


def warehouse_repo_urls(manifests: list[Manifest]) -> set[str]:
    """The Git repositories the Warehouses subscribe to."""
    return {
        str(subscription["git"].get("repoURL"))
        for warehouse in of_kind(manifests, "Warehouse")
        for subscription in warehouse.spec.get("subscriptions", []) or []
        if isinstance(subscription, dict) and isinstance(subscription.get("git"), dict)
    }


def yaml_key_exists(path: Path, key: str) -> bool:
    """Whether a dotted yaml-update key (no escapes) names a value in the file."""
    node: Any = load_yaml(path.read_text(encoding="utf-8"))
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def step_problems(
    stage: Manifest, step: dict[str, Any], variables: dict[str, str], repo_root: Path
) -> list[str]:
    """One promotion step's config is well formed and names files that exist."""
    found = steps.step_config_errors(step)
    config = step.get("config", {}) or {}
    uses = step.get("uses")
    if uses in ("kustomize-set-image", "yaml-update") and "path" in config:
        target = resolve(str(config["path"]), stage.name, variables)
        if not target.startswith(WORKSPACE_CLONE):
            return found + [f"{uses} path {target!r} is not inside the {WORKSPACE_CLONE} clone"]
        local = repo_root / target.removeprefix(WORKSPACE_CLONE)
        if uses == "kustomize-set-image":
            kustomization = kustomization_file(local)
            if kustomization is None:
                return found + [f"{uses}: {local.relative_to(repo_root)} has no kustomization"]
            images = load_yaml(kustomization.read_text(encoding="utf-8")).get("images", [])
            known = {image.get("name") for image in images or []}
            for image in config.get("images", []) or []:
                name = resolve(str(image.get("image")), stage.name, variables)
                if name not in known:
                    found.append(f"{uses}: image {name!r} is not in {kustomization.name}'s images")
        elif not local.is_file():
            found.append(f"{uses}: {local.relative_to(repo_root)} does not exist")
        else:
            for update in config.get("updates", []) or []:
                if not yaml_key_exists(local, str(update.get("key"))):
                    found.append(f"{uses}: key {update.get('key')!r} is not in {local.name}")
    return found


def stage_problems(stage: Manifest, manifests: list[Manifest], repo_root: Path) -> list[str]:
    """A Stage's steps, the Applications it syncs, and the Warehouse it requests from."""
    template = (stage.spec.get("promotionTemplate") or {}).get("spec") or {}
    variables = {v["name"]: str(v.get("value", "")) for v in template.get("vars", []) or []}
    found = []
    warehouses = {w.name for w in of_kind(manifests, "Warehouse")}
    for request in stage.spec.get("requestedFreight", []) or []:
        if request.get("origin", {}).get("name") not in warehouses:
            found.append(f"requests Freight from unknown Warehouse {request.get('origin')}")
        for upstream in (request.get("sources") or {}).get("stages", []) or []:
            if upstream not in {s.name for s in of_kind(manifests, "Stage")}:
                found.append(f"requests Freight from unknown Stage {upstream!r}")
    applications = {a.name: a for a in of_kind(manifests, "Application")}
    repo_urls = warehouse_repo_urls(manifests)
    uses = [step.get("uses") for step in template.get("steps", []) or []]
    if "argocd-update" not in uses:
        found.append("the promotion never syncs an Argo CD Application (argocd-update)")
    for step in template.get("steps", []) or []:
        found += step_problems(stage, step, variables, repo_root)
        if step.get("uses") != "argocd-update":
            continue
        for app in (step.get("config") or {}).get("apps", []) or []:
            name = resolve(str(app.get("name")), stage.name, variables)
            application = applications.get(name)
            if application is None:
                found.append(f"argocd-update: Application {name!r} does not exist")
                continue
            authorized = application.metadata.get("annotations", {}).get(AUTHORIZED_STAGE)
            if authorized != f"{PROJECT}:{stage.name}":
                found.append(
                    f"argocd-update: Application {name!r} must carry "
                    f"{AUTHORIZED_STAGE}: {PROJECT}:{stage.name} (it has {authorized!r})"
                )
            for source in app.get("sources", []) or []:
                url = resolve(str(source.get("repoURL")), stage.name, variables)
                if url not in repo_urls:
                    found.append(f"argocd-update: source {url!r} is not a Warehouse repository")
    return [f"{stage.where(repo_root)}: {p}" for p in found]


def application_problems(
    application: Manifest, manifests: list[Manifest], repo_root: Path
) -> list[str]:
    """An Application authorizes an existing Stage and deploys an existing overlay."""
    found = []
    stages = {s.name for s in of_kind(manifests, "Stage")}
    authorized = application.metadata.get("annotations", {}).get(AUTHORIZED_STAGE)
    if authorized is None:
        found.append(f"no {AUTHORIZED_STAGE} annotation; Kargo may not update it")
    elif authorized.partition(":")[0] != PROJECT or authorized.partition(":")[2] not in stages:
        found.append(f"{AUTHORIZED_STAGE} {authorized!r} names no Stage of Project {PROJECT}")
    source = application.spec.get("source") or {}
    if source.get("repoURL") not in warehouse_repo_urls(manifests):
        found.append(f"source.repoURL {source.get('repoURL')!r} is not the Warehouse's repository")
    path = repo_root / str(source.get("path", ""))
    kustomization = kustomization_file(path) if path.is_dir() else None
    if kustomization is None:
        found.append(
            f"source.path {source.get('path')!r} is not a kustomization in this repository"
        )
    else:
        namespace = (load_yaml(kustomization.read_text(encoding="utf-8")) or {}).get("namespace")
        wanted = (application.spec.get("destination") or {}).get("namespace")
        if namespace != wanted:
            found.append(
                f"destination.namespace {wanted!r} differs from the overlay's {namespace!r}"
            )
    return [f"{application.where(repo_root)}: {p}" for p in found]


def warehouse_problems(warehouse: Manifest, repo_root: Path) -> list[str]:
    """Each subscription is a well-formed Git subscription."""
    found = []
    for subscription in warehouse.spec.get("subscriptions", []) or []:
        found += steps.git_subscription_errors(subscription)
    return [f"{warehouse.where(repo_root)}: {p}" for p in found]


def project_config_problems(
    config: Manifest, manifests: list[Manifest], repo_root: Path
) -> list[str]:
    """The promotion policies name existing Stages, and the ProjectConfig its Project."""
    stages = {s.name for s in of_kind(manifests, "Stage")}
    found = []
    if config.name not in {p.name for p in of_kind(manifests, "Project")}:
        found.append("a ProjectConfig is named after its Project")
    for policy in config.spec.get("promotionPolicies", []) or []:
        if "stage" in policy and policy["stage"] not in stages:
            found.append(f"promotion policy for unknown Stage {policy['stage']!r}")
    return [f"{config.where(repo_root)}: {p}" for p in found]


def pipeline_problems(manifests: list[Manifest], repo_root: Path) -> list[str]:
    """Every cross-check of this module."""
    found = []
    for stage in of_kind(manifests, "Stage"):
        found += stage_problems(stage, manifests, repo_root)
    for application in of_kind(manifests, "Application"):
        found += application_problems(application, manifests, repo_root)
    for warehouse in of_kind(manifests, "Warehouse"):
        found += warehouse_problems(warehouse, repo_root)
    for config in of_kind(manifests, "ProjectConfig"):
        found += project_config_problems(config, manifests, repo_root)
    return found
