"""`kargo apply -f`: gather YAML files into one multi-document text and map errors back to files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

YAML_SUFFIXES = (".yaml", ".yml")
LINE_PATTERN = re.compile(r"\bline (\d+)")


class ApplySourceError(click.UsageError):
    """A path given to -f cannot be read (exit 2)."""


@dataclass(frozen=True)
class Chunk:
    """One file's place in the combined text: its first line (1-based) and its line count."""

    path: Path
    first_line: int
    lines: int


@dataclass(frozen=True)
class Bundle:
    """The YAML text sent to the server and where each file sits in it."""

    text: str
    chunks: tuple[Chunk, ...]

    def locate(self, line: int) -> tuple[Path, int] | None:
        """The file and line of a line number of the combined text."""
        for chunk in self.chunks:
            if chunk.first_line <= line < chunk.first_line + chunk.lines:
                return chunk.path, line - chunk.first_line + 1
        return None

    def explain(self, message: str) -> str:
        """A server message with `line N` rewritten as `FILE line M`."""
        if len(self.chunks) == 1:
            return f"{self.chunks[0].path}: {message}"

        def replace(match: re.Match[str]) -> str:
            found = self.locate(int(match.group(1)))
            return f"{found[0]} line {found[1]}" if found else match.group(0)

        return LINE_PATTERN.sub(replace, message)

    def describe(self, summary: str, details: list[Any]) -> str:
        """The server's refusal with each problem once, as `FILE:LINE: field: problem`."""
        lines = [summary.splitlines()[0] if summary else "invalid configuration"]
        for detail in details:
            if not isinstance(detail, dict):
                lines.append(str(detail))
                continue
            line = detail.get("line")
            found = self.locate(int(line)) if isinstance(line, int) else None
            where = f"{found[0]}:{found[1]}" if found else str(detail.get("file") or "")
            field = f" {detail['path']}:" if detail.get("path") else ""
            lines.append(f"{where}:{field} {detail.get('message', '')}".strip())
        return "\n".join(lines)


def yaml_files(paths: list[Path]) -> list[Path]:
    """Each file, and the YAML files under each folder (recursively, sorted).

    A folder's `rbac.yaml` is the server's access policy, not a resource: it is left out.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.suffix in YAML_SUFFIXES and p.is_file() and p.name != "rbac.yaml"
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ApplySourceError(f"{path} does not exist; give a YAML file or a folder of them")
    if not found:
        raise ApplySourceError(
            f"no .yaml or .yml files in {', '.join(map(str, paths))}; give a file or a folder"
        )
    return found


def bundle(paths: list[Path]) -> Bundle:
    """One multi-document YAML text from the files, separated by `---`."""
    parts: list[str] = []
    chunks: list[Chunk] = []
    line = 1
    for path in yaml_files(paths):
        try:
            content = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ApplySourceError(f"cannot read {path}: {exc}") from exc
        if not content.endswith("\n"):
            content += "\n"
        if parts:
            parts.append("---\n")
            line += 1
        count = content.count("\n")
        chunks.append(Chunk(path, line, count))
        parts.append(content)
        line += count
    return Bundle("".join(parts), tuple(chunks))
