"""Image subscriptions against a real registry (docker-registry on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kargo.engine.gitdiscovery import DiscoveryError
from kargo.engine.imagediscovery import discover_images
from kargo.engine.versions import constraint_check, parse_version
from kargo.model.warehouse import ImageSubscription
from kargo.steps.repocreds import RegistryCredentials

from tests.pipeline.registry import PASSWORD, USER, Registry, registry
from tests.services import free_port


@pytest.fixture(scope="module")
def anonymous(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with registry(tmp_path_factory.mktemp("registry")) as running:
        for tag, created in [
            ("1.0.0", "2026-01-01T00:00:00Z"),
            ("1.2.0", "2026-01-03T00:00:00Z"),
            ("1.10.0", "2026-01-02T00:00:00Z"),
            ("2.0.0-rc.1", "2026-01-05T00:00:00Z"),
            ("v2.1.0", "2026-01-04T00:00:00Z"),
            ("latest", "2026-01-06T00:00:00Z"),
            ("nightly-b", "2026-01-07T00:00:00Z"),
        ]:
            running.push_image("team/app", tag, created)
        yield running


def sub(reg: Registry, **fields: object) -> ImageSubscription:
    return ImageSubscription.model_validate({"repoURL": f"{reg.host}/team/app", **fields})


def tags(reg: Registry, **fields: object) -> list[str]:
    return [r.tag for r in discover_images(sub(reg, **fields)).references]


def test_semver_orders_versions_highest_first_within_the_constraint(anonymous: Registry) -> None:
    assert tags(anonymous) == ["v2.1.0", "1.10.0", "1.2.0", "1.0.0"]
    assert tags(anonymous, constraint="^1.0.0") == ["1.10.0", "1.2.0", "1.0.0"]
    assert tags(anonymous, constraint=">=2.0.0-rc.0") == ["v2.1.0", "2.0.0-rc.1"]
    assert tags(anonymous, discoveryLimit=2) == ["v2.1.0", "1.10.0"]


def test_lexical_newest_build_and_tag_filters(anonymous: Registry) -> None:
    assert tags(anonymous, imageSelectionStrategy="Lexical", allowTags="^nightly|^latest$") == [
        "nightly-b",
        "latest",
    ]
    assert tags(anonymous, imageSelectionStrategy="NewestBuild", discoveryLimit=3) == [
        "nightly-b",
        "latest",
        "2.0.0-rc.1",
    ]
    assert tags(
        anonymous, imageSelectionStrategy="Lexical", ignoreTags=["v2.1.0", "nightly-b", "latest"]
    ) == ["2.0.0-rc.1", "1.2.0", "1.10.0", "1.0.0"]
    found = discover_images(sub(anonymous, imageSelectionStrategy="NewestBuild", discoveryLimit=1))
    assert found.references[0].created_at is not None
    assert found.references[0].created_at.isoformat().startswith("2026-01-07")


def test_digest_follows_a_mutable_tag(anonymous: Registry) -> None:
    first = discover_images(sub(anonymous, imageSelectionStrategy="Digest", constraint="latest"))
    moved = anonymous.push_image("team/app", "latest", "2026-02-01T00:00:00Z")
    second = discover_images(sub(anonymous, imageSelectionStrategy="Digest", constraint="latest"))
    assert [r.tag for r in second.references] == ["latest"]
    assert second.references[0].digest == moved != first.references[0].digest
    with pytest.raises(ValueError, match="Digest needs constraint"):
        sub(anonymous, imageSelectionStrategy="Digest")


def test_platform_picks_the_manifest_from_an_index(anonymous: Registry) -> None:
    index, digests = anonymous.push_index("team/multi", "3.0.0", ["linux/amd64", "linux/arm64"])
    multi = {"repoURL": f"{anonymous.host}/team/multi"}
    arm = discover_images(ImageSubscription.model_validate({**multi, "platform": "linux/arm64"}))
    assert [(r.tag, r.digest) for r in arm.references] == [("3.0.0", digests["linux/arm64"])]
    anyone = discover_images(ImageSubscription.model_validate(multi))
    assert anyone.references[0].digest == index
    none = discover_images(ImageSubscription.model_validate({**multi, "platform": "windows/amd64"}))
    assert none.references == []
    only_amd = discover_images(sub(anonymous, platform="linux/arm64", constraint="^1.0.0"))
    assert only_amd.references == []  # every team/app image is linux/amd64


def test_a_registry_that_is_down_fails_discovery_naming_it() -> None:
    port = free_port()
    down = ImageSubscription.model_validate({"repoURL": f"127.0.0.1:{port}/team/app"})
    with pytest.raises(DiscoveryError, match=f"127.0.0.1:{port} is unreachable"):
        discover_images(down)


def test_token_auth_with_and_without_the_right_credentials(tmp_path: Path) -> None:
    with registry(tmp_path / "secured", token_auth=True) as secured:
        digest = secured.push_image("team/private", "1.0.0")
        private = ImageSubscription.model_validate({"repoURL": f"{secured.host}/team/private"})
        found = discover_images(private, RegistryCredentials(USER, PASSWORD))
        assert [(r.tag, r.digest) for r in found.references] == [("1.0.0", digest)]
        with pytest.raises(DiscoveryError, match="refused the credentials") as refused:
            discover_images(private, RegistryCredentials(USER, "wrong-password"))
        assert "wrong-password" not in str(refused.value)
        with pytest.raises(DiscoveryError, match="refused"):
            discover_images(private)


def test_constraints_read_as_masterminds_semver_does() -> None:
    def ok(constraint: str, version: str) -> bool:
        parsed = parse_version(version, strict=False)
        assert parsed is not None
        return constraint_check(constraint)(parsed)

    assert ok("~1.2", "1.2.9") and not ok("~1.2", "1.3.0")
    assert ok("^0.2.3", "0.2.9") and not ok("^0.2.3", "0.3.0")
    assert ok("1.x", "1.9.0") and not ok("1.x", "2.0.0")
    assert ok("1.2 - 1.4", "1.4.7") and not ok("1.2 - 1.4", "1.5.0")
    assert ok(">=1.0, <2 || >=3", "3.1.0") and not ok(">=1.0, <2 || >=3", "2.5.0")
    assert not ok(">=1.0.0", "1.1.0-rc.1") and ok(">=1.1.0-rc.0", "1.1.0-rc.1")
    assert parse_version("1.2", strict=True) is None and parse_version("v1.2.3", strict=True)
