"""Import the built-in step kinds so that they register themselves."""

from __future__ import annotations

from kargo.steps import (
    archives,
    argocd,
    documents,
    fail,
    file_ops,
    flow,
    git_local,
    git_push,
    http,
    kustomize_set_image,
    metadata,
    renderers,
    shell,
    yaml_update,
)
from kargo.steps.base import step_kinds

BUILTIN_KINDS = (
    argocd.ArgoCDUpdateStep.kind,
    argocd.ArgoCDWaitStep.kind,
    archives.TarStep.kind,
    archives.UntarStep.kind,
    flow.ComposeOutputStep.kind,
    flow.HelmUpdateChartStep.kind,
    flow.YamlMergeStep.kind,
    renderers.HelmTemplateStep.kind,
    renderers.KustomizeBuildStep.kind,
    file_ops.CopyStep.kind,
    file_ops.DeleteStep.kind,
    file_ops.FileWriteStep.kind,
    documents.JsonParseStep.kind,
    documents.JsonUpdateStep.kind,
    documents.TomlParseStep.kind,
    documents.TomlUpdateStep.kind,
    documents.YamlParseStep.kind,
    fail.FailStep.kind,
    fail.NoopStep.kind,
    git_local.GitClearStep.kind,
    git_local.GitCommitStep.kind,
    git_local.GitTagStep.kind,
    git_push.GitPushStep.kind,
    metadata.SetFreightAliasStep.kind,
    metadata.SetMetadataStep.kind,
    http.HttpDownloadStep.kind,
    http.HttpStep.kind,
    kustomize_set_image.KustomizeSetImageStep.kind,
    shell.ShellStep.kind,
    yaml_update.YamlUpdateStep.kind,
)


def builtin_step_kinds() -> list[str]:
    """Names of the built-in step kinds (all registered once this module is imported)."""
    return sorted(k for k in step_kinds() if k in BUILTIN_KINDS)
