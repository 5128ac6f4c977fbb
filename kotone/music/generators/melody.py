"""Rule-based melody and counter-line: motifs as hard constraints, phrases filled around them."""

from __future__ import annotations

import numpy as np

from kotone.domain.plan import Motif, MotifUse
from kotone.domain.theory import nearest_pitch, scale_step, snap_to_scale
from kotone.music.types import Note, SectionContext

FILL_RHYTHMS = {
    "slow": ([2.0, 2.0], [1.0, 1.0, 2.0], [3.0, 1.0], [1.5, 0.5, 2.0]),
    "mid": ([1.0, 0.5, 0.5, 1.0, 1.0], [0.5, 0.5, 1.0, 2.0], [1.0, 1.0, 0.5, 0.5, 1.0], [1.5, 0.5, 1.0, 1.0]),
    "fast": ([0.5, 0.5, 0.5, 0.5, 1.0, 1.0], [0.25, 0.25, 0.5, 0.5, 0.5, 1.0, 1.0], [0.5, 0.25, 0.25, 1.0, 0.5, 0.5, 1.0]),
}


SYNCOPATED = ([0.5, 1.0, 0.5, 1.0, 1.0], [0.75, 0.75, 0.5, 1.0, 1.0], [1.5, 1.5, 1.0], [0.5, 1.0, 1.0, 0.5, 1.0])


def realize_motif(motif: Motif, use: MotifUse, ctx: SectionContext, vel: int) -> list[Note]:
    """Turn a motif reference into locked notes: transformation applied, first note on a chord tone."""
    steps = list(motif.interval_pattern)
    rhythm = list(motif.rhythm_pattern)
    tf = use.transformation
    if tf == "invert":
        steps = [-s for s in steps]
    elif tf == "retrograde":
        steps = [s - steps[-1] for s in reversed(steps)]
        rhythm = list(reversed(rhythm))
    elif tf == "rhythmic_expand":
        rhythm = [d * 2 for d in rhythm]
    elif tf == "rhythmic_compress":
        rhythm = [d / 2 for d in rhythm]
    elif tf == "simplify" and len(steps) > 2:
        steps = steps[::2]
        rhythm = [sum(rhythm[i : i + 2]) for i in range(0, len(rhythm), 2)]
    elif tf == "intensify":
        new_s, new_r = [], []
        for i, (s, d) in enumerate(zip(steps, rhythm, strict=True)):
            nxt = steps[i + 1] if i + 1 < len(steps) else s
            if d >= 1.0 and nxt != s:
                new_s += [s, s + (1 if nxt > s else -1)]
                new_r += [d / 2, d / 2]
            else:
                new_s.append(s)
                new_r.append(d)
        steps, rhythm = new_s, new_r
    lo, hi = ctx.register
    center = (lo + hi) // 2
    start = ctx.start_beat + use.beat
    chord = ctx.chord_at(start)
    anchor_pc = ctx.scale_pcs[(motif.anchor_degree - 1) % len(ctx.scale_pcs)]
    if anchor_pc not in chord.pcs:
        anchor_pc = chord.pcs[0] if motif.anchor_degree == 1 else chord.pcs[min(2, len(chord.pcs) - 1)]
    base = nearest_pitch(anchor_pc, center - 2, lo, hi)
    if tf == "transpose":
        base = snap_to_scale(scale_step(base, int(use.params.get("steps", 1)), ctx.scale_pcs), ctx.scale_pcs)
        ch_pcs = ctx.chord_at(start).pcs
        if base % 12 not in ch_pcs:
            base = nearest_pitch(ch_pcs[0], base, lo, hi)
    if tf == "register_shift":
        base += 12 * int(use.params.get("octaves", 1))
    notes = []
    t = start
    for s, d in zip(steps, rhythm, strict=True):
        p = scale_step(base, s, ctx.scale_pcs) if s else base
        while p > hi + (12 if tf == "register_shift" else 0):
            p -= 12
        while p < lo:
            p += 12
        if t + d > ctx.end_beat + 1e-6:
            break
        notes.append(Note(round(t, 4), round(d * 0.95, 4), int(p), vel))
        t += d
    return notes


def _strong(beat_in_bar: float, bpb: float) -> bool:
    return abs(beat_in_bar) < 1e-6 or (bpb == 4 and abs(beat_in_bar - 2) < 1e-6)


class RuleMelody:
    role = "melody"
    name = "rule"

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        vel = int(60 + 40 * ctx.emotion.energy)
        locked = sorted(ctx.motif_notes, key=lambda n: n.start)
        kind = "slow" if ctx.density < 0.45 else "mid" if ctx.density < 0.75 else "fast"
        out = list(locked)
        prev = locked[0].pitch if locked else nearest_pitch(ctx.chords[0].pcs[0], (lo + hi) // 2, lo, hi)
        theme: list[Note] | None = None  # the section's first phrase, restated later
        repeat_p = 0.85 - 0.45 * ctx.complexity
        for seg_start, seg_end in free_segments(ctx, locked):
            t_phrase = seg_start
            while t_phrase < seg_end - 1.0:
                t_end = min(seg_end, t_phrase + 2 * ctx.beats_per_bar)
                notes = None
                if theme and rng.random() < repeat_p:
                    notes = restate(theme, t_phrase, t_end, ctx)
                if not notes:
                    notes, _ = fill_phrase(ctx, t_phrase, t_end, prev, FILL_RHYTHMS[kind], vel, rng)
                    if theme is None and len(notes) >= 3:
                        theme = notes
                if notes:
                    prev = notes[-1].pitch
                out.extend(notes)
                t_phrase = t_end
        return sorted(out, key=lambda n: (n.start, n.pitch))


def restate(theme: list[Note], t_start: float, t_end: float, ctx: SectionContext) -> list[Note]:
    """The theme's rhythm and contour again from ``t_start``: same pitches when they fit the
    chords under them, otherwise each strong-beat note moves to the nearest chord tone."""
    lo, hi = ctx.register
    offset = t_start - theme[0].start
    out = []
    for n in theme:
        t = n.start + offset
        if t + n.dur > t_end + 1e-6:
            break
        p = n.pitch
        chord = ctx.chord_at(t)
        bib = (t - ctx.start_beat) % ctx.beats_per_bar
        if (_strong(bib, ctx.beats_per_bar) or n.dur >= 1.5) and p % 12 not in chord.pcs:
            p = nearest_pitch(min(chord.pcs[:3], key=lambda pc: min((pc - p) % 12, (p - pc) % 12)), p, lo, hi)
        out.append(Note(round(t, 4), n.dur, int(p), n.velocity))
    return out


def free_segments(ctx: SectionContext, locked: list[Note]) -> list[tuple[float, float]]:
    """Stretches of the section not covered by locked motif notes (bar-aligned starts)."""
    segs, t = [], ctx.start_beat
    bpb = ctx.beats_per_bar
    for n in locked:
        if n.start - t >= 1.0:
            segs.append((t, n.start))
        t = max(t, n.end + 0.05)
    if ctx.end_beat - t >= 1.0:
        # resume on the next beat so the fill lines up with the metre
        segs.append((float(np.ceil(t - ctx.start_beat - 1e-6)) + ctx.start_beat, ctx.end_beat))
    return [(a, b) for a, b in segs if b - a >= 1.0 and bpb > 0]


def fill_phrase(ctx: SectionContext, t_start: float, t_end: float, prev: int, pool: tuple[list[float], ...],
                vel: int, rng: np.random.Generator) -> tuple[list[Note], int]:
    """One phrase: chord tones on strong beats, scale steps between, a breath at the end."""
    lo, hi = ctx.register
    bpb = ctx.beats_per_bar
    if rng.random() < 2.0 * (ctx.complexity - 0.25):
        pool = SYNCOPATED
    rhythm = list(pool[int(rng.integers(0, len(pool)))])
    rest_tail = 1.0 if ctx.density < 0.8 else 0.5
    contour = 1 if rng.random() < 0.5 + 0.3 * ctx.emotion.valence else -1
    out: list[Note] = []
    t, idx = t_start, 0
    while t < t_end - rest_tail - 1e-6:
        d = min(rhythm[idx % len(rhythm)], t_end - rest_tail - t)
        if d < 0.25:
            break
        chord = ctx.chord_at(t)
        bib = (t - ctx.start_beat) % bpb
        strong = _strong(bib, bpb)
        if strong or d >= 1.5:
            p = nearest_pitch(int(rng.choice(chord.pcs[:3])), prev + contour * 2, lo, hi)
        else:
            p = scale_step(prev, contour * int(rng.choice([1, 1, 2])), ctx.scale_pcs)
        if p > hi or p < lo:
            contour = -contour
            p = nearest_pitch(chord.pcs[0], prev, lo, hi)
        if rng.random() < 0.2:
            contour = -contour
        out.append(Note(round(t, 4), round(d * 0.95, 4), int(p), vel - (0 if strong else 8)))
        prev = p
        t += d
        idx += 1
    return out, prev


class RuleCounter:
    """A second voice: guide tones in long notes, or (canon) the melody a bar later."""

    role = "counter"
    name = "rule"

    def __init__(self, mode: str = "guide"):
        self.mode = mode

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        vel = int(45 + 35 * ctx.emotion.energy)
        melody = ctx.parts.get("melody", [])
        out: list[Note] = []
        if self.mode == "canon" and melody:
            lag = ctx.beats_per_bar
            for n in melody:
                t = n.start + lag
                if t + n.dur > ctx.end_beat:
                    continue
                chord = ctx.chord_at(t)
                p = nearest_pitch(min(chord.pcs[:3], key=lambda pc: abs(((n.pitch - 12) - pc) % 12)), n.pitch - 12, lo, hi)
                out.append(Note(t, n.dur, p, vel))
            return out
        if self.mode == "response" and melody:
            bpb = ctx.beats_per_bar
            for ch in ctx.chords:
                t = ch.start + bpb / 2
                if any(m.start <= t < m.end for m in melody):
                    continue
                for j in range(3):
                    tt = t + j * 0.5
                    if tt + 0.45 > ch.end:
                        break
                    out.append(Note(tt, 0.45, nearest_pitch(ch.pcs[j % len(ch.pcs)], (lo + hi) // 2, lo, hi), vel))
            return out
        prev = (lo + hi) // 2
        for ch in ctx.chords:
            guide = ch.pcs[1] if len(ch.pcs) > 1 else ch.pcs[0]
            if len(ch.pcs) > 3 and rng.random() < 0.5:
                guide = ch.pcs[3]
            p = nearest_pitch(guide, prev, lo, hi)
            half = ch.dur / 2
            out.append(Note(ch.start, half * 0.95, p, vel))
            second = nearest_pitch(ch.pcs[0] if rng.random() < 0.5 else guide, p - 2, lo, hi)
            if ctx.density > 0.45:
                out.append(Note(ch.start + half, half * 0.95, second, vel - 6))
            prev = p
        return out
