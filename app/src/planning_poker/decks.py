"""Card decks: the built-in ones, custom ones, and the numeric value of a card."""

from __future__ import annotations

from enum import StrEnum


class DeckKind(StrEnum):
    """The deck a room estimates with."""

    FIBONACCI = "fibonacci"
    MODIFIED_FIBONACCI = "modified-fibonacci"
    T_SHIRT = "t-shirt"
    POWERS_OF_TWO = "powers-of-two"
    CUSTOM = "custom"


BUILT_IN_DECKS: dict[DeckKind, tuple[str, ...]] = {
    DeckKind.FIBONACCI: ("0", "1", "2", "3", "5", "8", "13", "21", "34", "55", "89", "?"),
    DeckKind.MODIFIED_FIBONACCI: (
        "0",
        "½",
        "1",
        "2",
        "3",
        "5",
        "8",
        "13",
        "20",
        "40",
        "100",
        "?",
        "☕",
    ),  # fmt: skip
    DeckKind.T_SHIRT: ("XS", "S", "M", "L", "XL", "XXL", "?"),
    DeckKind.POWERS_OF_TWO: ("0", "1", "2", "4", "8", "16", "32", "64", "?"),
}

ABSTAIN_CARDS = frozenset({"?", "☕"})
MIN_CUSTOM_CARDS = 2
MAX_CUSTOM_CARDS = 20
MAX_CARD_LENGTH = 8


class DeckError(ValueError):
    """A deck definition that cannot be used; the message says why."""


def cards_for(kind: DeckKind, custom_cards: list[str] | None = None) -> list[str]:
    """The cards of a deck, validating a custom one."""
    if kind is not DeckKind.CUSTOM:
        if custom_cards:
            raise DeckError(f"cards are only accepted with the custom deck, not {kind.value}")
        return list(BUILT_IN_DECKS[kind])
    return validate_custom_cards(custom_cards or [])


def validate_custom_cards(cards: list[str]) -> list[str]:
    """A custom deck: 2 to 20 distinct cards, each at most 8 characters, trimmed."""
    trimmed = [card.strip() for card in cards]
    if not MIN_CUSTOM_CARDS <= len(trimmed) <= MAX_CUSTOM_CARDS:
        raise DeckError(
            f"a custom deck needs {MIN_CUSTOM_CARDS} to {MAX_CUSTOM_CARDS} cards"
            f" (one card leaves nothing to choose), got {len(trimmed)}"
        )
    for card in trimmed:
        if not card:
            raise DeckError("a card cannot be empty")
        if len(card) > MAX_CARD_LENGTH:
            raise DeckError(f"card {card!r} is longer than {MAX_CARD_LENGTH} characters")
    if len(set(trimmed)) != len(trimmed):
        raise DeckError("the cards of a deck must be distinct")
    return trimmed


def numeric_value(card: str) -> float | None:
    """The number a card stands for, or None for ?, ☕ and words; ½ counts as 0.5."""
    if card == "½":
        return 0.5
    try:
        value = float(card)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value
