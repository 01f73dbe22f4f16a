"""git-clone, git-clear, git-commit, git-tag and git-push against real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.runtime.steps.git_clone import GitCloneConfig, GitCloneStep
from kargo.steps.base import FreightCommit, StepPhase
from kargo.steps.git_local import GitClearStep, GitCommitStep, GitTagStep
from kargo.steps.git_push import GitPushStep, commit_url

from tests.pipeline.steps.support import bare_repo, context, git, push_change, run

FILES = {"app/main.py": "print(1)\n", "deploy/dev/values.yaml": "tag: one\n", "README.md": "r\n"}


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return bare_repo(tmp_path, FILES)


def test_clone_checks_out_a_branch_commit_tag_and_the_default_branch(
    tmp_path: Path, remote: Path
) -> None:
    first = git(remote, "rev-parse", "main")
    git(remote, "tag", "v1.0.0", first)
    second = push_change(remote, tmp_path, "app/main.py", "print(2)\n")
    ctx = context(tmp_path)
    result = run(
        GitCloneStep(),
        ctx,
        {
            "repoURL": str(remote),
            "checkout": [
                {"branch": "main", "path": "./branch", "as": "main"},
                {"commit": first, "path": "./commit"},
                {"tag": "v1.0.0", "path": "./tag"},
                {"path": "./default"},
            ],
        },
    )
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert result.outputs["commits"] == {
        "main": second,
        "./commit": first,
        "./tag": first,
        "./default": second,
    }
    work = ctx.work_dir
    assert (work / "branch/app/main.py").read_text() == "print(2)\n"
    assert (work / "commit/app/main.py").read_text() == "print(1)\n"
    assert git(work / "branch", "symbolic-ref", "--short", "HEAD") == "main"
    assert git(work / "default", "symbolic-ref", "--short", "HEAD") == "main"
    assert git(work / "branch", "config", "--local", "user.name") == "Kargo"
    assert git(work / "branch", "config", "--local", "user.email") == "no-reply@kargo.io"


def test_clone_takes_the_freight_commit_the_author_and_a_sparse_checkout(
    tmp_path: Path, remote: Path
) -> None:
    first = git(remote, "rev-parse", "main")
    push_change(remote, tmp_path, "app/main.py", "print(2)\n")
    ctx = context(tmp_path, commits=[FreightCommit(repo_url=str(remote), id=first)])
    result = run(
        GitCloneStep(),
        ctx,
        {
            "repoURL": str(remote),
            "author": {"name": "Release Bot", "email": "bot@example.test"},
            "checkout": [{"fromFreight": True, "path": "src", "sparse": ["deploy"]}],
        },
    )
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert result.outputs["commits"] == {"src": first}
    assert (ctx.work_dir / "src/deploy/dev/values.yaml").exists()
    assert not (ctx.work_dir / "src/app").exists()
    assert git(ctx.work_dir / "src", "config", "--local", "user.name") == "Release Bot"


def test_clone_creates_an_orphan_stage_branch_only_when_asked(tmp_path: Path, remote: Path) -> None:
    ctx = context(tmp_path)
    missing = run(
        GitCloneStep(),
        ctx,
        {"repoURL": str(remote), "checkout": [{"branch": "stage/dev", "path": "out"}]},
    )
    assert missing.phase is StepPhase.ERRORED
    assert "config.checkout[0].branch" in missing.message and "create: true" in missing.message

    created = run(
        GitCloneStep(),
        ctx,
        {
            "repoURL": str(remote),
            "checkout": [{"branch": "stage/dev", "create": True, "path": "out"}],
        },
    )
    assert created.phase is StepPhase.SUCCEEDED, created.message
    assert sorted(p.name for p in (ctx.work_dir / "out").iterdir()) == [".git"]
    (ctx.work_dir / "out/manifest.yaml").write_text("kind: ConfigMap\n")
    committed = run(GitCommitStep(), ctx, {"path": "out", "message": "render dev"})
    pushed = run(GitPushStep(), ctx, {"path": "out"})
    assert pushed.phase is StepPhase.SUCCEEDED, pushed.message
    assert pushed.outputs["branch"] == "stage/dev"
    assert git(remote, "rev-parse", "stage/dev") == committed.outputs["commit"]
    assert git(remote, "rev-list", "--count", "stage/dev") == "1"  # an orphan: no parent


def test_clone_config_refuses_two_revisions_and_paths_leaving_the_work_folder(
    tmp_path: Path, remote: Path
) -> None:
    with pytest.raises(ValueError, match="at most one of commit, branch, tag"):
        GitCloneConfig.model_validate(
            {"repoURL": ".", "checkout": [{"path": "a", "branch": "x", "tag": "y"}]}
        )
    with pytest.raises(ValueError, match="create: true needs a branch"):
        GitCloneConfig.model_validate({"repoURL": ".", "checkout": [{"path": "a", "create": True}]})
    escaped = run(
        GitCloneStep(), context(tmp_path), {"repoURL": str(remote), "checkout": [{"path": "../x"}]}
    )
    assert escaped.phase is StepPhase.FAILED
    assert "git-clone: config.checkout[0].path" in escaped.message


def test_clone_of_an_unreachable_repository_errors_naming_it(tmp_path: Path) -> None:
    result = run(
        GitCloneStep(),
        context(tmp_path),
        {"repoURL": str(tmp_path / "nowhere.git"), "checkout": [{"path": "src"}]},
    )
    assert result.phase is StepPhase.ERRORED
    assert "cannot clone" in result.message and "nowhere.git" in result.message


def test_commit_then_push_lands_on_the_remote_branch_with_kargos_outputs(
    tmp_path: Path, remote: Path
) -> None:
    ctx = context(tmp_path)
    run(
        GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"branch": "main", "path": "r"}]}
    )
    (ctx.work_dir / "r/deploy/dev/values.yaml").write_text("tag: two\n")
    committed = run(
        GitCommitStep(),
        ctx,
        {"path": "r", "message": "dev: tag two", "author": {"name": "A", "email": "a@x.test"}},
    )
    assert committed.phase is StepPhase.SUCCEEDED, committed.message
    commit = committed.outputs["commit"]
    assert git(ctx.work_dir / "r", "log", "-1", "--format=%an|%s") == "A|dev: tag two"

    again = run(GitCommitStep(), ctx, {"path": "r", "message": "nothing new"})
    assert again.outputs == {"commit": commit} and again.message == "nothing to commit"

    pushed = run(GitPushStep(), ctx, {"path": "r"})
    assert pushed.phase is StepPhase.SUCCEEDED, pushed.message
    assert pushed.outputs == {"branch": "main", "commit": commit, "commitURL": ""}
    assert git(remote, "rev-parse", "main") == commit


def test_commit_message_from_steps_combines_their_commit_messages(
    tmp_path: Path, remote: Path
) -> None:
    ctx = context(
        tmp_path,
        outputs={"a": {"commitMessage": "Updated x"}, "b": {"commitMessage": "Updated y"}},
    )
    run(
        GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"branch": "main", "path": "r"}]}
    )
    (ctx.work_dir / "r/new.txt").write_text("n\n")
    result = run(GitCommitStep(), ctx, {"path": "r", "messageFromSteps": ["a", "b"]})
    assert result.phase is StepPhase.SUCCEEDED, result.message
    message = git(ctx.work_dir / "r", "log", "-1", "--format=%B")
    assert message == "Kargo applied multiple changes\n\nIncluding:\n\nUpdated x\nUpdated y"
    unknown = run(GitCommitStep(), ctx, {"path": "r", "messageFromSteps": ["zzz"]})
    assert unknown.phase is StepPhase.FAILED and "config.messageFromSteps" in unknown.message


def test_commit_in_a_folder_that_is_not_a_work_tree_errors(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (ctx.work_dir / "plain").mkdir()
    result = run(GitCommitStep(), ctx, {"path": "plain", "message": "m"})
    assert result.phase is StepPhase.ERRORED and "not a git working tree" in result.message
    missing = run(GitCommitStep(), ctx, {"path": "absent", "message": "m"})
    assert missing.phase is StepPhase.ERRORED
    assert "git-commit: config.path: 'absent': no such folder" in missing.message


def test_push_rebases_onto_a_remote_that_moved_and_retries(tmp_path: Path, remote: Path) -> None:
    ctx = context(tmp_path)
    run(
        GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"branch": "main", "path": "r"}]}
    )
    theirs = push_change(remote, tmp_path, "README.md", "theirs\n")
    (ctx.work_dir / "r/deploy/dev/values.yaml").write_text("tag: mine\n")
    run(GitCommitStep(), ctx, {"path": "r", "message": "mine"})
    pushed = run(GitPushStep(), ctx, {"path": "r"})
    assert pushed.phase is StepPhase.SUCCEEDED, pushed.message
    assert git(remote, "rev-parse", "main^") == theirs
    assert git(remote, "rev-parse", "main") == pushed.outputs["commit"]


def test_push_fails_the_promotion_on_a_merge_conflict(tmp_path: Path, remote: Path) -> None:
    ctx = context(tmp_path)
    run(
        GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"branch": "main", "path": "r"}]}
    )
    push_change(remote, tmp_path, "deploy/dev/values.yaml", "tag: theirs\n")
    (ctx.work_dir / "r/deploy/dev/values.yaml").write_text("tag: mine\n")
    run(GitCommitStep(), ctx, {"path": "r", "message": "mine"})
    result = run(GitPushStep(), ctx, {"path": "r"})
    assert result.phase is StepPhase.FAILED
    assert "git-push: merge conflict" in result.message
    assert git(ctx.work_dir / "r", "status", "--porcelain") == ""  # the rebase was aborted


def test_force_push_and_generated_target_branches(tmp_path: Path, remote: Path) -> None:
    ctx = context(tmp_path)
    run(
        GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"branch": "main", "path": "r"}]}
    )
    push_change(remote, tmp_path, "README.md", "theirs\n")
    (ctx.work_dir / "r/x.txt").write_text("x\n")
    mine = run(GitCommitStep(), ctx, {"path": "r", "message": "mine"}).outputs["commit"]
    generated = run(GitPushStep(), ctx, {"path": "r", "generateTargetBranch": True})
    assert generated.outputs["branch"] == "kargo/promotion/dev.01abc.f00d"
    assert git(remote, "rev-parse", "kargo/promotion/dev.01abc.f00d") == mine
    forced = run(GitPushStep(), ctx, {"path": "r", "targetBranch": "main", "force": True})
    assert forced.phase is StepPhase.SUCCEEDED, forced.message
    assert git(remote, "rev-parse", "main") == mine


def test_push_refused_by_the_remote_errors_and_a_detached_head_fails(
    tmp_path: Path, remote: Path
) -> None:
    ctx = context(tmp_path)
    first = git(remote, "rev-parse", "main")
    run(GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"commit": first, "path": "c"}]})
    detached = run(GitPushStep(), ctx, {"path": "c"})
    assert detached.phase is StepPhase.FAILED and "config.targetBranch" in detached.message
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    run(
        GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"branch": "main", "path": "r"}]}
    )
    (ctx.work_dir / "r/x.txt").write_text("x\n")
    run(GitCommitStep(), ctx, {"path": "r", "message": "x"})
    refused = run(GitPushStep(), ctx, {"path": "r"})
    assert refused.phase is StepPhase.ERRORED and "protected branch" in refused.message


def test_tag_then_push_the_tag_and_refuse_an_existing_one(tmp_path: Path, remote: Path) -> None:
    ctx = context(tmp_path)
    run(
        GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"branch": "main", "path": "r"}]}
    )
    head = git(ctx.work_dir / "r", "rev-parse", "HEAD")
    tagged = run(GitTagStep(), ctx, {"path": "r", "tag": "v2.0.0", "message": "release"})
    assert tagged.phase is StepPhase.SUCCEEDED and tagged.outputs == {"commit": head}
    pushed = run(GitPushStep(), ctx, {"path": "r", "tag": "v2.0.0"})
    assert pushed.phase is StepPhase.SUCCEEDED, pushed.message
    assert git(remote, "rev-parse", "v2.0.0^{commit}") == head
    again = run(GitTagStep(), ctx, {"path": "r", "tag": "v2.0.0", "message": "release"})
    assert again.phase is StepPhase.FAILED and "config.tag" in again.message
    forced = run(GitTagStep(), ctx, {"path": "r", "tag": "v2.0.0", "message": "r", "force": True})
    assert forced.phase is StepPhase.SUCCEEDED
    bad = run(GitTagStep(), ctx, {"path": "r", "tag": "no..dots", "message": "r"})
    assert bad.phase is StepPhase.FAILED and "not a valid tag name" in bad.message


def test_clear_empties_the_work_tree_but_keeps_git(tmp_path: Path, remote: Path) -> None:
    ctx = context(tmp_path)
    run(
        GitCloneStep(), ctx, {"repoURL": str(remote), "checkout": [{"branch": "main", "path": "r"}]}
    )
    result = run(GitClearStep(), ctx, {"path": "r"})
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert [p.name for p in (ctx.work_dir / "r").iterdir()] == [".git"]
    committed = run(GitCommitStep(), ctx, {"path": "r", "message": "clear"})
    assert git(ctx.work_dir / "r", "ls-tree", "HEAD") == "" and committed.outputs["commit"]


def test_commit_urls_follow_the_provider() -> None:
    sha = "abc123"
    assert commit_url("https://github.com/o/r.git", sha) == "https://github.com/o/r/commit/abc123"
    assert commit_url("https://gitlab.com/g/r", sha) == "https://gitlab.com/g/r/-/commit/abc123"
    assert (
        commit_url("https://bitbucket.org/o/r", sha) == "https://bitbucket.org/o/r/commits/abc123"
    )
    assert commit_url("https://git.corp/o/r", sha, "gitea") == "https://git.corp/o/r/commit/abc123"
    assert commit_url("https://git.example.com/o/r.git", sha) == ""
    assert commit_url("/srv/repo.git", sha) == ""
