"""A harmony check for any multi-track MIDI (generated songs and real corpora alike).

On every strong beat (beat 1, and beat 3 in 4/4) it looks at the pitched notes sounding
there and counts:
- out-of-scale onsets: a note starting on the strong beat whose pitch class is outside the
  scale in force (given per section, or the local Krumhansl key's major / full minor set);
- clashes: pairs of notes from *different* parts, both sounding on the strong beat, a
  semitone or a minor ninth apart (|interval| in {1, 13}).

A song passes when out-of-scale onsets <= OUT_OF_SCALE_MAX and clashes <= CLASH_MAX of the
strong-beat onsets. The same thresholds are applied to real corpus pieces by eval/.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pretty_midi

from kotone.music.measure import MAJOR_PROFILE, MINOR_PROFILE

# Bach's chorales put up to ~15% chromatic notes (secondary dominants) on strong beats (measured
# over 60 by eval.music); a random-pitch part would sit near 40%.
OUT_OF_SCALE_MAX = 0.20
CLASH_MAX = 0.08
KEY_WINDOW_BARS = 2  # the local key is read over +-2 bars (chorales modulate phrase by phrase)
MAJOR_SET = (0, 2, 4, 5, 7, 9, 11)
MINOR_SET = (0, 2, 3, 5, 7, 8, 9, 10, 11)  # natural + melodic (raised 6th, 7th)


@dataclass
class HarmonyReport:
    strong_onsets: int
    out_of_scale: int
    clashes: int

    @property
    def out_of_scale_rate(self) -> float:
        return self.out_of_scale / max(1, self.strong_onsets)

    @property
    def clash_rate(self) -> float:
        return self.clashes / max(1, self.strong_onsets)

    @property
    def passed(self) -> bool:
        # a single stray note never fails a piece (short tunes have few strong-beat onsets)
        oos_ok = self.out_of_scale <= max(1.0, OUT_OF_SCALE_MAX * self.strong_onsets)
        clash_ok = self.clashes <= max(1.0, CLASH_MAX * self.strong_onsets)
        return oos_ok and clash_ok


def local_scale(hist_notes: list[tuple[float, float, int]], t: float, window_s: float) -> set[int]:
    """Best 7/8-note key set for the music within ``window_s`` seconds of ``t``."""
    hist = np.zeros(12)
    for s, e, p in hist_notes:
        overlap = min(e, t + window_s) - max(s, t - window_s)
        if overlap > 0:
            hist[p % 12] += overlap
    if hist.sum() == 0 or np.count_nonzero(hist) < 3:
        return set(range(12))
    return key_set(hist)


def key_set(hist: np.ndarray) -> set[int]:
    """Pitch classes of the best-correlating Krumhansl key (major set, or the full minor set)."""
    best = max(
        ((np.corrcoef(np.roll(prof, k), hist)[0, 1], k, pcs)
         for prof, pcs in ((MAJOR_PROFILE, MAJOR_SET), (MINOR_PROFILE, MINOR_SET)) for k in range(12)),
        key=lambda x: x[0],
    )
    return {(best[1] + p) % 12 for p in best[2]}


def check_harmony(pm: pretty_midi.PrettyMIDI, scale_pcs: tuple[int, ...] | None = None,
                  beats_per_bar: int | None = None, scale_at=None) -> HarmonyReport:
    """``scale_pcs``: one scale for the whole piece; ``scale_at(t_seconds) -> set``: a scale per
    time (e.g. per section); neither: the key is inferred locally (+-2 bars) around each beat,
    so modulating pieces are judged in the key they are in (+-KEY_WINDOW_BARS bars)."""
    beats = pm.get_beats()
    if beats_per_bar is None:
        ts = pm.time_signature_changes
        beats_per_bar = ts[0].numerator if ts and ts[0].numerator in (2, 3, 4) else (3 if ts and ts[0].numerator == 6 else 4)
    strong = [b for i, b in enumerate(beats) if i % beats_per_bar == 0 or (beats_per_bar == 4 and i % 4 == 2)]
    parts = [(k, inst) for k, inst in enumerate(pm.instruments) if not inst.is_drum]
    onsets = out = clashes = 0
    tol = 0.06
    notes = [(n.start, n.end, n.pitch) for _, inst in parts for n in inst.notes]
    window = KEY_WINDOW_BARS * beats_per_bar * (float(np.median(np.diff(beats))) if len(beats) > 1 else 0.5)
    for t in strong:
        if scale_at is not None:
            scale = scale_at(t)
        elif scale_pcs:
            scale = set(scale_pcs)
        else:
            scale = local_scale(notes, t, window)
        sounding = []
        for k, inst in parts:
            for n in inst.notes:
                if n.start <= t + tol and n.end > t + tol:
                    sounding.append((k, n.pitch, abs(n.start - t) <= tol))
        for _, p, starts in sounding:
            if starts:
                onsets += 1
                out += p % 12 not in scale
        for i in range(len(sounding)):
            for j in range(i + 1, len(sounding)):
                (ki, pi, si), (kj, pj, sj) = sounding[i], sounding[j]
                if ki != kj and (si or sj) and abs(pi - pj) in (1, 13):
                    clashes += 1
    return HarmonyReport(strong_onsets=onsets, out_of_scale=out, clashes=clashes)
