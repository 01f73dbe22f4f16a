"""Put this checkout's `kargo` command on the user's PATH, as `make demo` does before it starts.

It links `~/.local/bin/kargo` to `.venv/bin/kargo` (the directory is `KARGO_INSTALL_DIR` when set)
and, when a new login shell would not find that directory, appends one marked line to the shell's
startup files (the way uv's and rustup's installers do; `KARGO_NO_MODIFY_PATH=1` only prints it).
A `kargo` this script did not install (the real Kargo CLI, say) is never replaced: it says so and
names the line to run instead. Run it again at any time; it repeats nothing already done.

    .venv/bin/python scripts/install_cli.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "# planning-poker: the kargo command (scripts/install_cli.py)"


def install_dir(home: Path) -> Path:
    """Where the command goes: KARGO_INSTALL_DIR, else ~/.local/bin (the XDG user bin)."""
    return Path(os.environ.get("KARGO_INSTALL_DIR") or home / ".local" / "bin")


def ours(link: Path) -> bool:
    """Whether link was put there by this script (a symlink to some checkout's .venv/bin/kargo)."""
    return link.is_symlink() and os.readlink(link).endswith(str(Path(".venv", "bin", "kargo")))


def link_command(target: Path, link: Path) -> str:
    """Link `link` to `target` unless a foreign kargo sits there; say what happened."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return f"{link} already runs {target}"
    if link.exists() or link.is_symlink():
        if not ours(link):
            return (
                f"{link} is another kargo (the real Kargo CLI?), left alone; run this project's "
                f'as {target}, or put it first: export PATH="{target.parent}:$PATH"'
            )
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return f"linked {link} -> {target}"


def path_line(directory: Path, home: Path) -> str:
    """The shell line that puts directory first on PATH unless it is there already."""
    shown = str(directory).replace(str(home), "$HOME", 1)
    return f'case ":$PATH:" in *":{shown}:"*) ;; *) export PATH="{shown}:$PATH" ;; esac  {MARK}'


def startup_files(home: Path) -> list[Path]:
    """The file a bash login shell reads (the first of Bash's three) and ~/.bashrc."""
    login = next(
        (home / n for n in (".bash_profile", ".bash_login") if (home / n).exists()),
        home / ".profile",
    )
    return [login, home / ".bashrc"]


def login_shell_finds(link: Path, home: Path) -> bool:
    """Whether `kargo` in a new login shell (bash -l) resolves to link."""
    env = {"HOME": str(home), "PATH": os.defpath, "TERM": os.environ.get("TERM", "dumb")}
    found = subprocess.run(
        ["bash", "-lc", "command -v kargo"], env=env, capture_output=True, text=True, timeout=30
    ).stdout.strip()
    return found == str(link)


def add_to_path(directory: Path, home: Path, modify: bool) -> list[str]:
    """Append the PATH line to the startup files that lack it, or only name it."""
    line = path_line(directory, home)
    if not modify:
        return [f"add {directory} to PATH, e.g. append to ~/.profile: {line}"]
    said = []
    for path in startup_files(home):
        text = path.read_text() if path.exists() else ""
        if MARK in text:
            continue
        path.write_text(text + ("" if text.endswith("\n") or not text else "\n") + line + "\n")
        said.append(f"added {directory} to PATH in {path} (open a new shell to use it)")
    return said


def install(home: Path, target: Path, modify_path: bool = True) -> list[str]:
    """Install the command for the user at home; what was done or what to do, one line each."""
    if not os.access(target, os.X_OK):
        return [f"{target} is missing; run `make setup` first"]
    link = install_dir(home) / "kargo"
    said = [link_command(target, link)]
    if not ours(link) or login_shell_finds(link, home):
        return said
    said += add_to_path(link.parent, home, modify_path)
    if modify_path and not login_shell_finds(link, home):
        said.append(f"a new login shell still runs another kargo first; use {link} by its path")
    return said


def main() -> int:
    """Install for the current user and print what happened."""
    home = Path.home()
    modify = os.environ.get("KARGO_NO_MODIFY_PATH", "") in ("", "0")
    for line in install(home, ROOT / ".venv" / "bin" / "kargo", modify):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
