"""Coaching you can trust: every suggested swap was composed and measured before it is named.

A cheap predictor ranks every single-card swap (the song's measured dims moved by the
change in the cards' blended intent, scored with the game's own scorer: tags, preference,
synergies and clashes included). The best few, spread over the slots that matter most, are
then *really* tried: ``measure_swap`` composes the swapped cards with the same seed and
measures the result, and only a swap whose real score beats this song's is suggested, with
the real difference as ``expected_gain``. Composition is deterministic per seed, so a
player who follows the suggestion gets exactly that score.

Pure: the composer is injected (``measure_swap``), the clock is injected (``out_of_time``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kotone.domain.cards import SLOTS, Card, Catalog
from kotone.domain.commissions import Commission
from kotone.domain.params import DIMS, Params
from kotone.domain.scoring import Coaching, ScoreBreakdown, blend_profile, score_song

MIN_GAIN = 1.0  # points: a swap must beat the song by at least this much to be suggested
MAX_SLOTS = 2  # coach the one or two slots that matter most
TRIES_PER_SLOT = 2  # real compositions per coached slot
PREDICTION_SLACK = 2.0  # points: the predictor's typical error; worse predictions are not tried

DIM_WORDS = {
    "energy": "energy", "warmth": "warmth", "brightness": "brightness",
    "acousticness": "acoustic sound", "complexity": "richness", "nostalgia": "nostalgia",
}

MeasureSwap = Callable[[Mapping[str, Card]], Params]


@dataclass(frozen=True)
class Swap:
    slot: str
    card: Card
    predicted_gain: float


def predict_measured(measured: Params, cards: Mapping[str, Card], swapped: Mapping[str, Card]) -> Params:
    """The song's measured dims moved by the change in the blended intent of the cards."""
    now, new = blend_profile(cards), blend_profile(swapped)
    return Params.from_list(m + b - a for m, a, b in zip(measured.as_list(), now.as_list(), new.as_list(),
                                                          strict=True))


def rank_swaps(commission: Commission, cards: Mapping[str, Card], measured: Params, total: float,
               catalog: Catalog) -> list[Swap]:
    """Every single-card swap with its predicted gain over ``total``, best first."""
    out = []
    for slot in SLOTS:
        for cand in catalog.by_slot(slot):
            if cand.id == cards[slot].id:
                continue
            swapped = {**cards, slot: cand}
            guess = score_song(commission.target, predict_measured(measured, cards, swapped), swapped, commission)
            out.append(Swap(slot, cand, guess.total - total))
    return sorted(out, key=lambda s: (-s.predicted_gain, s.slot, s.card.id))


def pick_trials(ranked: list[Swap], max_slots: int = MAX_SLOTS, per_slot: int = TRIES_PER_SLOT) -> list[Swap]:
    """The swaps worth composing: the best ``per_slot`` of each of the ``max_slots`` slots whose
    best predicted swap is highest, skipping swaps predicted to lose more than the slack."""
    hopeful = [s for s in ranked if s.predicted_gain > -PREDICTION_SLACK]
    slots: list[str] = []
    for s in hopeful:
        if s.slot not in slots:
            slots.append(s.slot)
    chosen = []
    for slot in slots[:max_slots]:
        chosen.extend([s for s in hopeful if s.slot == slot][:per_slot])
    return sorted(chosen, key=lambda s: -s.predicted_gain)


def coach_song(commission: Commission, cards: Mapping[str, Card], score: ScoreBreakdown, catalog: Catalog,
               measure_swap: MeasureSwap, out_of_time: Callable[[], bool] = lambda: False) -> list[Coaching]:
    """One coaching item per slot: suggested swaps first (largest verified gain first), then the
    slots to keep. ``measure_swap(cards)`` must compose the cards with this song's seed."""
    measured = Params(**score.measured)
    trials = pick_trials(rank_swaps(commission, cards, measured, score.total, catalog))
    best: dict[str, tuple[float, Card, ScoreBreakdown]] = {}
    tried: dict[str, list[str]] = {s: [] for s in SLOTS}
    for swap in trials:
        if out_of_time():
            break
        swapped = {**cards, swap.slot: swap.card}
        result = score_song(commission.target, measure_swap(swapped), swapped, commission)
        tried[swap.slot].append(swap.card.id)
        gain = round(result.total - score.total, 1)
        if gain >= MIN_GAIN and (swap.slot not in best or gain > best[swap.slot][0]):
            best[swap.slot] = (gain, swap.card, result)
    items = []
    for slot in sorted(best, key=lambda s: -best[s][0]):
        gain, card, result = best[slot]
        items.append(_suggestion(commission, cards[slot], card, gain, score, result, tried[slot]))
    for slot in SLOTS:
        if slot not in best:
            items.append(_keep(cards[slot], tried[slot], catalog))
    return items


def _suggestion(commission: Commission, old: Card, new: Card, gain: float, before: ScoreBreakdown,
                after: ScoreBreakdown, tried: list[str]) -> Coaching:
    reasons = swap_reasons(commission, old, new, before, after)
    message = f"Try «{new.name}» instead of «{old.name}»: +{gain:.0f} points"
    message += (" — " + "; ".join(reasons) + ".") if reasons else "."
    return Coaching(slot=old.slot, card_id=old.id, card_name=old.name, suggest=new.id, suggest_name=new.name,
                    expected_gain=gain, message=message, reasons=reasons, tried=tried)


def _keep(card: Card, tried: list[str], catalog: Catalog) -> Coaching:
    if tried:
        names = " or ".join(f"«{catalog.get(c).name}»" for c in tried)
        message = f"Keep «{card.name}»: {names} scored no better here."
    else:
        message = f"Keep «{card.name}»."
    return Coaching(slot=card.slot, card_id=card.id, card_name=card.name, message=message, tried=tried)


def swap_reasons(commission: Commission, old: Card, new: Card, before: ScoreBreakdown,
                 after: ScoreBreakdown) -> list[str]:
    """Why the swap scored higher, in the player's words, from the two real measurements."""
    reasons = []
    target = before.target
    gaps = {d: abs(before.measured[d] - target[d]) - abs(after.measured[d] - target[d]) for d in DIMS}
    dim = max(DIMS, key=lambda d: gaps[d])
    if gaps[dim] >= 3:
        reasons.append(f"{DIM_WORDS[dim]} moves closer to the wish ({before.measured[dim]:.0f} → "
                       f"{after.measured[dim]:.0f}, wanted {target[dim]:.0f})")
    rules = commission.tags
    for tag in rules.required:
        if tag in new.tags and tag not in old.tags:
            reasons.append(f"it brings the “{tag}” touch the client asked for")
    for tag in [*rules.forbidden, *commission.preference.dislikes]:
        if tag in old.tags and tag not in new.tags:
            reasons.append(f"it drops the “{tag}” the client did not want")
    if after.anti_synergy < before.anti_synergy:
        reasons.append("no more clash between your cards")
    if after.synergy > before.synergy:
        reasons.append("it works well with your other cards")
    if not reasons and after.vector > before.vector:
        reasons.append(f"the song as a whole sits closer to the wish (match {before.vector:.0f} → {after.vector:.0f})")
    if not reasons and after.preference > before.preference:
        reasons.append("it suits the client's taste better")
    return reasons
