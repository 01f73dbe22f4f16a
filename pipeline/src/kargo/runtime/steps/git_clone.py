"""The `git-clone` step (Kargo's name, fields and output): check revisions out into work_dir.

Each checkout is its own clone of `repoURL` (a local repository is cloned with `--shared`, so no
objects are copied) whose `origin` is `repoURL`, so `git-commit` and `git-push` work in it. A
branch is checked out as a local branch tracking `origin/<branch>`; `create: true` starts an
orphan branch when the remote has none; no revision checks out the remote's default branch.
A checkout is made in a temporary folder and renamed into place; one that already holds the
wanted commit is kept, so running the step again after a crash is instant.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from kargo.model.base import StrictModel
from kargo.model.common import FreightOrigin
from kargo.steps.base import FreightCommit, StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.gitcli import (
    DEFAULT_AUTHOR_EMAIL,
    DEFAULT_AUTHOR_NAME,
    GitCredentials,
    GitError,
    git,
    is_local,
    local_path,
    same_repository,
)
from kargo.steps.repocreds import git_credentials
from kargo.steps.workspace import inside

KIND = "git-clone"

__all__ = ["GitCloneConfig", "GitCloneStep", "GitError", "freight_commit"]


class Author(StrictModel):
    """Who commits made in the clone are by (Kargo's `author`)."""

    name: str = Field(min_length=1, description="The committer's name.")
    email: str = Field(min_length=1, description="The committer's email address.")
    signing_key: str | None = Field(
        default=None, description="A GPG signing key (refused here: signing is not supported)."
    )


class Checkout(StrictModel):
    """One checkout: which revision, and where under work_dir."""

    branch: str | None = Field(default=None, description="A branch to check out.")
    commit: str | None = Field(default=None, description="A commit to check out.")
    tag: str | None = Field(default=None, description="A tag to check out.")
    from_freight: bool = Field(
        default=False, description="Check out the commit the freight carries from repoURL."
    )
    from_origin: FreightOrigin | None = Field(
        default=None,
        description="With fromFreight: the warehouse whose commit to take (several origins).",
    )
    create: bool = Field(
        default=False, description="Start an empty orphan branch when `branch` is not remote."
    )
    path: str = Field(min_length=1, description="Where the working tree goes, under work_dir.")
    sparse: list[str] = Field(
        default_factory=list, description="Only these folders are checked out (cone mode)."
    )
    as_: str | None = Field(
        default=None, alias="as", description="Key of this checkout in the `commits` output."
    )

    @model_validator(mode="after")
    def one_revision(self) -> Checkout:
        """At most one of commit, branch, tag, fromFreight (none: the default branch)."""
        chosen = [self.commit, self.branch, self.tag, self.from_freight or None]
        if sum(value is not None for value in chosen) > 1:
            raise ValueError("set at most one of commit, branch, tag or fromFreight: true")
        if self.create and self.branch is None:
            raise ValueError("create: true needs a branch")
        if self.from_origin is not None and not self.from_freight:
            raise ValueError("fromOrigin needs fromFreight: true")
        for folder in self.sparse:
            if folder.startswith("/") or ".." in Path(folder).parts or "*" in folder:
                raise ValueError(f"sparse path {folder!r} must be relative, without .. or globs")
        return self


class GitCloneConfig(StrictModel):
    """Config of `git-clone`."""

    repo_url: str = Field(alias="repoURL", min_length=1, description="The repository to clone.")
    insecure_skip_tls_verify: bool = Field(
        default=False, description="Skip TLS certificate checks for this clone."
    )
    recurse_submodules: bool = Field(
        default=False, description="Initialise and update submodules in every checkout."
    )
    blobless: bool = Field(default=False, description="Clone without blobs (--filter=blob:none).")
    author: Author | None = Field(
        default=None, description="Default author of commits made in the clone."
    )
    checkout: list[Checkout] = Field(min_length=1, description="The revisions to check out.")


def freight_commit(
    ctx: StepContext, repo_url: str, origin: FreightOrigin | None = None
) -> FreightCommit:
    """The freight's commit from this repository (or its only commit)."""
    for commit in ctx.commits:
        if same_repository(commit.repo_url, repo_url):
            return commit
    if len(ctx.commits) == 1 and origin is None:
        return ctx.commits[0]
    raise GitError(f"freight {ctx.freight} carries no commit from {repo_url}")


def _source(repo_url: str) -> str:
    return str(local_path(repo_url)) if is_local(repo_url) else repo_url


async def _kept(destination: Path, wanted: str | None) -> str | None:
    """The commit of an existing checkout that already holds `wanted` (a commit), else None."""
    if wanted is None or not (destination / ".git").exists():
        return None
    try:
        head = await git("rev-parse", "HEAD", cwd=destination)
        target = await git("rev-parse", f"{wanted}^{{commit}}", cwd=destination)
    except GitError:
        return None
    return head if head == target else None


class _Cloner:
    """Makes the checkouts of one git-clone step."""

    def __init__(self, ctx: StepContext, config: GitCloneConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.credentials: GitCredentials | None = git_credentials(
            ctx.state_dir, ctx.project, config.repo_url
        )

    async def checkout(self, index: int, checkout: Checkout) -> str:
        """Make one checkout; return its HEAD commit (empty for a new orphan branch)."""
        field = f"checkout[{index}]"
        destination = inside(self.ctx.work_dir, checkout.path, KIND, f"{field}.path")
        pinned = checkout.commit or checkout.tag
        if checkout.from_freight:
            try:
                pinned = freight_commit(self.ctx, self.config.repo_url, checkout.from_origin).id
            except GitError as exc:
                raise StepFailed(KIND, str(exc), f"{field}.fromFreight") from exc
        kept = await _kept(destination, pinned)
        if kept is not None:
            return kept
        if destination.exists():
            shutil.rmtree(destination)
        temporary = destination.parent / f".{destination.name}.clone-{uuid.uuid4().hex[:8]}"
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            head = await self._clone_into(temporary, checkout, pinned, field)
            temporary.rename(destination)
        finally:
            if temporary.exists():
                shutil.rmtree(temporary, ignore_errors=True)
        return head

    async def _clone_into(
        self, where: Path, checkout: Checkout, pinned: str | None, field: str
    ) -> str:
        config = self.config
        options = ["--shared"] if is_local(config.repo_url) else []
        if config.blobless:
            options.append("--filter=blob:none")
        if config.insecure_skip_tls_verify:
            options += ["-c", "http.sslVerify=false"]
        try:
            await git(
                "clone", "--quiet", "--no-checkout", *options,
                _source(config.repo_url), str(where), credentials=self.credentials,
            )  # fmt: skip
        except GitError as exc:
            raise StepErrored(KIND, f"cannot clone {config.repo_url}: {exc.stderr}") from exc
        author = config.author
        await git("config", "user.name", author.name if author else DEFAULT_AUTHOR_NAME, cwd=where)
        await git(
            "config", "user.email", author.email if author else DEFAULT_AUTHOR_EMAIL, cwd=where
        )
        if checkout.sparse:
            await git("sparse-checkout", "set", "--cone", *checkout.sparse, cwd=where)
        if checkout.branch is not None:
            return await self._branch(where, checkout, field)
        if pinned is None:
            return await self._default_branch(where)
        try:
            await git("checkout", "--quiet", "--detach", pinned, cwd=where)
        except GitError as exc:
            which = "tag" if checkout.tag else "commit"
            raise StepErrored(
                KIND, f"{which} {pinned!r} is not in {config.repo_url}: {exc.stderr}", field
            ) from exc
        return await self._finish(where)

    async def _branch(self, where: Path, checkout: Checkout, field: str) -> str:
        branch = str(checkout.branch)
        remote = await git("branch", "--remotes", "--list", f"origin/{branch}", cwd=where)
        if remote.strip():
            await git("checkout", "--quiet", "-B", branch, f"origin/{branch}", cwd=where)
            return await self._finish(where)
        if not checkout.create:
            raise StepErrored(
                KIND,
                f"branch {branch!r} does not exist in {self.config.repo_url} "
                "(set create: true to start it)",
                f"{field}.branch",
            )
        await git("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=where)
        await git("read-tree", "--empty", cwd=where)
        return ""

    async def _default_branch(self, where: Path) -> str:
        try:
            head = await git("symbolic-ref", "--short", "refs/remotes/origin/HEAD", cwd=where)
        except GitError as exc:
            raise StepErrored(KIND, f"{self.config.repo_url} has no default branch") from exc
        branch = head.removeprefix("origin/")
        await git("checkout", "--quiet", "-B", branch, head, cwd=where)
        return await self._finish(where)

    async def _finish(self, where: Path) -> str:
        if self.config.recurse_submodules:
            try:
                await git(
                    "submodule", "update", "--init", "--recursive", cwd=where,
                    credentials=self.credentials,
                )  # fmt: skip
            except GitError as exc:
                raise StepErrored(KIND, f"submodules: {exc.stderr}", "recurseSubmodules") from exc
        return await git("rev-parse", "HEAD", cwd=where)


@register_step
class GitCloneStep(CheckedStep[GitCloneConfig]):
    """Clone a repository and check revisions out to paths in the promotion's work folder."""

    kind = KIND
    config_model = GitCloneConfig
    outputs = {
        "commits": "checkout key (`as`, else `path`) → the HEAD commit checked out there",
        "commit": "the first checkout's HEAD commit",
        "path": "the first checkout's folder",
    }

    async def execute(self, ctx: StepContext, config: GitCloneConfig) -> StepResult:
        """Do the step's work."""
        if config.author is not None and config.author.signing_key:
            raise StepFailed(KIND, "commit signing is not supported here", "author.signingKey")
        cloner = _Cloner(ctx, config)
        commits: dict[str, str] = {}
        checkouts: list[dict[str, Any]] = []
        try:
            for index, checkout in enumerate(config.checkout):
                commit = await cloner.checkout(index, checkout)
                destination = inside(ctx.work_dir, checkout.path, KIND)
                commits[checkout.as_ or checkout.path] = commit
                checkouts.append({"path": str(destination), "commit": commit})
                await ctx.emit(f"git-clone: {commit[:12] or 'new branch'} at {checkout.path}")
        except (GitError, OSError) as exc:
            raise StepErrored(KIND, str(exc)) from exc
        outputs: dict[str, Any] = {
            "commits": commits,
            "checkouts": checkouts,
            "commit": checkouts[0]["commit"],
            "path": checkouts[0]["path"],
        }
        return StepResult(
            StepPhase.SUCCEEDED,
            message=f"checked out {outputs['commit'][:12] or 'a new branch'}",
            outputs=outputs,
        )
