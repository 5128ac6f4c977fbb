"""The harmony check on hand-built pieces with known answers."""

import pretty_midi

from kotone.music.harmony_check import check_harmony


def piece(parts: list[list[tuple[float, float, int]]], tempo: float = 120.0) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    for notes in parts:
        inst = pretty_midi.Instrument(program=0)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for s, e, p in notes]
        pm.instruments.append(inst)
    return pm


def chords(progression: list[tuple[int, ...]], bar_s: float = 2.0) -> list[tuple[float, float, int]]:
    return [(i * bar_s, (i + 1) * bar_s, p) for i, ch in enumerate(progression) for p in ch]


C, F, G, AM = (60, 64, 67), (60, 65, 69), (59, 62, 67), (57, 60, 64)


def test_consonant_piece_passes():
    melody = [(i * 1.0, i * 1.0 + 0.9, p) for i, p in enumerate([72, 76, 77, 72, 74, 71, 72, 69] * 2)]
    rep = check_harmony(piece([chords([C, F, G, AM] * 2), melody]), beats_per_bar=4)
    assert rep.passed and rep.clashes == 0 and rep.out_of_scale == 0 and rep.strong_onsets > 20


def test_semitone_clashes_between_parts_fail():
    grinding = [(i * 1.0, i * 1.0 + 0.9, 61) for i in range(16)]  # C# against the C of every chord
    rep = check_harmony(piece([chords([C, F, G, AM] * 2), grinding]), scale_pcs=tuple(range(12)), beats_per_bar=4)
    assert not rep.passed and rep.clash_rate > 0.08


def test_out_of_scale_part_fails_against_a_given_scale():
    wrong = [(i * 1.0, i * 1.0 + 0.9, p) for i, p in enumerate([73, 75, 78, 80] * 4)]  # all black keys
    rep = check_harmony(piece([chords([C, F, G, C] * 2), wrong]), scale_pcs=(0, 2, 4, 5, 7, 9, 11), beats_per_bar=4)
    assert not rep.passed and rep.out_of_scale_rate > 0.2


def test_a_modulating_piece_is_judged_in_its_local_key():
    in_c = chords([C, F, G, C] * 2)
    d = 2
    in_d = [(s + 16.0, e + 16.0, p + d) for s, e, p in in_c]  # the same eight bars a tone higher
    rep = check_harmony(piece([in_c + in_d]), beats_per_bar=4)
    assert rep.passed
    whole_c = check_harmony(piece([in_c + in_d]), scale_pcs=(0, 2, 4, 5, 7, 9, 11), beats_per_bar=4)
    assert whole_c.out_of_scale > 0  # judged against C major throughout, the D section is out of key
