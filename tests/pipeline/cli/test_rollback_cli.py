"""kargo rollback (--to, --stage, --dry-run, --wait), the hold it leaves, soak time and approval."""

from __future__ import annotations

import re
import time
from pathlib import Path

from kargo.api.contract import FreightView, StageView
from kargo.client import KargoClient
from kargo.model.promotion import Promotion

from tests.pipeline.cli.conftest import NOW, Ran, kargo
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

            def freight() -> list[FreightView]:
                items = client.resources("shop", FreightView)
                return sorted(items, key=lambda f: f.metadata.creation_timestamp or NOW)

            def running(stage: str) -> str | None:
                current = client.resource("shop", StageView, stage).status.current_freight
                return current.name if current else None

            first = wait_until(freight, what="first freight")[0]
            first_alias = first.alias
            ran = cli("promote", "--freight-alias", first_alias, "--stage", "dev", "--wait")
            assert ran.code == 0, ran
            soaking = wait_until(
                lambda: freight()[0].status.soak_remaining_seconds, what="soak field"
            )
            assert 3500 < soaking["prod"] <= 3600
            table = cli("get", "freight")
            assert "SOAK" in table.out and re.search(r"prod: (1h|59m\d+s)", table.out), table
            refused = cli("promote", "--freight-alias", first_alias, "--stage", "prod")
            assert refused.code != 0
            assert "remaining of the required soak time 1h" in refused.err + refused.out
            ran = cli("approve", "--freight", first_alias, "--stage", "prod")
            assert ran.code == 0, ran
            wait_until(lambda: running("prod") == first.name, what="prod 1")

            commit(repo, "app/main.py", "print('v2')\n", "second")
            assert cli("refresh", "warehouse", "app").code == 0
            second = wait_until(lambda: freight()[1:], what="second freight")[0]
            second_alias = second.alias
            assert (
                cli("promote", "--freight-alias", second_alias, "--stage", "dev", "--wait").code
                == 0
            )
            assert cli("approve", "--freight", second_alias, "--stage", "prod").code == 0
            wait_until(lambda: running("prod") == second.name, what="prod 2")

            dry = cli("rollback", "shop", "--to", "dev", "--dry-run")
            assert dry.code == 0, dry
            assert "would roll back stage/prod" in dry.out and first_alias in dry.out
            assert running("prod") == second.name  # nothing changed

            never = cli("rollback", "--stage", "prod", "--freight-alias", "no-such-freight")
            assert never.code != 0

            ran = cli("rollback", "shop", "--to", "dev", "--reason", "smoke test", "--wait")
            assert ran.code == 0, ran
            assert running("prod") == first.name
            stages = cli("get", "stages")
            assert "HOLD" in stages.out and second_alias in stages.out, stages
            time.sleep(1.5)  # auto-promotion passes: the approved bad freight stays out
            assert running("prod") == first.name
            rollback = [p for p in client.resources("shop", Promotion) if p.is_rollback]
            assert rollback[0].metadata.annotations["kargo.akuity.io/rollback"] == "smoke test"
            assert rollback[0].phase == "Succeeded"
