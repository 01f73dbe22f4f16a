"""A planted canary secret (webhook secret, webhook header, analysis header, database password)
appears in no output: database tables, events, server logs at --v 4, every GET route, export,
`kargo --v=4`, and webhook payloads received by a real receiver."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.pipeline.auth.conftest import API
from tests.pipeline.cli.conftest import kargo
from tests.pipeline.databases import temporary_postgres_url
from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import admin_token, api_server, make_repo, wait_until
from tests.pipeline.notify.receiver import receiving


def pipeline(repo: Path, probe: str, hooks: str) -> str:
    """One verified stage whose probe and webhook carry the canary in headers and secrets."""
    planted = f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: probe, namespace: shop}}
spec:
  args:
  - name: api-token
    valueFrom: {{secretKeyRef: {{name: canary, key: token}}}}
  metrics:
  - name: probe
    provider: webhook
    webhook:
      url: {probe}/measure
      headers: {{Authorization: "Bearer {{{{args.api-token}}}}"}}
    successCondition: result.ok == true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: WebhookConfig
metadata: {{name: receiver, namespace: shop}}
spec:
  url: {hooks}
  events: ["*"]
  secretRef: {{env: CANARY_WEBHOOK_SECRET}}
  headers:
  - name: X-Api-Key
    valueFrom: {{env: CANARY_WEBHOOK_HEADER}}
"""
    verified = stage(
        "development",
        '- {uses: shell, config: {command: "echo deployed"}}',
        namespace="shop",
        verification="analysisTemplates:\n- name: probe",
    )
    repository = git_warehouse(repo, namespace="shop", interval=None)
    return documents(project(), repository, verified, planted)


@contextmanager
def probe_endpoint() -> Iterator[tuple[str, list[str]]]:
    """An HTTP endpoint answering {"ok": true} that records the Authorization headers it got."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            seen.append(self.headers.get("authorization", ""))
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def every_get_output(client: httpx.Client, promotion: str) -> list[str]:
    """The answers of every GET route, over every kind and every object."""
    document = client.get("/openapi.json").json()
    assert "/api/v1/projects/{project}/{plural}/{name}" in document["paths"]
    outputs = [json.dumps(document)]
    fixed = [
        "/version",
        "/whoami",
        "/projects",
        "/tokens",
        "/audit",
        "/audit/export",
        "/audit/verify",
        "/projects/shop/events",
        "/projects/shop/export",
        f"/projects/shop/promotions/{promotion}/logs",
        "/projects/shop/webhookdeliveries",
    ]
    for path in fixed:
        answer = client.get(f"{API}{path}")
        assert answer.status_code == 200, (path, answer.text)
        outputs.append(answer.text)
    for plural in (
        "projectconfigs",
        "warehouses",
        "freight",
        "stages",
        "promotions",
        "analysistemplates",
        "analysisruns",
        "webhookconfigs",
        "events",
    ):
        listed = client.get(f"{API}/projects/shop/{plural}")
        outputs.append(listed.text)
        for item in listed.json()["items"]:
            name = item.get("metadata", {}).get("name")
            if name and plural != "events":
                outputs.append(client.get(f"{API}/projects/shop/{plural}/{name}").text)
    with client.stream("GET", f"{API}/watch", params={"project": "shop", "kind": "stages"}) as w:
        outputs.append(next(w.iter_text()))
    return outputs


def database_dump(url: str) -> str:
    """Every row of every table."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            assert {"resources", "events", "audit", "api_tokens"} <= set(tables)
            rows = [
                repr(row)
                for table in tables
                for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')).all()
            ]
    finally:
        engine.dispose()
    return "\n".join(rows)


@pytest.mark.postgres
def test_a_canary_secret_appears_in_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = f"canary{uuid.uuid4().hex}"
    signing_key = base64.b64encode(f"{canary}-signing".encode()).decode()
    webhook_secret = f"whsec_{signing_key}"
    needles = [canary, signing_key]
    env = {
        "CANARY_WEBHOOK_SECRET": webhook_secret,
        "CANARY_WEBHOOK_HEADER": f"{canary}-header",
        "KARGO_SECRET_CANARY_TOKEN": f"{canary}-analysis",
    }
    repo = make_repo(tmp_path / "repo")
    state = tmp_path / "state"
    with (
        temporary_postgres_url("auth_canary") as plain_url,
        probe_endpoint() as (probe, probe_seen),
        receiving(webhook_secret) as receiver,
    ):
        url = sa.make_url(plain_url).set(password=f"{canary}-db").render_as_string(False)
        config = tmp_path / "kargo"
        config.mkdir()
        (config / "pipeline.yaml").write_text(pipeline(repo, probe, receiver.url))
        with api_server(state, config, url, extra=["--v", "4"], env=env) as (base, _):
            headers = {"Authorization": f"Bearer {admin_token(state)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=20) as client:
                freight = wait_until(
                    lambda: client.get(f"{API}/projects/shop/freight").json()["items"],
                    what="freight",
                )[0]["metadata"]["name"]
                created = client.post(
                    f"{API}/projects/shop/promotions",
                    json={"stage": "development", "freight": freight},
                )
                assert created.status_code == 201, created.text
                promotion = created.json()["metadata"]["name"]
                wait_until(
                    lambda: any(
                        r["status"].get("phase") == "Successful"
                        for r in client.get(f"{API}/projects/shop/analysisruns").json()["items"]
                    ),
                    timeout=40,
                    what="the verification to succeed",
                )
                tested = client.post(f"{API}/projects/shop/webhookconfigs/receiver/test")
                assert tested.json()["ok"] is True, tested.text
                receiver.wait_for(3)
                outputs = every_get_output(client, promotion)
            monkeypatch.setenv("KARGO_CONFIG", str(tmp_path / "cli.yaml"))
            monkeypatch.setenv("KARGO_SERVER", base)
            monkeypatch.setenv("KARGO_TOKEN", admin_token(state))
            for args in (
                ("export", "promotion", "shop"),
                ("get", "webhookconfigs", "-p", "shop", "-o", "yaml"),
                ("get", "analysisruns", "-p", "shop", "-o", "json"),
                ("get", "analysistemplate", "probe", "-p", "shop", "-o", "yaml"),
                ("describe", "stage", "development", "-p", "shop"),
                ("get", "events", "-p", "shop", "-o", "json"),
                ("get", "webhook-deliveries", "-p", "shop", "-o", "json"),
                ("get", "audit", "-o", "json"),
            ):
                ran = kargo("--v=4", *args)
                assert ran.code == 0, (args, ran)
                outputs += [ran.out, ran.err]
        outputs.append(database_dump(plain_url))
    server_log = (state / "server.log").read_text()
    outputs.append(server_log)
    outputs += [r.body for r in receiver.all()]
    # The planted secrets were really used: the receiver and the probe got them.
    assert {r.headers.get("x-api-key") for r in receiver.all()} == {f"{canary}-header"}
    assert all(r.verified for r in receiver.all())
    assert f"Bearer {canary}-analysis" in probe_seen
    assert "DEBUG kargo.api.security GET /api/v1/projects/shop/export by admin" in server_log
    leaks = [
        (needle, text[max(0, text.find(needle) - 80) : text.find(needle) + 80])
        for text in outputs
        for needle in needles
        if needle in text
    ]
    assert not leaks, leaks
