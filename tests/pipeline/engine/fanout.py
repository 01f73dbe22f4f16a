"""A four-stage fan-out pipeline built so that each "why not promoted?" reason shows somewhere.

dev takes freight straight from the warehouse; qa, staging and prod each take it from dev:
qa has no promotion policy and a failing step, staging's policy has auto-promotion off, a hold
set by hand and a slow step, prod soaks for an hour and is auto-promoted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import admin_headers, api_server, make_repo, wait_until


@dataclass
class FanOut:
    """A running server with the fan-out pipeline and its first freight."""

    base: str
    headers: dict[str, str]
    freight: dict[str, object]
    repo: Path

    @property
    def token(self) -> str:
        """The admin token."""
        return self.headers["Authorization"][len("Bearer ") :]


@contextmanager
def fan_out_server(folder: Path) -> Iterator[FanOut]:
    """`kargo server` on the fan-out pipeline (a fresh repository in `folder`), with freight."""
    repo = make_repo(folder / "repo")
    config = folder / "kargo"
    config.mkdir()
    (config / "pipeline.yaml").write_text(fan_out_pipeline(repo))
    state = folder / "state"
    with api_server(state, config) as (base, _):
        headers = admin_headers(state)
        found = wait_until(
            lambda: httpx.get(f"{base}/api/v1/projects/shop/freight", headers=headers).json()[
                "items"
            ],
            what="freight",
        )[0]
        yield FanOut(base, headers, found, repo)


def fan_out_pipeline(repo: Path) -> str:
    """The configuration text."""
    policies = """\
- stage: staging
  autoPromotionEnabled: false
- stage: prod
  autoPromotionEnabled: true
"""
    return documents(
        project(policies=policies),
        git_warehouse(repo),
        stage("dev"),
        stage(
            "qa",
            '- {uses: shell, config: {command: "echo broken; exit 3"}}',
            sources="{stages: [dev]}",
        ),
        stage(
            "staging",
            '- {uses: shell, config: {command: "echo starting; sleep 5; echo finished"}}',
            sources="{stages: [dev]}",
            annotations='{kargo.akuity.io/auto-promotion-hold: "paused by hand"}',
        ),
        stage("prod", sources="{stages: [dev], requiredSoakTime: 1h}"),
    )
