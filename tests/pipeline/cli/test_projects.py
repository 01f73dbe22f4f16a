"""A positional argument names the project when it is one, else a resource."""

from __future__ import annotations

import pytest
from kargo.cli.session import ProjectError, Target, choose_default, resolve_target

PROJECTS = ["planning-poker"]


def never() -> list[str]:
    raise AssertionError("the server should not have been asked for its projects")


def test_the_guides_positional_project_names_the_project() -> None:
    assert resolve_target("planning-poker", None, None, lambda: PROJECTS) == Target(
        "planning-poker", None
    )


def test_a_positional_that_is_not_a_project_is_a_resource_in_the_only_project() -> None:
    assert resolve_target("development", None, None, lambda: PROJECTS) == Target(
        "planning-poker", "development"
    )


def test_an_explicit_project_makes_the_positional_a_name_without_asking() -> None:
    assert resolve_target("development", "other", None, never) == Target("other", "development")
    assert resolve_target(None, "other", None, never) == Target("other", None)


def test_the_configured_project_wins_over_the_only_one() -> None:
    projects = ["planning-poker", "sandbox"]
    assert resolve_target(None, None, "sandbox", lambda: projects) == Target("sandbox", None)


def test_several_projects_without_a_default_ask_for_one() -> None:
    with pytest.raises(ProjectError, match="--project NAME or run `kargo config set-project"):
        choose_default(["a", "b"], None)


def test_no_projects_say_how_to_create_them() -> None:
    with pytest.raises(ProjectError, match="kargo apply -f kargo/"):
        choose_default([], None)


def test_a_configured_project_that_vanished_gets_a_suggestion() -> None:
    with pytest.raises(ProjectError, match="did you mean 'planning-poker'"):
        choose_default(["planning-poker", "x"], "planning-pokr")
