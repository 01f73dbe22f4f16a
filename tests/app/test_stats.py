"""Statistics of a revealed round."""

from __future__ import annotations

from planning_poker.decks import BUILT_IN_DECKS, DeckKind
from planning_poker.stats import compute_stats

FIB = list(BUILT_IN_DECKS[DeckKind.FIBONACCI])
MODIFIED = list(BUILT_IN_DECKS[DeckKind.MODIFIED_FIBONACCI])
SHIRTS = list(BUILT_IN_DECKS[DeckKind.T_SHIRT])


def test_average_and_median_cover_the_numeric_cards_only() -> None:
    stats = compute_stats(["3", "5", "8", "?"], FIB)
    assert stats.average == 5.33
    assert stats.median == 5.0


def test_half_counts_as_a_half_and_coffee_is_left_out() -> None:
    stats = compute_stats(["½", "1", "☕"], MODIFIED)
    assert stats.average == 0.75
    assert stats.median == 0.75
    assert stats.distribution == {"½": 1, "1": 1, "☕": 1}


def test_consensus_means_every_card_is_the_same() -> None:
    assert compute_stats(["5", "5", "5"], FIB).consensus is True
    assert compute_stats(["5", "5", "8"], FIB).consensus is False


def test_agreement_is_the_share_of_the_most_common_card() -> None:
    stats = compute_stats(["5", "5", "8", "13"], FIB)
    assert stats.agreement == 50.0
    assert stats.mode == ["5"]


def test_a_tie_gives_several_modes_in_deck_order() -> None:
    assert compute_stats(["8", "3", "8", "3"], FIB).mode == ["3", "8"]


def test_t_shirt_sizes_get_mode_and_distribution_but_no_numbers() -> None:
    stats = compute_stats(["M", "L", "M"], SHIRTS)
    assert stats.average is None and stats.median is None
    assert stats.mode == ["M"]
    assert stats.distribution == {"M": 2, "L": 1}


def test_no_votes_give_empty_statistics() -> None:
    stats = compute_stats([], FIB)
    assert stats.to_json() == {
        "average": None,
        "median": None,
        "mode": [],
        "consensus": False,
        "agreement": 0.0,
        "distribution": {},
    }


def test_there_is_no_mode_when_every_estimate_differs_and_question_marks_are_not_estimates() -> (
    None
):
    assert compute_stats(["3", "5", "8"], FIB).mode == []
    assert compute_stats(["?", "?", "5"], FIB).mode == ["5"]
    assert compute_stats(["?", "?"], FIB).mode == []
    assert compute_stats(["8"], FIB).mode == ["8"]
