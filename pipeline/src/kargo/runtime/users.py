"""Run a stage's processes as another OS user (`runAs`): who it is, whether we may, its folders.

The engine keeps its own files (`admin.token`, the audit key, the database, the runtime's state)
owner-only. A stage's user gets search permission on the state folder and on `stages/`, owns
its own `stages/<stage>/` (0700, where its database lives), can read its commit's environment,
and nothing else: its stage secrets stay the engine's (0700), another stage's folder is that
stage's user's (0700). Switching users needs root or the capabilities in `NEEDED_CAPABILITIES`.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kargo.runtime.processes import ProcessStartError

# Linux capability numbers (linux/capability.h) the engine needs to start and manage such processes
NEEDED_CAPABILITIES = {
    "CAP_CHOWN": 0,  # give the stage its folder
    "CAP_DAC_OVERRIDE": 1,  # keep writing the stage's secrets and source link inside it
    "CAP_KILL": 5,  # stop its instances
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
}
SECRETS_FOLDER = "secrets"  # inside the stage folder, stays the engine's


class RunAsError(ProcessStartError):
    """The engine cannot start processes as the configured user; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class StageUser:
    """The OS user (and groups) a stage's processes run as."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str

    def env(self) -> dict[str, str]:
        """The login variables of the user (not the engine's)."""
        return {"HOME": self.home, "USER": self.name, "LOGNAME": self.name}


def user_options(user: StageUser | None) -> dict[str, Any]:
    """The Popen arguments that start a process as the user (none for the engine's own)."""
    if user is None:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": list(user.groups)}


def missing_capabilities(status: Path = Path("/proc/self/status")) -> list[str]:
    """The capabilities in NEEDED_CAPABILITIES this process does not hold (effective set)."""
    try:
        line = next(x for x in status.read_text().splitlines() if x.startswith("CapEff:"))
        effective = int(line.split()[1], 16)
    except (OSError, StopIteration, ValueError, IndexError):
        return [] if os.geteuid() == 0 else sorted(NEEDED_CAPABILITIES)
    return [name for name, bit in NEEDED_CAPABILITIES.items() if not effective & (1 << bit)]


def resolve_user(user: str, group: str | None = None, field: str = "runAs") -> StageUser:
    """The user (name or uid) and group to run as; RunAsError when unknown or not switchable."""
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except (KeyError, OverflowError):
        raise RunAsError(
            f"{field}.user",
            f"there is no OS user {user!r} on this machine "
            f"(create it first, e.g. `useradd --system --no-create-home {user}`)",
        ) from None
    if entry.pw_uid == 0:
        raise RunAsError(f"{field}.user", "root is not another user: name an unprivileged user")
    gid = entry.pw_gid
    if group is not None:
        try:
            gid = grp.getgrgid(int(group)).gr_gid if group.isdigit() else grp.getgrnam(group).gr_gid
        except (KeyError, OverflowError):
            raise RunAsError(f"{field}.group", f"there is no OS group {group!r}") from None
    missing = missing_capabilities()
    if missing:
        raise RunAsError(
            f"{field}.user",
            f"the engine (uid {os.geteuid()}) cannot start processes as {entry.pw_name}: it lacks "
            f"{', '.join(missing)}; run `kargo server` as root (or grant it these capabilities), "
            f"or remove {field}",
        )
    groups = tuple(sorted(set(os.getgrouplist(entry.pw_name, gid))))
    return StageUser(entry.pw_name, entry.pw_uid, gid, groups, entry.pw_dir or "/")


def _searchable_by(info: os.stat_result, user: StageUser) -> bool:
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == user.gid or info.st_gid in user.groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def require_reachable(path: Path, user: StageUser, what: str, field: str = "runAs") -> None:
    """RunAsError unless the user may search every folder above path (where it fails, and why)."""
    absolute = Path(os.path.abspath(path))
    for folder in reversed(absolute.parents):
        info = folder.stat()
        if not _searchable_by(info, user):
            raise RunAsError(
                f"{field}.user",
                f"{user.name} cannot reach {what} {absolute}: {folder} is mode "
                f"{stat.S_IMODE(info.st_mode):04o} owned by uid {info.st_uid} "
                "(give it search permission, chmod o+x, or choose another place)",
            )


def _add_search(folder: Path) -> None:
    """Let others pass through a folder of the engine's without listing it (0711 at least)."""
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o011 != 0o011:
        os.chmod(folder, mode | 0o011)


def share_environment(env_dir: Path) -> None:
    """Make a commit's environment readable and runnable by all, writable by the engine only."""
    if stat.S_IMODE(env_dir.stat().st_mode) & 0o055 == 0o055:
        return  # shared already (done after its build, or by an earlier deploy)
    for root, folders, files in os.walk(env_dir):
        for name in folders + files:
            path = Path(root) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                continue
            readable = 0o055 if stat.S_ISDIR(info.st_mode) or info.st_mode & 0o100 else 0o044
            os.chmod(path, (stat.S_IMODE(info.st_mode) | readable) & ~0o022)
    os.chmod(env_dir, (stat.S_IMODE(env_dir.stat().st_mode) | 0o055) & ~0o022)


def close_engine_files(state_dir: Path) -> None:
    """Whatever else is in the state folder (token, keys, database, runtime) is owner-only."""
    for entry in state_dir.iterdir():
        if entry.name in ("stages", "envs") or entry.is_symlink():
            continue
        mode = stat.S_IMODE(entry.stat().st_mode)
        if mode & 0o077:
            os.chmod(entry, mode & ~0o077)


def give_stage_folder(state_dir: Path, folder: Path, user: StageUser) -> None:
    """The stage's folder becomes the user's (0700), except its secrets, which stay the engine's."""
    _add_search(state_dir)
    _add_search(folder.parent)
    close_engine_files(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    secrets = folder / SECRETS_FOLDER
    if secrets.is_symlink() or (secrets.exists() and secrets.stat().st_uid != os.geteuid()):
        raise RunAsError(
            "runAs.user", f"{secrets} is not the engine's own folder: remove it, then deploy again"
        )
    os.chown(folder, user.uid, user.gid)
    os.chmod(folder, 0o700)
    for root, folders, files in os.walk(folder):
        if Path(root) == folder and SECRETS_FOLDER in folders:
            folders.remove(SECRETS_FOLDER)
        for name in folders + files:
            path = Path(root) / name
            if path.lstat().st_uid != user.uid:
                os.lchown(path, user.uid, user.gid)


def prepare_stage(state_dir: Path, folder: Path, env_dir: Path | None, user: StageUser) -> None:
    """Everything the user needs before its processes start: its folder, its environment."""
    require_reachable(state_dir, user, "the state folder")
    give_stage_folder(state_dir, folder, user)
    if env_dir is None or not env_dir.exists():
        return
    envs = state_dir / "envs"
    if env_dir.resolve().parent == envs.resolve():
        _add_search(envs)
        share_environment(env_dir)
    require_reachable(env_dir, user, "the environment")
    python = env_dir / "bin" / "python"
    if python.exists():
        require_reachable(python.resolve(), user, "the environment's interpreter")
