"""Measurement reads the MIDI itself: known contrasts must move the right dimension."""

import numpy as np
import pretty_midi
import pytest

from kotone.music.measure import extract_features, measure
from kotone.pipeline import compose
from kotone.render.midi import midi_bytes, read_midi


def make_song(*, tempo=100, program=0, velocity=80, chord=(60, 64, 67), step=1.0, seconds=20.0,
              drums=False, extra_parts=0, melody_pcs=(0, 2, 4, 5, 7, 9, 11)) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    spb = 60.0 / tempo
    harm = pretty_midi.Instrument(program=program)
    mel = pretty_midi.Instrument(program=program)
    t = 0.0
    k = 0
    while t < seconds:
        for p in chord:
            harm.notes.append(pretty_midi.Note(velocity=velocity, pitch=p, start=t, end=t + 4 * spb * 0.95))
        for j in range(int(4 / step)):
            pc = melody_pcs[(k + j) % len(melody_pcs)]
            s = t + j * step * spb
            mel.notes.append(pretty_midi.Note(velocity=velocity, pitch=72 + pc, start=s, end=s + step * spb * 0.9))
        k += 3
        t += 4 * spb
    pm.instruments += [harm, mel]
    for x in range(extra_parts):
        inst = pretty_midi.Instrument(program=program)
        inst.notes = [pretty_midi.Note(velocity=velocity, pitch=n.pitch - 12 * (x + 1), start=n.start, end=n.end)
                      for n in harm.notes]
        pm.instruments.append(inst)
    if drums:
        d = pretty_midi.Instrument(program=0, is_drum=True)
        t = 0.0
        while t < seconds:
            d.notes.append(pretty_midi.Note(velocity=velocity, pitch=42, start=t, end=t + 0.1))
            t += spb / 2
        pm.instruments.append(d)
    return pm


def test_energy_follows_tempo_density_loudness():
    calm, _ = measure(make_song(tempo=62, velocity=45, step=2.0))
    loud, _ = measure(make_song(tempo=165, velocity=115, step=0.5, drums=True))
    assert loud.energy > calm.energy + 30


def test_brightness_follows_mode():
    major, _ = measure(make_song(chord=(60, 64, 67), melody_pcs=(0, 4, 7, 9, 4, 2)))
    minor, _ = measure(make_song(chord=(57, 60, 64), melody_pcs=(9, 0, 4, 5, 0, 11)))
    assert major.brightness > minor.brightness + 10


def test_acousticness_and_nostalgia_follow_timbre():
    nylon, _ = measure(make_song(program=24))
    saw, _ = measure(make_song(program=81))
    music_box, _ = measure(make_song(program=10))
    assert nylon.acousticness > saw.acousticness + 50
    assert music_box.nostalgia > saw.nostalgia + 30


def test_complexity_follows_harmony_and_parts():
    plain, _ = measure(make_song(chord=(60, 64, 67)))
    rich, _ = measure(make_song(chord=(60, 64, 67, 71), extra_parts=3, step=0.5,
                                melody_pcs=(0, 2, 3, 5, 7, 8, 10, 11)))
    assert rich.complexity > plain.complexity + 20


def test_measurement_is_of_the_file():
    song = compose({"style": "style_bossa", "instrument": "instrument_rhodes", "mood": "mood_romantic",
                    "gimmick": "gimmick_swing"}, 4)
    reread, _ = measure(read_midi(midi_bytes(song.midi)))
    for d, v in song.measured.as_dict().items():
        assert getattr(reread, d) == pytest.approx(v, abs=1.0), d
    assert extract_features(song.midi).tempo_bpm == pytest.approx(song.plan.tempo_bpm, abs=0.01)


def test_chord_richness_does_not_depend_on_articulation():
    """A detached seventh chord is still a seventh chord: notes are heard to the next onset."""
    for chord in ((60, 64, 67, 71), (60, 64, 67)):
        legato = make_song(chord=chord)
        staccato = make_song(chord=chord)
        for n in staccato.instruments[0].notes:
            n.end = n.start + 0.15
        a, b = extract_features(legato), extract_features(staccato)
        assert a.chord_richness == pytest.approx(b.chord_richness, abs=0.05)
    assert extract_features(make_song(chord=(60, 64, 67, 71))).chord_richness > 0.9
    assert extract_features(make_song(chord=(60, 64, 67))).chord_richness < 0.5


def test_looseness_reads_how_far_players_sit_off_the_beat():
    rng = np.random.default_rng(3)
    tight, loose = make_song(), make_song()
    spb = 60.0 / 100
    for inst in loose.instruments:
        for n in inst.notes:
            shift = float(rng.normal(0, 0.03)) * spb
            n.start, n.end = max(0.0, n.start + shift), n.end + shift
    assert extract_features(tight).looseness < 0.01
    assert extract_features(loose).looseness > extract_features(tight).looseness + 0.01
    assert measure(loose)[0].nostalgia > measure(tight)[0].nostalgia


def test_top_line_register_moves_brightness():
    low, high = make_song(), make_song()
    for n in high.instruments[1].notes:
        n.pitch += 12
    assert extract_features(high).top_pitch > extract_features(low).top_pitch + 8
    assert measure(high)[0].brightness > measure(low)[0].brightness + 5


def test_syncopation_counts_notes_carried_across_the_beat():
    straight, pushed = make_song(step=1.0), make_song(step=1.0)
    spb = 60.0 / 100
    notes = pushed.instruments[1].notes
    for k in range(2, len(notes), 2):  # every other note half a beat early, held over the beat
        notes[k].start -= 0.5 * spb
        notes[k - 1].end = min(notes[k - 1].end, notes[k].start)
    assert extract_features(straight).syncopation == 0.0
    assert extract_features(pushed).syncopation > 0.3
