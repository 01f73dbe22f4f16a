"""The configuration loader on random YAML around valid documents: never a crash, always a refusal
that names the file, the line and the field.

The documents start from the repository's own `kargo/` folder; each example changes a few nodes
(a wrong type, an unknown field, a deleted field, deep nesting, a huge string, one object reused
so the YAML carries an anchor and aliases) or mangles the text. The loader must either accept the
result or raise ConfigError whose every issue names the file, a line (>= 1) and a field path
(document-level issues, bad YAML and a document that is not a mapping, name the line only).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from kargo.config import ConfigError, load_text
from kargo.engine.registration import register_higher_layer_parsers

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "fuzzed/pipeline.yaml"
DOCUMENT_LEVEL = ("not valid YAML", "expected a mapping")


def valid_documents() -> list[dict[str, Any]]:
    """Every resource document of the repository's pipeline configuration."""
    files = sorted((ROOT / "kargo").rglob("*.yaml"))
    documents = []
    for file in files:
        if file.name == "rbac.yaml":
            continue
        documents += [d for d in yaml.safe_load_all(file.read_text()) if isinstance(d, dict)]
    return documents


VALID = valid_documents()
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "5m", "-1s", "${{ vars.x }}", "Warehouse", "main", "[", "*"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node in a YAML tree."""
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += paths(child, (*prefix, index))
    return found


def parent_of(tree: Any, path: tuple[Any, ...]) -> Any:
    """The container holding the node at `path`."""
    for part in path[:-1]:
        tree = tree[part]
    return tree


def deep(depth: int, leaf: Any) -> Any:
    """`depth` levels of alternating lists and mappings around `leaf`."""
    for level in range(depth):
        leaf = [leaf] if level % 2 else {"x": leaf}
    return leaf


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """YAML text: a valid document or two with a few nodes changed."""
    documents = [
        copy.deepcopy(draw(st.sampled_from(VALID))) for _ in range(draw(st.integers(1, 2)))
    ]
    for _ in range(draw(st.integers(1, 4))):
        tree = draw(st.sampled_from(documents))
        path = draw(st.sampled_from(paths(tree)))
        operation = draw(st.sampled_from(["replace", "unknown", "delete", "deep", "huge", "alias"]))
        if not path:
            if operation == "replace":
                documents[documents.index(tree)] = draw(values)
            continue
        parent, key = parent_of(tree, path), path[-1]
        if operation == "replace":
            parent[key] = draw(values)
        elif operation == "unknown" and isinstance(parent[key], dict):
            parent[key][draw(st.text(min_size=1, max_size=12))] = draw(values)
        elif operation == "delete":
            del parent[key]
        elif operation == "deep":
            parent[key] = deep(draw(st.integers(10, 400)), draw(scalars))
        elif operation == "huge":
            parent[key] = "x" * draw(st.integers(10_000, 300_000))
        elif operation == "alias":
            shared = draw(values)
            parent[key] = shared
            other_parent = parent_of(tree, draw(st.sampled_from(paths(tree)[1:] or [path])))
            if isinstance(other_parent, dict) and other_parent:
                other_parent[next(iter(other_parent))] = shared
    return "---\n".join(yaml.safe_dump(d, sort_keys=False, allow_unicode=True) for d in documents)


def check_refusal(text: str) -> None:
    """Accepted, or refused with issues naming file, line and field."""
    register_higher_layer_parsers()
    try:
        load_text(text, SOURCE)
    except ConfigError as exc:
        assert exc.issues, "a refusal without issues"
        for issue in exc.issues:
            assert issue.file == SOURCE, issue
            assert isinstance(issue.line, int) and issue.line >= 1, issue
            assert issue.message, issue
            if not issue.message.startswith(DOCUMENT_LEVEL):
                assert issue.path, issue


@given(mutated_documents())
def test_mutated_documents_are_accepted_or_refused_naming_file_line_and_field(text: str) -> None:
    check_refusal(text)


@st.composite
def mangled_texts(draw: st.DrawFn) -> str:
    """A valid document's text cut, spliced or sprinkled with YAML syntax."""
    text = yaml.safe_dump(draw(st.sampled_from(VALID)), sort_keys=False)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        junk = draw(
            st.sampled_from(
                [
                    "&a ",
                    "*a",
                    "*nope",
                    ": :",
                    "- ",
                    "\t",
                    "{",
                    "]",
                    "!!python/object:os.system ",
                    "<<: *a\n",
                    "\n  ",
                    "'",
                    '"',
                    "%YAML 1.1\n",
                    "---\n",
                    "\x00",
                ]
            )
        )
        text = text[:at] + junk + text[at:]
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


@given(mangled_texts())
def test_mangled_yaml_text_is_refused_with_a_line_never_a_crash(text: str) -> None:
    check_refusal(text)


def test_a_forbidden_character_is_refused_naming_its_line() -> None:
    text = "kind: Project\nmetadata:\n  name: a\x00b\n"
    try:
        load_text(text, SOURCE)
    except ConfigError as exc:
        assert [(i.file, i.line) for i in exc.issues] == [(SOURCE, 3)]
    else:
        raise AssertionError("a NUL character was accepted")


def test_a_project_whose_metadata_is_not_a_mapping_is_refused_naming_the_field() -> None:
    head = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\n"
    text = f"{head}metadata: null\n---\n{head}metadata: [a]\n"
    try:
        load_text(text, SOURCE)
    except ConfigError as exc:
        assert {(i.line, i.path) for i in exc.issues} == {(3, "metadata"), (7, "metadata")}
    else:
        raise AssertionError("a Project without a metadata mapping was accepted")


def test_nesting_far_too_deep_is_refused_not_a_crash() -> None:
    text = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: deep}\nspec: "
        + "[" * 1500
        + "]" * 1500
        + "\n"
    )
    try:
        load_text(text, SOURCE)
    except ConfigError as exc:
        [issue] = exc.issues
        assert issue.file == SOURCE and issue.line is not None and issue.line >= 1
        assert issue.message.startswith("not valid YAML"), issue
    else:
        raise AssertionError("1500 levels of nesting were accepted")
