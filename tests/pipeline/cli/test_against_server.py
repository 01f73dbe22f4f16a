"""The guide's command lines, run verbatim against the real engine and API server.

A temporary pipeline (project planning-poker, a warehouse on a temporary git repository, stages
whose steps are `shell` and `http`) is served by `python -m kargo.api` on a free port. The tests
run in file order against that one server, as a user follows the guide.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import pty
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import jsonschema
import pytest
import yaml
from kargo.api.contract import RESOURCE_VIEWS, FreightView, StageView
from kargo.cli.columns import EPOCH
from kargo.client import KargoClient
from kargo.model.analysis import AnalysisRun
from kargo.model.promotion import Promotion, PromotionPhase

from tests.pipeline.cli.conftest import Ran, kargo
from tests.services import VENV_BIN, free_port, running

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("kargo.api.__main__") is None,
    reason="the engine's API server (python -m kargo.api) has not landed yet",
)

PIPELINE = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: planning-poker
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata:
  name: planning-poker
  namespace: planning-poker
spec:
  promotionPolicies:
  - stageSelector: {{name: "glob:*"}}
    autoPromotionEnabled: false
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: planning-poker
  namespace: planning-poker
spec:
  interval: 1h
  subscriptions:
  - git:
      repoURL: {repo}
      branch: main
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: development
  namespace: planning-poker
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: planning-poker}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: shell
        as: build
        config:
          command: echo built ${{{{ ctx.freight }}}} for ${{{{ ctx.stage }}}}
      - uses: http
        as: health
        config:
          url: {base_url}/ok
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: production
  namespace: planning-poker
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: planning-poker}}
    sources: {{stages: [development]}}
  promotionTemplate:
    spec:
      steps:
      - uses: shell
        as: deploy
        config: {{command: "echo deployed"}}
  verification:
    analysisTemplates:
    - name: smoke-tests
---
apiVersion: kargo.akuity.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: smoke-tests
  namespace: planning-poker
spec:
  metrics:
  - name: smoke-test-success
    provider: webhook
    webhook:
      url: {base_url}/smoke
      method: POST
    successCondition: result.passed == true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: WebhookConfig
metadata:
  name: receiver
  namespace: planning-poker
spec:
  url: {base_url}/hooks
  events: ["*"]
  format: standard
  secretRef:
    env: KARGO_CLI_TEST_WEBHOOK_SECRET
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: slow
  namespace: planning-poker
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: planning-poker}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: shell
        as: wait
        config: {{command: "sleep 30"}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: broken
  namespace: planning-poker
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: planning-poker}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: http
        as: health
        config:
          url: {base_url}/broken
"""


class _Checks(BaseHTTPRequestHandler):
    """`/ok` answers 200, anything else 500: the target of the stages' http steps."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        ok = self.path.startswith("/ok")
        body = json.dumps({"ok": ok}).encode()
        self.send_response(200 if ok else 500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"passed": True} if self.path == "/smoke" else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _commit(repo: Path, text: str, message: str) -> str:
    (repo / "app.txt").write_text(text)
    _git(repo, "add", "app.txt")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@dataclass
class Live:
    """The running server and what the tests need to know about it."""

    url: str
    repo: Path
    config_dir: Path
    client: KargoClient
    token: str

    def cli(self, *args: str) -> Ran:
        """Run `kargo ARGS` against this server (through KARGO_SERVER, so lines stay verbatim)."""
        return kargo(*args, env={"KARGO_SERVER": self.url, "KARGO_TOKEN": self.token})

    def wait_for(self, what: str, check: Any, timeout: float = 30.0) -> Any:
        """Poll check() until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def freight_aliases(self) -> list[str]:
        """The aliases of the discovered freight, newest first."""
        freight = self.client.resources("planning-poker", FreightView)
        return [
            f.alias
            for f in sorted(
                freight, key=lambda f: f.metadata.creation_timestamp or EPOCH, reverse=True
            )
        ]

    def settled(self, stage: str) -> bool:
        """Whether no promotion of the stage is pending or running."""
        promotions = self.client.resources("planning-poker", Promotion)
        return all(p.phase.is_terminal() for p in promotions if p.spec.stage == stage)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("live")
    repo = root / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "dev@example.test")
    _git(repo, "config", "user.name", "Dev")
    _commit(repo, "v1\n", "first version")
    checks = ThreadingHTTPServer(("127.0.0.1", 0), _Checks)
    thread = threading.Thread(target=checks.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    config_dir = root / "config"
    config_dir.mkdir()
    base_url = f"http://127.0.0.1:{checks.server_address[1]}"
    (config_dir / "pipeline.yaml").write_text(PIPELINE.format(repo=repo, base_url=base_url))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable, "-m", "kargo.api", "--config", str(config_dir),
        "--state-dir", str(root / "state"), "--port", str(port),
    ]  # fmt: skip
    try:
        secret = {
            "KARGO_CLI_TEST_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"k" * 24).decode(),
            # The server saves its first admin token in this CLI config (not the user's).
            "KARGO_CONFIG": str(root / "cli-config.yaml"),
        }
        with running(argv, f"{url}/healthz", env=secret, timeout=90):  # a busy machine
            token = (root / "state" / "admin.token").read_text().strip()
            with KargoClient(url, token) as client:
                live = Live(url, repo, config_dir, client, token)
                live.wait_for("the first freight", live.freight_aliases)
                yield live
    finally:
        checks.shutdown()
        checks.server_close()
        thread.join(timeout=5)


def test_get_promotion_planning_poker_says_there_are_none_yet(live: Live) -> None:
    ran = live.cli("get", "promotion", "planning-poker")
    assert (ran.code, ran.out) == (0, "")
    assert "No promotions found in project planning-poker." in ran.err


def test_promote_to_development_with_wait_follows_the_steps(live: Live) -> None:
    alias = live.freight_aliases()[0]
    ran = live.cli(
        "promote", "planning-poker", "--to", "development", "--freight-alias", alias, "--wait"
    )
    assert ran.code == 0, ran
    assert "step 1/2 build: Succeeded" in ran.out
    assert "step 2/2 health: Succeeded" in ran.out
    assert ran.out.splitlines()[-1].endswith("Succeeded: the stage has no verification")


def test_get_promotion_planning_poker_lists_it(live: Live) -> None:
    ran = live.cli("get", "promotion", "planning-poker")
    assert ran.code == 0, ran
    header, row = ran.out.splitlines()
    assert header.split() == ["NAME", "STAGE", "FREIGHT", "PHASE", "AGE"]
    assert row.split()[1:4] == ["development", live.freight_aliases()[0], "Succeeded"]


def test_describe_promotion_planning_poker_shows_steps_and_events(live: Live) -> None:
    ran = live.cli("describe", "promotion", "planning-poker")
    assert ran.code == 0, ran
    assert "Stage:          development" in ran.out
    assert "first version" in ran.out
    steps = [line.split() for line in ran.out.splitlines() if line.startswith("  1   build")]
    assert steps == [["1", "build", "shell", "Succeeded", steps[0][4]]]
    assert "PromotionSucceeded" in ran.out


def test_get_stage_development_shows_its_freight_verified(live: Live) -> None:
    ran = live.cli("get", "stage", "development")
    assert ran.code == 0, ran
    row = ran.out.splitlines()[1].split()
    assert row[0] == "development"
    assert row[2] == live.freight_aliases()[0]
    assert row[4] == "True"


def test_promote_planning_poker_from_development_to_production(live: Live) -> None:
    ran = live.cli("promote", "planning-poker", "--from", "development", "--to", "production")
    assert ran.code == 0, ran
    assert "to production" in ran.out
    live.wait_for("the production promotion", lambda: live.settled("production"))
    again = live.cli("promote", "planning-poker", "--from", "development", "--to", "production")
    assert again.code == 0, again
    assert "already" in again.out


def test_get_stage_production_shows_the_promoted_freight(live: Live) -> None:
    ran = live.cli("get", "stage", "production")
    assert ran.code == 0, ran
    assert ran.out.splitlines()[1].split()[2] == live.freight_aliases()[0]


def test_events_are_selected_by_involved_object_kind(live: Live) -> None:
    ran = live.cli("get", "events", "--field-selector", "involvedObject.kind=Promotion")
    assert ran.code == 0, ran
    assert "PromotionSucceeded" in ran.out
    assert "FreightCreated" not in ran.out


def test_logs_promotion_planning_poker_prints_the_step_logs(live: Live) -> None:
    ran = live.cli("logs", "promotion", "planning-poker")
    assert ran.code == 0, ran
    assert "deployed" in ran.out
    followed = live.cli("logs", "promotion", "planning-poker", "-f")  # ended: returns at once
    assert (followed.code, followed.out) == (0, ran.out)


def test_promote_abort_stops_the_running_promotion_of_a_stage(live: Live) -> None:
    alias = live.freight_aliases()[0]
    started = live.cli("promote", "--to", "slow", "--freight-alias", alias)
    assert started.code == 0, started
    name = started.out.split()[0].removeprefix("promotion/")
    ran = live.cli("promote", "--abort", "--stage", "slow")
    assert (ran.code, ran.out) == (0, f"promotion/{name} aborted\n")
    live.wait_for(
        "the aborted phase",
        lambda: live.client.resource("planning-poker", Promotion, name).phase == "Aborted",
    )
    again = live.cli("promote", "--abort", "--stage", "slow")
    assert again.code == 1
    assert "nothing to abort" in again.err


def test_a_failing_step_makes_promote_wait_exit_1_and_describe_names_it(live: Live) -> None:
    alias = live.freight_aliases()[0]
    ran = live.cli("promote", "--to", "broken", "--freight-alias", alias, "--wait")
    assert ran.code == 1, ran
    assert "step 1/1 health: Failed" in ran.out
    described = live.cli("describe", "promotion", "planning-poker")
    assert "Phase:          Failed" in described.out
    assert "500" in described.out


def test_get_analysisrun_and_webhook_config_answer(live: Live) -> None:
    for kind in ("analysisrun", "webhook-config"):
        ran = live.cli("get", kind)
        assert ran.code == 0, ran


def test_verbosity_4_logs_requests_with_timing(live: Live) -> None:
    ran = live.cli("--v=4", "get", "promotion")
    assert ran.code == 0, ran
    assert "/api/v1/projects/planning-poker/promotions" in ran.err
    assert "200 OK in" in ran.err


def test_export_promotion_planning_poker_is_yaml_that_applies_back(live: Live) -> None:
    ran = live.cli("export", "promotion", "planning-poker")
    assert ran.code == 0, ran
    documents = [d for d in yaml.safe_load_all(ran.out) if d]
    assert documents
    applied = live.cli("apply", "-f", str(live.config_dir))
    assert applied.code == 0, applied
    assert "stage/development" in applied.out


def test_unknown_names_get_a_did_you_mean(live: Live) -> None:
    ran = live.cli("get", "stage", "prodution")
    assert ran.code == 1
    assert "did you mean 'production'?" in ran.err


def test_a_new_commit_is_found_by_refresh_warehouse(live: Live) -> None:
    before = len(live.freight_aliases())
    _commit(live.repo, "v2\n", "second version")
    ran = live.cli("refresh", "warehouse", "planning-poker")
    assert ran.code == 0, ran
    live.wait_for("the second freight", lambda: len(live.freight_aliases()) > before)
    listed = live.cli("get", "freight")
    assert "second" not in listed.err
    assert len(listed.out.splitlines()) == before + 2


def test_a_refused_promotion_prints_the_servers_reason_on_one_line(live: Live) -> None:
    newest = live.freight_aliases()[0]  # found by the refresh above, not yet in development
    ran = live.cli("promote", "--to", "production", "--freight-alias", newest)
    assert (ran.code, ran.out) == (1, ""), ran
    assert ran.err.startswith("error: ") and ran.err.count("\n") == 1
    assert "not verified" in ran.err and "kargo approve" in ran.err


def test_verbosity_4_redacts_the_token_it_sends(live: Live) -> None:
    secret = live.client.create_token("verbose-viewer", "viewer").token
    ran = live.cli("--v=4", "--token", secret, "get", "promotion")
    assert ran.code == 0, ran
    assert "authorization='Bearer <redacted>'" in ran.err
    assert secret not in ran.err + ran.out


def test_get_analysisrun_and_describe_analysisrun_show_the_production_verification(
    live: Live,
) -> None:
    runs = live.wait_for(
        "the production verification",
        lambda: [
            r
            for r in live.client.resources("planning-poker", AnalysisRun)
            if r.status.phase == "Successful"
        ],
    )
    listed = live.cli("get", "analysisrun")
    assert listed.code == 0, listed
    assert listed.out.splitlines()[1].split()[1:][:1] == ["production"]
    described = live.cli("describe", "analysisrun", runs[0].name)
    assert described.code == 0, described
    assert "Name:           smoke-test-success" in described.out
    assert "Condition:      result.passed == true" in described.out
    assert '{"passed": true}' in described.out


def test_promote_wait_follows_the_verification_and_exits_0_when_it_succeeds(live: Live) -> None:
    alias = live.freight_aliases()[0]  # the second freight, found by the refresh above
    to_dev = live.cli("promote", "--to", "development", "--freight-alias", alias, "--wait")
    assert to_dev.code == 0, to_dev
    ran = live.cli(
        "promote", "planning-poker", "--from", "development", "--to", "production", "--wait",
        "--timeout", "30s",
    )  # fmt: skip
    assert ran.code == 0, ran
    assert "verification smoke-test-success: Successful" in ran.out
    assert "Succeeded, verification Successful" in ran.out.splitlines()[-1]


def test_rollback_planning_poker_to_development_creates_a_rollback_promotion(live: Live) -> None:
    ran = live.cli("rollback", "planning-poker", "--to", "development")
    assert ran.code == 0, ran
    assert "created: rollback of" in ran.out


def test_webhook_config_is_listed_tested_and_its_deliveries_shown(live: Live) -> None:
    listed = live.cli("get", "webhook-config")
    assert listed.code == 0, listed
    host = live.url.rsplit(":", 1)[0]
    row = listed.out.splitlines()[1].split()
    assert row[0] == "receiver" and row[1].startswith(host) and row[2] == "*"
    tested = live.cli("test", "webhook", "receiver")
    assert tested.code == 0, tested
    assert tested.out.startswith("webhook/receiver: ok status=200 latency=")
    deliveries = live.cli("get", "webhook-deliveries", "--webhook", "receiver")
    assert deliveries.code == 0, deliveries
    assert "webhook.test" in deliveries.out
    missing = live.cli("test", "webhook", "reciever")
    assert missing.code == 1
    assert "did you mean 'receiver'?" in missing.err


def test_get_watch_prints_a_row_when_a_stage_changes(live: Live) -> None:
    env = {**os.environ, "KARGO_SERVER": live.url}
    env["KARGO_TOKEN"] = live.token
    lines: list[str] = []

    def read(stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            lines.append(line)

    with subprocess.Popen(
        [str(VENV_BIN / "kargo"), "get", "stages", "-w"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as watcher:
        assert watcher.stdout is not None
        reader = threading.Thread(target=read, args=(watcher.stdout,))
        reader.start()
        try:
            live.wait_for("the initial table", lambda: len(lines) >= 4, timeout=90)
            initial = len(lines)
            verified = live.cli("verify", "stage", "production")
            assert verified.code == 0, verified
            live.wait_for(
                "a watched change",
                lambda: any(line.startswith("production") for line in lines[initial:]),
            )
        finally:
            watcher.terminate()
            reader.join(timeout=10)
    assert lines[0].split()[:2] == ["NAME", "FREIGHT"]


def test_version_shows_the_client_and_the_server(live: Live) -> None:
    ran = live.cli("version")
    assert ran.code == 0, ran
    assert ran.out.splitlines() == [
        "kargo 0.1.0",
        f"server: 0.1.0 (api kargo.akuity.io/v1alpha1) at {live.url}",
    ]


def test_approve_accepts_a_freight_alias(live: Live) -> None:
    alias = live.freight_aliases()[0]
    ran = live.cli("approve", "--freight", alias, "--stage", "production")
    assert ran.code == 0, ran
    assert ran.out.strip().endswith(f"({alias}) approved for production")
    missing = live.cli("approve", "--freight", alias + "x", "--stage", "production")
    assert missing.code == 1
    assert f"did you mean {alias!r}?" in missing.err


def test_a_webhook_delivery_can_be_queued_again(live: Live) -> None:
    listed = live.client.webhook_deliveries("planning-poker", "receiver")
    assert listed
    ran = live.cli("redeliver", str(listed[0].id))
    assert ran.code == 0, ran
    assert ran.out.strip() == f"webhook-delivery/{listed[0].id} queued for redelivery"


def test_get_takes_several_names_and_kubectls_short_option_forms(live: Live) -> None:
    both = live.cli("get", "stage", "development", "production", "-o=name")
    assert (both.code, both.out.split()) == (0, ["stage/development", "stage/production"])
    listed = live.cli("-p=planning-poker", "get", "stages", "-o", "name")
    assert listed.code == 0 and "stage/slow" in listed.out.split(), listed
    missing = live.cli("get", "stage", "development", "prodution")
    assert missing.code == 1 and "did you mean 'production'?" in missing.err, missing


def test_names_as_get_prints_them_or_unique_prefixes_name_resources(live: Live) -> None:
    freight = live.client.resources("planning-poker", FreightView)[0]
    name, alias = freight.name, freight.alias
    for typed in (name[:7], alias, alias[:4]):
        ran = live.cli("get", "freight", typed, "-o", "name")
        assert (ran.code, ran.out.strip()) == (0, f"freight/{name}"), (typed, ran)
    assert live.cli("describe", "stage", "produ").out.startswith("Name:           production")
    several = live.cli("get", "promotion", "development.")
    assert several.code == 1 and "matches several promotions (development." in several.err


def test_get_prints_jsonpath_custom_columns_and_sorts_by_a_path(live: Live) -> None:
    aliases = live.cli("get", "freight", "-o", "jsonpath={.items[*].alias}")
    assert aliases.code == 0 and set(aliases.out.split()) == set(live.freight_aliases())
    ranged = live.cli(
        "get", "stages", "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}'
    )
    assert ranged.out.split() == ["broken", "development", "production", "slow"], ranged
    spec = "custom-columns=NAME:.metadata.name,SOURCE:.spec.requestedFreight[0].sources.stages[0]"
    columns = live.cli("get", "stages", "--sort-by=.metadata.name", "-o", spec)
    assert columns.out.splitlines()[0].split() == ["NAME", "SOURCE"]
    assert columns.out.splitlines()[3].split() == ["production", "development"], columns
    newest = live.cli("get", "promotions", "--sort-by=.metadata.creationTimestamp", "-o", "name")
    names = [p.name for p in live.client.resources("planning-poker", Promotion)]
    assert newest.out.split() == [f"promotion/{n}" for n in names], newest
    path = live.config_dir / "names.jsonpath"
    path.write_text("{.metadata.name}")
    single = live.cli("get", "stage", "production", f"-o=jsonpath-file={path}")
    assert single.out.strip() == "production"
    go = "go-template={{range .items}}{{if .spec.verification}}{{.metadata.name}} {{end}}{{end}}"
    verified = live.cli("get", "stages", "-o", go)
    assert verified.code == 0 and verified.out.split() == ["production"], verified
    (live.config_dir / "alias.tmpl").write_text("{{.alias}} {{len .commits}}")
    path = live.config_dir / "alias.tmpl"
    one = live.cli("get", "stage", "production", "-o", "go-template={{.metadata.namespace}}")
    assert one.out.strip() == "planning-poker", one
    oldest = live.freight_aliases()[-1]
    freight = live.cli("get", "freight", oldest, f"-o=go-template-file={path}")
    assert freight.out.strip() == f"{oldest} 1", freight


def test_usage_errors_exit_2_and_flags_of_other_kinds_are_refused(live: Live) -> None:
    for args, said in [
        (("get", "stage", "-o", "bogus"), "is not an output format"),
        (("get", "stage", "dev", "--webhook", "x"), "apply to `kargo get webhook-deliveries`"),
        (("get", "promotions", "--actor", "admin"), "applies to `kargo get audit`"),
        (("promote", "planning-poker", "--to", "dev", "--timeout", "soon"), "not a duration"),
    ]:  # fmt: skip
        ran = live.cli(*args)
        assert ran.code == 2, ran
        assert said in ran.err and ran.err.count("\n") == 1, ran
    template = live.cli("get", "stage", "-o", "jsonpath={end}")  # exit 1, as kubectl's
    assert template.code == 1 and "{end} without a {range" in template.err, template


def test_wait_returns_0_when_reached_and_1_when_ended_otherwise_or_timed_out(live: Live) -> None:
    promotion = live.client.resources("planning-poker", Promotion)
    done = next(p for p in promotion if p.status.phase == "Succeeded").name
    reached = live.cli("wait", "promotion", done, "--for=phase=Succeeded", "--timeout=1m30s")
    assert reached.code == 0 and "condition met" in reached.out, reached
    ended = live.cli("wait", "promotion", done, "--for", "phase=Failed")
    assert ended.code == 1 and "ended Succeeded, not Failed" in ended.err, ended
    verified = live.cli("wait", "stage", "production", "--for=phase=Successful")
    assert verified.code == 0, verified
    late = live.cli(
        "wait", "stage", "production", "--for=jsonpath={.metadata.name}=x", "--timeout=500ms"
    )
    assert late.code == 1 and "timed out waiting for stage/production" in late.err, late
    assert live.cli("wait", "stage", "production", "--for=ready").code == 2


def test_the_dashboard_takes_its_phases_and_annotations_from_the_model(live: Live) -> None:
    module = httpx.get(f"{live.url}/ui/vocabulary.js", timeout=10)
    assert module.status_code == 200 and module.headers["content-type"].startswith(
        "text/javascript"
    )
    terminal = [p.value for p in PromotionPhase if p.is_terminal()]
    assert f"export const TERMINAL_PROMOTION_PHASES = {json.dumps(terminal)};" in module.text
    assert '"rollback": "kargo.akuity.io/rollback"' in module.text
    dashboard = httpx.get(f"{live.url}/ui/dashboard.js", timeout=10).text
    assert 'from "./vocabulary.js"' in dashboard and '"Errored", "Aborted"' not in dashboard


def test_verify_and_refresh_wait_for_their_outcome(live: Live) -> None:
    verified = live.cli("verify", "stage", "production", "--wait", "--timeout", "1m")
    assert verified.code == 0, verified
    assert verified.out.splitlines()[-1].startswith("stage/production verification Successful")
    refreshed = live.cli("refresh", "warehouse", "planning-poker", "--wait")
    assert refreshed.code == 0, refreshed
    assert "warehouse/planning-poker discovered: last freight" in refreshed.out


def test_set_based_label_selectors_filter_on_the_server_and_bad_ones_exit_2(live: Live) -> None:
    every = live.client.list_resources("planning-poker", "stages", label_selector="!nothing")
    assert len(every) == 4
    assert live.client.list_resources("planning-poker", "stages", label_selector="a in (b)") == []
    refused = live.cli("get", "stages", "-l", "tier in web")
    assert refused.code == 2 and "expected key=value" in refused.err, refused


def test_logs_analysisrun_prints_each_measurement_of_a_metric(live: Live) -> None:
    run = live.client.resources("planning-poker", AnalysisRun)[0]
    ran = live.cli("logs", "analysisrun", run.name, "--metric", "smoke-test-success")
    assert ran.code == 0, ran
    assert ran.out.splitlines()[0] == "== smoke-tests/smoke-test-success: Successful"
    assert '"passed": true' in ran.out
    missing = live.cli("logs", "analysisrun", run.name, "--metric", "smoke-test")
    assert missing.code == 1 and "did you mean 'smoke-test-success'?" in missing.err, missing
    assert live.cli("logs", "promotion", "--metric", "x").code == 2


def test_login_server_makes_it_current_and_logout_forgets_the_token(
    live: Live, tmp_path: Path
) -> None:
    env: dict[str, str | None] = {
        "KARGO_CONFIG": str(tmp_path / "config.yaml"), "KARGO_SERVER": None, "KARGO_TOKEN": None,
    }  # fmt: skip
    logged = kargo("login", live.url, "--token", live.token, env=env)
    assert logged.code == 0 and logged.out.startswith(f"logged in to {live.url} as admin"), logged
    assert kargo("get", "stage", "production", "-o", "name", env=env).out == "stage/production\n"
    assert kargo("logout", env=env).out == f"logged out of {live.url}\n"
    refused = kargo("get", "stages", env=env)
    assert refused.code == 1 and "401" not in refused.out, refused


class Relay:
    """A TCP relay in front of the server whose open connections the test can cut, as a proxy
    or a restarted server drops a watch stream (the server itself keeps running)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open: list[socket.socket] = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.open += [client, server]
            self.accepted += 1
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass

    def cut(self) -> None:
        """Close every connection open now: the watch sees its stream end mid-way."""
        for sock in self.open:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.open = []

    def close(self) -> None:
        """Stop relaying."""
        self.cut()
        self.listener.close()


@contextmanager
def watching(live: Live, *args: str) -> Iterator[tuple[list[str], Relay]]:
    """`kargo ARGS` running through a Relay, with the lines it prints so far."""
    relay = Relay(live.url)
    env = {**os.environ, "KARGO_SERVER": relay.url, "KARGO_TOKEN": live.token}
    lines: list[str] = []

    def read(stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            lines.append(line.rstrip("\n"))

    with subprocess.Popen(
        [str(VENV_BIN / "kargo"), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=env,
    ) as watcher:  # fmt: skip
        assert watcher.stdout is not None
        reader = threading.Thread(target=read, args=(watcher.stdout,))
        reader.start()
        try:
            yield lines, relay
        finally:
            watcher.terminate()
            reader.join(timeout=10)
            relay.close()


def test_get_watch_reconnects_after_the_stream_drops_and_keeps_its_selectors(live: Live) -> None:
    args = ["get", "stages", "-w", "--field-selector", "metadata.name=production"]
    with watching(live, *args, "-l", "!nothing") as (lines, relay):
        live.wait_for("the initial table", lambda: len(lines) >= 2, timeout=90)
        assert lines[0].startswith("NAME") and lines[1].startswith("production"), lines
        opened = relay.accepted
        relay.cut()
        live.wait_for("the watch to reconnect", lambda: relay.accepted > opened, timeout=60)
        assert any("reconnecting" in line for line in lines), lines
        shown = len(lines)
        verified = live.cli("verify", "stage", "production")
        assert verified.code == 0, verified
        live.wait_for(
            "the change after the reconnect",
            lambda: any(line.startswith("production") for line in lines[shown:]),
        )
    # The server replays every stage as ADDED after a reconnect: the selectors keep them out.
    rows = [line for line in lines if not line.startswith(("NAME", "watch:"))]
    assert rows and all(line.startswith("production") for line in rows), lines


def test_get_pipeline_watch_draws_the_tree_again_when_something_changes(live: Live) -> None:
    with watching(live, "get", "pipeline", "-w") as (lines, relay):
        live.wait_for("the first tree", lambda: "Pipeline: planning-poker" in lines, timeout=90)
        first = lines.index("Pipeline: planning-poker")
        opened = relay.accepted
        relay.cut()
        live.wait_for("the watch to reconnect", lambda: relay.accepted > opened, timeout=60)
        verified = live.cli("verify", "stage", "production")
        assert verified.code == 0, verified
        live.wait_for("a second tree", lambda: lines.count("Pipeline: planning-poker") >= 2)
        again = lines.index("Pipeline: planning-poker", first + 1)
        tree = lines[first:again]
        redrawn = lines[again:]
    assert any("# stage production" in line for line in redrawn), redrawn
    assert tree != redrawn[: len(tree)]  # drawn again because it changed


def test_get_pipeline_draws_stages_freight_promotion_and_verification(live: Live) -> None:
    ran = live.cli("get", "pipeline")
    assert ran.code == 0, ran
    lines = ran.out.splitlines()
    assert lines[0] == "Pipeline: planning-poker"
    stages = [line.split()[2] for line in lines if "# stage " in line]
    assert stages.index("development") < stages.index("production")
    production = ran.out[ran.out.index("# stage production") :].split("# stage ")[1]
    alias = live.client.resource("planning-poker", StageView, "production").status.current_freight
    assert alias is not None and f"freight  {alias.alias} ({alias.name[:7]})" in production
    assert "verification  Successful  production." in production
    assert "promotion  production." in production or "rollback  production." in production


def on_terminal(live: Live, *args: str, **env: str) -> str:
    """What `kargo ARGS` prints when its stdout is a terminal (a pseudo-terminal here)."""
    main, secondary = pty.openpty()
    variables = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    variables.update(KARGO_SERVER=live.url, KARGO_TOKEN=live.token, **env)
    subprocess.run(
        [str(VENV_BIN / "kargo"), *args], stdout=secondary, stderr=secondary, env=variables,
        timeout=90, check=True,
    )  # fmt: skip
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_and_none_with_no_color_or_the_flag(live: Live) -> None:
    assert "\x1b[32mSucceeded" in on_terminal(live, "get", "stage", "development")
    assert "\x1b[" not in on_terminal(live, "get", "stage", "development", NO_COLOR="1")
    assert "\x1b[" not in on_terminal(live, "--no-color", "get", "stage", "development")


def test_the_client_reads_every_kind_as_its_contract_model(live: Live) -> None:
    for kind, model in RESOURCE_VIEWS.items():
        found = live.client.resources("planning-poker", model)
        assert found and all(r.kind == kind for r in found), kind
    production = live.client.resource("planning-poker", StageView, "production")
    assert production.status.current_freight is not None
    assert production.status.current_freight.alias in live.freight_aliases()
    allowed = live.client.permissions("planning-poker")  # the admin may do everything
    assert allowed.stages["production"].promote and allowed.warehouses["planning-poker"].refresh
    metrics = live.client.delivery_metrics("planning-poker", "7d")
    assert metrics.window == "7d" and {"development", "production"} <= {
        m.stage for m in metrics.stages
    }
    freight = live.freight_aliases()[0]
    explained = live.client.explain_freight("planning-poker", freight, "development")
    assert explained.alias == freight and all(r.message for r in explained.reasons)


def contract_requests(live: Live) -> list[tuple[str, str, str, Any]]:
    """(method, route template, URL, body): every route of the API, with the kinds it serves."""
    project, api = "planning-poker", "/api/v1/projects/planning-poker"
    promotion = live.client.resources(project, Promotion)[-1].name
    delivery = live.client.webhook_deliveries(project, "receiver")[0].id
    freight = live.freight_aliases()[0]
    named = {
        "projects": project, "projectconfigs": project, "warehouses": "planning-poker",
        "freight": freight, "stages": "production", "promotions": promotion,
        "analysistemplates": "smoke-tests",
        "analysisruns": live.client.resources(project, AnalysisRun)[0].name,
        "webhookconfigs": "receiver",
    }  # fmt: skip
    plural, one = (
        "/api/v1/projects/{project}/{plural}",
        "/api/v1/projects/{project}/{plural}/{name}",
    )
    found: list[tuple[str, str, str, Any]] = [
        ("GET", "/healthz", "/healthz", None),
        *[("GET", f"/api/v1/{p}", f"/api/v1/{p}", None) for p in ("version", "whoami", "leader")],
        ("GET", "/api/v1/projects", "/api/v1/projects", None),
        ("GET", "/api/v1/projects/{project}/events", f"{api}/events", None),
        ("GET", "/api/v1/projects/{project}/export", f"{api}/export", None),
        ("GET", "/api/v1/projects/{project}/promotions/{name}/logs",
         f"{api}/promotions/{promotion}/logs", None),
        *[("GET", plural, f"{api}/{kind}", None) for kind in named],
        *[("GET", one, f"{api}/{kind}/{name}", None) for kind, name in named.items()],
        ("GET", one, f"{api}/stages/production?instances=true", None),
        ("GET", one, f"{api}/stages/nowhere", None),
        ("GET", "/api/v1/projects/{project}/analysisruns/{name}/series",
         f"{api}/analysisruns/{named['analysisruns']}/series?metric=smoke-test-success", None),
        ("GET", "/api/v1/projects/{project}/webhookdeliveries", f"{api}/webhookdeliveries", None),
        *[("GET", f"/api/v1/projects/{{project}}/{p}", f"{api}/{p}{q}", None) for p, q in (
            ("explain", f"?stage=production&freight={freight}"),
            ("permissions", ""), ("metrics", ""),
        )],
        *[("GET", f"/api/v1/audit{p}", f"/api/v1/audit{p}", None) for p in ("", "/export")],
        ("GET", "/api/v1/audit/verify", "/api/v1/audit/verify", None),
        ("GET", "/api/v1/tokens", "/api/v1/tokens", None),
        ("POST", "/api/v1/tokens", "/api/v1/tokens", {"name": "contract", "role": "viewer"}),
        ("DELETE", "/api/v1/tokens/{name}", "/api/v1/tokens/contract", None),
        ("POST", "/api/v1/apply", "/api/v1/apply", (live.config_dir / "pipeline.yaml").read_text()),
        ("POST", "/api/v1/projects/{project}/promotions", f"{api}/promotions",
         {"stage": "production", "freightAlias": freight}),
        ("POST", "/api/v1/projects/{project}/promotions", f"{api}/promotions",
         {"stage": "slow", "freightAlias": freight}),
        ("POST", "/api/v1/projects/{project}/rollbacks", f"{api}/rollbacks",
         {"stage": "production", "dryRun": True}),
        ("POST", "/api/v1/projects/{project}/rollbacks", f"{api}/rollbacks",
         {"toStage": "production", "dryRun": True}),
        ("POST", "/api/v1/projects/{project}/approvals", f"{api}/approvals",
         {"freight": freight, "stage": "production"}),
        ("POST", "/api/v1/projects/{project}/stages/{name}/verify",
         f"{api}/stages/production/verify", {"abort": False}),
        ("POST", "/api/v1/projects/{project}/warehouses/{name}/refresh",
         f"{api}/warehouses/planning-poker/refresh", None),
        ("POST", "/api/v1/projects/{project}/webhookconfigs/{name}/test",
         f"{api}/webhookconfigs/receiver/test", None),
        ("POST", "/api/v1/projects/{project}/webhookdeliveries/{delivery_id}/redeliver",
         f"{api}/webhookdeliveries/{delivery}/redeliver", None),
    ]  # fmt: skip
    return found


def answer_problem(document: dict[str, Any], route: str, answer: httpx.Response) -> str:
    """What of the answer disagrees with the route's declared responses ('' when nothing)."""
    method, url = answer.request.method, answer.request.url.path
    declared = document["paths"][route][method.lower()]["responses"]
    status = str(answer.status_code)
    response = declared.get(status) or declared.get(f"{status[0]}XX")
    if response is None:
        return f"{method} {url}: {status} is not declared ({sorted(declared)})"
    kind = answer.headers["content-type"].split(";")[0]
    content = response.get("content", {})
    if kind not in content:
        return f"{method} {url}: {kind} is not declared ({sorted(content)})"
    schema = content[kind].get("schema") if kind == "application/json" else None
    if kind == "application/json" and not schema:
        return f"{method} {route} declares no response model"
    try:
        if schema:
            jsonschema.validate(answer.json(), {**schema, "components": document["components"]})
    except jsonschema.ValidationError as exc:
        return f"{method} {url} ({status}): {exc.message} at {exc.json_path}"
    return ""


def test_every_route_answers_as_its_openapi_schema_says(live: Live) -> None:
    """/openapi.json is the contract: each route's real answers validate against its schema."""
    headers = {"Authorization": f"Bearer {live.token}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as http:
        document = http.get("/openapi.json").json()
        routes = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
        answered: set[tuple[str, str]] = set()
        problems: list[str] = []
        for method, route, url, body in contract_requests(live):
            sent = {"content": body} if isinstance(body, str) else {"json": body}
            answer = http.request(method, url, **sent)
            problems.append(answer_problem(document, route, answer))
            if answer.is_success:
                answered.add((method, route))
            if answer.status_code == 201 and route.endswith("/promotions"):
                name = answer.json()["metadata"]["name"]
                route = "/api/v1/projects/{project}/promotions/{name}/abort"
                aborted = http.post(f"/api/v1/projects/planning-poker/promotions/{name}/abort")
                problems.append(answer_problem(document, route, aborted))
                answered.add(("POST", route) if aborted.is_success else ("", ""))
        watch = "/api/v1/watch"
        with http.stream("GET", watch, params={"project": "planning-poker"}) as stream:
            problems.append(answer_problem(document, watch, stream))
            answered.add(("GET", watch))
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)
    assert routes - answered == set(), "routes never answered 2xx in this test"


def test_kargo_server_refuses_a_bad_configuration_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n")
    done = subprocess.run(
        [str(VENV_BIN / "kargo"), "server", "--config", str(tmp_path), "--state-dir",
         str(tmp_path / "state"), "--port", str(free_port())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: kargo server: ") and "required field is missing" in last
