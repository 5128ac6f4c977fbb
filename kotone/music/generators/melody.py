"""Rule-based melody: the fixed notes (motifs, cadences) stay; the spans between them are
filled with lines that move toward the next fixed note (chord tones on strong beats, scale
steps between, no three equal notes in a row), in the tune's own bar rhythms."""

from __future__ import annotations

import numpy as np

from kotone.domain.theory import nearest_pitch, scale_step
from kotone.music.motifs import (
    anchors_harmony,
    cells_for,
    chord_tone_near,
    chord_tone_toward,
    fit_pitch,
    is_strong,
    pace,
)
from kotone.music.types import Note, SectionContext


def span_onsets(ctx: SectionContext, t0: float, t1: float, rng: np.random.Generator) -> list[float]:
    """Onsets inside [t0, t1): bar cells (the tune's own, else the meter's), cut to the span;
    a span always starts with a note."""
    bpb = ctx.beats_per_bar
    if t1 - t0 < bpb - 1e-6:  # a pickup: even notes on the grid (three eighths in 6/8)
        step = 0.5 if ctx.compound or t1 - t0 <= 1.0 + 1e-6 else 1.0
        n = max(1, int(round((t1 - t0) / step)))
        if n > 1 and rng.random() < 0.35 and not ctx.compound:
            n, step = 1, t1 - t0
        return [round(t0 + i * step, 4) for i in range(n)]
    cells = list(ctx.cells) or cells_for("6/8" if ctx.compound else "3/4" if bpb == 3 else "4/4",
                                         pace(ctx.density), ctx.grid, False)
    onsets: list[float] = []
    bar0 = int(np.floor((t0 - ctx.start_beat) / bpb + 1e-6))
    bar1 = int(np.ceil((t1 - ctx.start_beat) / bpb - 1e-6))
    for b in range(bar0, bar1):
        cell = cells[int(rng.integers(0, len(cells)))]
        t = ctx.start_beat + b * bpb
        for d in cell:
            if t0 - 1e-6 <= t < t1 - 1e-6:
                onsets.append(round(t, 4))
            t += d
    if not onsets or onsets[0] > t0 + 1e-6:
        onsets.insert(0, round(t0, 4))
    return onsets


def fill_span(ctx: SectionContext, t0: float, t1: float, prev: int, target: int | None, vel: int,
              rng: np.random.Generator) -> list[Note]:
    """A line from ``prev`` toward ``target`` (the next fixed note) over [t0, t1): a walk in
    scale steps that heads for the goal when it is far and turns around it when it is near,
    never repeating a note, chord tones where the harmony is anchored."""
    lo, hi = ctx.register
    onsets = span_onsets(ctx, t0, t1, rng)
    if target is not None:
        goal = target
    else:  # lead on toward the middle of the register, to a tone of the chord that follows
        chord = ctx.chord_at(min(t1, ctx.end_beat - 1e-3))
        center = (lo + hi) // 2
        goal = chord_tone_near(prev + (3 if center > prev else -3), chord.pcs, ctx.melody_scale_over(chord), lo, hi)
    out: list[Note] = []
    pos = prev
    for i, t in enumerate(onsets):
        nxt = onsets[i + 1] if i + 1 < len(onsets) else t1
        left = len(onsets) - i
        chord = ctx.chord_at(t)
        scale = ctx.melody_scale_over(chord)
        gap = goal - pos
        if abs(gap) > 2 * left:
            direction = int(np.sign(gap))
        else:
            direction = int(np.sign(gap)) if rng.random() < 0.55 and gap else int(rng.choice([-1, 1]))
        size = 2 if abs(gap) > 4 * left or rng.random() < 0.2 else 1
        p = scale_step(pos, direction * size, scale)
        bib = (t - ctx.start_beat) % ctx.beats_per_bar
        if anchors_harmony(bib, ctx.beats_per_bar, nxt - t):
            p = chord_tone_toward(p, direction, pos, chord.pcs, scale, lo, hi)
        if target is not None and left == 1 and (abs(p - target) > 4 or p == target):
            p = scale_step(target, 1 if pos > target else -1, scale)  # approach the goal by step
        if p > hi or p < lo:
            p = scale_step(pos, -direction, scale)
        if p == pos:
            p = scale_step(pos, direction or 1, scale)
        p = fit_pitch(int(p), lo, hi)
        accent = 0 if is_strong(bib, ctx.beats_per_bar, ctx.compound) else 8
        out.append(Note(round(t, 4), round(max(0.1, (nxt - t) * 0.95), 4), int(p), max(1, vel - accent)))
        pos = p
    return out


class RuleMelody:
    role = "melody"
    name = "rule"

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        vel = int(60 + 40 * ctx.emotion.energy)
        locked = sorted(ctx.motif_notes, key=lambda n: n.start)
        out = list(locked)
        start_pitch = locked[0].pitch if locked else nearest_pitch(ctx.chords[0].pcs[0], (lo + hi) // 2, lo, hi)
        for t0, t1 in ctx.fill_spans:
            before = [n for n in out if n.start < t0 - 1e-6]
            after = [n for n in locked if n.start >= t1 - 1e-6]
            prev = max(before, key=lambda n: n.start).pitch if before else start_pitch
            target = after[0].pitch if after and after[0].start - t1 < 1.0 else None
            out.extend(fill_span(ctx, t0, t1, prev, target, vel, rng))
        return sorted(out, key=lambda n: (n.start, n.pitch))


class RuleCounter:
    """A second voice below the lead: guide tones in long notes that move where the lead
    holds, an answer in the lead's rests (call and response), or the lead itself a bar later
    an octave down (canon)."""

    role = "counter"
    name = "rule"

    def __init__(self, mode: str = "guide"):
        self.mode = mode

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        melody = sorted(ctx.parts.get("melody", []), key=lambda n: n.start)
        vel = int(45 + 35 * ctx.emotion.energy)
        if self.mode == "canon" and melody:
            return canon(melody, ctx, vel)
        if self.mode == "response" and melody:
            return response(melody, ctx, vel, rng)
        return guide_tones(melody, ctx, vel, rng)


CANON_LAG_BARS = 1


def canon(melody: list[Note], ctx: SectionContext, vel: int) -> list[Note]:
    """The lead exactly, one bar later and an octave lower (nothing re-snapped)."""
    lag = CANON_LAG_BARS * ctx.beats_per_bar
    out = []
    for n in melody:
        t = n.start + lag
        if t >= ctx.end_beat - 1e-6:
            continue
        out.append(Note(round(t, 4), round(min(n.dur, ctx.end_beat - t), 4), n.pitch - 12, vel))
    return out


def lead_rests(melody: list[Note], start: float, end: float, min_len: float = 0.9) -> list[tuple[float, float]]:
    """Gaps of at least ``min_len`` beats where the lead is silent."""
    gaps, t = [], start
    for n in melody:
        if n.start - t >= min_len:
            gaps.append((t, n.start))
        t = max(t, n.end)
    if end - t >= min_len:
        gaps.append((t, end))
    return gaps


def response(melody: list[Note], ctx: SectionContext, vel: int, rng: np.random.Generator) -> list[Note]:
    """In each rest of the lead, a short answer on the chord: the lead's last two intervals
    turned around, starting a step below where the lead stopped."""
    lo, hi = ctx.register
    out = []
    for g0, g1 in lead_rests(melody, ctx.start_beat, ctx.end_beat):
        before = [n for n in melody if n.end <= g0 + 1e-6]
        ref = before[-1].pitch if before else (lo + hi) // 2
        t = float(np.ceil((g0 + 0.02) * 2) / 2)
        p = ref - 2
        while t + 0.45 <= g1 - 0.05 and len(out) < 400:
            chord = ctx.chord_at(t)
            p = chord_tone_near(p, chord.pcs, ctx.melody_scale_over(chord), lo, hi)
            p = fit_pitch(min(p, ref - 1), lo, hi)
            out.append(Note(round(t, 4), 0.45, int(p), vel))
            p += int(rng.choice([-2, 2, 3]))
            t += 0.5
    return out


def guide_tones(melody: list[Note], ctx: SectionContext, vel: int, rng: np.random.Generator) -> list[Note]:
    """The 3rd (or 7th) of each chord, held, moving to its nearest neighbour in the next chord."""
    lo, hi = ctx.register
    out: list[Note] = []
    prev = (lo + hi) // 2
    for ch in ctx.chords:
        guide = ch.pcs[3] if len(ch.pcs) > 3 and rng.random() < 0.5 else ch.pcs[1] if len(ch.pcs) > 1 else ch.pcs[0]
        p = nearest_pitch(guide, prev, lo, hi)
        halves = 2 if ctx.density > 0.45 and ch.dur >= 2 * ctx.beats_per_bar - 1e-6 else 1
        step = ch.dur / halves
        for k in range(halves):
            q = p if k == 0 else nearest_pitch(ch.pcs[0] if rng.random() < 0.5 else guide, p - 2, lo, hi)
            out.append(Note(round(ch.start + k * step, 4), round(step * 0.95, 4), int(q), vel - 6 * k))
        prev = p
    return out
