"""One access-controlled server for the route tests: admin, viewer and promoter tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from kargo.auth.policy import DEFAULT_POLICY

from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import admin_token, api_server, make_repo, wait_until

API = "/api/v1"


def pipeline(repo: Path) -> str:
    """Project shop: development, then production, each with one shell step."""
    return documents(
        project(),
        git_warehouse(repo, namespace="shop", interval=None),
        stage(
            "development",
            '- {uses: shell, config: {command: "sleep 0.2; echo deployed"}}',
            namespace="shop",
        ),
        stage(
            "production",
            '- {uses: shell, config: {command: "echo deployed"}}',
            sources="{stages: [development]}",
            namespace="shop",
        ),
    )


# The shipped roles, with the promoter group bound to development only.
RBAC = DEFAULT_POLICY.replace(
    "  groups: [promoter]\n", "  groups: [promoter]\n  stages: [development]\n", 1
)
assert "stages: [development]" in RBAC, "the built-in policy no longer binds the promoter group"


@dataclass
class Served:
    """A running server and a token per role."""

    base: str
    state_dir: Path
    tokens: dict[str, str]
    freight: str

    def client(self, role: str | None) -> httpx.Client:
        """An HTTP client sending the role's token (no token for None)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=15)


@contextmanager
def serving(
    root: Path, pipeline: Callable[[Path], str], rbac: str, tokens: dict[str, tuple[str, str]]
) -> Iterator[Served]:
    """A server of `pipeline` (of a fresh repo) under `rbac`, with tokens made by its admin:
    key → (token name, role); the admin's own token is under `admin`."""
    repo = make_repo(root / "repo")
    config = root / "kargo"
    config.mkdir()
    (config / "pipeline.yaml").write_text(pipeline(repo))
    (config / "rbac.yaml").write_text(rbac)
    state = root / "state"
    with api_server(state, config) as (base, _):
        made = {"admin": admin_token(state)}
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {made['admin']}"}
        ) as http:
            for key, (name, role) in tokens.items():
                created = http.post(f"{API}/tokens", json={"name": name, "role": role})
                assert created.status_code == 201, created.text
                made[key] = created.json()["token"]
            freight = wait_until(
                lambda: http.get(f"{API}/projects/shop/freight").json()["items"], what="freight"
            )[0]["metadata"]["name"]
        yield Served(base, state, made, freight)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tokens = {role: (f"a-{role}", role) for role in ("viewer", "promoter")}
    with serving(tmp_path_factory.mktemp("auth"), pipeline, RBAC, tokens) as running:
        yield running
