"""Gimmick textures: music-box intro, rain droplets, birdsong, drone, memory chimes."""

from __future__ import annotations

import numpy as np

from kotone.domain.theory import nearest_pitch
from kotone.music.types import Note, SectionContext


class RuleTexture:
    role = "texture"
    name = "rule"

    def __init__(self, effect: str):
        self.effect = effect

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        e = self.effect
        out: list[Note] = []
        if e == "drone":
            tonic = nearest_pitch(ctx.tonic_pc, 45, 36, 60)
            fifth_pc = (ctx.tonic_pc + 7) % 12
            pcs = [tonic] + ([nearest_pitch(fifth_pc, tonic + 7, 36, 67)] if fifth_pc in ctx.scale_pcs else [])
            bar = ctx.beats_per_bar
            t = ctx.start_beat
            while t < ctx.end_beat - 1e-6:
                d = min(2 * bar, ctx.end_beat - t)
                out.extend(Note(t, d * 0.99, p, 40) for p in pcs)
                t += d
            return out
        if e == "music_box_intro":
            melody = ctx.parts.get("melody", [])
            src = melody or [Note(ch.start + i, 0.9, nearest_pitch(ch.pcs[i % len(ch.pcs)], 76, 72, 91), 60)
                             for ch in ctx.chords for i in range(int(ch.dur))]
            for n in src:
                p = n.pitch + 12 if n.pitch + 12 <= 96 else n.pitch
                out.append(Note(n.start, min(n.dur, 1.0), p, 55))
            return out
        rate = {"rain": 0.4, "birdsong": 0.3, "vinyl_crackle": 0.25}.get(e, 0.3)
        lo, hi = {"rain": (79, 96), "birdsong": (84, 96)}.get(e, (67, 84))
        t = ctx.start_beat
        while t < ctx.end_beat - 1:
            if rng.random() < rate:
                ch = ctx.chord_at(t)
                p = nearest_pitch(int(rng.choice(ch.pcs[:3])), int(rng.integers(lo, hi)), lo, hi)
                dur = 0.25 if e == "birdsong" else 0.5
                out.append(Note(round(t, 3), dur, p, int(rng.integers(22, 40))))
            t += 0.5 if e == "rain" else 1.0
        return out
