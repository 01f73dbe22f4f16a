"""Exit codes 0/1/2 and one-line errors that say what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from kargo.client import ApiError, KargoClient, ServerUnreachable

from tests.pipeline.cli.conftest import kargo
from tests.services import VENV_BIN, free_port, port_open


def test_a_refused_connection_says_how_to_start_the_server(config_file: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with KargoClient(url) as client, pytest.raises(ServerUnreachable) as caught:
        client.list_projects()
    assert "connection refused" in str(caught.value)
    assert "`kargo server --config kargo/` or `make demo`" in str(caught.value)


def test_the_cli_prints_that_on_one_line_and_exits_1(config_file: Path) -> None:
    ran = kargo("--server", f"http://127.0.0.1:{free_port()}", "get", "promotion")
    assert ran.code == 1
    assert ran.err.startswith("error: cannot reach the kargo server")
    assert ran.err.count("\n") == 1


def test_usage_errors_exit_2_and_say_what_to_type(config_file: Path) -> None:
    unknown = kargo("get", "promotoin")
    assert unknown.code == 2
    assert "did you mean 'promotion'?" in unknown.err
    assert unknown.err.count("\n") == 1
    option = kargo("promote", "--frm", "development")
    assert option.code == 2
    assert "Did you mean '--from'?" in option.err
    assert "(see `kargo promote --help`)" in option.err


def test_a_bad_field_selector_is_a_usage_error(config_file: Path) -> None:
    ran = kargo("-p", "planning-poker", "get", "events", "--field-selector", "kind=Promotion")
    assert ran.code == 2
    assert "involvedObject.kind" in ran.err


def test_version_prints_the_client_even_when_the_server_is_down(config_file: Path) -> None:
    ran = kargo("--server", f"http://127.0.0.1:{free_port()}", "version")
    assert ran.code == 0
    assert ran.out.startswith("kargo 0.1.0\nserver: not reachable at http://127.0.0.1:")


def test_completion_scripts_are_printed_for_each_shell(config_file: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        ran = kargo("completion", shell)
        assert ran.code == 0, ran
        assert "_KARGO_COMPLETE" in ran.out


def test_api_errors_fold_their_details_into_one_line() -> None:
    error = ApiError(
        422,
        "Invalid",
        "stage.yaml is invalid",
        [{"file": "stage.yaml", "line": 7, "field": "spec.stepz", "message": "unknown field"}],
    )
    assert error.one_line() == "stage.yaml is invalid; stage.yaml 7 spec.stepz: unknown field"


def test_shell_completion_offers_kinds_and_commands(config_file: Path) -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_KARGO_COMPLETE": "bash_complete", "COMP_WORDS": words}
        env["COMP_CWORD"] = str(len(words.split()) - 1)
        done = subprocess.run(
            [str(VENV_BIN / "kargo")], env=env, capture_output=True, text=True, check=True
        )
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert complete("kargo get prom") == ["promotion", "promotions", "promo", "promos"]
    assert complete("kargo pro") == ["promote"]


def test_promote_timeout_takes_go_durations_and_refuses_others_with_exit_2(
    config_file: Path,
) -> None:
    base = ["--server", "http://127.0.0.1:9", "promote", "planning-poker", "--to", "production"]
    accepted = kargo(*base, "--wait", "--timeout", "1h30m")
    assert accepted.code == 1 and "not a duration" not in accepted.err, accepted
    refused = kargo(*base, "--wait", "--timeout=soon")
    assert refused.code == 2, refused
    assert "'soon' is not a duration; expected e.g. 90s, 5m, 1h30m or 500ms" in refused.err


def test_every_command_help_has_an_examples_section() -> None:
    import click
    from kargo.cli.main import cli

    def commands(group: click.Group, path: list[str]) -> list[list[str]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, [*path, name])
            else:
                found.append([*path, name])
        return found

    lacking = [
        " ".join(path)
        for path in commands(cli, [])
        if "Examples:" not in kargo(*path, "--help").out
    ]
    assert lacking == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test certificate")
def test_an_https_server_is_trusted_through_its_ca_or_explicitly_not_checked(
    tmp_path: Path,
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port, state = free_port(), tmp_path / "state"
    argv = [str(VENV_BIN / "python"), "-m", "kargo.api", "--state-dir", str(state),
            "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)]  # fmt: skip
    env = {**os.environ, "KARGO_CONFIG": str(tmp_path / "server-cli.yaml")}
    with subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 30
            while not (state / "admin.token").exists() or not port_open("127.0.0.1", port):
                assert time.monotonic() < deadline, "the TLS server did not start"
                time.sleep(0.2)
            user: dict[str, str | None] = {
                "KARGO_CONFIG": str(tmp_path / "cli.yaml"),
                "KARGO_SERVER": f"https://127.0.0.1:{port}",
                "KARGO_TOKEN": (state / "admin.token").read_text().strip(),
            }
            untrusted = kargo("get", "projects", env=user)
            assert untrusted.code == 1 and "--certificate-authority CA.pem" in untrusted.err
            trusted = kargo("--certificate-authority", str(cert), "get", "projects", env=user)
            assert trusted.code == 0, trusted
            unchecked = kargo("--insecure-skip-tls-verify", "get", "projects", env=user)
            assert unchecked.code == 0, unchecked
        finally:
            process.terminate()
            process.wait(timeout=30)
