"""Cross-checks of the cluster manifests: every name that one manifest gives another exists.

`problems(repo_root)` returns one line per problem (empty when all is well), each naming the file
and the document. The checks: the basics of every object, kustomization references, the CRD
schemas of Kargo and Argo Rollouts kinds, the promotion steps, the analysis templates and their
arguments, the Argo CD Applications the Stages update, and secrets kept out of the manifests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.deploy import crds, links, steps
from tests.deploy.manifests import (
    DEPLOY_DIR,
    KUSTOMIZATION_NAMES,
    KUSTOMIZE_API,
    Manifest,
    inline_patch_values,
    kustomization_file,
    load_manifests,
    load_yaml,
    of_kind,
    strings,
    walk,
    yaml_files,
)

PROJECT = links.PROJECT
VALIDATED_GROUPS = ("kargo.akuity.io/", "argoproj.io/")
ROLLOUTS_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}")
BARE_RESULT_COMPARISON = re.compile(r"(?<![\w.\]])result\s*(<|>|<=|>=|==|!=)")
SENSITIVE_ENV = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|REDIS_URL|API_KEY")


def problems(repo_root: Path) -> list[str]:
    """Every problem found in <repo_root>/deploy/kubernetes."""
    deploy_dir = repo_root / DEPLOY_DIR
    manifests = load_manifests(deploy_dir)
    found: list[str] = []
    for check in (
        basics_problems,
        schema_problems,
        secret_problems,
        analysis_problems,
        rollout_problems,
    ):
        found += [f"{m.where(repo_root)}: {p}" for m in manifests for p in check(m, manifests)]
    found += kustomization_problems(deploy_dir, repo_root)
    found += links.pipeline_problems(manifests, repo_root)
    return found


def basics_problems(manifest: Manifest, _: list[Manifest]) -> list[str]:
    """apiVersion, kind and metadata.name are present (a Kustomization needs no name)."""
    missing = [f for f in ("apiVersion", "kind") if not manifest.document.get(f)]
    if manifest.api_version != KUSTOMIZE_API and not manifest.name:
        missing.append("metadata.name")
    return [f"missing {field}" for field in missing]


def schema_problems(manifest: Manifest, _: list[Manifest]) -> list[str]:
    """Kargo and Argo Rollouts kinds with a vendored CRD match its schema."""
    if manifest.is_patch or not manifest.api_version.startswith(VALIDATED_GROUPS):
        return []
    if crds.validator_for(manifest.api_version, manifest.kind) is None:
        if manifest.api_version.startswith("kargo.akuity.io/"):
            return [f"unknown Kargo kind {manifest.api_version} {manifest.kind}"]
        return []  # Rollout, Application, AppProject: no CRD schema provided; basics only
    found = crds.schema_errors(manifest.document)
    scoped = crds.is_cluster_scoped(manifest.api_version, manifest.kind)
    if scoped and "namespace" in manifest.metadata:
        found.append("a cluster-scoped kind must not set metadata.namespace")
    if manifest.api_version.startswith("kargo.akuity.io/") and not scoped:
        if manifest.metadata.get("namespace") != PROJECT:
            found.append(f"Kargo resources live in the Project namespace {PROJECT!r}")
    return found


def secret_problems(manifest: Manifest, _: list[Manifest]) -> list[str]:
    """No secret value is written down: no Secret data, sensitive env only from Secrets."""
    found = []
    if manifest.kind == "Secret" and (
        "data" in manifest.document or "stringData" in manifest.document
    ):
        found.append("a Secret with literal data; create it outside Git (docs/cluster.md)")
    for node in walk(manifest.document):
        if not (isinstance(node, dict) and isinstance(node.get("env"), list)):
            continue
        for variable in node["env"]:
            name = str(variable.get("name", "")) if isinstance(variable, dict) else ""
            if SENSITIVE_ENV.search(name) and "value" in variable:
                found.append(f"env {name} has a literal value; take it from a Secret")
    return found


def analysis_blocks(manifest: Manifest) -> list[dict[str, Any]]:
    """Every `{templates: [{templateName}], args}` block of a Rollout or a kustomize patch."""
    roots: list[Any] = [manifest.document]
    if manifest.kind == "Kustomization":
        roots = list(inline_patch_values(manifest))
    return [
        node
        for root in roots
        for node in walk(root)
        if isinstance(node, dict)
        and isinstance(node.get("templates"), list)
        and all(isinstance(t, dict) and "templateName" in t for t in node["templates"])
    ]


def template_args(templates: list[Manifest]) -> tuple[set[str], set[str]]:
    """(declared, required) argument names of a set of AnalysisTemplates."""
    declared: set[str] = set()
    required: set[str] = set()
    for template in templates:
        for arg in template.spec.get("args", []) or []:
            declared.add(arg["name"])
            if "value" not in arg and "valueFrom" not in arg:
                required.add(arg["name"])
    return declared, required


def argument_problems(names: list[str], args: list[Any], manifests: list[Manifest]) -> list[str]:
    """The templates exist; every argument given is declared; every required one is given."""
    templates = {t.name: t for t in of_kind(manifests, "AnalysisTemplate")}
    missing = [n for n in names if n not in templates]
    if missing:
        return [f"AnalysisTemplate {n!r} does not exist under deploy/kubernetes" for n in missing]
    declared, required = template_args([templates[n] for n in names])
    given = {str(a.get("name")) for a in args if isinstance(a, dict)}
    found = [f"argument {a!r} is declared by none of {names}" for a in sorted(given - declared)]
    found += [f"required argument {a!r} of {names} is not given" for a in sorted(required - given)]
    return found


def analysis_problems(manifest: Manifest, manifests: list[Manifest]) -> list[str]:
    """References to AnalysisTemplates resolve, and templates use only their declared args."""
    found = []
    for block in analysis_blocks(manifest):
        names = [t["templateName"] for t in block["templates"]]
        found += argument_problems(names, block.get("args", []) or [], manifests)
    if manifest.kind == "Stage" and not manifest.is_patch:
        verification = manifest.spec.get("verification", {}) or {}
        names = [t["name"] for t in verification.get("analysisTemplates", []) or []]
        found += argument_problems(names, verification.get("args", []) or [], manifests)
    if manifest.kind == "AnalysisTemplate" and not manifest.is_patch:
        declared, _ = template_args([manifest])
        used = {m.group(1) for text in strings(manifest.spec) for m in ROLLOUTS_ARG.finditer(text)}
        found += [f"uses undeclared argument {a!r}" for a in sorted(used - declared)]
        for metric in manifest.spec.get("metrics", []) or []:
            if "prometheus" not in (metric.get("provider") or {}):
                continue
            for field in ("successCondition", "failureCondition"):
                if BARE_RESULT_COMPARISON.search(str(metric.get(field, ""))):
                    found.append(
                        f"metric {metric.get('name')}: {field} compares `result`, which is a "
                        "vector for a Prometheus query in Argo Rollouts; index it: result[0]"
                    )
    found += [
        f"unbalanced {{{{ }}}} in {s!r}"
        for s in strings(manifest.document)
        if steps.unbalanced_braces(s)
    ]
    return found


def rollout_problems(manifest: Manifest, manifests: list[Manifest]) -> list[str]:
    """The Services a Rollout's strategy names exist."""
    if manifest.kind not in ("Rollout", "Kustomization"):
        return []
    services = {s.name for s in of_kind(manifests, "Service")}
    roots = (
        [manifest.document] if manifest.kind == "Rollout" else list(inline_patch_values(manifest))
    )
    found = []
    for root in roots:
        for node in walk(root):
            if not isinstance(node, dict):
                continue
            for field in ("stableService", "canaryService", "activeService", "previewService"):
                if field in node and node[field] not in services:
                    found.append(
                        f"{field} {node[field]!r} is not a Service under deploy/kubernetes"
                    )
    return found


def kustomization_problems(deploy_dir: Path, repo_root: Path) -> list[str]:
    """Every resource and patch a kustomization names exists; no YAML file is left unused."""
    found = []
    used: set[Path] = set()
    for path in yaml_files(deploy_dir):
        if path.name not in KUSTOMIZATION_NAMES:
            continue
        where = path.relative_to(repo_root)
        document = load_yaml(path.read_text(encoding="utf-8")) or {}
        entries = [("resource", r) for r in document.get("resources", []) or []]
        entries += [("patch", p["path"]) for p in document.get("patches", []) or [] if "path" in p]
        for what, entry in entries:
            target = (path.parent / str(entry)).resolve()
            if target.is_dir() and kustomization_file(target) is None:
                found.append(f"{where}: {what} {entry!r} is a folder without a kustomization")
            elif not target.exists():
                found.append(f"{where}: {what} {entry!r} does not exist")
            used.add(target)
    for path in yaml_files(deploy_dir):
        if path.name not in KUSTOMIZATION_NAMES and path.resolve() not in used:
            found.append(f"{path.relative_to(repo_root)}: no kustomization uses this file")
    return found
