"""Score a generated section on four dimensions against its emotion vector (seed 002's
iterative refinement): rhythm, harmony, melody, density, each 0-1. The weakest dimension
below its threshold sends the roles the ROLES table names for it back for another take.
"""

from __future__ import annotations

import numpy as np

from kotone.domain.plan import SectionSpec
from kotone.domain.roles import ROLES
from kotone.music.types import Note, SectionContext

THRESHOLDS = {"rhythm": 0.55, "harmony": 0.7, "melody": 0.6, "density": 0.45}


def regenerate_roles(dimension: str) -> tuple[str, ...]:
    """The roles to regenerate when ``dimension`` is the weakest (from the ROLES table)."""
    return tuple(r for r, info in ROLES.items() if dimension in info.regenerate_for)


def _closeness(actual: float, expected: float, tolerance: float) -> float:
    return float(np.clip(1.0 - abs(actual - expected) / tolerance, 0.0, 1.0))


def _strong(t: float, ctx: SectionContext) -> bool:
    bib = (t - ctx.start_beat) % ctx.beats_per_bar
    return abs(bib) < 0.02 or (ctx.beats_per_bar == 4 and abs(bib - 2) < 0.02)


def chord_tone_ratio(notes: list[Note], ctx: SectionContext, strong_only: bool = True) -> float:
    sel = [n for n in notes if not strong_only or _strong(n.start, ctx)]
    if not sel:
        return 1.0
    return float(np.mean([n.pitch % 12 in ctx.chord_at(n.start).pcs for n in sel]))


def score_section(section: SectionSpec, ctx: SectionContext, made: dict[str, list[Note]]) -> dict[str, float]:
    ev = section.emotion
    bars = max(1, section.bars)
    scores: dict[str, float] = {}
    drums = made.get("drums")
    behavior = section.track_behaviors.get("drums")
    if drums is not None and behavior is not None and behavior.active:
        # hits per four beats that the section's drum density asks for (measured on the rule
        # drummer over 80 songs: about 5.5 + 11 x density, +-5 across grooves)
        expected = 5.5 + 11.0 * behavior.density
        actual = len(drums) / bars * 4.0 / ctx.beats_per_bar
        scores["rhythm"] = _closeness(actual, expected, 12.0)
    else:
        scores["rhythm"] = 1.0
    low = made.get("bass", []) + made.get("harmony", [])
    scores["harmony"] = chord_tone_ratio(low, ctx)
    melody = made.get("melody", [])
    if melody:
        motif_ok = all(n in melody for n in ctx.motif_notes)
        lo, hi = min(n.pitch for n in melody), max(n.pitch for n in melody)
        range_ok = 1.0 if hi - lo <= 24 else 0.5
        scores["melody"] = 0.6 * chord_tone_ratio(melody, ctx) + 0.25 * motif_ok + 0.15 * range_ok
    else:
        scores["melody"] = 1.0
    pitched = [n for r, ns in made.items() if r not in ("drums",) for n in ns]
    if pitched:
        per_bar = len(pitched) / bars
        scores["density"] = _closeness(per_bar, 6 + 30 * (0.5 * ev.energy + 0.5 * ev.motion), 30)
    else:
        scores["density"] = 0.0
    return {k: round(v, 3) for k, v in scores.items()}


def weakest(scores: dict[str, float]) -> tuple[str, float] | None:
    """The dimension furthest below its threshold, or None when every one passes."""
    gaps = {k: v - THRESHOLDS[k] for k, v in scores.items() if regenerate_roles(k)}
    k = min(gaps, key=gaps.get) if gaps else None
    return (k, scores[k]) if k is not None and gaps[k] < 0 else None
