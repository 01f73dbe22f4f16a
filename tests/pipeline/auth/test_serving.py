"""Binding rule, TLS, the first admin token in per-server config entries, token lifecycle."""

from __future__ import annotations

import shutil
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from kargo.api.binding import BindingError, Tls, check_binding

from tests.pipeline.auth.conftest import API
from tests.pipeline.cli.conftest import kargo
from tests.pipeline.harness import admin_token, api_server
from tests.services import free_port


def test_a_non_loopback_address_is_refused_without_tls_or_insecure_bind_all(
    tmp_path: Path,
) -> None:
    argv = [sys.executable, "-m", "kargo.api", "--state-dir", str(tmp_path / "state")]
    ran = subprocess.run(
        [*argv, "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 2
    assert "refusing to listen on 0.0.0.0 without TLS" in ran.stderr
    assert "--insecure-bind-all" in ran.stderr
    assert not (tmp_path / "state" / "admin.token").exists()


def test_the_binding_rule_accepts_loopback_tls_or_the_explicit_flag(tmp_path: Path) -> None:
    check_binding("127.0.0.1", None, False)
    check_binding("::1", None, False)
    check_binding("localhost", None, False)
    check_binding("192.0.2.10", None, True)
    with pytest.raises(BindingError, match="without TLS"):
        check_binding("192.0.2.10", None, False)
    with pytest.raises(BindingError, match="does not exist"):
        check_binding("0.0.0.0", Tls(tmp_path / "cert.pem", tmp_path / "key.pem"), False)
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    check_binding("0.0.0.0", Tls(tmp_path / "cert.pem", tmp_path / "key.pem"), False)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test certificate")
def test_with_a_certificate_the_server_speaks_https(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    state = tmp_path / "state"
    argv = [
        sys.executable,
        "-m",
        "kargo.api",
        "--state-dir",
        str(state),
        "--port",
        str(port),
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        "--save-token",
    ]
    env = {"KARGO_CONFIG": str(tmp_path / "cli.yaml"), "PATH": "/usr/bin:/bin"}
    with subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    answer = httpx.get(
                        f"https://127.0.0.1:{port}/api/v1/version",
                        verify=ssl.create_default_context(cafile=str(cert)),
                        headers={"Authorization": f"Bearer {admin_token(state)}"},
                    )
                    break
                except (httpx.HTTPError, OSError):
                    assert time.monotonic() < deadline, "the TLS server did not start"
                    time.sleep(0.2)
            assert answer.status_code == 200
            entries = yaml.safe_load((tmp_path / "cli.yaml").read_text())["servers"]
            assert entries[0]["server"] == f"https://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_servers_save_their_first_admin_token_only_when_asked_each_in_its_own_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Then the CLI deletes the entries (one server each, started once or twice, shares it all)."""
    config = tmp_path / "cli" / "config.yaml"
    shared = {"KARGO_CONFIG": str(config)}
    with api_server(tmp_path / "throwaway", env=shared):
        pass
    assert not config.exists()  # a throwaway server leaves no credentials behind
    assert admin_token(tmp_path / "throwaway")

    save = ["--save-token"]
    with api_server(tmp_path / "one", env=shared, extra=save) as (first, _):
        with api_server(tmp_path / "two", env=shared, extra=save) as (second, _):
            entries = {e["server"]: e for e in yaml.safe_load(config.read_text())["servers"]}
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "one" / "admin.token").stat().st_mode) == 0o600
    assert entries[first]["token"] == admin_token(tmp_path / "one")
    assert entries[second]["token"] == admin_token(tmp_path / "two")
    assert entries[first]["token"] != entries[second]["token"]
    log = (tmp_path / "one" / "server.log").read_text()
    assert admin_token(tmp_path / "one") not in log  # the log names the file, never the token
    assert f"admin token is saved in {tmp_path / 'one' / 'admin.token'}" in log
    with api_server(tmp_path / "one", env=shared, extra=save):  # no second admin token
        pass
    assert (tmp_path / "one" / "server.log").read_text().count("first start") == 1

    monkeypatch.setenv("KARGO_CONFIG", str(config))
    missing = kargo("config", "delete-server", "http://127.0.0.1:1")
    assert missing.code == 1 and "has no entry for http://127.0.0.1:1" in missing.err
    current = yaml.safe_load(config.read_text())["currentServer"]
    assert current in (first, second)
    other = second if current == first else first
    for url, kept in ((other, current), (current, None)):
        deleted = kargo("config", "delete-server", url)
        assert deleted.code == 0 and f"deleted {url}" in deleted.out, deleted
        assert entries[url]["token"] not in config.read_text()
        assert yaml.safe_load(config.read_text()).get("currentServer") == kept
    assert yaml.safe_load(config.read_text())["servers"] == []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server (base URL, state folder) started on a folder that was world-readable."""
    state = tmp_path_factory.mktemp("served") / "state"
    state.mkdir(mode=0o755)
    (state / "webhooks-received.jsonl").write_text("{}\n")
    (state / "webhooks-received.jsonl").chmod(0o644)
    with api_server(state) as (base, _):
        yield base, state


def test_the_state_folder_and_what_the_server_writes_there_are_owner_only(
    served: tuple[str, Path],
) -> None:
    base, state = served
    headers = {"Authorization": f"Bearer {admin_token(state)}"}
    assert httpx.get(f"{base}/api/v1/whoami", headers=headers).status_code == 200
    modes = {
        path.relative_to(state).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in [state, *state.rglob("*")]
        if not path.is_symlink() and path.name != "server.log"  # the test's own file
    }
    assert modes["."] == 0o700
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert loose == {}, loose
    assert "kargo.db" in " ".join(modes)


def test_login_create_list_and_delete_tokens_with_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARGO_CONFIG", str(tmp_path / "mine.yaml"))
    monkeypatch.delenv("KARGO_TOKEN", raising=False)
    with api_server(tmp_path / "state") as (base, _):
        monkeypatch.setenv("KARGO_SERVER", base)
        refused = kargo("get", "projects")
        assert refused.code == 1 and "bearer token" in refused.err
        login = kargo("login", "--token", admin_token(tmp_path / "state"))
        assert login.code == 0 and f"logged in to {base} as admin (admin)" in login.out, login
        assert stat.S_IMODE((tmp_path / "mine.yaml").stat().st_mode) == 0o600
        created = kargo("create", "token", "--name", "ci", "--role", "viewer", "--expires", "30d")
        assert created.code == 0, created
        secret = created.out.splitlines()[-1]
        listed = kargo("get", "tokens")
        assert listed.code == 0 and "ci" in listed.out and "viewer" in listed.out
        assert secret not in listed.out + kargo("get", "tokens", "-o", "json").out
        viewer = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{base}{API}/projects", headers=viewer).status_code == 200
        assert kargo("delete", "token", "ci").code == 0
        assert httpx.get(f"{base}{API}/projects", headers=viewer).status_code == 401
        audit = kargo("get", "audit", "--actor", "admin", "--since", "1h", "-o", "json")
        actions = [r["action"] for r in yaml.safe_load(audit.out)["items"]]
        assert actions == ["create-token", "delete-token"], audit
        exported = kargo("audit", "export").out.splitlines()
        assert len(exported) == 3 and all(line.startswith("{") for line in exported)
        assert kargo("audit", "verify").out.startswith("audit chain intact: 3 records")


def test_an_expired_token_no_longer_authenticates(served: tuple[str, Path]) -> None:
    base, state = served
    admin = {"Authorization": f"Bearer {admin_token(state)}"}
    made = httpx.post(
        f"{base}{API}/tokens",
        headers=admin,
        json={"name": "brief", "role": "viewer", "expires": "1s"},
    ).json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    time.sleep(1.2)
    answer = httpx.get(f"{base}{API}/projects", headers=headers)
    assert answer.status_code == 401 and "expired" in answer.json()["error"]["message"]
