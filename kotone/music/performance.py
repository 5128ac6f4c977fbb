"""Performance: how the band plays the notes (tempo, dynamics, legato, timing, swing).

The players make up what the band's timbre leaves of the wish: a band cooler than the wish
plays more legato, a band more modern than the wish plays looser. Swing belongs to the
styles that swing (and to the Swing gimmick); a straight style stays straight however old
the wish.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kotone.domain.cards import GimmickMusic, MoodMusic, StyleMusic
from kotone.domain.params import Params

TEMPO_SLACK = 10  # bpm the energy may push a style outside its range
SWING_GROOVES = {"swing": 0.1, "shuffle": 0.12}
# how far the playing leans against the band's timbre gap, per dimension
COMPENSATE = {"warmth": 1.6, "nostalgia": 0.9, "brightness": 0.6}


@dataclass(frozen=True)
class Performance:
    legato: float
    timing_spread: float
    swing: float
    dynamics: tuple[int, int]


def tempo(style: StyleMusic, intent: Params, jitter: float) -> float:
    """Inside the style's range by energy, pulled a little toward the rubric's global scale."""
    e = intent.energy / 100
    lo, hi = style.tempo_range
    t = 0.5 * (lo + (hi - lo) * e) + 0.5 * (50 + 130 * e) + jitter
    return float(max(40.0, min(200.0, round(float(np.clip(t, lo - TEMPO_SLACK, hi + TEMPO_SLACK))))))


def compensate(dim: str, wish: float, band: float) -> float:
    return float(np.clip(wish + COMPENSATE[dim] * (wish - band), 0.0, 100.0))


def register_lift(intent: Params, band: dict[str, float]) -> int:
    """Semitones the lines rise when the band sounds duller than the wish's brightness."""
    return int(round(0.35 * (compensate("brightness", intent.brightness, band["brightness"]) - intent.brightness)))


def dynamics(mood: MoodMusic, energy: float) -> tuple[int, int]:
    """Velocity range: mostly the energy, a little of the mood's own dynamics."""
    lo = 0.75 * (30 + 45 * energy) + 0.25 * mood.dynamics[0]
    hi = 0.75 * (68 + 52 * energy) + 0.25 * mood.dynamics[1]
    return int(round(lo)), int(round(max(lo + 10, hi)))


def swing_amount(style: StyleMusic, gim: GimmickMusic, nostalgia: float) -> float:
    """Swing only where it belongs: the style swings (more with an older wish) or the gimmick
    asks for it. Compound meters (6/8) already divide the beat in three."""
    if style.meter == "6/8":
        return 0.0
    swing = 0.0
    if style.swings:
        swing = SWING_GROOVES.get(style.groove, 0.08) + 0.25 * max(0.0, nostalgia - 25) / 75
    if gim.effect == "swing":
        swing = max(swing, 0.12) + 0.08 + 0.08 * gim.amount
    return round(min(0.45, swing), 3)


def plan_performance(style: StyleMusic, mood: MoodMusic, gim: GimmickMusic, intent: Params,
                     band: dict[str, float]) -> Performance:
    warm = compensate("warmth", intent.warmth, band["warmth"])
    old = compensate("nostalgia", intent.nostalgia, band["nostalgia"])
    legato = round(0.15 + 0.83 * warm / 100, 3)  # at most the full slot: no ringing into the next chord
    # a straight style carries the wish's age in its timing alone (an old record's looseness)
    spread_gain = 0.03 if style.swings else 0.045
    timing_spread = round(0.003 + spread_gain * old / 100, 4)
    return Performance(legato=legato, timing_spread=timing_spread, swing=swing_amount(style, gim, old),
                       dynamics=dynamics(mood, intent.energy / 100))
