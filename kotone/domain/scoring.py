"""Judge a song against a commission: the seed-001 breakdown (coaching: ``domain.coaching``).

total = 0.65 * vector + 0.20 * tags + 0.15 * preference + synergy - anti_synergy
(clipped to 0-100), every part on a 0-100 scale except the synergy terms (points).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kotone.domain.cards import SLOTS, Card, Catalog
from kotone.domain.commissions import Commission
from kotone.domain.params import DIMS, Params

# How much each slot's card shapes each dimension of the blended intent (rows sum to 1).
SLOT_WEIGHTS: dict[str, dict[str, float]] = {
    "energy": {"style": 0.35, "instrument": 0.15, "mood": 0.35, "gimmick": 0.15},
    "warmth": {"style": 0.20, "instrument": 0.35, "mood": 0.30, "gimmick": 0.15},
    "brightness": {"style": 0.20, "instrument": 0.25, "mood": 0.40, "gimmick": 0.15},
    "acousticness": {"style": 0.30, "instrument": 0.45, "mood": 0.05, "gimmick": 0.20},
    "complexity": {"style": 0.40, "instrument": 0.20, "mood": 0.15, "gimmick": 0.25},
    "nostalgia": {"style": 0.30, "instrument": 0.25, "mood": 0.15, "gimmick": 0.30},
}

W_VECTOR, W_TAGS, W_PREF = 0.65, 0.20, 0.15
SYNERGY_POINTS, ANTI_SYNERGY_POINTS = 4.0, 8.0
VECTOR_ZERO_AT = 45.0  # RMS distance (0-100 scale) at which the vector score reaches 0
RANKS: tuple[tuple[float, str], ...] = ((90, "S"), (80, "A"), (65, "B"), (50, "C"), (0, "D"))


def blend_profile(cards: Mapping[str, Card] | Sequence[Card]) -> Params:
    """The intent of four cards: per-dim weighted mean, weights by slot (SLOT_WEIGHTS)."""
    items = list(cards.values()) if isinstance(cards, Mapping) else list(cards)
    if not items:
        raise ValueError("blend_profile needs at least one card")
    out = {}
    for dim in DIMS:
        num = sum(SLOT_WEIGHTS[dim][c.slot] * getattr(c.profile, dim) for c in items)
        den = sum(SLOT_WEIGHTS[dim][c.slot] for c in items)
        out[dim] = num / den
    return Params(**out)


def vector_score(target: Params, measured: Params) -> float:
    diff = np.array(target.as_list()) - np.array(measured.as_list())
    rms = float(np.sqrt(np.mean(diff**2)))
    return max(0.0, 100.0 * (1.0 - rms / VECTOR_ZERO_AT))


def card_tags(cards: Mapping[str, Card]) -> set[str]:
    return {t for c in cards.values() for t in c.tags}


def tag_score(commission: Commission | None, tags: set[str]) -> tuple[float, list[str]]:
    if commission is None:
        return 100.0, []
    rules, notes = commission.tags, []
    req = rules.required
    req_frac = sum(t in tags for t in req) / len(req) if req else 1.0
    opt = rules.optional
    opt_frac = sum(t in tags for t in opt) / len(opt) if opt else 1.0
    forbidden = [t for t in rules.forbidden if t in tags]
    for t in req:
        if t not in tags:
            notes.append(f"missing a '{t}' touch the client asked for")
    for t in forbidden:
        notes.append(f"'{t}' was something the client did not want")
    score = 100.0 * (0.7 * req_frac + 0.3 * opt_frac) - 35.0 * len(forbidden)
    return max(0.0, min(100.0, score)), notes


def preference_score(commission: Commission | None, tags: set[str]) -> float:
    if commission is None:
        return 100.0
    pref = commission.preference
    if not pref.likes and not pref.dislikes:
        return 100.0
    score = 80.0 + 10.0 * sum(t in tags for t in pref.likes)
    score -= 40.0 * sum(t in tags for t in pref.dislikes)
    return max(0.0, min(100.0, score))


def synergy_pairs(cards: Mapping[str, Card]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    chosen = list(cards.values())
    ids = {c.id for c in chosen}
    good, bad = set(), set()
    for c in chosen:
        for other in c.synergies:
            if other in ids and other != c.id:
                good.add(tuple(sorted((c.id, other))))
        for other in c.anti_synergies:
            if other in ids and other != c.id:
                bad.add(tuple(sorted((c.id, other))))
    return sorted(good), sorted(bad)


class Coaching(BaseModel):
    """One coaching line for one slot (SPEC §6: ``slot``, ``suggest``, ``expected_gain``).

    ``suggest`` is the card to try instead (None: keep this card) and ``expected_gain`` the
    points the swap scored over this song when it was composed with the same seed and
    measured (0 when nothing is suggested).
    """

    model_config = ConfigDict(extra="ignore")

    slot: str
    card_id: str
    card_name: str
    suggest: str | None = None
    suggest_name: str | None = None
    expected_gain: float = 0.0
    message: str = ""
    reasons: list[str] = Field(default_factory=list)
    tried: list[str] = Field(default_factory=list)  # card ids composed and measured for this slot


class ScoreBreakdown(BaseModel):
    model_config = ConfigDict(extra="ignore")

    total: float
    rank: str
    vector: float
    tags: float
    preference: float
    synergy: float
    anti_synergy: float
    target: dict[str, float]
    measured: dict[str, float]
    coaching: list[Coaching] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def as_dict(self) -> dict:
        return self.model_dump(mode="json")


def rank_for(total: float) -> str:
    return next(r for floor, r in RANKS if total >= floor)


def score_song(
    target: Params,
    measured: Params,
    cards: Mapping[str, Card],
    commission: Commission | None = None,
    catalog: Catalog | None = None,  # unused: kept for callers (coaching lives in domain.coaching)
) -> ScoreBreakdown:
    """Score a song's measured dims against the hidden target (coaching: ``domain.coaching``)."""
    tags = card_tags(cards)
    vec = vector_score(target, measured)
    tscore, notes = tag_score(commission, tags)
    pscore = preference_score(commission, tags)
    good, bad = synergy_pairs(cards)
    syn, anti = SYNERGY_POINTS * len(good), ANTI_SYNERGY_POINTS * len(bad)
    total = W_VECTOR * vec + W_TAGS * tscore + W_PREF * pscore + syn - anti
    total = round(max(0.0, min(100.0, total)), 1)
    if commission is not None and commission.preference.note:
        hit = [t for t in commission.preference.dislikes if t in tags]
        if hit:
            notes.append(f"the client said: “{commission.preference.note}”")
    names = {c.id: c.name for c in cards.values()}
    for a, b in bad:
        notes.append(f"«{names[a]}» and «{names[b]}» clash (−{ANTI_SYNERGY_POINTS:.0f})")
    for a, b in good:
        notes.append(f"«{names[a]}» and «{names[b]}» work well together (+{SYNERGY_POINTS:.0f})")
    return ScoreBreakdown(
        total=total,
        rank=rank_for(total),
        vector=round(vec, 1),
        tags=round(tscore, 1),
        preference=round(pscore, 1),
        synergy=syn,
        anti_synergy=anti,
        target=target.rounded(),
        measured=measured.rounded(),
        notes=notes,
    )


def best_choice(
    catalog: Catalog,
    target: Params,
    unlocked: set[str] | None = None,
    commission: Commission | None = None,
    top_k: int = 40,
) -> dict[str, str]:
    """The slot -> card id choice whose blended profile scores best against ``target``.

    Ranks every combination by vector score (vectorised), then re-scores the best
    ``top_k`` with tags, preference and synergies when a commission is given.
    """
    per_slot = []
    for slot in SLOTS:
        cands = [c for c in catalog.by_slot(slot) if unlocked is None or c.id in unlocked]
        if not cands:
            raise ValueError(f"no available cards in slot {slot!r}")
        per_slot.append(cands)
    w = np.array([[SLOT_WEIGHTS[d][s] for d in DIMS] for s in SLOTS])  # (4, 6)
    profs = [np.array([c.profile.as_list() for c in cands]) * w[i] for i, cands in enumerate(per_slot)]
    blended = (
        profs[0][:, None, None, None, :]
        + profs[1][None, :, None, None, :]
        + profs[2][None, None, :, None, :]
        + profs[3][None, None, None, :, :]
    ) / w.sum(axis=0)
    rms = np.sqrt(((blended - np.array(target.as_list())) ** 2).mean(axis=-1))
    flat = np.argsort(rms, axis=None)[: max(1, top_k if commission else 1)]
    best, best_total = None, -1.0
    for idx in flat:
        combo = np.unravel_index(idx, rms.shape)
        chosen = {s: per_slot[i][j] for i, (s, j) in enumerate(zip(SLOTS, combo, strict=True))}
        total = score_song(target, blend_profile(chosen), chosen, commission).total
        if total > best_total:
            best, best_total = chosen, total
    assert best is not None
    return {s: c.id for s, c in best.items()}


def all_choices(catalog: Catalog) -> list[dict[str, str]]:
    """Every slot -> card id combination in the catalog (for exhaustive tests)."""
    per_slot = [[c.id for c in catalog.by_slot(s)] for s in SLOTS]
    return [dict(zip(SLOTS, combo, strict=True)) for combo in itertools.product(*per_slot)]
