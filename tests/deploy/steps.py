"""The fields that Kargo v1.11's CRDs leave open, restated as JSON Schema.

The Stage CRD leaves each promotion step's `config` open and the Warehouse CRD its
`subscriptions` (`x-kubernetes-preserve-unknown-fields`); Kargo checks them only when a promotion
or a discovery runs. These schemas restate Kargo v1.11's reference for the steps and the Git
subscription this repository uses, so that a misspelt or missing field fails here rather than in
the middle of a promotion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft7Validator

STRING = {"type": "string", "minLength": 1}
BOOLEAN = {"type": "boolean"}


def closed(required: list[str], **properties: Any) -> dict[str, Any]:
    """An object schema with exactly these properties, of which `required` must be present."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def items(schema: dict[str, Any]) -> dict[str, Any]:
    """A non-empty array of that schema."""
    return {"type": "array", "minItems": 1, "items": schema}


SELECTOR = {"type": "object", "properties": {"matchLabels": {}, "matchExpressions": {}}}

STEP_CONFIG_SCHEMAS: dict[str, dict[str, Any]] = {
    "git-clone": closed(
        ["repoURL", "checkout"],
        repoURL=STRING,
        insecureSkipTLSVerify=BOOLEAN,
        recurseSubmodules=BOOLEAN,
        author=closed(["name", "email"], name=STRING, email=STRING, signingKey=STRING),
        checkout=items(
            {
                **closed(
                    ["path"],
                    path=STRING,
                    branch=STRING,
                    commit=STRING,
                    tag=STRING,
                    create=BOOLEAN,
                    sparse=items(STRING),
                    **{"as": STRING},
                ),
                "not": {
                    "anyOf": [
                        {"required": ["branch", "commit"]},
                        {"required": ["branch", "tag"]},
                        {"required": ["commit", "tag"]},
                    ]
                },
            }
        ),
    ),
    "kustomize-set-image": closed(
        ["path", "images"],
        path=STRING,
        images=items(
            {
                **closed(
                    ["image"], image=STRING, name=STRING, newName=STRING, tag=STRING, digest=STRING
                ),
                "oneOf": [{"required": ["tag"]}, {"required": ["digest"]}],
            }
        ),
    ),
    "yaml-update": closed(
        ["path", "updates"],
        path=STRING,
        updates=items(closed(["key", "value"], key=STRING, value={})),
    ),
    "git-commit": closed(["path", "message"], path=STRING, message=STRING),
    "git-push": closed(
        ["path"],
        path=STRING,
        targetBranch=STRING,
        generateTargetBranch=BOOLEAN,
        maxAttempts={"type": "integer", "minimum": 1},
        provider={"enum": ["azure", "bitbucket", "gitea", "github", "gitlab"]},
    ),
    "argocd-update": closed(
        ["apps"],
        apps=items(
            {
                **closed(
                    [],
                    name=STRING,
                    namespace=STRING,
                    selector=SELECTOR,
                    sources=items(
                        closed(
                            ["repoURL"],
                            repoURL=STRING,
                            chart=STRING,
                            desiredRevision=STRING,
                            updateTargetRevision=BOOLEAN,
                            kustomize={"type": "object"},
                            helm={"type": "object"},
                        )
                    ),
                ),
                "oneOf": [{"required": ["name"]}, {"required": ["selector"]}],
            }
        ),
    ),
}


GIT_SUBSCRIPTION_SCHEMA = closed(
    ["git"],
    git=closed(
        ["repoURL"],
        repoURL=STRING,
        branch=STRING,
        commitSelectionStrategy={"enum": ["Lexical", "NewestFromBranch", "NewestTag", "SemVer"]},
        semverConstraint=STRING,
        allowTags=STRING,
        ignoreTags=items(STRING),
        includePaths=items(STRING),
        excludePaths=items(STRING),
        discoveryLimit={"type": "integer", "minimum": 1, "maximum": 100},
        insecureSkipTLSVerify=BOOLEAN,
        strictSemvers=BOOLEAN,
    ),
)


def git_subscription_errors(subscription: Mapping[str, Any]) -> list[str]:
    """Every problem of one Warehouse subscription, which must be a Git subscription here."""
    validator = Draft7Validator(GIT_SUBSCRIPTION_SCHEMA)
    return [
        f"subscription.{'.'.join(map(str, error.path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(subscription)
    ]


def step_config_errors(step: Mapping[str, Any]) -> list[str]:
    """Every problem of one promotion step's `uses` and `config`."""
    uses = step.get("uses")
    if uses is None:
        return []  # a `task:` step; the CRD schema checks its shape
    schema = STEP_CONFIG_SCHEMAS.get(str(uses))
    if schema is None:
        return [f"step kind {uses!r} has no schema here; add it to STEP_CONFIG_SCHEMAS"]
    validator = Draft7Validator(schema)
    return [
        f"{uses}.config.{'.'.join(map(str, error.path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(step.get("config", {}))
    ]


def unbalanced_braces(text: str) -> bool:
    """Whether a `${{ … }}` (Kargo) or `{{ … }}` (Argo Rollouts) expression is left open."""
    return text.count("{{") != text.count("}}")
