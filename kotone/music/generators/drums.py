"""Rule-based drums: groove patterns per style on a 16th grid, density from energy; a
double-time chorus (the groove at twice the speed) for the Double Time gimmick; one last hit on the song's final bar.

Also the pitched culture percussion (a taiko's festival pattern) that some styles add."""

from __future__ import annotations

import numpy as np

from kotone.domain.theory import nearest_pitch
from kotone.music.types import Note, SectionContext

KICK, SNARE, STICK, CLAP, HAT, OHAT, RIDE, CRASH = 36, 38, 37, 39, 42, 46, 51, 49
LOW_TOM, MID_TOM, HI_TOM = 45, 47, 50
CONGA_LO, CONGA_HI, CONGA_MUTE, BONGO = 64, 63, 62, 61
SHAKER, TAMB = 70, 54
RIDE_BELL = 53

# groove -> list of (drum, steps-per-bar pattern string, min density to play). 'x' = hit, 'o' = soft.
# Patterns are written for 16 steps (4/4) or 12 steps (3/4, 6/8).
PATTERNS: dict[str, list[tuple[int, str, float]]] = {
    "straight": [(KICK, "x.......x.x.....", 0.0), (SNARE, "....x.......x...", 0.2),
                 (HAT, "x.x.x.x.x.x.x.x.", 0.35), (HAT, ".o.o.o.o.o.o.o.o", 0.8)],
    "four_on_floor": [(KICK, "x...x...x...x...", 0.0), (CLAP, "....x.......x...", 0.25),
                      (OHAT, "..x...x...x...x.", 0.4), (HAT, "x.x.x.x.x.x.x.x.", 0.7)],
    "breakbeat": [(KICK, "x.....x...x.....", 0.0), (SNARE, "....x..o.o..x...", 0.2),
                  (HAT, "x.x.x.x.x.x.x.x.", 0.35), (HAT, ".o.o.o.o.o.o.o.o", 0.75)],
    "halftime": [(KICK, "x.........x.....", 0.0), (SNARE, "........x.......", 0.2),
                 (HAT, "x.x.x.x.x.x.x.x.", 0.4), (HAT, ".o...o...o...o..", 0.75)],
    "swing": [(RIDE, "x...x.x.x...x.x.", 0.0), (KICK, "x.........x.....", 0.3),
              (STICK, "....x.......x...", 0.2), (HAT, "....x.......x...", 0.5)],
    "shuffle": [(KICK, "x.....x.x.......", 0.0), (SNARE, "....x.......x...", 0.2),
                (HAT, "x.xxx.xxx.xxx.xx", 0.4)],
    "bossa": [(KICK, "x..xx..xx..xx..x", 0.0), (STICK, "x..x..x...x..x..", 0.2),
              (HAT, "x.x.x.x.x.x.x.x.", 0.45)],
    "ballad": [(KICK, "x.......x.......", 0.0), (STICK, "....x.......x...", 0.25),
               (HAT, "x...x...x...x...", 0.45), (HAT, "..o...o...o...o.", 0.8)],
    "march": [(KICK, "x.......x.......", 0.0), (SNARE, "x...x.x.x...x.xx", 0.2),
              (CRASH, "x...............", 0.9)],
    "waltz": [(KICK, "x...........", 0.0), (SNARE, "....x...x...", 0.2), (HAT, "x.x.x.x.x.x.", 0.5)],
    "jig": [(LOW_TOM, "x.....x.....", 0.0), (MID_TOM, "..o..o..o..o", 0.25),
            (HI_TOM, ".x..x..x..x.", 0.6)],
    # the festival band's bell (kane) and hand claps; the taiko plays on its own track
    "matsuri": [(RIDE_BELL, "x.x.x.x.x.x.x.x.", 0.0), (CLAP, "....x.......x...", 0.3),
                (TAMB, "..x...x...x...x.", 0.7)],
    "maqsum": [(CONGA_LO, "x.....x.x.......", 0.0), (CONGA_HI, "...x......x.x...", 0.2),
               (CONGA_MUTE, ".x.x.x.x.x.x.x.x", 0.55)],
    "none": [],
}
HAND_MAP = {KICK: CONGA_LO, SNARE: CONGA_HI, STICK: CONGA_MUTE, CLAP: CONGA_HI, HAT: SHAKER,
            OHAT: TAMB, RIDE: SHAKER, CRASH: TAMB}


def _fit(pattern: str, steps: int) -> str:
    if len(pattern) == steps:
        return pattern
    if steps == 12 and len(pattern) == 16:  # keep every 4/3 step for triple meters
        return "".join(pattern[int(i * 16 / 12)] for i in range(12))
    return (pattern * 2)[:steps]


class RuleDrums:
    role = "drums"
    name = "rule"

    def __init__(self, kit: str = "standard", double_in: str = ""):
        self.kit = kit
        self.double_in = double_in  # the section type played in double time ("" = none)

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        notes = self._groove(ctx, rng)
        if ctx.final:  # the band stops together: one last hit on the final downbeat
            last = ctx.end_beat - ctx.beats_per_bar
            notes = [n for n in notes if n.start < last - 1e-6]
            vel = int(np.clip(50 + 60 * ctx.emotion.energy, 1, 127))
            notes += [self._hit(KICK, last, vel), self._hit(CRASH if ctx.emotion.energy > 0.3 else RIDE, last, vel)]
        return notes

    def _groove(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        steps = int(round(ctx.beats_per_bar * 4))
        pattern = PATTERNS.get(ctx.groove, PATTERNS["straight"])
        if not pattern:
            pattern = PATTERNS["straight"]
        if steps == 12 and ctx.groove not in ("waltz", "jig"):
            pattern = PATTERNS["waltz"] if ctx.groove != "maqsum" else pattern
        # double time: the bar's whole pattern twice per bar, on a step half as long
        double = bool(self.double_in) and ctx.section_type == self.double_in
        step, reps = (0.125, 2) if double else (0.25, 1)
        dens = ctx.density
        base_vel = int(45 + 60 * ctx.emotion.energy)
        notes: list[Note] = []
        for bar in range(ctx.bars):
            bar_start = ctx.start_beat + bar * ctx.beats_per_bar
            fill = bar == ctx.bars - 1 and ctx.bars >= 4 and dens > 0.45 and not double
            for drum, pat, min_d in pattern:
                if dens < min_d:
                    continue
                pat = _fit(pat, steps)
                for rep in range(reps):
                    for i, ch in enumerate(pat):
                        if ch == "." or (fill and i >= steps // 2):
                            continue
                        vel = base_vel if ch == "x" else int(base_vel * 0.6)
                        if i % 4 == 0:
                            vel += 8
                        notes.append(self._hit(drum, bar_start + (rep * steps + i) * step, vel))
            if fill:
                toms = (HI_TOM, MID_TOM, LOW_TOM) if self.kit != "hand" else (CONGA_HI, CONGA_MUTE, CONGA_LO)
                for j, i in enumerate(range(steps // 2, steps, 1 if dens > 0.75 else 2)):
                    drum = toms[min(2, j * 3 // max(1, steps // 2))]
                    notes.append(self._hit(drum, bar_start + i * 0.25, base_vel - 5 + 2 * j))
            if rng.random() < 0.35 * dens:  # a ghost note now and then, different on every take
                ghost = int(rng.integers(0, steps // 2)) * 2 + 1
                notes.append(self._hit(HAT if rng.random() < 0.6 else SNARE, bar_start + ghost * 0.25,
                                       int(base_vel * 0.45)))
            if bar == 0 and dens > 0.6 and ctx.section_type in ("chorus", "bridge"):
                notes.append(self._hit(CRASH, bar_start, base_vel + 10))
        return notes

    def _hit(self, drum: int, start: float, vel: int) -> Note:
        if self.kit == "hand":
            drum = HAND_MAP.get(drum, drum)
        return Note(start=start, dur=0.2, pitch=drum, velocity=int(np.clip(vel, 1, 127)))


TAIKO = {"4/4": "x.......x.x.x...", "3/4": "x.....x.x...", "6/8": "x.....x....."}


class RulePercussion:
    """A pitched festival drum (GM taiko): the low "don" on its pattern, a higher "ka" edge
    hit on the off-beats as the energy rises; the last bar is a single stroke."""

    role = "percussion"
    name = "rule"

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]:
        lo, hi = ctx.register
        self.low = nearest_pitch(ctx.tonic_pc, lo + 5, lo, hi)  # tuned to the key: tonic and fifth
        self.high = nearest_pitch((ctx.tonic_pc + 7) % 12, self.low + 12, lo, hi)
        steps = int(round(ctx.beats_per_bar * 4))
        meter = "6/8" if ctx.compound else "3/4" if steps == 12 else "4/4"
        vel = int(np.clip(55 + 55 * ctx.emotion.energy, 1, 127))
        tune = [n for role, ns in ctx.parts.items() if role != "drums" for n in ns]  # every pitched part
        out = []
        for bar in range(ctx.bars):
            t0 = ctx.start_beat + bar * ctx.beats_per_bar
            if ctx.final and bar == ctx.bars - 1:
                out.append(Note(t0, 1.0, self.low, vel))
                break
            for i, c in enumerate(TAIKO[meter]):
                t = round(t0 + i * 0.25, 4)
                if c == "x":
                    p = self._clear(self.low, t, tune, lo, hi)
                    out += [Note(t, 0.4, p, vel - (0 if i == 0 else 10))] if p else []
                elif i % 4 == 2 and ctx.density > 0.55 and rng.random() < ctx.density:
                    p = self._clear(self.high, t, tune, lo, hi)
                    out += [Note(t, 0.2, p, vel - 25)] if p else []
        return out

    @staticmethod
    def _clear(pitch: int, t: float, tune: list[Note], lo: int, hi: int) -> int | None:
        """The drum's tuned pitch, or its octave, whichever does not rub against the band then
        (None: that stroke rests)."""
        heard = [n.pitch for n in tune if n.start <= t + 0.05 and n.end > t]
        for q in (pitch, pitch - 12, pitch + 12):
            if lo <= q <= hi and not any(abs(q - m) in (1, 13) for m in heard):
                return q
        return None
