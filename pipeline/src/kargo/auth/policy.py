"""The RBAC policy of kargo/rbac.yaml: roles grant verbs on resources, bindings give roles.

A small evaluator instead of pycasbin (not installed, and no new dependencies): our model is a
fixed RBAC-with-scopes shape that fits in one page, and being plain data it is easy to test.
Deny by default: a request is allowed only when some binding of the principal grants it.

Scopes: a permission in project "" is not about a project (version, whoami); a permission in
project `*` is about every project at once (tokens, the whole audit trail) and only a binding
unlimited in projects grants it. Stage `*` likewise needs a binding unlimited in stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

WILDCARD = "*"
EVERY = WILDCARD
"""As a permission's project or stage: all of them, granted only by an unlimited binding."""
STAGE_SCOPED = "stages"


class PolicyError(ValueError):
    """The policy file is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a subject and its groups (a token today; an OIDC identity later)."""

    subject: str
    groups: tuple[str, ...] = ()
    kind: str = "token"


@dataclass(frozen=True)
class Permission:
    """One verb on one resource type, in a project, optionally on one named object."""

    verb: str
    resource: str
    project: str = ""
    name: str | None = None
    stage: str | None = None
    """The stage the permission touches, when not the resource itself (a Stage document)."""

    def describe(self) -> str:
        """`promote on stages/production in project planning-poker`."""
        target = f"{self.resource}/{self.name}" if self.name else self.resource
        where = {"": "", EVERY: " in every project"}.get(
            self.project, f" in project {self.project}"
        )
        if self.stage is not None:
            where += " for every stage" if self.stage == EVERY else f" for stage {self.stage}"
        return f"{self.verb} on {target}{where}"


@dataclass(frozen=True)
class Rule:
    """Verbs allowed on resource types."""

    verbs: frozenset[str]
    resources: frozenset[str]

    def grants(self, permission: Permission) -> bool:
        """Whether the rule covers the verb and the resource type (`*` only by `*`)."""
        return _matches(self.verbs, permission.verb) and _matches(
            self.resources, permission.resource
        )


@dataclass(frozen=True)
class Binding:
    """A role given to subjects and groups, optionally limited to projects and stages."""

    role: str
    subjects: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset({WILDCARD})
    stages: frozenset[str] = frozenset({WILDCARD})

    def applies_to(self, principal: Principal) -> bool:
        """Whether the principal is named, or is in a named group."""
        return principal.subject in self.subjects or bool(self.groups & set(principal.groups))

    def scopes(self, permission: Permission) -> bool:
        """Whether the permission's project and stage fall inside the binding."""
        if permission.project and not _matches(self.projects, permission.project):
            return False
        stage = permission.stage
        if stage is None and permission.resource == STAGE_SCOPED:
            stage = permission.name
        return stage is None or _matches(self.stages, stage)


def _matches(allowed: frozenset[str], value: str) -> bool:
    return WILDCARD in allowed or value in allowed


@dataclass
class Policy:
    """Roles (name → rules) and bindings."""

    roles: dict[str, list[Rule]]
    bindings: list[Binding] = field(default_factory=list)
    source: str = "<built-in>"

    def allows(self, principal: Principal, permission: Permission) -> bool:
        """Deny unless a binding of the principal grants the permission in its scope."""
        for binding in self.bindings:
            if not binding.applies_to(principal) or not binding.scopes(permission):
                continue
            if any(rule.grants(permission) for rule in self.roles.get(binding.role, [])):
                return True
        return False

    def beyond(self, creator: Principal, created: Principal) -> list[Permission]:
        """What `created` would hold that `creator` does not (a token never carries more)."""
        missing: list[Permission] = []
        for binding in self.bindings:
            if not binding.applies_to(created):
                continue
            for rule in self.roles.get(binding.role, []):
                for verb in sorted(rule.verbs):
                    for resource in sorted(rule.resources):
                        for project in sorted(binding.projects):
                            for stage in sorted(binding.stages):
                                wanted = Permission(verb, resource, project, stage=stage)
                                if not self.allows(creator, wanted) and wanted not in missing:
                                    missing.append(wanted)
        return missing


def _strings(value: Any, where: str, source: str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{source}: {where} must be a list of strings")
    return frozenset(value)


def parse_policy(data: Any, source: str) -> Policy:
    """A policy from its YAML data; errors name the file and the field."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a mapping with `roles` and `bindings`")
    unknown = set(data) - {"apiVersion", "kind", "roles", "bindings"}
    if unknown:
        raise PolicyError(f"{source}: unknown field(s) {', '.join(sorted(unknown))}")
    roles: dict[str, list[Rule]] = {}
    for name, spec in (data.get("roles") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("rules"), list):
            raise PolicyError(f"{source}: roles.{name} needs a list of `rules`")
        rules = []
        for index, rule in enumerate(spec["rules"]):
            where = f"roles.{name}.rules[{index}]"
            if not isinstance(rule, dict) or set(rule) - {"verbs", "resources"}:
                raise PolicyError(f"{source}: {where} takes `verbs` and `resources` only")
            verbs = _strings(rule.get("verbs"), f"{where}.verbs", source)
            resources = _strings(rule.get("resources"), f"{where}.resources", source)
            rules.append(Rule(verbs, resources))
        roles[str(name)] = rules
    bindings = []
    for index, item in enumerate(data.get("bindings") or []):
        where = f"bindings[{index}]"
        allowed = {"role", "subjects", "groups", "projects", "stages"}
        if not isinstance(item, dict) or set(item) - allowed:
            raise PolicyError(f"{source}: {where} takes {', '.join(sorted(allowed))}")
        role = item.get("role")
        if role not in roles:
            raise PolicyError(f"{source}: {where}.role {role!r} is not a role defined above")
        bindings.append(
            Binding(
                role=str(role),
                subjects=_strings(item.get("subjects", []), f"{where}.subjects", source),
                groups=_strings(item.get("groups", []), f"{where}.groups", source),
                projects=_strings(item.get("projects", [WILDCARD]), f"{where}.projects", source),
                stages=_strings(item.get("stages", [WILDCARD]), f"{where}.stages", source),
            )
        )
    return Policy(roles, bindings, source)


def load_policy(path: Path) -> Policy:
    """Read and check a policy file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read the policy: {exc}") from exc
    return parse_policy(data, str(path))


DEFAULT_POLICY = """\
roles:
  viewer:
    rules:
    - verbs: [get]
      resources: [version, projects, projectconfigs, warehouses, freight, stages, promotions,
                  analysistemplates, analysisruns, webhookconfigs, webhookdeliveries, events,
                  logs, export, audit, watch]
  promoter:
    rules:
    - verbs: [get]
      resources: [version, projects, projectconfigs, warehouses, freight, stages, promotions,
                  analysistemplates, analysisruns, webhookconfigs, webhookdeliveries, events,
                  logs, export, audit, watch]
    - verbs: [promote, approve, verify, rollback, abort]
      resources: [stages]
    - verbs: [refresh]
      resources: [warehouses]
  admin:
    rules:
    - verbs: ["*"]
      resources: ["*"]
bindings:
- role: viewer
  groups: [viewer]
- role: promoter
  groups: [promoter]
- role: admin
  groups: [admin]
"""


def default_policy() -> Policy:
    """The policy used when no rbac.yaml is given: each token's role bound to all stages."""
    return parse_policy(yaml.safe_load(DEFAULT_POLICY), "<built-in>")
