"""Decks: the built-in ones and the validation of custom ones."""

from __future__ import annotations

import pytest
from planning_poker.decks import DeckError, DeckKind, cards_for, numeric_value


def test_the_built_in_decks_hold_the_documented_cards() -> None:
    assert cards_for(DeckKind.FIBONACCI)[-2:] == ["89", "?"]
    assert cards_for(DeckKind.MODIFIED_FIBONACCI)[1] == "½"
    assert cards_for(DeckKind.MODIFIED_FIBONACCI)[-1] == "☕"
    assert cards_for(DeckKind.T_SHIRT) == ["XS", "S", "M", "L", "XL", "XXL", "?"]
    assert cards_for(DeckKind.POWERS_OF_TWO) == ["0", "1", "2", "4", "8", "16", "32", "64", "?"]


def test_a_custom_deck_is_trimmed_and_kept_in_order() -> None:
    assert cards_for(DeckKind.CUSTOM, [" 1 ", "2", "big"]) == ["1", "2", "big"]


@pytest.mark.parametrize(
    ("cards", "reason"),
    [
        ([], "2 to 20"),
        (["5"], "2 to 20"),
        ([str(n) for n in range(21)], "2 to 20"),
        (["1", "1"], "distinct"),
        (["1", "123456789"], "longer than 8"),
        (["1", "  "], "empty"),
    ],
)
def test_a_bad_custom_deck_is_refused_with_the_reason(cards: list[str], reason: str) -> None:
    with pytest.raises(DeckError, match=reason):
        cards_for(DeckKind.CUSTOM, cards)


def test_cards_are_refused_with_a_built_in_deck() -> None:
    with pytest.raises(DeckError, match="only accepted with the custom deck"):
        cards_for(DeckKind.FIBONACCI, ["1"])


def test_numeric_value_knows_half_and_rejects_words() -> None:
    assert numeric_value("½") == 0.5
    assert numeric_value("13") == 13.0
    assert numeric_value("?") is None
    assert numeric_value("nan") is None
