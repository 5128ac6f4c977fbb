"""Harmony: chords per section, phrase by phrase, with the style's cadences.

An 8-bar section is a period: a 4-bar antecedent ending open on the cadence chord (a half
cadence), and a consequent that starts with the same two bars and closes cadence chord ->
tonic. A 4-bar section is one closed phrase; a blues chorus is the 12-bar form in dominant
sevenths. Chords come from the seven-tone parent of the song's scale (a pentatonic tune
over major-scale chords), so every scale has moving harmony with the tonic as a root.
"""

from __future__ import annotations

import numpy as np

from kotone.domain.plan import ChordEvent
from kotone.domain.theory import (
    CADENCE_DEGREE,
    SCALES,
    build_chord,
    cadence_chord,
    cadence_pcs,
    dominant_seventh,
    harmony_scale,
    triad_on_degree,
)

H = 0  # the cadence chord: a phrase that ends on it is open (a half cadence)
# family -> phrase kind -> 4-bar antecedents (scale degrees of the parent scale, one per bar)
PHRASES: dict[str, dict[str, list[list[int]]]] = {
    "pop": {"A": [[1, 5, 6, H], [1, 6, 4, H], [1, 4, 6, H], [1, 3, 4, H]],
            "B": [[4, 1, 4, H], [6, 4, 1, H], [4, 5, 6, H], [4, 1, 6, H]],
            "C": [[6, 4, 6, H], [2, 4, 6, H], [6, 3, 4, H]]},
    "jazz": {"A": [[1, 6, 2, H], [1, 4, 3, H], [3, 6, 2, H], [1, 6, 4, H]],
             "B": [[4, 3, 2, H], [4, 1, 6, H], [2, 3, 4, H]],
             "C": [[4, 4, 3, 6], [2, 2, 1, 6], [6, 2, 4, H]]},
    "folk": {"A": [[1, 4, 1, H], [1, 1, 4, H], [1, 5, 1, H], [1, 6, 4, H]],
             "B": [[4, 1, 4, H], [4, 5, 1, H], [6, 4, 1, H]],
             "C": [[6, 5, 4, H], [4, 5, 6, H], [6, 4, 6, H]]},
    "modal": {"A": [[1, 7, 1, H], [1, 4, 1, H], [1, 7, 4, H], [1, 2, 1, H]],
              "B": [[4, 1, 7, H], [7, 1, 4, H], [6, 7, 1, H], [4, 4, 1, H]],
              "C": [[4, 3, 2, H], [6, 7, 4, H], [2, 2, 4, H]]},
    "cinematic": {"A": [[1, 6, 3, H], [1, 6, 4, H], [6, 4, 1, H], [1, 3, 6, H]],
                  "B": [[4, 1, 5, H], [6, 4, 1, H], [4, 5, 6, H]],
                  "C": [[4, 4, 6, H], [2, 6, 4, H], [6, 6, 4, H]]},
    "ambient": {"A": [[1, 1, 4, H], [1, 1, 6, H], [1, 1, 2, H]],
                "B": [[4, 4, 1, H], [6, 6, 4, H], [4, 4, 6, H]],
                "C": [[2, 2, 6, H], [6, 6, 2, H]]},
    "minimal": {"A": [[1, 1, 6, H], [1, 1, 4, H], [1, 6, 1, H]],
                "B": [[6, 6, 4, H], [4, 4, 1, H], [1, 6, 4, H]],
                "C": [[4, 4, 6, H], [6, 6, 4, H]]},
    "baroque": {"A": [[1, 4, 2, H], [1, 6, 2, H], [1, 5, 6, H], [1, 4, 5, H]],
                "B": [[6, 2, 5, H], [3, 6, 2, H], [5, 1, 4, H]],
                "C": [[6, 3, 4, H], [2, 5, 1, H]]},
    "blues": {"A": [[1, 4, 1, H]], "B": [[4, 4, 1, H]], "C": [[4, 1, 4, H]]},
}
# the 12-bar blues in dominant sevenths, as semitones above the tonic; the last bar turns around
TWELVE_BAR = (0, 5, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7)
GOLDEN = 0.6180339887


class HarmonyPlanner:
    """Chords for every section of one song (one key, one style)."""

    def __init__(self, *, family: str, tonic: int, scale: str, cadence_prefs: list[str], bpb: float,
                 extended: float, final_seventh: bool, blues: bool, rng: np.random.Generator,
                 secondary: float = 0.0) -> None:
        self.family = family if family in PHRASES else "pop"
        self.tonic, self.scale, self.bpb = tonic, scale, bpb
        self.cadence = cadence_chord(scale, cadence_prefs)
        self.extended, self.final_seventh, self.blues = extended, final_seventh, blues
        # share of dominants approached by their own dominant (V/V); never under a pentatonic
        # tune, which has no tone for its raised third
        self.secondary = secondary if len(SCALES[scale]) == 7 else 0.0
        self.rng = rng
        self.offset = int(rng.integers(0, 1000))
        self._count = 0
        self._phrases: dict[str, list[int]] = {}

    def phrase(self, label: str) -> list[int]:
        """The antecedent of a form letter (drawn once, so a returning letter keeps its chords)."""
        if label not in self._phrases:
            kind = label if label in ("A", "B", "C") else "A"
            options = PHRASES[self.family][kind]
            self._phrases[label] = list(options[int(self.rng.integers(0, len(options)))])
        return self._phrases[label]

    def degrees(self, kind: str, label: str, bars: int, final: bool) -> list[int | str]:
        """One entry per bar: a degree, ``H`` for the cadence chord, or ``"I"`` for the tonic
        that closes (a closing tonic never takes a 7th unless the style wants one)."""
        ante = self.phrase(label)
        if kind == "intro":
            return [1, H] if bars <= 2 else [1, ante[1], ante[2], H][:bars]
        if kind == "outro":
            return [H, "I"] if bars <= 2 else [1, 4 if self.cadence != "IV" else 6, H, "I"]
        if bars <= 4:
            return [ante[0], ante[1], H, "I"][:bars]
        closed: list[int | str] = [ante[0], ante[1], H, "I"]
        out: list[int | str] = list(ante) + closed
        while len(out) < bars:
            out += out[: bars - len(out)]
        return out[:bars]

    def section_chords(self, kind: str, label: str, bars: int, final: bool) -> list[ChordEvent]:
        if self.blues and kind not in ("intro", "outro") and bars == 12:
            return self._twelve_bar(final)
        events: list[ChordEvent] = []
        degs = self.degrees(kind, label, bars, final)
        for i, deg in enumerate(degs):
            closing = deg == "I" and (final or i == len(degs) - 1)
            before_dominant = i + 1 < len(degs) and degs[i + 1] == H and self.cadence == "V"
            if before_dominant and deg not in (H, 1, "I") and self._draw(self.secondary):
                events.append(self._secondary(i * self.bpb, self.bpb))
                continue
            if self.family == "jazz" and deg == H and self.bpb == 4 and not self.blues:
                pre = self._secondary(i * self.bpb, 2.0) if self.cadence == "V" and self._draw(self.secondary) \
                    else self._chord(i * self.bpb, 2.0, self.predominant(), False)
                events += [pre, self._chord(i * self.bpb + 2, 2.0, H, False)]
                continue
            events.append(self._chord(i * self.bpb, self.bpb, deg, closing and final))
        return merge_held(events)

    def _draw(self, share: float) -> bool:
        return share > 0 and float(self.rng.random()) < share

    def _secondary(self, beat: float, beats: float) -> ChordEvent:
        """The dominant's own dominant (II7, "V of V"): a chromatic step toward the cadence."""
        root, pcs, sym = dominant_seventh(self.tonic, 2)
        return ChordEvent(beat=beat, beats=beats, degree=2, root_pc=root, pcs=list(pcs), symbol=sym)

    def predominant(self) -> int:
        """ii before the dominant (a ii-V), or IV where ii is not a plain triad (minor keys)."""
        rel = triad_on_degree(harmony_scale(self.scale), 2)
        return 2 if rel is not None and (rel[2] - rel[0]) % 12 == 7 and rel[0] == SCALES[harmony_scale(self.scale)][1] else 4

    def _seventh(self) -> bool:
        self._count += 1
        return bool(((self._count + self.offset) * GOLDEN) % 1.0 < self.extended)

    def _chord(self, beat: float, beats: float, deg: int | str, last: bool) -> ChordEvent:
        if self.blues:
            rel = {1: 0, "I": 0, 4: 5, 5: 7, H: 7}.get(deg, 0)
            seventh = (rel == 7 or self._seventh()) if not last else self.final_seventh
            return self._blues_chord(beat, beats, rel, seventh)
        seventh = self._seventh()
        if deg == H:
            root, pcs, sym = cadence_pcs(self.tonic, self.cadence, seventh, self.scale)
            return ChordEvent(beat=beat, beats=beats, degree=CADENCE_DEGREE[self.cadence], root_pc=root,
                              pcs=list(pcs), symbol=sym)
        degree = 1 if deg == "I" else int(deg)
        if deg == "I":
            seventh = (last and self.final_seventh) or (not last and seventh)
        root, pcs, sym = build_chord(self.tonic, harmony_scale(self.scale), degree, seventh)
        return ChordEvent(beat=beat, beats=beats, degree=degree, root_pc=root, pcs=list(pcs), symbol=sym)

    def _twelve_bar(self, final: bool) -> list[ChordEvent]:
        """I IV I I / IV IV I I / V IV I V: the dominant (V7) and the I7 of bar 4 that leans into
        the IV always carry their flat 7th; the other chords as often as the song's complexity asks."""
        rels = list(TWELVE_BAR)
        if final:
            rels[-1] = 0
        out = []
        for i, rel in enumerate(rels):
            last = final and i == len(rels) - 1
            seventh = rel == 7 or i == 3 or self._seventh()
            out.append(self._blues_chord(i * self.bpb, self.bpb, rel, seventh and not (last and not self.final_seventh)))
        return merge_held(out)

    def _blues_chord(self, beat: float, beats: float, rel: int, seventh: bool) -> ChordEvent:
        root, pcs, sym = dominant_seventh(self.tonic, rel)
        if not seventh:
            pcs, sym = pcs[:3], sym[:-1]
        return ChordEvent(beat=beat, beats=beats, degree={0: 1, 5: 4, 7: 5}[rel], root_pc=root, pcs=list(pcs), symbol=sym)


def merge_held(events: list[ChordEvent]) -> list[ChordEvent]:
    """Neighbouring identical chords become one longer chord."""
    out: list[ChordEvent] = []
    for ev in events:
        if out and out[-1].symbol == ev.symbol and out[-1].pcs == ev.pcs:
            prev = out[-1]
            out[-1] = prev.model_copy(update={"beats": prev.beats + ev.beats})
        else:
            out.append(ev)
    return out
