"""Discover commits with the git command line, in a local path or a mirror of a URL."""

from __future__ import annotations

import hashlib
import re
import subprocess
from datetime import datetime
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from kargo.engine.criteria import CriteriaError, filter_commits
from kargo.model.warehouse import CommitSelectionStrategy, DiscoveredCommit, GitSubscription

SEP = "\x1f"
FILTERED_LOOKBACK = 500
"""How many commits or tags are read when an expressionFilter may drop some of them."""


class DiscoveryError(Exception):
    """Discovery failed (repository unreachable, unknown branch); retried on the next interval."""


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiscoveryError(f"git {args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise DiscoveryError(f"git {' '.join(args[:2])}: {done.stderr.strip() or done.stdout}")
    return done.stdout


def repository(sub: GitSubscription, cache_dir: Path) -> Path:
    """A local repository holding the subscription's refs (the path itself, or a fresh mirror)."""
    local = Path(sub.repo_url.removeprefix("file://")).expanduser()
    if local.is_dir():
        return local
    mirror = cache_dir / hashlib.sha1(sub.repo_url.encode(), usedforsecurity=False).hexdigest()
    if (mirror / "HEAD").exists():
        _git(mirror, "fetch", "--prune", "--tags", "origin", "+refs/heads/*:refs/heads/*")
    else:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _git(cache_dir, "clone", "--mirror", "--quiet", sub.repo_url, str(mirror))
    return mirror


def _pathspecs(sub: GitSubscription) -> list[str]:
    specs = list(sub.include_paths)
    specs += [f":(exclude){p}" for p in sub.exclude_paths]
    if sub.exclude_paths and not sub.include_paths:
        specs.insert(0, ".")
    return ["--", *specs] if specs else []


def _log(repo: Path, ref: str, limit: int, sub: GitSubscription) -> list[DiscoveredCommit]:
    fmt = SEP.join(["%H", "%an <%ae>", "%cI", "%s"])
    out = _git(repo, "log", f"--format={fmt}", f"-n{limit}", ref, *_pathspecs(sub))
    commits = []
    for line in out.splitlines():
        sha, author, date, subject = (line.split(SEP) + ["", "", ""])[:4]
        commits.append(
            DiscoveredCommit(
                id=sha,
                branch=sub.branch,
                subject=subject,
                author=author,
                creator_date=datetime.fromisoformat(date) if date else None,
            )
        )
    return commits


def _tags(repo: Path) -> list[tuple[str, str, str, str]]:
    fmt = SEP.join(
        ["%(refname:short)", "%(objectname)", "%(*objectname)", "%(creatordate:iso-strict)"]
    )
    out = _git(repo, "for-each-ref", "--sort=-creatordate", f"--format={fmt}", "refs/tags")
    rows = []
    for line in out.splitlines():
        name, obj, peeled, date = (line.split(SEP) + ["", "", ""])[:4]
        rows.append((name, peeled or obj, date, ""))
    return rows


def _semver(tag: str) -> Version | None:
    try:
        return Version(tag)
    except InvalidVersion:
        return None


def discover_commits(sub: GitSubscription, cache_dir: Path) -> list[DiscoveredCommit]:
    """Commits to offer as freight, newest (or highest) first, at most `discoveryLimit`."""
    try:
        commits = _discover(sub, cache_dir)
        return filter_commits(sub, commits)[: sub.discovery_limit]
    except CriteriaError as exc:
        raise DiscoveryError(str(exc)) from exc


def _discover(sub: GitSubscription, cache_dir: Path) -> list[DiscoveredCommit]:
    repo = repository(sub, cache_dir)
    strategy = sub.commit_selection_strategy
    # An expressionFilter is applied before the limit, so look further back for it.
    limit = sub.discovery_limit if not sub.expression_filter else FILTERED_LOOKBACK
    if strategy is CommitSelectionStrategy.NEWEST_FROM_BRANCH:
        return _log(repo, f"refs/heads/{sub.branch}", limit, sub)
    tags = [t for t in _tags(repo) if t[0] not in sub.ignore_tags]
    if sub.allow_tags:
        allowed = re.compile(sub.allow_tags)
        tags = [t for t in tags if allowed.search(t[0])]
    if strategy is CommitSelectionStrategy.SEMVER:
        try:
            spec = SpecifierSet(sub.semver_constraint or "")
        except InvalidSpecifier as exc:
            raise DiscoveryError(f"semverConstraint: {exc}") from exc
        versioned = [(v, t) for t in tags if (v := _semver(t[0])) is not None and v in spec]
        tags = [t for _, t in sorted(versioned, key=lambda p: p[0], reverse=True)]
    elif strategy is CommitSelectionStrategy.LEXICAL:
        tags = sorted(tags, key=lambda t: t[0], reverse=True)
    result = []
    for name, sha, date, _ in tags[:limit]:
        result.append(
            DiscoveredCommit(
                id=sha,
                tag=name,
                subject=_git(repo, "log", "-1", "--format=%s", sha).strip(),
                author=_git(repo, "log", "-1", "--format=%an <%ae>", sha).strip(),
                creator_date=datetime.fromisoformat(date) if date else None,
            )
        )
    return result
