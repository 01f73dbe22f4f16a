"""`kargo explain freight F --stage S` and the API route give the engine's one answer; the
permissions route tells the dashboard what the caller may do."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.pipeline.cli.conftest import kargo
from tests.pipeline.engine.fanout import fan_out_server
from tests.pipeline.harness import wait_until

API = "/api/v1"


def test_explain_freight_prints_every_reason_and_the_api_gives_the_same(tmp_path: Path) -> None:
    with fan_out_server(tmp_path) as served:
        base, headers, freight = served.base, served.headers, served.freight
        alias = freight["alias"]
        env: dict[str, str | None] = {
            "KARGO_SERVER": base,
            "KARGO_TOKEN": served.token,
        }
        ran = kargo("explain", "freight", alias, "--stage", "staging", "-p", "shop", env=env)
        assert ran.code == 0, ran
        assert ran.out.splitlines() == [
            f"freight {alias} cannot be promoted to staging now",
            f"  NotVerifiedUpstream: {alias} is not verified in dev (upstream of staging)",
            f"  NeedsApproval: {alias} is not approved for staging; "
            f"`kargo approve --freight {alias} --stage staging` lets it in",
            "  Held: auto-promotion into staging is held: paused by hand "
            "(does not stop a promotion by hand)",
            "  AutoPromotionOff: auto-promotion is off for staging; promote it by hand "
            "(does not stop a promotion by hand)",
        ]
        answer = httpx.get(
            f"{base}{API}/projects/shop/explain",
            params={"freight": alias, "stage": "staging"},
            headers=headers,
        ).json()
        assert [r["reason"] for r in answer["reasons"]] == [
            "NotVerifiedUpstream", "NeedsApproval", "Held", "AutoPromotionOff",
        ]  # fmt: skip
        missing = kargo("explain", "freight", "nope", "--stage", "qa", "-p", "shop", env=env)
        assert missing.code == 1 and "freight 'nope' not found" in missing.err

        promoted = httpx.post(
            f"{base}{API}/projects/shop/promotions",
            json={"stage": "dev", "freight": freight["metadata"]["name"]},
            headers=headers,
        )
        assert promoted.status_code == 201, promoted.text
        wait_until(
            lambda: (
                "Succeeded"
                in str(httpx.get(f"{base}{API}/projects/shop/stages/dev", headers=headers).json())
            ),
            what="the dev promotion",
        )
        figures = kargo("get", "metrics", "-p", "shop", "--since", "7d", "-o", "json", env=env)
        assert figures.code == 0, figures
        dev = next(m for m in json.loads(figures.out)["stages"] if m["stage"] == "dev")
        assert dev["deployments"] == 1 and dev["changeFailureRate"] == 0.0
        assert dev["leadTimeSeconds"] > 0
        table = kargo("get", "metrics", "-p", "shop", env=env)
        assert table.out.splitlines()[0].split() == [
            "STAGE", "DEPLOYS", "PER", "DAY", "LEAD", "TIME", "CHANGE", "FAILURE", "TIME", "TO",
            "RESTORE",
        ]  # fmt: skip
        assert "0% (0/1)" in table.out
        viewer = httpx.post(
            f"{base}{API}/tokens", json={"name": "v", "role": "viewer"}, headers=headers
        ).json()["token"]
        seen = httpx.get(
            f"{base}{API}/projects/shop/permissions", headers={"Authorization": f"Bearer {viewer}"}
        ).json()
        mine = httpx.get(f"{base}{API}/projects/shop/permissions", headers=headers).json()
    assert seen["stages"]["prod"] == dict.fromkeys(
        ("promote", "approve", "verify", "rollback", "abort"), False
    )
    assert seen["warehouses"]["app"] == {"refresh": False}
    assert all(all(verbs.values()) for verbs in mine["stages"].values())
