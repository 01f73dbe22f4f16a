"""Label selectors as kubectl parses them: equality-based and set-based."""

from __future__ import annotations

import pytest
from kargo.model.labels import labels_match, parse_label_selector

WEB = {"app": "poker", "tier": "web", "env": "dev"}
DB = {"app": "poker", "tier": "db", "old": "yes"}


@pytest.mark.parametrize(
    ("selector", "matched"),
    [
        ("", ["web", "db"]),
        ("app=poker", ["web", "db"]),
        ("tier==web", ["web"]),
        ("tier!=web", ["db"]),
        ("env in (dev, qa)", ["web"]),
        ("env notin (dev)", ["db"]),  # a missing label is not in the set, as in Kubernetes
        ("old", ["db"]),
        ("!old", ["web"]),
        ("app=poker,tier in (web,db),!old", ["web"]),
    ],
)
def test_selectors_match_as_in_kubernetes(selector: str, matched: list[str]) -> None:
    requirements = parse_label_selector(selector)
    found = [
        name for name, labels in (("web", WEB), ("db", DB)) if labels_match(labels, requirements)
    ]
    assert found == matched


@pytest.mark.parametrize("selector", ["tier in web", "=web", "tier in (web", "a b"])
def test_a_selector_that_does_not_parse_says_what_is_expected(selector: str) -> None:
    with pytest.raises(ValueError, match="expected key=value, key!=value, key in"):
        parse_label_selector(selector)
