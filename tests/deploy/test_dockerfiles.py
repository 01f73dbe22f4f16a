"""The container recipes install only hashed, locked packages, name no registry, run as non-root."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.dockerfiles import dockerfile_problems, image_has_registry_host, instructions
from tests.deploy.manifests import repo_deploy_dir

APP_DOCKERFILE = repo_deploy_dir() / "Dockerfile"
CHECKS_DOCKERFILE = repo_deploy_dir() / "checks.Dockerfile"


def app_recipe() -> str:
    return APP_DOCKERFILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("recipe", "lock"),
    [(APP_DOCKERFILE, "app/requirements.lock"), (CHECKS_DOCKERFILE, "requirements.lock")],
    ids=["app", "checks"],
)
def test_each_recipe_installs_its_lock_with_hashes_and_names_no_registry(
    recipe: Path, lock: str
) -> None:
    assert dockerfile_problems(recipe.read_text(encoding="utf-8"), lock) == []


def test_the_app_image_is_python_311_slim_serving_port_8000_as_a_non_root_user() -> None:
    parsed = instructions(app_recipe())
    assert [i.arguments for i in parsed if i.keyword == "FROM"] == ["python:3.11-slim"]
    assert "8000" in [i.arguments for i in parsed if i.keyword == "EXPOSE"]
    assert any("PORT=8000" in i.arguments for i in parsed if i.keyword == "ENV")
    assert [i.arguments for i in parsed if i.keyword == "USER"] == ["10001:10001"]
    runs = [i.arguments for i in parsed if i.keyword == "RUN"]
    assert "pip install --require-hashes --no-deps -r app/requirements.lock" in runs
    assert "pip install --no-deps ./app" in runs


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            (
                "pip install --no-deps ./app",
                "pip install --no-deps --index-url https://mirror.example.org/simple ./app",
            ),
            "names the host mirror.example.org",
        ),
        (("--require-hashes --no-deps -r", "--no-deps -r"), "--require-hashes"),
        (("pip install --no-deps ./app", "pip install ./app"), "without --no-deps"),
        (("FROM python:3.11-slim", "FROM mirror.example.org/python:3.11-slim"), "registry host"),
        (("USER 10001:10001", "USER root"), "runs as root"),
        (("/healthz", "/"), "HEALTHCHECK"),
    ],
    ids=["package-index", "no-hashes", "deps-resolved", "registry-host", "root", "no-healthcheck"],
)
def test_a_broken_copy_of_the_app_recipe_is_refused(
    change: tuple[str, str], complaint: str
) -> None:
    old, new = change
    assert old in app_recipe()
    problems = dockerfile_problems(app_recipe().replace(old, new), "app/requirements.lock")
    assert any(complaint in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("image", "has_host"),
    [
        ("python:3.11-slim", False),
        ("library/python:3.11-slim", False),
        ("registry.example.com/python:3.11", True),
        ("localhost:5000/python", True),
        ("localhost/python", True),
    ],
)
def test_an_image_reference_names_a_host_only_with_a_dotted_or_ported_first_part(
    image: str, has_host: bool
) -> None:
    assert image_has_registry_host(image) is has_host
