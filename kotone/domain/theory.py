"""Scales, chords and progressions. Pure functions over pitch classes (0 = C).

Chords are built only from the tones of the song's scale and only where every pair of
chord tones is consonant, so any scale (including yo, in, hijaz) yields harmonious chords.
"""

from __future__ import annotations

from functools import lru_cache

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "pentatonic_major": (0, 2, 4, 7, 9),
    "pentatonic_minor": (0, 3, 5, 7, 10),
    "blues_minor": (0, 3, 5, 6, 7, 10),
    "yo": (0, 2, 5, 7, 9),
    "in": (0, 1, 5, 7, 8),
    "ryukyu": (0, 4, 5, 7, 11),
    "hijaz": (0, 1, 4, 5, 7, 8, 10),
    "double_harmonic": (0, 1, 4, 5, 7, 8, 11),
}

# Scales with fewer than seven tones take their chords from a seven-tone parent that
# contains them (a yo melody over mixolydian chords, an in melody over phrygian ones).
PARENT_SCALE: dict[str, str] = {
    "pentatonic_major": "major",
    "pentatonic_minor": "minor",
    "blues_minor": "mixolydian",
    "yo": "mixolydian",
    "in": "phrygian",
    "ryukyu": "major",
}

# Cadence chords (the chord before the final tonic) as (root above the tonic, triad intervals,
# seventh interval). "V" is the dominant even where the scale's own fifth degree is minor
# (the raised leading tone of harmonic minor); the others must be in the scale.
CADENCE_CHORDS: dict[str, tuple[int, tuple[int, int, int], int]] = {
    "V": (7, (0, 4, 7), 10),
    "v": (7, (0, 3, 7), 10),
    "IV": (5, (0, 4, 7), 11),
    "iv": (5, (0, 3, 7), 10),
    "bVII": (10, (0, 4, 7), 10),
    "bII": (1, (0, 4, 7), 11),
    "bVI": (8, (0, 4, 7), 11),
}
CADENCE_DEGREE = {"V": 5, "v": 5, "IV": 4, "iv": 4, "bVII": 7, "bII": 2, "bVI": 6}

# Krumhansl-Kessler key profiles (probe-tone ratings for C major / C minor), the one copy.
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

# Intervals (mod 12) allowed between any two tones of a triad: 3rds, 4ths, 5ths, 6ths.
CONSONANT = frozenset({0, 3, 4, 5, 7, 8, 9})

PROGRESSIONS: dict[str, dict[str, list[list[int]]]] = {
    # family -> section kind -> candidate progressions of scale degrees (1-based), one per bar
    "pop": {
        "verse": [[1, 5, 6, 4], [1, 6, 4, 5], [6, 4, 1, 5]],
        "chorus": [[4, 5, 1, 6], [1, 5, 6, 4], [4, 1, 5, 6]],
        "bridge": [[6, 4, 5, 5], [2, 4, 5, 5]],
    },
    "jazz": {
        "verse": [[2, 5, 1, 6], [1, 6, 2, 5], [3, 6, 2, 5]],
        "chorus": [[4, 3, 2, 5], [1, 4, 3, 6], [2, 5, 1, 1]],
        "bridge": [[4, 4, 3, 6], [2, 5, 3, 6]],
    },
    "folk": {
        "verse": [[1, 4, 1, 5], [1, 1, 4, 5], [1, 4, 5, 1]],
        "chorus": [[4, 1, 5, 1], [1, 5, 4, 1], [6, 4, 1, 5]],
        "bridge": [[4, 5, 6, 5], [6, 5, 4, 5]],
    },
    "modal": {
        "verse": [[1, 7, 1, 7], [1, 4, 1, 4], [1, 2, 1, 7]],
        "chorus": [[1, 7, 4, 1], [4, 7, 1, 1], [1, 3, 4, 1]],
        "bridge": [[4, 3, 2, 7], [6, 7, 1, 1]],
    },
    "blues": {
        "verse": [[1, 1, 4, 1], [1, 4, 1, 1]],
        "chorus": [[4, 4, 1, 1], [5, 4, 1, 5]],
        "bridge": [[4, 4, 1, 1], [5, 5, 4, 4]],
    },
    "cinematic": {
        "verse": [[1, 6, 3, 7], [1, 6, 4, 5], [6, 4, 1, 5]],
        "chorus": [[6, 7, 1, 1], [4, 5, 3, 6], [1, 5, 6, 4]],
        "bridge": [[4, 4, 5, 5], [2, 6, 4, 5]],
    },
    "ambient": {
        "verse": [[1, 1, 4, 4], [1, 1, 6, 6]],
        "chorus": [[4, 4, 1, 1], [6, 6, 4, 4]],
        "bridge": [[2, 2, 5, 5], [6, 6, 5, 5]],
    },
    "minimal": {
        "verse": [[1, 1, 1, 5], [1, 1, 4, 4]],
        "chorus": [[4, 4, 1, 1], [1, 5, 1, 5]],
        "bridge": [[4, 4, 5, 5], [6, 6, 5, 5]],
    },
}

QUALITY_SUFFIX = {
    (4, 7): "",
    (3, 7): "m",
    (3, 6): "dim",
    (4, 8): "aug",
    (5, 7): "sus4",
    (2, 7): "sus2",
    (4, 9): "6",
    (3, 8): "m(b6)",
}


def pc_name(pc: int) -> str:
    return NOTE_NAMES[pc % 12]


def harmony_scale(scale: str) -> str:
    """The seven-tone scale the chords of a song in ``scale`` are built from."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; known: {sorted(SCALES)}")
    return PARENT_SCALE.get(scale, scale)


def cadence_chord(scale: str, preferences: list[str] | tuple[str, ...]) -> str:
    """The first cadence chord in ``preferences`` that ``scale``'s harmony has (``V`` always
    qualifies); ``V`` when none does."""
    steps = set(SCALES[harmony_scale(scale)])
    for name in preferences:
        root, triad, _ = CADENCE_CHORDS[name]
        if name == "V" or all((root + i) % 12 in steps for i in triad):
            return name
    return "V"


def cadence_pcs(tonic_pc: int, name: str, seventh: bool, scale: str | None = None) -> tuple[int, tuple[int, ...], str]:
    """(root pc, pcs root first, symbol) of a named cadence chord over ``tonic_pc``; its 7th is
    the scale's own where the scale has one (a dominant's is always the minor 7th)."""
    root_rel, triad, sev = CADENCE_CHORDS[name]
    if scale is not None and name != "V":
        steps = set(SCALES[harmony_scale(scale)])
        sev = next((s for s in (sev, 21 - sev) if (root_rel + s) % 12 in steps), sev)
    root = (tonic_pc + root_rel) % 12
    pcs = [(root + i) % 12 for i in triad] + ([(root + sev) % 12] if seventh else [])
    minor = triad[1] == 3
    suffix = ("m" if minor else "") + (("7" if sev == 10 else "maj7") if seventh else "")
    return root, tuple(pcs), pc_name(root) + suffix


def dominant_seventh(tonic_pc: int, degree_rel: int) -> tuple[int, tuple[int, ...], str]:
    """A dominant seventh chord (root, 3, 5, b7) on the tone ``degree_rel`` semitones above the tonic."""
    root = (tonic_pc + degree_rel) % 12
    return root, tuple((root + i) % 12 for i in (0, 4, 7, 10)), pc_name(root) + "7"


def chord_scale(scale: tuple[int, ...], chord: tuple[int, ...]) -> tuple[int, ...]:
    """The melody's scale over one chord: scale tones a semitone from a chord tone that the
    scale lacks (the raised leading tone of a minor key's dominant, a borrowed flat 7th) give
    way to that chord tone, so the tune never rubs against its own harmony."""
    out = set(scale)
    chord_set = set(chord)
    for c in chord:
        if c in out:
            continue
        for n in ((c + 1) % 12, (c - 1) % 12):
            if n not in chord_set:
                out.discard(n)
        out.add(c)
    return tuple(sorted(out))


def scale_pcs(tonic_pc: int, scale: str) -> tuple[int, ...]:
    """Pitch classes of ``scale`` on ``tonic_pc``, tonic first."""
    try:
        steps = SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; known: {sorted(SCALES)}") from None
    return tuple((tonic_pc + s) % 12 for s in steps)


def is_consonant(pcs: tuple[int, ...]) -> bool:
    return all((b - a) % 12 in CONSONANT for i, a in enumerate(pcs) for b in pcs[i + 1 :])


@lru_cache(maxsize=256)
def triad_on_degree(scale: str, degree: int) -> tuple[int, ...] | None:
    """Relative pitch classes (root first) of the most consonant triad on ``degree``.

    Tries stacked scale-thirds first, then any two scale tones forming a consonant triad
    with the root (preferring a perfect fifth). ``None`` if the degree carries no chord.
    """
    steps = SCALES[scale]
    n = len(steps)
    root = steps[(degree - 1) % n]
    stacked = (root, steps[(degree + 1) % n], steps[(degree + 3) % n])
    if n == 7 and is_consonant(stacked) and (stacked[2] - root) % 12 == 7:
        return stacked
    best, best_rank = None, 99
    for third in steps:
        for fifth in steps:
            i3, i5 = (third - root) % 12, (fifth - root) % 12
            if not (0 < i3 < i5) or not is_consonant((root, third, fifth)):
                continue
            if (i3, i5) == (4, 8):  # augmented: consonant pairwise, tense as a whole
                continue
            rank = (0 if i5 == 7 else 2) + (0 if i3 in (3, 4) else 1)
            if rank < best_rank:
                best, best_rank = (root, third, fifth), rank
    return best


def seventh_on_degree(scale: str, degree: int) -> int | None:
    """The scale tone a 7th (10 or 11 semitones) above the degree's root, if any."""
    steps = SCALES[scale]
    root = steps[(degree - 1) % len(steps)]
    for interval in (10, 11):
        if (root + interval) % 12 in steps:
            return (root + interval) % 12
    return None


def is_seventh_chord(pcs: set[int] | frozenset[int]) -> bool:
    """True when ``pcs`` hold a root with a third, a fifth and a seventh above it (an added
    sixth counts: C-E-G-A is A-C-E-G)."""
    for r in pcs:
        if ({(r + 3) % 12, (r + 4) % 12} & pcs and {(r + 6) % 12, (r + 7) % 12} & pcs
                and {(r + 10) % 12, (r + 11) % 12} & pcs):
            return True
    return False


def added_tone(scale: str, triad: tuple[int, ...]) -> int | None:
    """For scales without a 7th over this root (pentatonic, yo, in, ryukyu ...): the scale
    tone that turns the triad into a four-note seventh-type chord, softest first (an added
    6th or minor 7th before a major 7th), or ``None``."""
    best, best_rank = None, 99
    for tone in SCALES[scale]:
        if tone in triad or not is_seventh_chord({*triad, tone}):
            continue
        rank = sum(1 for t in triad if (tone - t) % 12 in (1, 11))  # semitone rubs, fewest first
        if rank < best_rank:
            best, best_rank = tone, rank
    return best


def usable_degrees(scale: str) -> list[int]:
    n = len(SCALES[scale])
    return [d for d in range(1, n + 1) if triad_on_degree(scale, d) is not None]


def map_degree(scale: str, degree: int) -> int:
    """Map a 7-degree progression step onto a scale that may have fewer usable degrees."""
    n = len(SCALES[scale])
    usable = usable_degrees(scale)
    if n != 7:
        # spread 1..7 onto 1..n by register position
        degree = 1 + round((degree - 1) * (n - 1) / 6)
    if degree in usable:
        return degree
    # fall back to the nearest usable degree, preferring the tonic and the fifth-ish degree
    return min(usable, key=lambda d: (abs(d - degree), d != 1))


SEVENTH_SUFFIX = {9: "6", 10: "7", 11: "maj7"}


def chord_symbol(root_pc: int, rel: tuple[int, ...], seventh: bool) -> str:
    """Readable name; a triad that is an inversion (e.g. C-F-A) is named as a slash chord."""
    triad = [p % 12 for p in rel[:3]]
    name = None
    for cand in triad:  # find the tone over which the triad is a root-position 3-5 stack
        ints = tuple(sorted((p - cand) % 12 for p in triad if p != cand))
        if ints in QUALITY_SUFFIX and ints in ((4, 7), (3, 7)):
            shift = (cand - triad[0]) % 12
            name = pc_name(root_pc + shift) + QUALITY_SUFFIX[ints]
            if shift:
                name += "/" + pc_name(root_pc)
            break
    if name is None:
        ints = tuple(sorted((p - triad[0]) % 12 for p in triad[1:]))
        name = pc_name(root_pc) + QUALITY_SUFFIX.get(ints, "5")
    top = (rel[3] - rel[0]) % 12 if len(rel) > 3 else None
    if seventh and top in SEVENTH_SUFFIX and "/" not in name:
        name += SEVENTH_SUFFIX[top]
    elif seventh and len(rel) > 3:
        name += f"(add {pc_name(root_pc + (rel[3] - rel[0]))})"
    return name


def build_chord(tonic_pc: int, scale: str, degree: int, extended: bool) -> tuple[int, tuple[int, ...], str]:
    """(root pc, absolute pcs root first, symbol) of the chord on ``degree``."""
    degree = map_degree(scale, degree)
    rel = triad_on_degree(scale, degree)
    assert rel is not None
    pcs = list(rel)
    if extended:
        sev = seventh_on_degree(scale, degree)
        if sev is None or sev in pcs or not is_seventh_chord({*pcs, sev}):
            # an inverted triad (D/F#) takes the tone that makes it a seventh chord of its
            # own root, not a 9th over it
            sev = added_tone(scale, rel)
        if sev is not None and sev not in pcs:
            pcs.append(sev)
    absolute = tuple((tonic_pc + p) % 12 for p in pcs)
    root_pc = absolute[0]
    return root_pc, absolute, chord_symbol(root_pc, tuple(pcs), extended and len(pcs) > 3)


def nearest_pitch(pc: int, around: int, lo: int = 0, hi: int = 127) -> int:
    """The MIDI pitch with pitch class ``pc`` closest to ``around`` inside [lo, hi]."""
    base = around - ((around - pc) % 12)
    cands = [p for p in (base - 12, base, base + 12, base + 24) if lo <= p <= hi and p % 12 == pc % 12]
    if not cands:
        cands = [p for p in range(lo, hi + 1) if p % 12 == pc % 12]
    if not cands:
        raise ValueError(f"no pitch of class {pc} in range {lo}-{hi}")
    return min(cands, key=lambda p: (abs(p - around), p))


def voice_chord(pcs: tuple[int, ...], center: int, lo: int, hi: int, prev: list[int] | None) -> list[int]:
    """A close voicing of ``pcs`` near ``center``; with ``prev``, minimal voice movement."""
    options = []
    for inversion in range(len(pcs)):
        order = pcs[inversion:] + pcs[:inversion]
        pitches = [nearest_pitch(order[0], center - 5, lo, hi)]
        for pc in order[1:]:
            p = pitches[-1] + ((pc - pitches[-1]) % 12 or 12)
            if p > hi:
                p -= 12
            pitches.append(p)
        pitches = sorted(set(pitches))
        if all(lo <= p <= hi for p in pitches):
            options.append(pitches)
    if not options:
        return sorted({nearest_pitch(pc, center, lo, hi) for pc in pcs})
    if prev:
        pavg = sum(prev) / len(prev)
        return min(options, key=lambda v: (abs(sum(v) / len(v) - pavg), v))
    return min(options, key=lambda v: (abs(sum(v) / len(v) - center), v))


def scale_step(pitch: int, steps: int, scale: tuple[int, ...]) -> int:
    """Move ``steps`` scale steps from ``pitch`` (snapped into the scale first)."""
    pcs = sorted(set(scale))
    p = snap_to_scale(pitch, scale)
    direction = 1 if steps > 0 else -1
    for _ in range(abs(steps)):
        p += direction
        while p % 12 not in pcs:
            p += direction
    return p


def snap_to_scale(pitch: int, scale: tuple[int, ...]) -> int:
    """The nearest pitch whose class is in ``scale`` (ties go down)."""
    pcs = set(scale)
    for d in range(0, 7):
        if (pitch - d) % 12 in pcs:
            return pitch - d
        if (pitch + d) % 12 in pcs:
            return pitch + d
    raise ValueError(f"scale {scale!r} is empty")
