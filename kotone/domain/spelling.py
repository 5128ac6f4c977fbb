"""Note and chord names spelled for their key: G# (not Ab) in F# minor, Bb (not A#) in F major.

Every scale is read against a seven-note mode that contains it (pentatonic major in major,
the in scale in phrygian ...); the tonic takes the spelling whose mode needs the fewest
accidentals, the scale degrees then take consecutive letters, and notes outside the scale
lean the key's way (sharps in sharp keys, flats in flat and natural keys: the blue notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from kotone.domain.theory import SCALES

LETTERS = "CDEFGAB"
NATURAL_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTALS = {0: "", 1: "#", 2: "##", 11: "b", 10: "bb"}
USUAL_TONICS = frozenset({"C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B", "C#", "G#"})
# seven-note modes to read other scales against, first match wins (major-like before minor-like)
REFERENCE_MODES = ("major", "minor", "dorian", "mixolydian", "phrygian", "lydian", "harmonic_minor",
                   "hijaz", "double_harmonic")
SCALE_LABELS = {
    "major": "major", "minor": "minor", "harmonic_minor": "harmonic minor", "dorian": "dorian",
    "phrygian": "phrygian", "lydian": "lydian", "mixolydian": "mixolydian",
    "pentatonic_major": "major pentatonic", "pentatonic_minor": "minor pentatonic", "blues_minor": "blues",
    "yo": "yo scale", "in": "in scale", "ryukyu": "Ryukyu scale", "hijaz": "hijaz", "double_harmonic":
    "double harmonic",
}


@dataclass(frozen=True)
class KeySpelling:
    tonic_pc: int
    scale: str
    names: tuple[str, ...]  # the name of every pitch class 0-11 in this key
    sharps: bool  # the key's own accidentals are sharps (chromatic notes lean the same way)

    def name(self, pc: int) -> str:
        return self.names[pc % 12]


def reference_mode(scale: str) -> str:
    steps = set(SCALES[scale])
    if len(steps) == 7:
        return scale
    for mode in REFERENCE_MODES:
        if steps <= set(SCALES[mode]):
            return mode
    return "minor" if 3 in steps else "major"


def _spell_mode(letter: str, tonic_pc: int, mode: str) -> list[tuple[int, str]] | None:
    """(pc, name) of the mode's seven degrees from a tonic letter; None if it needs a triple."""
    start = LETTERS.index(letter)
    out = []
    for i, step in enumerate(SCALES[mode]):
        pc = (tonic_pc + step) % 12
        lett = LETTERS[(start + i) % 7]
        acc = (pc - NATURAL_PC[lett]) % 12
        if acc not in ACCIDENTALS:
            return None
        out.append((pc, lett + ACCIDENTALS[acc]))
    return out


def _cost(degrees: list[tuple[int, str]]) -> tuple[int, int]:
    doubles = sum(name.endswith(("##", "bb")) for _, name in degrees)
    singles = sum(name[1:] in ("#", "b") for _, name in degrees)
    return doubles, singles


@lru_cache(maxsize=512)
def key_spelling(tonic_pc: int, scale: str) -> KeySpelling:
    tonic_pc %= 12
    mode = reference_mode(scale)
    options = []
    for letter in LETTERS:
        if (tonic_pc - NATURAL_PC[letter]) % 12 in (0, 1, 11):
            degrees = _spell_mode(letter, tonic_pc, mode)
            if degrees is not None:
                usual = degrees[0][1] in USUAL_TONICS
                options.append((_cost(degrees), not usual, degrees))
    # fewest double, then single accidentals; on a tie (F# / Gb, D# / Eb) the usual tonic name
    _, _, degrees = min(options, key=lambda o: (o[0], o[1]))
    sharps = sum(n.endswith("#") for _, n in degrees) > sum(n.endswith("b") for _, n in degrees)
    names: dict[int, str] = {pc: name for pc, name in degrees}
    for pc in range(12):
        if pc not in names:
            names[pc] = _chromatic(pc, sharps)
    return KeySpelling(tonic_pc, scale, tuple(names[pc] for pc in range(12)), sharps)


def _chromatic(pc: int, sharps: bool) -> str:
    for lett, nat in NATURAL_PC.items():
        if nat == pc:
            return lett
    below = next(lett for lett, nat in NATURAL_PC.items() if (nat + 1) % 12 == pc)
    above = next(lett for lett, nat in NATURAL_PC.items() if (nat - 1) % 12 == pc)
    return below + "#" if sharps else above + "b"


def key_name(tonic_pc: int, scale: str) -> str:
    """'F# minor', 'Eb major', 'D dorian', 'A in scale'."""
    return f"{key_spelling(tonic_pc, scale).name(tonic_pc)} {SCALE_LABELS.get(scale, scale.replace('_', ' '))}"


TRIADS = ((4, 7, ""), (3, 7, "m"), (3, 6, "dim"), (4, 8, "aug"), (5, 7, "sus4"), (2, 7, "sus2"))
EXTRA_NAMES = {1: "b9", 2: "9", 5: "11", 6: "#11", 8: "b13", 9: "6"}


def _find_root(pcs: list[int]) -> tuple[int, str] | None:
    """The tone the chord is built on (the bass first), with its triad quality."""
    tones = set(pcs)
    for r in pcs:
        for third, fifth, quality in TRIADS:
            if (r + third) % 12 in tones and (r + fifth) % 12 in tones:
                return r, quality
    return None


def _sevenths(root: int, quality: str, tones: set[int]) -> tuple[str, set[int]]:
    """The suffix for a seventh (or added sixth) over the triad, and the tones it names."""
    has = {i for i in range(12) if (root + i) % 12 in tones}
    if quality == "dim":
        if 10 in has:
            return "m7b5", {10}
        if 9 in has:
            return "dim7", {9}
        return "dim", set()
    if 10 in has:
        return {"": "7", "m": "m7", "sus4": "7sus4", "sus2": "7sus2"}.get(quality, quality + "7"), {10}
    if 11 in has:
        return {"": "maj7", "m": "m(maj7)"}.get(quality, quality + "maj7"), {11}
    if 9 in has and quality in ("", "m"):
        return quality + "6", {9}
    return quality, set()


def chord_name(pcs: list[int] | tuple[int, ...], tonic_pc: int, scale: str) -> str:
    """A chord (pitch classes, bass first) named in its key: 'E/G#', 'C#m7', 'Bbmaj7'."""
    pcs = [p % 12 for p in pcs]
    if not pcs:
        return ""
    key = key_spelling(tonic_pc, scale)
    found = _find_root(pcs)
    if found is None:
        return key.name(pcs[0]) + ("5" if (pcs[0] + 7) % 12 in pcs else "")
    root, quality = found
    suffix, used = _sevenths(root, quality, set(pcs))
    thirds = {0, *(i for t in TRIADS if t[2] == quality for i in t[:2])}
    extras = sorted({(p - root) % 12 for p in pcs} - thirds - used)
    name = key.name(root) + suffix + "".join(f"(add{EXTRA_NAMES[i]})" for i in extras if i in EXTRA_NAMES)
    if pcs[0] != root:
        name += "/" + key.name(pcs[0])
    return name
