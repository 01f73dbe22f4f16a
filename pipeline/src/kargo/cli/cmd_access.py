"""Access-control commands: tokens, `kargo login`, the audit trail (`kargo audit verify`).

`kargo get tokens` and `kargo get audit` are listings of `kargo get` (`kinds.LISTINGS`).
"""

from __future__ import annotations

from pathlib import Path

import click

from kargo.api.contract import ChainReport
from kargo.auth.credentials import save_config
from kargo.cli.session import FILE, FOLDER, cli, server_url, session
from kargo.client import KargoClientError

ROLES = ("viewer", "promoter", "admin")


@cli.group("create")
def create_group() -> None:
    """Create an access token."""


@create_group.command("token")
@click.option("--name", required=True, help="The token's name: the actor the audit trail shows.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Its role (kargo/rbac.yaml).")
@click.option("--expires", help="Lifetime, e.g. 30d, 12h (default: never).")
def create_token_command(name: str, role: str, expires: str | None) -> None:
    """Create a token and print its secret (this one time only).

    \b
    Examples:
      kargo create token --name ci --role promoter --expires 30d
    """
    created = session().client.create_token(name, role, expires)
    click.echo(f"token/{name} created (role {role}); save it now, it is not shown again:")
    click.echo(created.token)


@cli.group("delete")
def delete_group() -> None:
    """Revoke an access token."""


@delete_group.command("token")
@click.argument("name")
def delete_token_command(name: str) -> None:
    """Revoke the token NAME at once.

    \b
    Examples:
      kargo delete token ci
    """
    session().client.delete_token(name)
    click.echo(f"token/{name} deleted")


@cli.command("login")
@click.argument("given", required=False, metavar="[SERVER]")
@click.option(
    "--token",
    "token",
    required=True,
    prompt=True,
    hide_input=True,
    help="The bearer token (prompted when left out).",
)
def login_command(given: str | None, token: str) -> None:
    """Check a token against a server (the current one by default) and save it for that server.

    A SERVER given becomes the current server, as `kargo login` does in Kargo.

    \b
    Examples:
      kargo login --token "$(cat .kargo/admin.token)"
      kargo login https://kargo.example.com:8443 --token "$KARGO_TOKEN"
    """
    s = session()
    server = server_url(given or s.connection.server, "https")
    with s.connect(server, token) as client:
        who = client.whoami()
    s.config.ensure(server).token = token
    if s.config.current_server is None or given:
        s.config.current_server = server
    save_config(s.config)
    groups = ", ".join(who.groups) or "no role"
    click.echo(f"logged in to {server} as {who.subject} ({groups})")


@cli.command("logout")
def logout_command() -> None:
    """Forget the current server's token (the server and default project stay remembered).

    \b
    Examples:
      kargo logout
      kargo --server http://127.0.0.1:8080 logout
    """
    s = session()
    server = s.connection.server
    entry = s.config.entry(server)
    if entry is None or not entry.token:
        click.echo(f"not logged in to {server}")
        return
    entry.token = None
    save_config(s.config)
    click.echo(f"logged out of {server}")


@cli.group("audit")
def audit_group() -> None:
    """Check and export the audit trail."""


@audit_group.command("verify")
@click.option(
    "--state-dir", type=FOLDER, help="Check the SQLite database under this folder directly."
)
@click.option("--database-url", help="Check this database directly, not via the server.")
@click.option(
    "--audit-key",
    type=FILE,
    help="The audit key file for an offline check (default: <state-dir>/secrets/audit.key).",
)
def audit_verify_command(
    state_dir: Path | None, database_url: str | None, audit_key: Path | None
) -> None:
    """Recompute the hash chain; exit 1 when a record was altered, removed or inserted.

    \b
    Examples:
      kargo audit verify
      kargo audit verify --state-dir .kargo    # with the server down
      kargo audit verify --state-dir .kargo --audit-key backup/audit.key
    """
    if state_dir is not None or database_url is not None:
        report = _verify_offline(state_dir or Path(".kargo"), database_url, audit_key)
    else:
        report = session().client.audit_verify()
    if not report.ok:
        raise KargoClientError(f"audit chain broken: {report.message}")
    click.echo(f"audit chain intact: {report.message}")


def _verify_offline(
    state_dir: Path, database_url: str | None, key_file: Path | None
) -> ChainReport:
    # Reaching below the client on purpose: the check must work when the server is down.
    from kargo.auth.chain import verify_chain
    from kargo.auth.secretfiles import AuditKeyError, audit_key_path, load_audit_key
    from kargo.store import Store, StoreError

    try:
        key = load_audit_key(key_file or audit_key_path(state_dir))
        if key_file is not None and key is None:
            raise KargoClientError(f"audit key {key_file} does not exist")
        store = Store.open(database_url, state_dir)
    except (StoreError, AuditKeyError) as exc:
        raise KargoClientError(str(exc)) from exc
    try:
        return verify_chain(store, key)
    finally:
        store.close()


@audit_group.command("export")
@click.option("--actor", help="Only this actor's records.")
@click.option("--since", help="Only records newer than this (1h, 7d) or an ISO time.")
def audit_export_command(actor: str | None, since: str | None) -> None:
    """Print the audit trail as JSON lines (one record a line), oldest first.

    \b
    Examples:
      kargo audit export --since 7d > audit.jsonl
    """
    click.echo(session().client.audit_export(actor, since), nl=False)
