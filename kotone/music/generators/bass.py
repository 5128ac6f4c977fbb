"""Rule-based bass: the style's own figure over the chord roots.

root (whole / half notes), root_fifth (alternating bass), walking (quarter notes through the
chord toward the next root), oompah (root and fifth on the strong beats, under the
off-beat chords), bossa (root on one, fifth on the "and" of two and on three), jig (dotted
quarters in 6/8), pedal (the tonic held), octave (eighths between the root and its octave),
syncopated (on the kick's hits), arpeggio (chord tones in quarters). A bar is never left
empty until late: every figure plays its downbeat.
"""

from __future__ import annotations

import numpy as np

from kotone.domain.theory import nearest_pitch, scale_step
from kotone.music.types import ChordSpan, Note, SectionContext

KICKS = {35, 36, 64, 41, 45}


def fold_into(pitch: int, lo: int, hi: int) -> int:
    """Move ``pitch`` by octaves into [lo, hi] (keeps its pitch class, unlike clipping)."""
    while pitch < lo:
        pitch += 12
    while pitch > hi:
        pitch -= 12
    return pitch


class RuleBass:
    role = "bass"
    name = "rule"

    def __init__(self, style: str = "root"):
        self.style = "root_fifth" if style == "free" else style

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        center = min(hi - 5, (lo + hi) // 2 - 2)
        vel = int(55 + 45 * ctx.emotion.energy)
        style = self.style
        if ctx.density < 0.3 and style in ("walking", "octave", "syncopated", "arpeggio"):
            style = "root"
        kicks = sorted({round(n.start, 3) for n in ctx.parts.get("drums", []) if n.pitch in KICKS})
        notes: list[Note] = []
        bpb = ctx.beats_per_bar
        for ci, ch in enumerate(ctx.chords):
            nxt = ctx.chords[ci + 1] if ci + 1 < len(ctx.chords) else None
            t, end = ch.start, ch.end
            while t < end - 1e-6:
                length = min(bpb, end - t)
                last = t + length >= end - 1e-6
                # a walking line continues from its last note; other figures sit round the centre
                ref = notes[-1].pitch if style == "walking" and notes else center
                root = nearest_pitch(ch.root_pc, ref, max(lo, center - 9), min(hi, center + 9))
                notes.extend(self._bar(style, ch, nxt, root, t, length, vel, kicks, ctx, last))
                t += length
        return [n for n in notes if n.start < ctx.end_beat - 1e-6]

    def _bar(self, style: str, ch: ChordSpan, nxt: ChordSpan | None, root: int, t0: float, length: float,
             vel: int, kicks: list[float], ctx: SectionContext, last_bar_of_chord: bool) -> list[Note]:
        lo, hi = ctx.register
        fifth_pc = (ch.root_pc + 7) % 12 if (ch.root_pc + 7) % 12 in ch.pcs else ch.pcs[min(2, len(ch.pcs) - 1)]
        fifth = nearest_pitch(fifth_pc, root + 5, lo, hi)
        low_fifth = fifth - 12 if fifth - 12 >= lo else fifth

        def seq(pattern: list[tuple[float, float, int, int]]) -> list[Note]:
            return [Note(round(t0 + s, 4), round(d, 4), p, max(1, vel - dv)) for s, d, p, dv in pattern
                    if s < length - 1e-6 and s + d <= length + 1e-6]

        if length < 1.0:
            return seq([(0.0, length * 0.95, root, 0)])
        if style == "pedal":
            return seq([(0.0, length * 0.98, nearest_pitch(ctx.tonic_pc, (lo + hi) // 2, lo, hi), 5)])
        if style == "jig" or (ctx.compound and style not in ("walking", "octave")):
            return seq([(0.0, 1.4, root, 0), (1.5, 1.4, fifth if style != "root" else root, 10)])
        if style == "oompah":  # 3/4: root on one; 4/4: root on one, fifth on three
            if ctx.beats_per_bar == 3:
                return seq([(0.0, 0.9, root, 0)])
            return seq([(0.0, 0.9, root, 0), (2.0, 0.9, low_fifth, 6)])
        if style == "bossa":
            return seq([(0.0, 1.45, root, 0), (1.5, 0.45, fifth, 10), (2.0, 1.45, fifth, 4), (3.5, 0.45, root, 10)])
        if style == "root" or (ctx.beats_per_bar == 3 and style not in ("walking", "arpeggio", "octave")):
            if ctx.beats_per_bar == 3:
                return seq([(0.0, 0.95, root, 0), (1.0, 0.9, fifth, 12), (2.0, 0.9, fifth, 14)]
                           if ctx.density > 0.5 else [(0.0, length * 0.95, root, 0)])
            if ctx.density > 0.55:
                return seq([(0.0, 1.9, root, 0), (2.0, 1.9, root if ctx.density < 0.7 else fifth, 8)])
            return seq([(0.0, length * 0.97, root, 0)])
        if style == "root_fifth":
            half = length / 2
            return seq([(0.0, half * 0.95, root, 0), (half, half * 0.95, low_fifth, 8)])
        if style == "octave":
            up = root + 12 if root + 12 <= hi else root
            return seq([(i * 0.5, 0.45, root if i % 2 == 0 else up, 0 if i % 2 == 0 else 10)
                        for i in range(int(length * 2))])
        if style == "arpeggio":
            tones = [root] + sorted(nearest_pitch(pc, root + 5, lo, hi) for pc in ch.pcs[1:3])
            return seq([(float(i), 0.95, tones[i % len(tones)], 4 * (i % 2)) for i in range(int(length))])
        if style == "walking":
            return seq(self._walk(ch, nxt, root, fifth, length, ctx, last_bar_of_chord))
        # syncopated: on the kick hits of this bar, else a tresillo figure
        hits = [round(k - t0, 3) for k in kicks if t0 <= k < t0 + length] or [0.0, 1.5, 3.0]
        if hits[0] > 1e-6:
            hits.insert(0, 0.0)
        pattern = []
        for j, k in enumerate(hits):
            nxt_t = hits[j + 1] if j + 1 < len(hits) else length
            pattern.append((k, max(0.2, (nxt_t - k) * 0.9), root if j % 3 != 2 else fifth, 4 * (j % 2)))
        return seq(pattern)

    @staticmethod
    def _walk(ch: ChordSpan, nxt: ChordSpan | None, root: int, fifth: int, length: float, ctx: SectionContext,
              last: bool) -> list[tuple[float, float, int, int]]:
        """Quarter notes: the root, up through the chord, and on the last beat a scale step into
        the next chord's root; a note never repeats the one before it."""
        lo, hi = ctx.register
        beats = int(round(length))
        nxt_root = nxt.root_pc if (nxt and last) else ch.root_pc
        target = nearest_pitch(nxt_root, root, lo, hi)
        scale = ctx.harmony_pcs or ctx.scale_pcs
        third = nearest_pitch(ch.pcs[1] if len(ch.pcs) > 1 else ch.pcs[0], root + 3, lo, hi)
        tones = [third, fifth if fifth > root else nearest_pitch(fifth % 12, root + 7, lo, hi)]
        pitches = [root]
        for i in range(1, beats):
            if i == beats - 1:
                below, above = scale_step(target, -1, scale), scale_step(target, 1, scale)
                p = below if abs(below - pitches[-1]) <= abs(above - pitches[-1]) else above
                if p == pitches[-1]:
                    p = above if p == below else below
            else:
                p = tones[min(i - 1, len(tones) - 1)]
                if p == pitches[-1]:
                    p = scale_step(p, 1, scale)
            pitches.append(fold_into(p, lo, hi))
        return [(float(i), 0.92, p, 6 * (i % 2)) for i, p in enumerate(pitches)]
