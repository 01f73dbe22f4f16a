"""Load every YAML document under deploy/kubernetes, and render the kustomizations."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.services import REPO_ROOT

DEPLOY_DIR = Path("deploy/kubernetes")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"


# libyaml's loader when present: the pure-Python one takes most of these tests' time.
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """One YAML document, safely."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a safe loader


def load_yaml_all(text: str) -> list[Any]:
    """Every YAML document of a text, safely."""
    return list(yaml.load_all(text, Loader=Loader))  # noqa: S506 - a safe loader


class ManifestError(ValueError):
    """A YAML file under deploy/kubernetes cannot be read; the message names it."""


@dataclass(frozen=True)
class Manifest:
    """One YAML document, with the file it came from."""

    path: Path
    index: int
    document: dict[str, Any]
    is_patch: bool = False

    @property
    def kind(self) -> str:
        return str(self.document.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.document.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self.document.get("metadata")
        return metadata if isinstance(metadata, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.document.get("spec")
        return spec if isinstance(spec, dict) else {}

    def where(self, root: Path) -> str:
        """`relative/path.yaml#N (Kind name)`, for messages."""
        return f"{self.path.relative_to(root)}#{self.index} ({self.kind} {self.name})".strip()


def yaml_files(deploy_dir: Path) -> list[Path]:
    """Every YAML file below the folder, sorted."""
    return sorted(p for p in deploy_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def read_documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty documents of one YAML file; each must be a mapping."""
    try:
        documents = load_yaml_all(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from exc
    result = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ManifestError(f"{path}#{index}: a manifest must be a mapping")
        result.append(document)
    return result


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file of a folder, if it has one."""
    for name in KUSTOMIZATION_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def patch_files(deploy_dir: Path) -> set[Path]:
    """Files that kustomizations use as patches (partial objects, not resources)."""
    patches = set()
    for path in yaml_files(deploy_dir):
        if path.name not in KUSTOMIZATION_NAMES:
            continue
        for document in read_documents(path):
            for patch in document.get("patches", []) or []:
                if isinstance(patch, Mapping) and "path" in patch:
                    patches.add((path.parent / str(patch["path"])).resolve())
    return patches


def load_manifests(deploy_dir: Path) -> list[Manifest]:
    """Every document under the folder, patches marked as such."""
    patches = patch_files(deploy_dir)
    manifests = []
    for path in yaml_files(deploy_dir):
        is_patch = path.resolve() in patches
        for index, document in enumerate(read_documents(path)):
            manifests.append(Manifest(path, index, document, is_patch))
    return manifests


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    """The resources (not patches) of one kind."""
    return [m for m in manifests if m.kind == kind and not m.is_patch]


def walk(node: Any) -> Iterator[Any]:
    """Every node of a YAML tree, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def strings(node: Any) -> Iterator[str]:
    """Every string value of a YAML tree."""
    return (item for item in walk(node) if isinstance(item, str))


def inline_patch_values(manifest: Manifest) -> Iterator[Any]:
    """The `value`s of a kustomization's inline JSON 6902 patches, parsed."""
    for patch in manifest.document.get("patches", []) or []:
        if isinstance(patch, Mapping) and isinstance(patch.get("patch"), str):
            operations = load_yaml(patch["patch"]) or []
            if isinstance(operations, list):
                for operation in operations:
                    if isinstance(operation, Mapping) and "value" in operation:
                        yield operation["value"]


def kubectl() -> str | None:
    """The kubectl binary (its built-in kustomize renders offline), if installed."""
    return shutil.which("kubectl")


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    """The documents `kubectl kustomize` renders for a folder; raises ManifestError on failure."""
    binary = kubectl()
    if binary is None:
        raise ManifestError("kubectl is not installed")
    result = subprocess.run(
        [binary, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise ManifestError(f"kubectl kustomize {directory} failed: {result.stderr.strip()}")
    return [d for d in load_yaml_all(result.stdout) if isinstance(d, dict)]


def repo_deploy_dir() -> Path:
    """deploy/kubernetes of this repository."""
    return REPO_ROOT / DEPLOY_DIR
