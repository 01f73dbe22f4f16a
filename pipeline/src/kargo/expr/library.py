"""Kargo's expression functions (pkg/expressions/function) over data the caller supplies.

Pure: the caller hands in the freight's artifacts and loaders for secrets, config maps and
metadata; nothing here reads files or a store. Return shapes follow Kargo's Go types: a
commit is a GitCommit struct (`.ID`, `.Branch`, ...), `warehouse()` a FreightOrigin, `secret()`
and `configMap()` a map[string]string (a missing key is ""), a missing artifact is nil.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kargo.expr.errors import Fault
from kargo.expr.semver import semver_diff, semver_parse
from kargo.expr.values import StringMap, Struct, type_name

ALIAS_SEPARATOR = "::"
FAILED_STATUSES = frozenset({"Failed", "Errored"})
Function = Callable[..., Any]


@dataclass(frozen=True)
class FreightArtifacts:
    """What one piece of freight carries, and the warehouse it came from."""

    origin: str
    commits: Sequence[Mapping[str, Any]] = ()  # repoURL, id, branch, tag, message, author, ...
    images: Sequence[Mapping[str, Any]] = ()  # repoURL, tag, digest, annotations
    charts: Sequence[Mapping[str, Any]] = ()  # repoURL, name, version


def _nothing(_name: str) -> Any:
    return None


def _empty(_name: str) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class KargoData:
    """Everything Kargo's functions read, supplied by the caller."""

    freight: Sequence[FreightArtifacts] = ()
    secret: Callable[[str], Mapping[str, str]] = _empty
    config_map: Callable[[str], Mapping[str, str]] = _empty
    freight_metadata: Callable[[str], Mapping[str, Any] | None] = _nothing
    stage_metadata: Callable[[str], Mapping[str, Any] | None] = _nothing
    step_statuses: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (alias, status)
    current_alias: str = ""


def _string(which: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Fault(f"{which} argument must be string, got {type_name(value)}")
    return value


def _name(value: Any, what: str) -> str:
    name = _string("the", value)
    if not name:
        raise Fault(f"{what} must not be empty")
    return name


def _origin(value: Any) -> str:
    if not isinstance(value, Struct) or value.type_name != "v1alpha1.FreightOrigin":
        raise Fault(
            f"the last argument must be FreightOrigin (from warehouse()), got {type_name(value)}"
        )
    return str(value.fields["Name"])


def normalize_url(url: str) -> str:
    """A repository URL compared as Kargo compares them (case, scheme, `.git`, trailing `/`)."""
    text = url.strip().lower()
    for prefix in ("https://", "http://", "ssh://", "oci://"):
        text = text.removeprefix(prefix)
    return text.removesuffix("/").removesuffix(".git")


def warehouse(name: Any) -> Struct:
    """warehouse(name): the FreightOrigin of a Warehouse."""
    return Struct(
        "v1alpha1.FreightOrigin",
        {"Kind": "Warehouse", "Name": _name(name, "name")},
        {"Kind": "kind", "Name": "name"},
    )


def _commit(item: Mapping[str, Any]) -> Struct:
    fields = {
        "RepoURL": item.get("repoURL", item.get("repo_url", "")),
        "ID": item.get("id", ""),
        "Branch": item.get("branch", ""),
        "Tag": item.get("tag", ""),
        "Message": item.get("message", ""),
        "Author": item.get("author", ""),
        "Committer": item.get("committer", ""),
    }
    json_names = {
        "RepoURL": "repoURL",
        "ID": "id",
        "Branch": "branch,omitempty",
        "Tag": "tag,omitempty",
        "Message": "message,omitempty",
        "Author": "author,omitempty",
        "Committer": "committer,omitempty",
    }
    return Struct("v1alpha1.GitCommit", fields, json_names)


def _image(item: Mapping[str, Any]) -> Struct:
    fields = {
        "RepoURL": item.get("repoURL", ""),
        "Tag": item.get("tag", ""),
        "Digest": item.get("digest", ""),
        "Annotations": dict(item.get("annotations") or {}),
    }
    json_names = {
        "RepoURL": "repoURL",
        "Tag": "tag,omitempty",
        "Digest": "digest,omitempty",
        "Annotations": "annotations,omitempty",
    }
    return Struct("v1alpha1.Image", fields, json_names)


def _chart(item: Mapping[str, Any]) -> Struct:
    fields = {
        "RepoURL": item.get("repoURL", ""),
        "Name": item.get("name", ""),
        "Version": item.get("version", ""),
    }
    json_names = {"RepoURL": "repoURL", "Name": "name,omitempty", "Version": "version,omitempty"}
    return Struct("v1alpha1.Chart", fields, json_names)


class _Finder:
    """Looks an artifact up in the freight, as Kargo's FindCommit/FindImage/FindChart do."""

    def __init__(self, freight: Sequence[FreightArtifacts]):
        self.freight = freight

    def find(
        self,
        kind: str,
        matches: Callable[[Mapping[str, Any]], bool],
        origin: str | None,
        label: str,
    ) -> Mapping[str, Any] | None:
        found: list[tuple[str, Mapping[str, Any]]] = []
        for artifacts in self.freight:
            if origin is not None and artifacts.origin != origin:
                continue
            for item in getattr(artifacts, kind):
                if matches(item):
                    found.append((artifacts.origin, item))
                    break
        origins = {name for name, _ in found}
        if origin is None and len(origins) > 1:
            raise Fault(
                f"multiple requested Freight could potentially provide {label}; "
                "pass warehouse(name) to disambiguate"
            )
        return found[0][1] if found else None

    def commit_from(self, repo_url: Any, origin: Any = None) -> Struct | None:
        url = normalize_url(_string("first", repo_url))
        item = self.find(
            "commits",
            lambda c: normalize_url(str(c.get("repoURL", c.get("repo_url", "")))) == url,
            None if origin is None else _origin(origin),
            f"a commit from repo {repo_url}",
        )
        return None if item is None else _commit(item)

    def image_from(self, repo_url: Any, origin: Any = None) -> Struct | None:
        url = normalize_url(_string("first", repo_url))
        item = self.find(
            "images",
            lambda i: normalize_url(str(i.get("repoURL", ""))) == url,
            None if origin is None else _origin(origin),
            f"an image from repo {repo_url}",
        )
        return None if item is None else _image(item)

    def chart_from(self, repo_url: Any, *rest: Any) -> Struct | None:
        if len(rest) > 2:
            raise Fault(f"expected 1-3 arguments, got {len(rest) + 1}")
        name: str | None = None
        origin: str | None = None
        for arg in rest:
            if isinstance(arg, str):
                name = arg
            else:
                origin = _origin(arg)
        url = normalize_url(_string("first", repo_url))

        def matches(chart: Mapping[str, Any]) -> bool:
            same_repo = normalize_url(str(chart.get("repoURL", ""))) == url
            return same_repo and (name is None or chart.get("name", "") == name)

        item = self.find("charts", matches, origin, f"a chart from repo {repo_url}")
        return None if item is None else _chart(item)


def _has_failures(statuses: Sequence[tuple[str, str]]) -> bool:
    return any(status in FAILED_STATUSES for _, status in statuses)


def _status_of(data: KargoData) -> Function:
    namespace = ""
    if data.current_alias.count(ALIAS_SEPARATOR) == 1:
        namespace = data.current_alias.split(ALIAS_SEPARATOR)[0]

    def status(alias: Any) -> str:
        wanted = _name(alias, "argument")
        for step_alias, step_status in data.step_statuses:
            step_namespace, short = "", step_alias
            if step_alias.count(ALIAS_SEPARATOR) == 1:
                step_namespace, short = step_alias.split(ALIAS_SEPARATOR)
            if step_namespace == namespace and short == wanted:
                return step_status
        return ""

    return status


def _metadata(lookup: Callable[[str], Mapping[str, Any] | None], what: str) -> Function:
    def read(name: Any) -> Mapping[str, Any] | None:
        found = lookup(_name(name, f"{what} name"))
        return None if found is None else dict(found)

    return read


def _data_map(lookup: Callable[[str], Mapping[str, str]]) -> Function:
    def read(name: Any) -> StringMap:
        return StringMap(lookup(_name(name, "name")))

    return read


def kargo_functions(data: KargoData, *, with_status: bool = True) -> dict[str, Function]:
    """Kargo's functions for promotion steps (`with_status`) or verification arguments."""
    finder = _Finder(data.freight)
    functions: dict[str, Function] = {
        "warehouse": warehouse,
        "commitFrom": finder.commit_from,
        "imageFrom": finder.image_from,
        "chartFrom": finder.chart_from,
        "secret": _data_map(data.secret),
        "configMap": _data_map(data.config_map),
        "freightMetadata": _metadata(data.freight_metadata, "freight ref"),
        "stageMetadata": _metadata(data.stage_metadata, "stage"),
        "semverParse": semver_parse,
        "semverDiff": semver_diff,
    }
    if with_status:
        functions.update(
            {
                "always": lambda: True,
                "success": lambda: not _has_failures(data.step_statuses),
                "failure": lambda: _has_failures(data.step_statuses),
                "status": _status_of(data),
            }
        )
    return functions


def task_outputs(alias: str, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """`task.outputs` for a step inflated from a PromotionTask (alias `task::step`), else None."""
    if alias.count(ALIAS_SEPARATOR) != 1:
        return None
    namespace = alias.split(ALIAS_SEPARATOR)[0] + ALIAS_SEPARATOR
    return {k.removeprefix(namespace): v for k, v in outputs.items() if k.startswith(namespace)}
