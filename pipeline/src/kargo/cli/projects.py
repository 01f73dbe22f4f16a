"""Which project a command acts on, and whether its positional argument names it.

The guide writes `kargo get promotion planning-poker` and `kargo promote planning-poker …`,
where the positional names the project, and `kargo get stage development`, where it names a
resource. The CLI tells them apart by asking the server for its projects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kargo.cli.kinds import did_you_mean


class ProjectError(ValueError):
    """No project can be chosen; the message says what to pass."""


@dataclass(frozen=True)
class Target:
    """The project to act on and the resource name left over (None: all / the newest)."""

    project: str
    name: str | None


def choose_default(projects: Sequence[str], configured: str | None) -> str:
    """The configured project when it exists, else the only project there is."""
    if configured:
        if configured in projects or not projects:
            return configured
        raise ProjectError(
            f"the configured project {configured!r} does not exist on this server"
            f"{did_you_mean(configured, list(projects))} "
            f"run `kargo config set-project NAME` (projects: {', '.join(projects)})"
        )
    if len(projects) == 1:
        return projects[0]
    if not projects:
        raise ProjectError(
            "the server has no projects yet; run `kargo apply -f kargo/` "
            "(or start the server with `kargo server --config kargo/`)"
        )
    raise ProjectError(
        f"there are {len(projects)} projects ({', '.join(sorted(projects))}); pass "
        "--project NAME or run `kargo config set-project NAME`"
    )


def resolve_target(
    positional: str | None,
    explicit: str | None,
    configured: str | None,
    list_projects: Callable[[], Sequence[str]],
) -> Target:
    """Split (positional, --project, configured default) into a project and a resource name.

    The server is asked for its projects only when the answer depends on them.
    """
    if positional is None:
        if explicit:
            return Target(explicit, None)
        return Target(choose_default(list_projects(), configured), None)
    if explicit and explicit != positional:
        return Target(explicit, positional)
    projects = list_projects()
    if positional in projects:
        return Target(positional, None)
    if explicit:
        return Target(explicit, positional)
    return Target(choose_default(projects, configured), positional)
