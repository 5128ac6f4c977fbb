"""Rule-based bass: follows the chord roots, locks to the kick, style sets the figure."""

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
        self.style = style

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        center = (lo + hi) // 2 - 2
        vel = int(55 + 45 * ctx.emotion.energy)
        style = self.style
        if ctx.density < 0.3 and style in ("walking", "octave", "syncopated", "arpeggio"):
            style = "root"
        kicks = sorted({round(n.start, 3) for n in ctx.parts.get("drums", []) if n.pitch in KICKS})
        notes: list[Note] = []
        bpb = ctx.beats_per_bar
        for ci, ch in enumerate(ctx.chords):
            root = nearest_pitch(ch.root_pc, center, lo, hi)
            nxt = ctx.chords[ci + 1] if ci + 1 < len(ctx.chords) else None
            nbars = max(1, int(round(ch.dur / bpb)))
            for b in range(nbars):
                t0 = ch.start + b * bpb
                notes.extend(self._bar(style, ch, nxt, root, t0, bpb, vel, kicks, ctx, b == nbars - 1))
        end = ctx.end_beat
        return [n for n in notes if n.start < end and n.end <= end + 1e-6]

    def _bar(self, style: str, ch: ChordSpan, nxt: ChordSpan | None, root: int, t0: float, bpb: float,
             vel: int, kicks: list[float], ctx: SectionContext, last_bar_of_chord: bool) -> list[Note]:
        lo, hi = ctx.register
        fifth_pc = ch.pcs[2] if len(ch.pcs) > 2 else ch.pcs[-1]
        fifth = nearest_pitch(fifth_pc, root + 6, lo, hi)
        out: list[Note] = []
        if style == "pedal":
            tonic = nearest_pitch(ctx.tonic_pc, root, lo, hi)
            return [Note(t0, bpb * 0.98, tonic, vel - 5)]
        if style == "root" or (bpb == 3 and style not in ("walking", "arpeggio")):
            if bpb == 3:
                return [Note(t0, 0.95, root, vel), Note(t0 + 1, 0.9, fifth, vel - 12),
                        Note(t0 + 2, 0.9, fifth, vel - 14)] if ctx.density > 0.5 else [Note(t0, bpb * 0.95, root, vel)]
            if ctx.density > 0.55:
                return [Note(t0, 1.9, root, vel), Note(t0 + 2, 1.9, root if ctx.density < 0.7 else fifth, vel - 8)]
            return [Note(t0, bpb * 0.97, root, vel)]
        if style == "root_fifth":
            half = bpb / 2
            return [Note(t0, half * 0.95, root, vel), Note(t0 + half, half * 0.95, fifth, vel - 8)]
        if style == "octave":
            up = root + 12 if root + 12 <= hi else root
            for i in range(int(bpb * 2)):
                out.append(Note(t0 + i * 0.5, 0.45, root if i % 2 == 0 else up, vel - (0 if i % 2 == 0 else 10)))
            return out
        if style == "arpeggio":
            tones = [nearest_pitch(pc, root + 4, lo, hi) for pc in ch.pcs[:3]]
            seq = [root] + sorted(tones)
            for i in range(int(bpb)):
                out.append(Note(t0 + i, 0.95, seq[i % len(seq)], vel - 4 * (i % 2)))
            return out
        if style == "walking":
            target = nearest_pitch(nxt.root_pc, root, lo, hi) if (nxt and last_bar_of_chord) else root
            pitches = [root]
            for i in range(1, int(bpb)):
                if i == int(bpb) - 1:
                    step = -1 if target > pitches[-1] else 1
                    p = scale_step(target, -step, ctx.scale_pcs) if target != pitches[-1] else fifth
                else:
                    tone = ch.pcs[min(i, len(ch.pcs) - 1)]
                    p = nearest_pitch(tone, pitches[-1] + 2, lo, hi)
                pitches.append(fold_into(p, lo, hi))
            return [Note(t0 + i, 0.92, p, vel - 6 * (i % 2)) for i, p in enumerate(pitches)]
        # syncopated: on the kick hits of this bar, else a tresillo figure
        hits = [k for k in kicks if t0 <= k < t0 + bpb] or [t0, t0 + 1.5, t0 + 3.0][: int(bpb)]
        for j, k in enumerate(hits):
            nxt_t = hits[j + 1] if j + 1 < len(hits) else t0 + bpb
            out.append(Note(k, max(0.2, (nxt_t - k) * 0.9), root if j % 3 != 2 else fifth, vel - 4 * (j % 2)))
        return out
