"""kargo rollback (--to, --stage, --dry-run, --wait), the hold it leaves, soak time and approval."""

from __future__ import annotations

import re
import time
from pathlib import Path

from kargo.client import KargoClient

from tests.pipeline.cli.conftest import Ran, kargo
from tests.pipeline.engine.test_rollback import pipeline
from tests.pipeline.harness import admin_token, api_server, commit, make_repo, wait_until


def test_rollback_to_upstream_holds_the_freight_and_soak_time_is_shown_and_enforced(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    config = tmp_path / "config"
    config.mkdir()
    (config / "pipeline.yaml").write_text(pipeline(repo, soak="1h"))
    state = tmp_path / "state"
    with api_server(state, config) as (url, _):
        env: dict[str, str | None] = {"KARGO_SERVER": url, "KARGO_TOKEN": admin_token(state)}

        def cli(*args: str) -> Ran:
            return kargo(*args, "--project", "shop", env=env)

        with KargoClient(url, admin_token(state)) as client:

            def freight() -> list[dict[str, object]]:
                items = client.list_resources("shop", "freight")
                return sorted(items, key=lambda f: str(f["metadata"]["creationTimestamp"]))

            def running(stage: str) -> object:
                body = client.get_resource("shop", "stages", stage)
                history = body.get("status", {}).get("freightHistory") or [{}]
                return history[0].get("name")

            first = wait_until(freight, what="first freight")[0]
            first_alias = str(first["alias"])
            ran = cli("promote", "--freight-alias", first_alias, "--stage", "dev", "--wait")
            assert ran.code == 0, ran
            soaking = wait_until(
                lambda: freight()[0]["status"].get("soakRemainingSeconds"), what="soak field"
            )
            assert 3500 < soaking["prod"] <= 3600
            table = cli("get", "freight")
            assert "SOAK" in table.out and re.search(r"prod: (1h|59m\d+s)", table.out), table
            refused = cli("promote", "--freight-alias", first_alias, "--stage", "prod")
            assert refused.code != 0
            assert "remaining of the required soak time 1h" in refused.err + refused.out
            ran = cli("approve", "--freight", first_alias, "--stage", "prod")
            assert ran.code == 0, ran
            wait_until(lambda: running("prod") == first["metadata"]["name"], what="prod 1")

            commit(repo, "app/main.py", "print('v2')\n", "second")
            assert cli("refresh", "warehouse", "app").code == 0
            second = wait_until(lambda: freight()[1:], what="second freight")[0]
            second_alias = str(second["alias"])
            assert (
                cli("promote", "--freight-alias", second_alias, "--stage", "dev", "--wait").code
                == 0
            )
            assert cli("approve", "--freight", second_alias, "--stage", "prod").code == 0
            wait_until(lambda: running("prod") == second["metadata"]["name"], what="prod 2")

            dry = cli("rollback", "shop", "--to", "dev", "--dry-run")
            assert dry.code == 0, dry
            assert "would roll back stage/prod" in dry.out and first_alias in dry.out
            assert running("prod") == second["metadata"]["name"]  # nothing changed

            never = cli("rollback", "--stage", "prod", "--freight-alias", "no-such-freight")
            assert never.code != 0

            ran = cli("rollback", "shop", "--to", "dev", "--reason", "smoke test", "--wait")
            assert ran.code == 0, ran
            assert running("prod") == first["metadata"]["name"]
            stages = cli("get", "stages")
            assert "HOLD" in stages.out and second_alias in stages.out, stages
            time.sleep(1.5)  # auto-promotion passes: the approved bad freight stays out
            assert running("prod") == first["metadata"]["name"]
            promotions = client.list_resources("shop", "promotions")
            rollback = [
                p for p in promotions if "kargo.akuity.io/rollback" in p["metadata"]["annotations"]
            ]
            assert (
                rollback[0]["metadata"]["annotations"]["kargo.akuity.io/rollback"] == "smoke test"
            )
            assert rollback[0]["status"]["phase"] == "Succeeded"
