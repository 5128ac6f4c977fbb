"""Rule-based harmony: voice-led chord voicings in the style's comping pattern; pads."""

from __future__ import annotations

import numpy as np

from kotone.domain.theory import voice_chord
from kotone.music.types import Note, SectionContext


class RuleHarmony:
    role = "harmony"
    name = "rule"

    def __init__(self, comp: str = "block"):
        self.comp = comp

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        center = 60 + int(round(6 * ctx.emotion.valence))
        vel = int(40 + 45 * ctx.emotion.energy)
        comp = self.comp
        if ctx.density < 0.3 and comp in ("stabs", "alberti", "strum"):
            comp = "pad"
        prev: list[int] | None = None
        bpb = ctx.beats_per_bar
        out: list[Note] = []
        for ch in ctx.chords:
            voicing = voice_chord(ch.pcs, center, lo, hi, prev)
            prev = voicing
            nbars = max(1, int(round(ch.dur / bpb)))
            for b in range(nbars):
                t0 = ch.start + b * bpb
                out.extend(self._bar(comp, voicing, t0, bpb, vel, ctx.density))
        end = ctx.end_beat
        return [n for n in out if n.start < end and n.end <= end + 1e-6]

    @staticmethod
    def _bar(comp: str, voicing: list[int], t0: float, bpb: float, vel: int, density: float) -> list[Note]:
        out: list[Note] = []
        if comp == "pad" or density < 0.2:
            return [Note(t0, bpb * 0.98, p, max(1, vel - 10)) for p in voicing]
        if comp == "block":
            hits = [0.0, bpb / 2] if density > 0.5 and bpb == 4 else [0.0]
            if bpb == 3 and density > 0.5:
                hits = [0.0, 1.0, 2.0]
            for h in hits:
                length = (bpb / len(hits)) * 0.95
                out.extend(Note(t0 + h, length, p, vel - (6 if h else 0)) for p in voicing)
            return out
        if comp == "strum":
            pattern = [0.0, 1.0, 1.5, 2.5, 3.0] if bpb == 4 else [0.0, 1.0, 2.0]
            for k, h in enumerate(pattern):
                for j, p in enumerate(voicing):
                    start = t0 + h + 0.02 * j
                    dur = max(0.2, (pattern[k + 1] if k + 1 < len(pattern) else bpb) - h - 0.05)
                    out.append(Note(start, dur, p, vel - 8 * (k % 2)))
            return out
        if comp == "stabs":
            offs = [0.5, 1.5, 2.5, 3.5] if bpb == 4 else [0.5, 1.5, 2.5]
            return [Note(t0 + h, 0.3, p, vel) for h in offs for p in voicing]
        # arpeggio / alberti: broken chords
        seq = voicing if comp == "arpeggio" else [voicing[0], voicing[-1], voicing[len(voicing) // 2], voicing[-1]]
        step = 0.5 if density < 0.75 or comp == "alberti" else 0.25
        n = int(bpb / step)
        for i in range(n):
            p = seq[i % len(seq)] if comp == "alberti" else seq[(i if (i // len(seq)) % 2 == 0 else -i - 1) % len(seq)]
            out.append(Note(t0 + i * step, step * 1.6 if i < n - 1 else step * 0.95, p, vel - 4 * (i % 2)))
        return out


class RulePad:
    role = "pad"
    name = "rule"

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        vel = int(30 + 35 * ctx.emotion.energy)
        prev = None
        out = []
        for ch in ctx.chords:
            voicing = voice_chord(ch.pcs, 57, lo, hi, prev)
            prev = voicing
            out.extend(Note(ch.start, ch.dur * 0.99, p, vel) for p in voicing)
        return out
