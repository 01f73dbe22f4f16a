"""The RBAC evaluator over kargo/rbac.yaml: deny by default, groups, subjects, stage scope."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kargo.auth.policy import (
    Permission,
    PolicyError,
    Principal,
    default_policy,
    load_policy,
    parse_policy,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
SHIPPED = load_policy(REPO_ROOT / "kargo" / "rbac.yaml")
VIEWER = Principal("alice", ("viewer",))
PROMOTER = Principal("ci", ("promoter",))
ADMIN = Principal("root", ("admin",))
NOBODY = Principal("mallory", ("unknown-group",))


def test_a_viewer_reads_but_cannot_promote_approve_apply_or_list_tokens() -> None:
    assert SHIPPED.allows(VIEWER, Permission("get", "stages", "planning-poker"))
    assert SHIPPED.allows(VIEWER, Permission("get", "audit"))
    for denied in (
        Permission("promote", "stages", "planning-poker", "production"),
        Permission("approve", "stages", "planning-poker", "development"),
        Permission("apply", "configuration"),
        Permission("get", "tokens"),
        Permission("create", "tokens"),
    ):
        assert not SHIPPED.allows(VIEWER, denied), denied


def test_a_promoter_acts_only_on_the_stages_its_binding_names() -> None:
    policy = parse_policy(
        {
            **yaml.safe_load((REPO_ROOT / "kargo" / "rbac.yaml").read_text()),
            "bindings": [{"role": "promoter", "groups": ["promoter"], "stages": ["development"]}],
        },
        "test",
    )
    for verb in ("promote", "approve", "verify", "rollback", "abort"):
        assert policy.allows(PROMOTER, Permission(verb, "stages", "p", "development"))
        assert not policy.allows(PROMOTER, Permission(verb, "stages", "p", "production"))
    assert not policy.allows(PROMOTER, Permission("apply", "configuration"))
    assert not policy.allows(PROMOTER, Permission("test", "webhookconfigs", "p"))
    assert policy.allows(PROMOTER, Permission("get", "stages", "p"))


def test_an_admin_may_do_anything_and_an_unbound_group_nothing() -> None:
    for permission in (
        Permission("apply", "configuration"),
        Permission("delete", "tokens"),
        Permission("promote", "stages", "p", "production"),
    ):
        assert SHIPPED.allows(ADMIN, permission)
        assert not SHIPPED.allows(NOBODY, permission)
    assert not SHIPPED.allows(NOBODY, Permission("get", "version"))


def test_a_binding_by_subject_and_project_scope() -> None:
    policy = parse_policy(
        {
            "roles": {"promoter": {"rules": [{"verbs": ["promote"], "resources": ["stages"]}]}},
            "bindings": [
                {"role": "promoter", "subjects": ["ci"], "projects": ["shop"], "stages": ["dev"]}
            ],
        },
        "test",
    )
    assert policy.allows(Principal("ci"), Permission("promote", "stages", "shop", "dev"))
    assert not policy.allows(Principal("ci"), Permission("promote", "stages", "other", "dev"))
    assert not policy.allows(Principal("cd"), Permission("promote", "stages", "shop", "dev"))


def test_the_built_in_policy_matches_the_shipped_roles() -> None:
    assert set(default_policy().roles) == set(SHIPPED.roles) == {"viewer", "promoter", "admin"}


def test_a_denied_permission_describes_itself_for_the_403_message() -> None:
    described = Permission("promote", "stages", "planning-poker", "production").describe()
    assert described == "promote on stages/production in project planning-poker"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"roles": {}, "bindings": [{"role": "ghost", "groups": ["x"]}]}, "is not a role"),
        ({"roles": {"r": {"rules": [{"verbs": "get", "nouns": []}]}}}, "takes `verbs`"),
        ({"roles": {"r": {}}}, "needs a list of `rules`"),
        ({"rolez": {}}, "unknown field"),
    ],
)
def test_an_invalid_policy_is_refused_naming_the_problem(data: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(data, "rbac.yaml")
