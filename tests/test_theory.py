import pytest

from kotone.domain.theory import (
    SCALES,
    build_chord,
    is_consonant,
    is_seventh_chord,
    nearest_pitch,
    scale_pcs,
    scale_step,
    snap_to_scale,
    triad_on_degree,
    usable_degrees,
    voice_chord,
)


@pytest.mark.parametrize(
    ("tonic", "scale", "degree", "extended", "symbol", "pcs"),
    [
        (0, "major", 1, False, "C", (0, 4, 7)),
        (0, "major", 5, True, "G7", (7, 11, 2, 5)),
        (0, "major", 2, True, "Dm7", (2, 5, 9, 0)),
        (9, "minor", 1, False, "Am", (9, 0, 4)),
        (0, "major", 4, True, "Fmaj7", (5, 9, 0, 4)),
        (2, "dorian", 4, False, "G", (7, 11, 2)),
        (0, "hijaz", 1, False, "C", (0, 4, 7)),
        (0, "phrygian", 2, False, "C#", (1, 5, 8)),
    ],
)
def test_known_chords(tonic, scale, degree, extended, symbol, pcs):
    _, got_pcs, got_symbol = build_chord(tonic, scale, degree, extended)
    assert got_symbol == symbol
    assert got_pcs == pcs


def test_scale_pitch_classes():
    assert scale_pcs(0, "major") == (0, 2, 4, 5, 7, 9, 11)
    assert scale_pcs(9, "minor") == (9, 11, 0, 2, 4, 5, 7)
    assert scale_pcs(0, "in") == (0, 1, 5, 7, 8)
    assert scale_pcs(2, "yo") == (2, 4, 7, 9, 11)
    with pytest.raises(ValueError, match="unknown scale 'klingon'"):
        scale_pcs(0, "klingon")


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_every_scale_gives_consonant_in_scale_chords(scale):
    """Whatever the style and mood, chords use only scale tones and no clashing pairs."""
    assert 1 in usable_degrees(scale)
    for tonic in range(12):
        pcs = set(scale_pcs(tonic, scale))
        for degree in range(1, 8):
            _, chord, _ = build_chord(tonic, scale, degree, extended=False)
            assert set(chord) <= pcs
            assert is_consonant(chord)
            assert len(set(chord)) == 3


def test_no_augmented_triads():
    rel = triad_on_degree("double_harmonic", 6)
    assert rel is not None
    assert sorted((p - rel[0]) % 12 for p in rel[1:]) != [4, 8]


def test_pitch_helpers():
    assert nearest_pitch(0, 62) == 60
    assert nearest_pitch(7, 60, 60, 72) == 67
    assert scale_step(60, 2, scale_pcs(0, "major")) == 64
    assert scale_step(60, -1, scale_pcs(0, "major")) == 59
    assert scale_step(60, 1, scale_pcs(0, "yo")) == 62
    assert snap_to_scale(61, scale_pcs(0, "major")) == 60
    assert scale_step(64, 1, scale_pcs(0, "pentatonic_major")) == 67


def test_voice_leading_moves_little():
    c = voice_chord((0, 4, 7), 60, 48, 76, None)
    f = voice_chord((5, 9, 0), 60, 48, 76, c)
    assert sorted(p % 12 for p in f) == [0, 5, 9]
    assert abs(sum(f) / 3 - sum(c) / 3) <= 3


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_every_extended_chord_is_a_seventh_chord_in_the_scale(scale):
    """Complexity asks for 7ths: in scales with no 7th over a degree (pentatonic, yo, in,
    ryukyu) an added 6th or another scale tone must still make a real seventh-type chord."""
    for tonic in (0, 5, 10):
        pcs = set(scale_pcs(tonic, scale))
        for degree in range(1, 8):
            _, chord, _ = build_chord(tonic, scale, degree, extended=True)
            assert len(set(chord)) == 4, (scale, degree, chord)
            assert set(chord) <= pcs
            assert is_seventh_chord(set(chord)), (scale, degree, chord)


def test_added_sixth_is_named_as_a_sixth():
    _, pcs, symbol = build_chord(0, "pentatonic_major", 1, extended=True)
    assert pcs == (0, 4, 7, 9)
    assert symbol == "C6"
    assert is_seventh_chord({0, 4, 7, 9})  # C6 holds Am7
    assert not is_seventh_chord({0, 4, 7, 2})  # an added 9th is not a seventh chord
