"""Access control: bearer tokens, the RBAC policy of kargo/rbac.yaml, and the audit chain check."""

from kargo.auth.chain import ChainReport, verify_chain
from kargo.auth.policy import (
    Permission,
    Policy,
    PolicyError,
    Principal,
    default_policy,
    load_policy,
)
from kargo.auth.tokens import (
    ADMIN_TOKEN_NAME,
    SYSTEM_ACTOR,
    TokenError,
    TokenInfo,
    authenticate,
    bootstrap_admin_token,
    create_token,
    delete_token,
    hash_token,
    list_tokens,
    new_token_secret,
    parse_duration,
)

__all__ = [
    "ADMIN_TOKEN_NAME",
    "SYSTEM_ACTOR",
    "ChainReport",
    "Permission",
    "Policy",
    "PolicyError",
    "Principal",
    "TokenError",
    "TokenInfo",
    "authenticate",
    "bootstrap_admin_token",
    "create_token",
    "default_policy",
    "delete_token",
    "hash_token",
    "list_tokens",
    "load_policy",
    "new_token_secret",
    "parse_duration",
    "verify_chain",
]
