"""Syncopation that follows the song's complexity: anticipations.

An anticipation moves a note that falls on a beat half a beat earlier and lets it carry
across the beat (the previous note gives up that half beat). Plain songs keep their
notes on the beat; rich ones (SPEC §2: "rich: 7ths/extensions, syncopation") push a
growing share of them ahead. Locked motif notes never move, and neither does a note whose
predecessor is locked.
"""

from __future__ import annotations

import numpy as np

from kotone.music.types import Note

ON_BEAT = 0.02


def anticipation_share(complexity: float) -> float:
    """Share of eligible on-beat notes that are anticipated, for complexity 0-1."""
    return float(np.clip(1.5 * (complexity - 0.3), 0.0, 0.55))


def anticipate(notes: list[Note], share: float, rng: np.random.Generator,
               locked: set[Note] | frozenset[Note] = frozenset(), start_beat: float = 0.0) -> list[Note]:
    """Return the line with about ``share`` of its eligible on-beat notes pushed half a beat early.

    Eligible: a note on a beat (not the section's first beat) whose predecessor started at
    least 0.75 beats before it, with no other onset in between; neither note locked.
    """
    if share <= 0 or len(notes) < 2:
        return list(notes)
    line = sorted(notes, key=lambda n: (n.start, n.pitch))
    onsets = sorted({round(n.start, 4) for n in line})
    out = list(line)
    for i in range(1, len(out)):
        n, prev = out[i], out[i - 1]
        frac = n.start % 1.0
        if min(frac, 1.0 - frac) > ON_BEAT or n.start - start_beat < 0.5 or n in locked or prev in locked:
            continue
        if prev.start > n.start - 0.75:
            continue
        target = n.start - 0.5
        if any(target - 1e-6 <= t < n.start - 1e-6 for t in onsets):
            continue
        if rng.random() >= share:
            continue
        out[i - 1] = Note(prev.start, min(prev.dur, target - prev.start), prev.pitch, prev.velocity)
        out[i] = Note(target, n.dur + 0.5, n.pitch, n.velocity)
    return out
