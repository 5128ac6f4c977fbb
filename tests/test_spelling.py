"""Chords and keys spelled for their key (known answers, one table)."""

import pytest

from kotone.domain.spelling import chord_name, key_name, key_spelling


@pytest.mark.parametrize(("tonic", "scale", "pcs", "expected"), [
    (6, "minor", [8, 11, 4], "E/G#"),  # the 'E/Ab' in F# minor
    (6, "minor", [6, 9, 1], "F#m"),
    (6, "minor", [1, 5, 8], "C#"),  # the dominant of harmonic minor
    (6, "major", [11, 3, 6], "B"),
    (6, "major", [5, 8, 11], "E#dim"),
    (1, "major", [1, 5, 8], "Db"),
    (1, "major", [10, 1, 5, 8], "Bbm7"),
    (8, "minor", [8, 11, 3], "G#m"),
    (8, "major", [8, 0, 3, 7], "Abmaj7"),
    (3, "minor", [11, 3, 6], "Cb"),  # bVI of Eb minor
    (5, "major", [10, 2, 5, 9], "Bbmaj7"),
    (0, "major", [9, 0, 4, 7], "Am7"),
    (0, "major", [0, 4, 7, 9], "C6"),
    (0, "major", [7, 11, 2, 5], "G7"),
    (0, "major", [11, 2, 5, 9], "Bm7b5"),
    (0, "major", [4, 7, 0], "C/E"),
    (2, "dorian", [0, 4, 7], "C"),
    (4, "in", [5, 9, 0], "F"),
    (9, "blues_minor", [3, 6, 9], "Ebdim"),
    (11, "major", [3, 6, 10], "D#m"),
    (10, "minor", [6, 10, 1], "Gb"),
    (7, "mixolydian", [5, 9, 0], "F"),
    (4, "hijaz", [5, 9, 0], "F"),
    (0, "major", [0, 7], "C5"),
])
def test_chord_names_per_key(tonic, scale, pcs, expected):
    assert chord_name(pcs, tonic, scale) == expected


@pytest.mark.parametrize(("tonic", "scale", "expected"), [
    (6, "minor", "F# minor"), (6, "major", "F# major"), (1, "major", "Db major"), (8, "minor", "G# minor"),
    (3, "minor", "Eb minor"), (10, "major", "Bb major"), (4, "in", "E in scale"), (9, "pentatonic_minor",
    "A minor pentatonic"), (2, "dorian", "D dorian"),
])
def test_key_names(tonic, scale, expected):
    assert key_name(tonic, scale) == expected


@pytest.mark.parametrize(("tonic", "scale", "degrees"), [
    (6, "minor", ["F#", "G#", "A", "B", "C#", "D", "E"]),
    (3, "minor", ["Eb", "F", "Gb", "Ab", "Bb", "Cb", "Db"]),
    (1, "major", ["Db", "Eb", "F", "Gb", "Ab", "Bb", "C"]),
    (4, "hijaz", ["E", "F", "G#", "A", "B", "C", "D"]),
])
def test_every_degree_gets_its_own_letter(tonic, scale, degrees):
    from kotone.domain.theory import scale_pcs

    key = key_spelling(tonic, scale)
    names = [key.name(pc) for pc in scale_pcs(tonic, scale)]
    assert names == degrees
    assert len({n[0] for n in names}) == 7
