"""Kargo YAML documents for tests: Project and its ProjectConfig, Warehouse, Stage, analysis.

Each builder returns one document's text; `documents()` joins them with `---`. Blocks given as
YAML (steps, policies, verification, vars) are written unindented and placed where they belong,
so a test keeps inline exactly the YAML it is about and nothing else.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

KARGO = "apiVersion: kargo.akuity.io/v1alpha1"
ARGO = "apiVersion: argoproj.io/v1alpha1"


def documents(*texts: str) -> str:
    """One multi-document YAML text of `texts`, in order."""
    return "---\n".join(text if text.endswith("\n") else f"{text}\n" for text in texts)


def block(yaml: str, spaces: int) -> str:
    """`yaml` dedented, then indented by `spaces`, ending in one newline."""
    return textwrap.indent(textwrap.dedent(yaml).strip("\n"), " " * spaces) + "\n"


def metadata(name: str, namespace: str | None, annotations: str | None = None) -> str:
    """A flow-style `metadata:` line; `annotations` is a flow mapping."""
    where = f", namespace: {namespace}" if namespace else ""
    noted = f", annotations: {annotations}" if annotations else ""
    return f"metadata: {{name: {name}{where}{noted}}}\n"


def project(name: str = "shop", policies: str | None = None) -> str:
    """A Project; with `policies` (the YAML list of `promotionPolicies`), its ProjectConfig too."""
    text = f"{KARGO}\nkind: Project\n{metadata(name, None)}"
    if policies is None:
        return text
    return (
        f"{text}---\n{KARGO}\nkind: ProjectConfig\n{metadata(name, None)}"
        f"spec:\n  promotionPolicies:\n{block(policies, 2)}"
    )


def warehouse(
    name: str, subscriptions: str, *, namespace: str | None = None, interval: str | None = "1h"
) -> str:
    """A Warehouse of `subscriptions` (their YAML list)."""
    every = f"  interval: {interval}\n" if interval else ""
    return (
        f"{KARGO}\nkind: Warehouse\n{metadata(name, namespace)}spec:\n{every}"
        f"  subscriptions:\n{block(subscriptions, 2)}"
    )


def git_warehouse(
    repo: Path | str,
    name: str = "app",
    *,
    namespace: str | None = None,
    interval: str | None = "1h",
    branch: str | None = "main",
) -> str:
    """A Warehouse subscribed to one git repository."""
    on = f", branch: {branch}" if branch else ""
    git = f"- git: {{repoURL: {repo}{on}}}"
    return warehouse(name, git, namespace=namespace, interval=interval)


def stage(
    name: str,
    steps: str = "- uses: noop",
    *,
    sources: str = "{direct: true}",
    warehouse: str = "app",
    namespace: str | None = None,
    annotations: str | None = None,
    stage_vars: str | None = None,
    template_vars: str | None = None,
    verification: str | None = None,
) -> str:
    """A Stage taking `warehouse`'s freight from `sources` (a flow mapping) and running `steps`."""
    return (
        f"{KARGO}\nkind: Stage\n{metadata(name, namespace, annotations)}spec:\n"
        + (f"  vars:\n{block(stage_vars, 2)}" if stage_vars else "")
        + "  requestedFreight:\n"
        + f"  - origin: {{kind: Warehouse, name: {warehouse}}}\n    sources: {sources}\n"
        + "  promotionTemplate:\n    spec:\n"
        + (f"      vars:\n{block(template_vars, 6)}" if template_vars else "")
        + f"      steps:\n{block(steps, 6)}"
        + (f"  verification:\n{block(verification, 4)}" if verification else "")
    )


def analysis_template(
    name: str,
    url: str,
    *,
    kind: str = "AnalysisTemplate",
    args: str | None = None,
    measurement: str = "",
) -> str:
    """A template whose one metric `ok` passes when `url` answers JSON `{"ok": true}`."""
    return (
        f"{ARGO}\nkind: {kind}\n{metadata(name, None)}spec:\n"
        + (f"  args:\n{block(args, 2)}" if args else "")
        + "  metrics:\n  - name: ok\n    provider:\n"
        + f'      web: {{url: "{url}", jsonPath: "{{$.ok}}"}}\n'
        + "    successCondition: result == true\n"
        + (block(measurement, 4) if measurement else "")
    )
