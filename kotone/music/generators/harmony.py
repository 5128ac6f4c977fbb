"""Rule-based comping and pads, voiced below the lead.

Each comp style is a rhythm of chord attacks per bar (at most two per beat): block, strum,
stabs (off-beats), waltz (beats two and three), offbeat (the "pah" of a march's oom-pah),
bossa (the guitar's syncopated pattern), jig (dotted quarters), charleston (one and the "and"
of two), pad (held); arpeggio and alberti break the chord into eighths (sixteenths only for
the arpeggiator). Every voicing keeps its top note under the lowest lead note sounding
during it, one note per chord tone, and keeps a further whole tone of room under the lead
where the lead plays.
"""

from __future__ import annotations

import numpy as np

from kotone.domain.theory import voice_chord
from kotone.music.types import ChordSpan, Note, SectionContext

# comp -> attacks per bar as (offset, length in beats), per meter (4 or 3 beats)
RHYTHMS: dict[str, dict[int, list[tuple[float, float]]]] = {
    "block": {4: [(0.0, 1.9), (2.0, 1.9)], 3: [(0.0, 2.9)]},
    "strum": {4: [(0.0, 0.9), (1.0, 0.45), (1.5, 0.9), (2.5, 0.45), (3.0, 0.9)], 3: [(0.0, 0.9), (1.0, 0.9), (2.0, 0.9)]},
    "stabs": {4: [(0.5, 0.3), (1.5, 0.3), (2.5, 0.3), (3.5, 0.3)], 3: [(0.5, 0.3), (1.5, 0.3), (2.5, 0.3)]},
    "waltz": {3: [(1.0, 0.8), (2.0, 0.8)], 4: [(1.0, 0.8), (3.0, 0.8)]},
    "offbeat": {4: [(1.0, 0.7), (3.0, 0.7)], 3: [(1.0, 0.8), (2.0, 0.8)]},
    "bossa": {4: [(0.0, 0.9), (1.5, 0.9), (3.0, 0.45), (3.5, 0.45)], 3: [(0.0, 0.9), (1.5, 0.9)]},
    "jig": {3: [(0.0, 1.4), (1.5, 1.4)], 4: [(0.0, 1.9), (2.0, 1.9)]},
    "charleston": {4: [(0.0, 1.4), (1.5, 0.45)], 3: [(0.0, 1.4), (1.5, 0.45)]},
}
SOFT = {"pad": 10, "block": 0, "strum": 0, "stabs": 4, "waltz": 8, "offbeat": 8, "bossa": 4, "jig": 2,
        "charleston": 2}


def lead_cap(lead: list[Note], t0: float, t1: float, default: int) -> int:
    """The highest pitch an accompaniment note over [t0, t1) may take: below every lead note
    sounding then; in the lead's rests, below the nearest lead note before or after."""
    over = [n.pitch for n in lead if n.start < t1 - 0.02 and n.end > t0 + 0.02]
    if over:
        return min(over) - 1
    near = [n for n in lead if abs(n.start - t0) < 8 or abs(n.end - t0) < 8]
    if near:
        return min(n.pitch for n in near) - 1
    return default


def free_ceiling(ctx: SectionContext) -> int:
    """Where the chords may reach when no tune is near (an intro): higher in a brighter section."""
    return min(ctx.register[1], int(round(66 + 6 * ctx.emotion.valence)))


def lead_sounds(lead: list[Note], t0: float, t1: float) -> bool:
    return any(n.start < t1 - 0.02 and n.end > t0 + 0.02 for n in lead)


def voice_under(pcs: tuple[int, ...], cap: int, lo: int, hi: int, prev: list[int] | None, lean: bool) -> list[int]:
    """A close voicing of ``pcs`` (one note per chord tone) whose top stays at or below ``cap``;
    ``lean`` (the lead is playing): a further whole tone of room under the lead."""
    top = max(lo + 11, min(hi, cap - (2 if lean else 0)))
    voicing = voice_chord(pcs, top - 4, lo, top, prev)
    voicing = [p for p in voicing if p <= top] or [p - 12 for p in voicing if p - 12 >= lo]
    return sorted(set(voicing))


class RuleHarmony:
    role = "harmony"
    name = "rule"

    def __init__(self, comp: str = "block", fast_arpeggio: bool = False):
        self.comp = comp
        self.fast_arpeggio = fast_arpeggio

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lead = ctx.parts.get("melody", [])
        vel = int(40 + 45 * ctx.emotion.energy)
        self.ceiling = free_ceiling(ctx)
        comp = self.comp
        if ctx.density < 0.3 and comp in ("stabs", "strum", "bossa", "charleston"):
            comp = "block"
        prev: list[int] | None = None
        bpb = ctx.beats_per_bar
        out: list[Note] = []
        for ch in ctx.chords:
            t = ch.start
            while t < ch.end - 1e-6:
                length = min(bpb, ch.end - t)
                notes, prev = self._bar(comp, ch, t, length, vel, ctx, lead, prev)
                out.extend(notes)
                t += length
        return [n for n in out if n.start < ctx.end_beat - 1e-6]

    def _bar(self, comp: str, ch: ChordSpan, t0: float, length: float, vel: int, ctx: SectionContext,
             lead: list[Note], prev: list[int] | None) -> tuple[list[Note], list[int] | None]:
        lo, hi = ctx.register
        if comp in ("arpeggio", "alberti"):
            cap = lead_cap(lead, t0, t0 + length, self.ceiling)
            voicing = voice_under(ch.pcs, cap, lo, hi, prev, lean=False)
            return self._broken(comp, voicing, t0, length, vel, ctx), voicing
        if comp == "pad" or ctx.density < 0.2:
            hits = [(0.0, length * 0.98)]
        else:
            meter = 3 if ctx.beats_per_bar == 3 else 4
            key = "jig" if ctx.compound and comp in ("block", "strum", "stabs") else comp
            hits = [(s, d) for s, d in RHYTHMS.get(key, RHYTHMS["block"])[meter] if s < length - 1e-6]
        out: list[Note] = []
        for s, d in hits:
            a, b = t0 + s, t0 + min(s + d, length)
            voicing = voice_under(ch.pcs, lead_cap(lead, a, b, self.ceiling), lo, hi, prev,
                                  lean=lead_sounds(lead, a, b))
            prev = voicing
            soft = SOFT.get(comp, 0) + (6 if s % 1.0 else 0)
            out.extend(Note(round(a, 4), round(b - a, 4), p, max(1, vel - soft)) for p in voicing)
        return out, prev

    def _broken(self, comp: str, voicing: list[int], t0: float, length: float, vel: int,
                ctx: SectionContext) -> list[Note]:
        if comp == "alberti" and len(voicing) >= 4:  # low, high, middle, high: every chord tone
            seq = [voicing[0], voicing[-1], voicing[1], voicing[-2]]
        elif comp == "alberti" and len(voicing) == 3:
            seq = [voicing[0], voicing[2], voicing[1], voicing[2]]
        else:
            seq = voicing + voicing[-2:0:-1]  # up and down
        step = 0.25 if self.fast_arpeggio else 0.5
        n = int(round(length / step))
        out = []
        for i in range(n):
            p = seq[i % len(seq)]
            out.append(Note(round(t0 + i * step, 4), round(step * (2.0 if i < n - 1 else 0.95), 4), p,
                            max(1, vel - 4 * (i % 2))))
        return out


class RulePad:
    """Held chords for the whole chord, voiced below the lowest lead note over them."""

    role = "pad"
    name = "rule"

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        lead = ctx.parts.get("melody", [])
        vel = int(30 + 35 * ctx.emotion.energy)
        prev = None
        out = []
        for ch in ctx.chords:
            cap = lead_cap(lead, ch.start, ch.end, free_ceiling(ctx))
            voicing = voice_under(ch.pcs, min(cap, 67), lo, hi, prev, lean=True)
            prev = voicing
            out.extend(Note(ch.start, round(ch.dur * 0.99, 4), p, vel) for p in voicing)
        return out
