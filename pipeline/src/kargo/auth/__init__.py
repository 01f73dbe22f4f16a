"""Access control: tokens, the RBAC policy, the audit chain check and the CLI's credentials file.

`tokens`, `policy` (kargo/rbac.yaml), `chain` and `credentials`: nothing is imported here, so that
the CLI reading `kargo.auth.credentials` loads no store.
"""
