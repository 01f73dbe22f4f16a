"""`runAs`: a stage's instances run as their own OS user and cannot read the engine's files.

Real users (made with `useradd --system`), a real HAProxy and real processes; the test needs root
to make users and switch to them (it fails under CI=true, and skips elsewhere, without root).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kargo.api.binding import private_state_dir
from kargo.runtime import stop_all
from kargo.runtime.deploying import DeploySpec, deploy_blue_green
from kargo.runtime.steps.deploy import DeployStep
from kargo.runtime.users import RunAsError, missing_capabilities, resolve_user
from kargo.steps.base import StepPhase

from tests.pipeline.runtime.support import step_context
from tests.services import REPO_ROOT, free_port, require_binary, service_missing

pytestmark = pytest.mark.haproxy

DEV_USER = "kargo-test-dev"
PROD_USER = "kargo-test-prod"
SYSTEM_PYTHON = "/usr/bin/python3"  # every user can run it (the .venv's interpreter may not be)

# Serves /readyz and /healthz; /probe says who it runs as and which of PROBE_PATHS it can read.
PROBE_APP = """\
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

with open(os.path.join(os.environ["STAGE_DIR"], "data.txt"), "w") as own:
    own.write("this stage's data")


def readable(path):
    try:
        with open(path) as handle:
            handle.read(1)
        return "read"
    except OSError as exc:
        return type(exc).__name__


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        paths = os.environ.get("PROBE_PATHS", "").split(":")
        body = json.dumps({"uid": os.getuid(), "home": os.environ.get("HOME"),
                           "paths": {p: readable(p) for p in paths if p}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def system_user(name: str) -> pwd.struct_passwd:
    """The OS user `name`, made with useradd when missing (root only)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 9):  # 9: made by a concurrent test meanwhile
        pytest.fail(f"useradd {name} failed: {done.stderr}")
    return pwd.getpwnam(name)


@pytest.fixture
def users() -> tuple[pwd.struct_passwd, pwd.struct_passwd]:
    """Two unprivileged users for two stages (the test needs root for them)."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        service_missing("root and useradd (to make the stages' users and switch to them)")
    return system_user(DEV_USER), system_user(PROD_USER)


@pytest.fixture
def shared_state() -> Iterator[Path]:
    """A state folder below folders every user may pass through (pytest's tmp folder is 0700)."""
    base = Path(tempfile.mkdtemp(prefix="kargo-run-as-"))
    os.chmod(base, 0o711)
    state = base / "state"
    state.mkdir(mode=0o700)
    try:
        yield state
    finally:
        stop_all(state, timeout=5)
        shutil.rmtree(base, ignore_errors=True)


def probe_spec(state: Path, stage: str, user: str, port: int, probes: list[Path]) -> DeploySpec:
    """A deploy of the probe app as `user`, with a stage secret in its environment."""
    app = state.parent / "probe_app.py"
    app.write_text(PROBE_APP)
    app.chmod(0o644)
    return DeploySpec(
        stage=stage,
        freight=f"{stage}-freight",
        commit="c0ffee",
        port=port,
        replicas=1,
        argv=[SYSTEM_PYTHON, str(app)],
        env={
            "PORT": "${PORT}",
            "STAGE_DIR": "${STAGE_DIR}",
            "SECRET_KEY": "${SECRET:secret-key}",
            "PROBE_PATHS": ":".join(str(p) for p in probes),
        },
        readiness_path="/readyz",
        readiness_timeout=30,
        drain_timeout=0.5,
        stop_timeout=5,
        run_as=user,
    )


def proc_uids(pid: int) -> set[int]:
    """The real, effective, saved and filesystem uids of a process."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x[:4] == "Uid:")
    return {int(value) for value in line.split()[1:]}


def test_a_stage_run_as_its_user_serves_but_cannot_read_the_engine_or_the_other_stage(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd], shared_state: Path
) -> None:
    require_binary("haproxy")
    dev, prod = users
    state = shared_state
    token = state / "admin.token"  # as `kargo server` keeps it: the engine's, 0600
    token.write_text("the-admin-token")
    token.chmod(0o600)
    prod_secret = state / "stages" / "production" / "secrets" / "secret-key"
    prod_data = state / "stages" / "production" / "data.txt"
    dev_data = state / "stages" / "development" / "data.txt"
    probes = [token, prod_secret, prod_data, dev_data, state / "runtime" / "state.json"]
    prod_port, dev_port = free_port(), free_port()

    prod_instances = asyncio.run(
        deploy_blue_green(state, probe_spec(state, "production", PROD_USER, prod_port, []))
    )
    dev_instances = asyncio.run(
        deploy_blue_green(state, probe_spec(state, "development", DEV_USER, dev_port, probes))
    )

    answer = httpx.get(f"http://127.0.0.1:{dev_port}/probe", timeout=5).json()  # via HAProxy
    assert answer["uid"] == dev.pw_uid
    assert answer["home"] == dev.pw_dir  # the user's, not the engine's
    assert answer["paths"] == {
        str(token): "PermissionError",
        str(prod_secret): "PermissionError",
        str(prod_data): "PermissionError",
        str(dev_data): "read",
        str(state / "runtime" / "state.json"): "PermissionError",
    }
    assert proc_uids(int(dev_instances[0].pid or 0)) == {dev.pw_uid}
    assert proc_uids(int(prod_instances[0].pid or 0)) == {prod.pw_uid}
    assert httpx.get(f"http://127.0.0.1:{prod_port}/healthz", timeout=5).status_code == 200
    # the stage's folder is its user's, its secrets stay the engine's
    for stage_name, user in (("development", dev), ("production", prod)):
        folder = state / "stages" / stage_name
        assert (folder.stat().st_uid, stat.S_IMODE(folder.stat().st_mode)) == (user.pw_uid, 0o700)
        assert (folder / "secrets").stat().st_uid == os.geteuid()
    assert stat.S_IMODE(state.stat().st_mode) == 0o711  # passable, not listable

    # A restarted engine makes the state folder private again, yet leaves the stages passable.
    private_state_dir(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o711
    assert stat.S_IMODE((state / "stages").stat().st_mode) == 0o711
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    again = httpx.get(f"http://127.0.0.1:{dev_port}/probe", timeout=5).json()
    assert again["paths"][str(dev_data)] == "read"


def deploy_step_result(tmp_path: Path, state: Path, run_as: dict[str, Any]) -> Any:
    """What the deploy step answers for a config with this runAs."""
    ctx = step_context(state, tmp_path / "work", "dev", "c0ffee", str(tmp_path / "repo"))
    config = {"port": 1, "command": ["x"], "commit": "c0ffee", "envDir": str(tmp_path)}
    step = DeployStep()
    return asyncio.run(step.run(ctx, step.config_model.model_validate({**config, "runAs": run_as})))


def test_the_deploy_step_names_the_field_of_an_unknown_user_or_group(tmp_path: Path) -> None:
    state = tmp_path / "state"

    unknown = deploy_step_result(tmp_path, state, {"user": "kargo-no-such-user"})
    assert unknown.phase is StepPhase.ERRORED
    assert unknown.message.startswith("deploy: config.runAs.user: there is no OS user")
    assert "'kargo-no-such-user'" in unknown.message and "useradd" in unknown.message

    root = deploy_step_result(tmp_path, state, {"user": "root"})
    assert "config.runAs.user: root is not another user" in root.message

    group = deploy_step_result(tmp_path, state, {"user": "nobody", "group": "kargo-no-group"})
    assert group.message.startswith("deploy: config.runAs.group: there is no OS group")
    assert not (state / "runtime").exists()  # refused before anything started


def test_an_engine_without_the_capabilities_says_which_it_lacks(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tkargo\nCapEff:\t00000000000000c0\n")  # CAP_SETGID, CAP_SETUID
    assert missing_capabilities(status) == ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL"]
    status.write_text("CapEff:\t000001ffffffffff\n")
    assert missing_capabilities(status) == []


def test_a_non_root_engine_is_refused_with_the_field_and_the_fix(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd],
) -> None:
    # A real unprivileged process (the dev user) asks to run as the prod user.
    site = next((REPO_ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    script = textwrap.dedent(f"""
        from kargo.runtime.users import RunAsError, resolve_user
        try:
            resolve_user({PROD_USER!r})
        except RunAsError as exc:
            print(exc)
    """)
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", script],
        env={"PYTHONPATH": f"{REPO_ROOT / 'pipeline' / 'src'}:{site}", "PATH": os.defpath},
        user=DEV_USER,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert message.startswith(f"runAs.user: the engine (uid {users[0].pw_uid}) cannot start")
    assert "CAP_SETUID" in message and "run `kargo server` as root" in message
    with pytest.raises(RunAsError, match="runAs.user"):
        resolve_user("kargo-no-such-user")
