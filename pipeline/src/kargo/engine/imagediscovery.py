"""Discover image revisions for a Warehouse `image` subscription, as Kargo selects them.

SemVer: tags that are semantic versions meeting `constraint`, highest first. Lexical: tags in
reverse lexical order. NewestBuild: tags by their image's build time, newest first. Digest: the
one tag named by `constraint`, at its current digest. `allowTags`/`allowTagsRegexes` keep,
`ignoreTags`/`ignoreTagsRegexes` drop tags before selection; `platform` (`os/arch[/variant]`)
picks that image from a multi-platform index and drops tags without one.
"""

from __future__ import annotations

import re
from datetime import datetime

from kargo.engine.gitdiscovery import DiscoveryError
from kargo.engine.oci import INDEX_TYPES, ImageRepository, Manifest, RegistryClient, RegistryError
from kargo.engine.versions import ConstraintError, constraint_check, parse_version
from kargo.model.warehouse import (
    DiscoveredImageReference,
    ImageDiscoveryResult,
    ImageSelectionStrategy,
    ImageSubscription,
)
from kargo.steps.repocreds import RegistryCredentials

NEWEST_BUILD_SCAN_LIMIT = 200  # tags whose build time is read, newest names first


def _compiled(patterns: list[str], field: str) -> list[re.Pattern[str]]:
    try:
        return [re.compile(p) for p in patterns]
    except re.error as exc:
        raise DiscoveryError(f"{field}: not a regular expression: {exc}") from exc


def filter_tags(sub: ImageSubscription, tags: list[str]) -> list[str]:
    """The tags allowed and not ignored."""
    allow = _compiled([sub.allow_tags] if sub.allow_tags else [], "allowTags")
    allow += _compiled(sub.allow_tags_regexes, "allowTagsRegexes")
    ignore = _compiled(sub.ignore_tags_regexes, "ignoreTagsRegexes")
    kept = []
    for tag in tags:
        if tag in sub.ignore_tags or any(p.search(tag) for p in ignore):
            continue
        if allow and not any(p.search(tag) for p in allow):
            continue
        kept.append(tag)
    return kept


def _platform_of(client: RegistryClient, manifest: Manifest) -> str:
    config = manifest.body.get("config") or {}
    if not config.get("digest"):
        return ""
    blob = client.blob_json(str(config["digest"]))
    parts = [str(blob.get("os", "")), str(blob.get("architecture", ""))]
    if blob.get("variant"):
        parts.append(str(blob["variant"]))
    return "/".join(parts)


def _for_platform(
    client: RegistryClient, manifest: Manifest, platform: str | None
) -> Manifest | None:
    """The manifest for the platform (from an index), or None when the image has none."""
    if manifest.media_type in INDEX_TYPES or "manifests" in manifest.body:
        if not platform:
            return manifest
        for entry in manifest.body.get("manifests") or []:
            wanted = entry.get("platform") or {}
            parts = [str(wanted.get("os", "")), str(wanted.get("architecture", ""))]
            if wanted.get("variant"):
                parts.append(str(wanted["variant"]))
            if "/".join(parts) == platform or "/".join(parts[:2]) == platform:
                return client.manifest(str(entry["digest"]))
        return None
    if platform and _platform_of(client, manifest) not in (platform, ""):
        return None
    return manifest


def _reference(
    client: RegistryClient, tag: str, platform: str | None, with_time: bool
) -> DiscoveredImageReference | None:
    top = client.manifest(tag)
    chosen = _for_platform(client, top, platform)
    if chosen is None:
        return None
    created: datetime | None = None
    if with_time:
        created = client.created(chosen)
    return DiscoveredImageReference(tag=tag, digest=chosen.digest, created_at=created)


def _semver_order(sub: ImageSubscription, tags: list[str]) -> list[str]:
    try:
        check = constraint_check(sub.version_constraint())
    except ConstraintError as exc:
        raise DiscoveryError(f"constraint: {exc}") from exc
    versioned = [(v, t) for t in tags if (v := parse_version(t, sub.strict_semvers)) is not None]
    versioned = [(v, t) for v, t in versioned if check(v)]
    return [t for _, t in sorted(versioned, key=lambda p: p[0], reverse=True)]


def discover_images(
    sub: ImageSubscription, credentials: RegistryCredentials | None = None
) -> ImageDiscoveryResult:
    """The subscription's image revisions, best first, at most `discoveryLimit`."""
    repository = ImageRepository.parse(sub.repo_url)
    strategy = sub.image_selection_strategy
    references: list[DiscoveredImageReference] = []
    try:
        with RegistryClient(repository, credentials, sub.insecure_skip_tls_verify) as client:
            if strategy is ImageSelectionStrategy.DIGEST:
                found = _reference(client, str(sub.constraint), sub.platform, True)
                references = [found] if found else []
            else:
                tags = filter_tags(sub, client.tags())
                if strategy is ImageSelectionStrategy.SEMVER:
                    tags = _semver_order(sub, tags)
                else:
                    tags = sorted(tags, reverse=True)
                if strategy is ImageSelectionStrategy.NEWEST_BUILD:
                    timed = [
                        r
                        for t in tags[:NEWEST_BUILD_SCAN_LIMIT]
                        if (r := _reference(client, t, sub.platform, True)) is not None
                    ]
                    oldest = datetime.min.replace(tzinfo=None)
                    references = sorted(
                        timed,
                        key=lambda r: r.created_at.replace(tzinfo=None) if r.created_at else oldest,
                        reverse=True,
                    )[: sub.discovery_limit]
                else:
                    for tag in tags:
                        found = _reference(client, tag, sub.platform, False)
                        if found is not None:
                            references.append(found)
                        if len(references) >= sub.discovery_limit:
                            break
    except RegistryError as exc:
        raise DiscoveryError(f"image {sub.repo_url}: {exc}") from exc
    return ImageDiscoveryResult(
        repoURL=sub.repo_url, platform=sub.platform or "", references=references
    )
