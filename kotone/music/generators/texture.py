"""Gimmick textures: the music-box prelude, rain droplets, birdsong, a drone, an echo.

The music box plays the song's theme alone in the intro (the arranger hands it the theme's
notes); the echo answers the end of each lead phrase, softer, in the rest that follows.
"""

from __future__ import annotations

import numpy as np

from kotone.domain.theory import nearest_pitch
from kotone.music.generators.melody import lead_rests
from kotone.music.types import Note, SectionContext

ECHO_DELAY = 0.5  # beats after the lead note it repeats
ECHO_NOTES = 3  # how many of a phrase's last notes come back


class RuleTexture:
    role = "texture"
    name = "rule"

    def __init__(self, effect: str):
        self.effect = effect

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        e = self.effect
        if e == "drone":
            return drone(ctx)
        if e == "music_box_intro":
            return music_box(ctx)
        if e == "echo":
            return echo(ctx)
        return droplets(ctx, rng, e)


def drone(ctx: SectionContext) -> list[Note]:
    """The tonic (and fifth) held bar by bar; in a bar where the tune would rub a semitone (or
    a minor ninth) against it, the drone takes another octave, or rests that tone."""
    lo, hi = ctx.register
    lead = ctx.parts.get("melody", [])
    tonic = nearest_pitch(ctx.tonic_pc, (lo + hi) // 2, lo, hi)
    fifth_pc = (ctx.tonic_pc + 7) % 12
    pcs = [tonic] + ([nearest_pitch(fifth_pc, tonic + 7, lo, hi)] if fifth_pc in ctx.scale_pcs else [])
    out = []
    t = ctx.start_beat
    while t < ctx.end_beat - 1e-6:
        d = min(ctx.beats_per_bar, ctx.end_beat - t)
        tune = [n.pitch for n in lead if n.start < t + d - 0.05 and n.end > t + 0.05]
        for p in pcs:
            options = [q for q in (p, p - 12, p + 12) if lo <= q <= hi]
            fine = [q for q in options if not any(abs(q - m) in (1, 13) for m in tune)]
            if fine:
                out.append(Note(t, round(d * 0.99, 4), fine[0], 40))
        t += d
    return out


def music_box(ctx: SectionContext) -> list[Note]:
    """The theme's notes (given as ``ctx.motif_notes``), or the chords broken in quarters."""
    lo, hi = ctx.register
    src = ctx.motif_notes or [Note(ch.start + i, 0.9, nearest_pitch(ch.pcs[i % len(ch.pcs)], (lo + hi) // 2, lo, hi), 60)
                              for ch in ctx.chords for i in range(int(ch.dur))]
    out = []
    for n in src:
        p = n.pitch
        while p < lo:
            p += 12
        while p > hi:
            p -= 12
        out.append(Note(n.start, min(n.dur, ctx.end_beat - n.start), p, 58))
    return out


def echo(ctx: SectionContext) -> list[Note]:
    """The last notes of each lead phrase again, softer, once the lead has stopped."""
    lead = sorted(ctx.parts.get("melody", []), key=lambda n: n.start)
    out = []
    for g0, g1 in lead_rests(lead, ctx.start_beat, ctx.end_beat, min_len=1.0):
        phrase = [n for n in lead if n.end <= g0 + 1e-6][-ECHO_NOTES:]
        if not phrase:
            continue
        shift = g0 + ECHO_DELAY - phrase[0].start
        for n in phrase:
            t = n.start + shift
            dur = min(n.dur, g1 - t)
            if dur > 0.1 and t < g1:
                out.append(Note(round(t, 4), round(dur, 4), n.pitch, max(1, int(n.velocity * 0.55))))
    return out


def droplets(ctx: SectionContext, rng: np.random.Generator, effect: str) -> list[Note]:
    """Rain: soft high chord tones on random eighths; birdsong: short chirps on random beats."""
    e = effect
    rate, step, dur = (0.3, 1.0, 0.25) if e == "birdsong" else (0.4, 0.5, 0.5)
    lo, hi = ctx.register
    out = []
    t = ctx.start_beat
    while t < ctx.end_beat - 1:
        if rng.random() < rate:
            ch = ctx.chord_at(t)
            p = nearest_pitch(int(rng.choice(ch.pcs[:3])), int(rng.integers(lo, hi + 1)), lo, hi)
            out.append(Note(round(t, 3), dur, p, int(rng.integers(22, 40))))
        t += step
    return out
