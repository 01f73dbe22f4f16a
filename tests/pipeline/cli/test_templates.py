"""kubectl's JSONPath templates: the examples of kubectl's JSONPath reference, over a pod list."""

from __future__ import annotations

import pytest
from kargo.cli.templates import (
    TemplateError,
    check_template,
    column_cells,
    parse_columns,
    render_template,
    sort_key,
)

# The input of https://kubernetes.io/docs/reference/kubectl/jsonpath/ (shortened).
PODS = {
    "kind": "List",
    "items": [
        {
            "kind": "Pod",
            "metadata": {"name": "127.0.0.1", "labels": {"kubernetes.io/hostname": "127.0.0.1"}},
            "status": {"capacity": {"cpu": "4"}, "addresses": [{"type": "LegacyHostIP"}]},
        },
        {
            "kind": "Pod",
            "metadata": {"name": "127.0.0.2", "labels": {}},
            "status": {"capacity": {"cpu": "8"}, "addresses": [{"type": "another"}]},
        },
    ],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.kind}", "List"),
        ("{.items[*].metadata.name}", "127.0.0.1 127.0.0.2"),
        ("{.items[0].metadata.name}", "127.0.0.1"),
        ("{range .items[*]}[{.metadata.name}, {.status.capacity.cpu}] {end}",
         "[127.0.0.1, 4] [127.0.0.2, 8] "),
        ('{range .items[*]}{.metadata.name}{"\\t"}{end}', "127.0.0.1\t127.0.0.2\t"),
        ("{.items[?(@.status.capacity.cpu=='8')].metadata.name}", "127.0.0.2"),
        ("{.items[0].status.addresses}", '[{"type": "LegacyHostIP"}]'),
        ("names: {.items[*].metadata.name}", "names: 127.0.0.1 127.0.0.2"),
    ],
)  # fmt: skip
def test_kubectl_jsonpath_examples_render_as_kubectl_prints_them(
    template: str, expected: str
) -> None:
    assert render_template(template, PODS) == expected


@pytest.mark.parametrize("template", ["{end}", "{range .items[*]}{.x}", "{.items[", "{.a[?}"])
def test_broken_templates_are_refused_before_anything_is_asked(template: str) -> None:
    with pytest.raises(TemplateError):
        check_template(template)


def test_custom_columns_show_none_where_a_path_selects_nothing() -> None:
    columns = parse_columns("NAME:.metadata.name,HOST:.metadata.labels['kubernetes.io/hostname']")
    assert [h for h, _ in columns] == ["NAME", "HOST"]
    assert [column_cells(columns, pod) for pod in PODS["items"]] == [
        ["127.0.0.1", "127.0.0.1"],
        ["127.0.0.2", "<none>"],
    ]
    with pytest.raises(TemplateError, match="HEADER:PATH"):
        parse_columns("NAME")


def test_sort_by_orders_numbers_numerically_and_missing_values_first() -> None:
    items = [{"n": 10}, {"n": 9}, {}, {"n": 100}]
    assert sorted(items, key=sort_key(".n")) == [{}, {"n": 9}, {"n": 10}, {"n": 100}]
