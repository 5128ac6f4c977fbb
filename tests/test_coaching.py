"""Coaching names only swaps that were composed and measured, and says exactly what they score."""

import pytest

from kotone.domain.cards import SLOTS
from kotone.domain.coaching import MAX_SLOTS, MIN_GAIN, coach_song, pick_trials, rank_swaps
from kotone.domain.params import Params
from kotone.domain.scoring import best_choice, blend_profile, score_song


def cards_of(catalog, **ids):
    return {slot: catalog.get(cid) for slot, cid in ids.items()}


def blend_measure(cards):  # a stand-in composer whose song is exactly the cards' intent
    return blend_profile(cards)


def test_one_item_per_slot_suggestions_first_and_verified(catalog, book):
    c = book.get("c001")
    cards = cards_of(catalog, style="style_chiptune", instrument="instrument_square", mood="mood_frantic",
                     gimmick="gimmick_bitcrush")
    score = score_song(c.target, blend_measure(cards), cards, c)
    calls = []

    def measure(swapped):
        calls.append(dict(swapped))
        return blend_measure(swapped)

    items = coach_song(c, cards, score, catalog, measure)
    assert [i.slot for i in items if not i.suggest] == [s for s in SLOTS if s not in {i.slot for i in items
                                                                                         if i.suggest}]
    assert sorted(i.slot for i in items) == sorted(SLOTS)
    suggested = [i for i in items if i.suggest]
    assert 1 <= len(suggested) <= MAX_SLOTS
    assert items[: len(suggested)] == suggested  # suggestions first
    assert [i.expected_gain for i in suggested] == sorted((i.expected_gain for i in suggested), reverse=True)
    assert 1 <= len(calls) <= 4
    for item in suggested:
        swapped = {**cards, item.slot: catalog.get(item.suggest)}
        real = score_song(c.target, blend_measure(swapped), swapped, c).total - score.total
        assert item.expected_gain == pytest.approx(real, abs=0.05) and item.expected_gain >= MIN_GAIN
        assert catalog.get(item.suggest).name in item.message and "+" in item.message
        assert item.suggest in item.tried


def test_no_suggestion_when_the_real_swaps_do_not_help(catalog, book):
    """The predictor hopes; the measurement decides. A composer that always makes it worse
    means nothing is suggested and nothing is claimed."""
    c = book.get("c001")
    cards = {s: catalog.get(cid) for s, cid in best_choice(catalog, c.target, commission=c).items()}
    score = score_song(c.target, c.target, cards, c)  # this song met the wish exactly
    opposite = Params(**{k: 100 - v for k, v in c.target.as_dict().items()})
    items = coach_song(c, cards, score, catalog, lambda swapped: opposite)
    assert all(i.suggest is None and i.expected_gain == 0 for i in items)
    assert all(i.message.startswith("Keep") for i in items)


def test_time_budget_stops_the_trials(catalog, book):
    c = book.get("c001")
    cards = {s: catalog.by_slot(s)[0] for s in SLOTS}
    score = score_song(c.target, blend_measure(cards), cards, c)
    calls = []
    coach_song(c, cards, score, catalog, lambda sw: calls.append(1) or blend_measure(sw), out_of_time=lambda: True)
    assert calls == []


def test_trials_cover_the_two_slots_that_matter_most(catalog, book):
    c = book.get("c001")
    cards = {s: catalog.by_slot(s)[0] for s in SLOTS}
    score = score_song(c.target, blend_measure(cards), cards, c)
    ranked = rank_swaps(c, cards, blend_measure(cards), score.total, catalog)
    assert len(ranked) == sum(len(catalog.by_slot(s)) - 1 for s in SLOTS)
    trials = pick_trials(ranked)
    assert len({t.slot for t in trials}) <= 2 and len(trials) <= 4
    assert trials[0] == ranked[0]


def test_following_the_first_suggestion_with_the_same_seed_gives_exactly_that_score(book):
    """End to end with the real composer: the promise the coaching makes holds."""
    from kotone.studio import coach, compose_scored

    c = book.get("c017")
    choice = {"style": "style_folk", "instrument": "instrument_square", "mood": "mood_cheerful",
              "gimmick": "gimmick_echo"}
    song = compose_scored(choice, 3, c)
    coach(song, c, budget_s=60.0)
    first = song.score.coaching[0]
    assert first.suggest is not None
    followed = compose_scored({**choice, first.slot: first.suggest}, 3, c)
    assert followed.score.total == pytest.approx(song.score.total + first.expected_gain, abs=0.05)
