"""Motifs: the tune's basic ideas, designed per form letter and realized over the chords.

A motif is a bar-long or two-bar idea: a rhythm made of bar cells (the meter's own: dotted
quarters in 6/8, long-short in 3/4) and a contour in scale steps. It is realized the same
way every time it sounds over the same chords, so a returning phrase is note for note the
same; over other chords its strong-beat notes move to the nearest chord tone.
"""

from __future__ import annotations

import numpy as np

from kotone.domain.plan import Motif, MotifUse
from kotone.domain.theory import nearest_pitch, scale_step
from kotone.music.types import Note, SectionContext

# Bar rhythms (inter-onset times in beats) per meter and pace; "end" cells close an idea on a
# long note (a breath before the next phrase).
CELLS: dict[str, dict[str, list[list[float]]]] = {
    "4/4": {
        "slow": [[2, 2], [1, 1, 2], [3, 1], [1.5, 0.5, 2], [2, 1, 1], [1, 1, 1, 1]],
        "mid": [[1, 1, 1, 1], [1, 0.5, 0.5, 2], [1.5, 0.5, 1, 1], [0.5, 0.5, 1, 1, 1], [1, 1, 0.5, 0.5, 1],
                [1, 0.5, 0.5, 1, 1], [0.75, 0.25, 1, 2], [1.5, 0.5, 0.5, 0.5, 1]],
        "fast": [[0.5, 0.5, 0.5, 0.5, 1, 1], [0.5, 0.5, 1, 0.5, 0.5, 1], [1, 0.5, 0.5, 0.5, 0.5, 1],
                 [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1], [0.25, 0.25, 0.5, 1, 1, 1], [0.75, 0.25, 0.5, 0.5, 1, 1]],
        "end": [[1, 1, 2], [0.5, 0.5, 1, 2], [1.5, 0.5, 2], [2, 2], [1, 3], [0.5, 0.5, 0.5, 0.5, 2]],
        # notes that start off the beat and carry across the next one
        "sync": [[0.5, 1, 0.5, 2], [1.5, 1, 1.5], [0.5, 1.5, 1, 1], [1, 0.5, 1, 1.5], [0.75, 0.75, 0.5, 2],
                 [0.5, 1, 1, 1.5]],
        "sync_end": [[0.5, 1.5, 2], [1, 0.5, 2.5], [0.5, 0.5, 1, 2]],
    },
    "3/4": {
        "slow": [[2, 1], [1, 2], [1, 1, 1], [1.5, 0.5, 1]],
        "mid": [[1, 1, 1], [1.5, 0.5, 1], [1, 0.5, 0.5, 1], [2, 1], [0.5, 0.5, 1, 1]],
        "fast": [[0.5, 0.5, 1, 1], [1, 0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5, 1], [1, 0.5, 0.5, 1]],
        "end": [[1, 2], [3], [0.5, 0.5, 2], [1.5, 1.5]],
        "sync": [[0.5, 1, 1.5], [1.5, 1.5], [1, 0.5, 1.5], [0.5, 1.5, 1]],
        "sync_end": [[0.5, 2.5], [1, 0.5, 1.5]],
    },
    # compound meter: two dotted-quarter groups of three eighths per bar
    "6/8": {
        "slow": [[1.5, 1.5], [1, 0.5, 1.5], [1, 0.5, 1, 0.5], [1.5, 1, 0.5]],
        "mid": [[1, 0.5, 1, 0.5], [0.5, 0.5, 0.5, 1, 0.5], [1, 0.5, 0.5, 0.5, 0.5], [1.5, 0.5, 0.5, 0.5]],
        "fast": [[0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [1, 0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 1, 0.5],
                 [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]],
        "end": [[1, 0.5, 1.5], [0.5, 0.5, 0.5, 1.5], [3], [1.5, 1.5]],
    },
}
CONTOURS = ("arch", "rise", "fall", "valley", "wave")
ANCHORS = {"A": (1, 3, 5), "B": (3, 5, 5), "C": (2, 4, 6)}


def pace(density: float) -> str:
    return "slow" if density < 0.45 else "mid" if density < 0.75 else "fast"


def cells_for(meter: str, kind: str, grid: float, swings: bool) -> list[list[float]]:
    """Bar cells of one kind that sit on the grid (no sixteenths in a swing or compound tune)."""
    step = max(grid, 0.5) if swings else grid
    cells = [c for c in CELLS[meter][kind] if all(abs(d / step - round(d / step)) < 1e-6 for d in c)]
    return cells or [c for c in CELLS[meter][kind] if all(abs(d * 2 - round(d * 2)) < 1e-6 for d in c)]


def _contour(shape: str, n: int, amplitude: int, rng: np.random.Generator, tension: float = 0.3) -> list[int]:
    """Scale steps from the first note: mostly steps, a leap now and then (more with tension)
    that the next note fills back, the overall direction following ``shape``; a note never
    repeats the one before it (repeated notes come from the rhythm cells' own figures, not here)."""
    xs = np.linspace(0.0, 1.0, n)
    curve = {"arch": np.sin(np.pi * xs), "rise": xs, "fall": -xs, "valley": -np.sin(np.pi * xs),
             "wave": np.sin(2 * np.pi * xs)}[shape] * amplitude
    steps = [0]
    leapt = 0
    for i in range(1, n):
        toward = int(np.sign(round(curve[i]) - steps[-1])) or (1 if rng.random() < 0.5 else -1)
        if leapt:  # fill the gap a leap left, by step
            move = -leapt
        elif rng.random() < 0.12 + 0.2 * tension:
            move = toward * int(rng.choice([2, 3, 4]))
        else:
            move = toward * (1 if rng.random() < 0.75 else 2)
        leapt = int(np.sign(move)) if abs(move) >= 3 else 0
        steps.append(int(np.clip(steps[-1] + move, -6, 7)))
        if steps[-1] == steps[-2]:
            steps[-1] += -toward
    return steps


def syncopation_share(complexity: float) -> float:
    """Share of an idea's bars in syncopated cells, for complexity 0-1 (plain tunes: none)."""
    return float(np.clip(1.6 * (complexity - 0.35), 0.0, 0.8))


def design_motif(motif_id: str, label: str, *, meter: str, bars: int, density: float, tension: float,
                 grid: float, swings: bool, rng: np.random.Generator, register: str = "mid",
                 complexity: float = 0.5) -> Motif:
    """A ``bars``-long idea: body cells, then a closing cell that ends on a long note; richer
    songs draw more of their bars from syncopated cells."""
    rhythm: list[float] = []
    share = syncopation_share(complexity) if "sync" in CELLS[meter] else 0.0
    for b in range(bars):
        sync = rng.random() < share
        closing = b == bars - 1 and bars > 1
        pool = cells_for(meter, ("sync_end" if sync else "end") if closing else ("sync" if sync else pace(density)),
                         grid, swings)
        rhythm += list(pool[int(rng.integers(0, len(pool)))])
    shape = CONTOURS[int(rng.integers(0, len(CONTOURS)))]
    amplitude = int(2 + round(3 * tension + rng.integers(0, 2)))
    steps = _contour(shape, len(rhythm), amplitude, rng, tension)
    anchors = ANCHORS.get(label, ANCHORS["A"])
    return Motif(motif_id=motif_id, interval_pattern=steps, rhythm_pattern=[float(d) for d in rhythm],
                 register_band=register, anchor_degree=int(anchors[int(rng.integers(0, len(anchors)))]),
                 emotional_role={"A": "statement", "B": "chorus", "C": "contrast"}.get(label, "statement"),
                 allowed_transformations=["transpose", "register_shift"])


def is_strong(beat_in_bar: float, bpb: float, compound: bool) -> bool:
    """Downbeats; the middle of a 4/4 bar; the second dotted quarter of a 6/8 bar."""
    if abs(beat_in_bar) < 1e-6:
        return True
    if compound:
        return abs(beat_in_bar - 1.5) < 1e-6
    return bpb == 4 and abs(beat_in_bar - 2) < 1e-6


def anchors_harmony(beat_in_bar: float, bpb: float, dur: float) -> bool:
    """Where a tune's note must be a chord tone: the downbeat, the middle of a 4/4 bar, and any
    note held two beats or more; elsewhere it may pass, neighbour or lean."""
    return abs(beat_in_bar) < 1e-6 or (bpb == 4 and abs(beat_in_bar - 2) < 1e-6) or dur >= 2.0 - 1e-6


def fit_pitch(pitch: int, lo: int, hi: int) -> int:
    while pitch > hi:
        pitch -= 12
    while pitch < lo:
        pitch += 12
    return pitch


def chord_tone_near(pitch: int, chord_pcs: tuple[int, ...], scale: tuple[int, ...], lo: int, hi: int) -> int:
    """The chord tone (one the melody's scale has, when there is one) nearest ``pitch``."""
    tones = [pc for pc in chord_pcs[:3] if pc in scale] or list(chord_pcs[:3])
    cands = [nearest_pitch(pc, pitch, lo, hi) for pc in tones]
    return min(cands, key=lambda p: (abs(p - pitch), p))


def chord_tone_toward(pitch: int, direction: int, prev: int | None, chord_pcs: tuple[int, ...],
                      scale: tuple[int, ...], lo: int, hi: int) -> int:
    """The nearest chord tone, but one that keeps the contour's direction from ``prev`` (a
    rising step never snaps back onto the note it left)."""
    p = chord_tone_near(pitch, chord_pcs, scale, lo, hi)
    if prev is None or direction == 0 or np.sign(p - prev) == direction:
        return p
    tones = [pc for pc in chord_pcs[:3] if pc in scale] or list(chord_pcs[:3])
    cands = [q for q in range(prev + direction, prev + direction * 10, direction) if q % 12 in tones and lo <= q <= hi]
    return cands[0] if cands else p


def realize_motif(motif: Motif, use: MotifUse, ctx: SectionContext, vel: int) -> list[Note]:
    """The motif's notes from ``use.beat`` (a ``transpose`` use moves it by scale steps)."""
    lo, hi = ctx.register
    start = ctx.start_beat + use.beat
    first_chord = ctx.chord_at(start)
    anchor_pc = ctx.scale_pcs[(motif.anchor_degree - 1) % len(ctx.scale_pcs)]
    center = (lo + hi) // 2 + (3 if motif.register_band == "mid_high" else 0)
    base = nearest_pitch(anchor_pc, center, lo, hi)
    if anchor_pc not in first_chord.pcs[:3]:
        base = chord_tone_near(base, first_chord.pcs, ctx.scale_pcs, lo, hi)
    shift = int(use.params.get("steps", 0)) if use.transformation == "transpose" else 0
    raw: list[tuple[float, float, int]] = []
    t = start
    steps = motif.interval_pattern
    prev: int | None = None
    for k, (s, d) in enumerate(zip(steps, motif.rhythm_pattern, strict=True)):
        if t + d > ctx.end_beat + 1e-6:
            break
        chord = ctx.chord_at(t)
        scale = ctx.melody_scale_over(chord)
        p = scale_step(base, s + shift, scale) if (s + shift) else base
        bib = (t - ctx.start_beat) % ctx.beats_per_bar
        if anchors_harmony(bib, ctx.beats_per_bar, d):
            direction = 0 if k == 0 else int(np.sign(s - steps[k - 1]))
            p = chord_tone_toward(p, direction, prev, chord.pcs, scale, lo, hi)
        if raw and p == raw[-1][2] and k and s != steps[k - 1]:  # the contour moves, so does the tune
            p = scale_step(p, int(np.sign(s - steps[k - 1])), scale)
        raw.append((t, d, int(p)))
        prev = int(p)
        t += d
    return [Note(round(t, 4), round(d if k == len(raw) - 1 else d * 0.95, 4), p, vel)
            for k, (t, d, p) in enumerate(place_in_register(raw, lo, hi))]


def place_in_register(raw: list[tuple[float, float, int]], lo: int, hi: int) -> list[tuple[float, float, int]]:
    """The whole idea moved by octaves to fit [lo, hi]; a note that still sticks out (more than a
    minor third below, or at all above) takes the octave nearest the note before it (the
    contour's shape survives)."""
    if not raw:
        return raw
    top, bottom = max(p for _, _, p in raw), min(p for _, _, p in raw)
    move = 0
    while top + move > hi and bottom + move - 12 >= lo - 2:
        move -= 12
    while bottom + move < lo and top + move + 12 <= hi + 2:
        move += 12
    out: list[tuple[float, float, int]] = []
    for t, d, p in raw:
        p += move
        if not lo - 3 <= p <= hi:
            ref = out[-1][2] if out else (lo + hi) // 2
            cands = [q for q in (p - 24, p - 12, p + 12, p + 24) if lo - 3 <= q <= hi] or [fit_pitch(p, lo, hi)]
            p = min(cands, key=lambda q: abs(q - ref))
        out.append((t, d, p))
    return out
