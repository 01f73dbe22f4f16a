"""git-clone and git-push over smart HTTP with credentials from a cred-type git Secret."""

from __future__ import annotations

from pathlib import Path

from kargo.runtime.steps.git_clone import GitCloneStep
from kargo.steps.base import StepPhase
from kargo.steps.git_local import GitCommitStep
from kargo.steps.git_push import GitPushStep
from kargo.steps.secretstore import StoredSecret, save_secret

from tests.pipeline.steps.githttp import PASSWORD, USER, git_http_server
from tests.pipeline.steps.support import bare_repo, context, git, run


def test_clone_and_push_use_the_matching_git_secret(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    bare_repo(root, {"README.md": "r\n"}, name="app.git")
    ctx = context(tmp_path)
    with git_http_server(root) as base:
        url = f"{base}/app.git"
        config = {"repoURL": url, "checkout": [{"branch": "main", "path": "r"}]}
        refused = run(GitCloneStep(), ctx, config)
        assert refused.phase is StepPhase.ERRORED and "cannot clone" in refused.message

        labels = {"kargo.akuity.io/cred-type": "git"}
        data = {"repoURL": url, "username": USER, "password": "wrong-password"}
        save_secret(ctx.state_dir, ctx.project, StoredSecret("git", labels, data))
        wrong = run(GitCloneStep(), ctx, config)
        assert wrong.phase is StepPhase.ERRORED and "wrong-password" not in wrong.message

        data["password"] = PASSWORD
        save_secret(ctx.state_dir, ctx.project, StoredSecret("git", labels, data))
        cloned = run(GitCloneStep(), ctx, config)
        assert cloned.phase is StepPhase.SUCCEEDED, cloned.message
        assert PASSWORD not in (ctx.work_dir / "r/.git/config").read_text()
        (ctx.work_dir / "r/new.txt").write_text("n\n")
        run(GitCommitStep(), ctx, {"path": "r", "message": "over http"})
        pushed = run(GitPushStep(), ctx, {"path": "r"})
        assert pushed.phase is StepPhase.SUCCEEDED, pushed.message
        assert git(root / "app.git", "log", "-1", "--format=%s", "main") == "over http"
