import pytest

from kotone.assets import load_book
from kotone.domain.cards import SLOTS
from kotone.domain.params import Params
from kotone.domain.scoring import (
    SLOT_WEIGHTS,
    best_choice,
    blend_profile,
    rank_for,
    score_song,
    vector_score,
)


def cards(catalog, **ids):
    return {slot: catalog.get(cid) for slot, cid in ids.items()}


def test_slot_weights_sum_to_one():
    for dim, w in SLOT_WEIGHTS.items():
        assert sum(w.values()) == pytest.approx(1.0), dim


def test_vector_score_known_answers():
    p = Params(energy=20, warmth=80, brightness=40, acousticness=90, complexity=30, nostalgia=70)
    assert vector_score(p, p) == 100.0
    off = Params(**{k: min(100, v + 45) if v < 55 else v - 45 for k, v in p.as_dict().items()})
    assert vector_score(p, off) == 0.0
    assert 50 < vector_score(p, Params(**{k: v + 10 if v <= 90 else v - 10 for k, v in p.as_dict().items()})) < 90


def test_blend_is_slot_weighted(catalog):
    chosen = cards(catalog, style="style_lullaby", instrument="instrument_square", mood="mood_calm",
                   gimmick="gimmick_rain")
    blend = blend_profile(chosen)
    expected = sum(SLOT_WEIGHTS["acousticness"][s] * c.profile.acousticness for s, c in chosen.items())
    assert blend.acousticness == pytest.approx(expected)


def test_perfect_song_scores_high_and_wrong_song_low(catalog):
    book = load_book()
    commission = book.get("c001")
    chosen = {s: catalog.get(cid) for s, cid in best_choice(catalog, commission.target, commission=commission).items()}
    good = score_song(commission.target, commission.target, chosen, commission)
    assert good.total >= 80
    assert good.rank in ("S", "A")
    opposite = Params(**{k: 100 - v for k, v in commission.target.as_dict().items()})
    bad = score_song(commission.target, opposite, chosen, commission)
    assert bad.total < good.total - 30


def test_forbidden_tags_and_dislikes_cost_points(catalog):
    book = load_book()
    c = next(c for c in book.commissions.values() if c.preference.dislikes)
    disliked = c.preference.dislikes[0]
    offender = next(card for card in catalog if disliked in card.tags)
    clean = {s: next(x for x in catalog.by_slot(s) if disliked not in x.tags) for s in SLOTS}
    dirty = {**clean, offender.slot: offender}
    s_clean = score_song(c.target, c.target, clean, c)
    s_dirty = score_song(c.target, c.target, dirty, c)
    assert s_dirty.preference < s_clean.preference
    assert s_dirty.total < s_clean.total


def test_notes_name_cards_not_ids(catalog):
    a = catalog.get("style_lofi")
    partner = catalog.get(a.synergies[0])
    clash = catalog.get(a.anti_synergies[0])
    chosen = {s: catalog.by_slot(s)[0] for s in SLOTS}
    chosen = {**chosen, "style": a, partner.slot: partner}
    if clash.slot not in ("style", partner.slot):
        chosen[clash.slot] = clash
    result = score_song(Params(), Params(), chosen)
    text = " ".join(result.notes)
    assert partner.name in text and "work well together" in text
    assert "style_lofi" not in text and partner.id not in text


def test_best_choice_respects_unlocks(catalog):
    target = Params(energy=90, warmth=30, brightness=80, acousticness=10, complexity=70, nostalgia=20)
    starters = set(catalog.starter_ids())
    choice = best_choice(catalog, target, unlocked=starters)
    assert set(choice.values()) <= starters
    free = best_choice(catalog, target)
    assert vector_score(target, blend_profile([catalog.get(c) for c in free.values()])) >= vector_score(
        target, blend_profile([catalog.get(c) for c in choice.values()]))


@pytest.mark.parametrize(("total", "rank"), [(95, "S"), (90, "S"), (85, "A"), (70, "B"), (55, "C"), (10, "D")])
def test_ranks(total, rank):
    assert rank_for(total) == rank
