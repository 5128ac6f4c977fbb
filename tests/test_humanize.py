"""Humanized notes survive the MIDI file: a held note never swallows the next strike of its pitch."""

from kotone.music.humanize import REPEAT_GAP, release_before_repeat
from kotone.music.types import Note
from kotone.pipeline import compose


def test_a_held_note_ends_before_its_pitch_is_struck_again():
    notes = [Note(0.0, 3.05, 38, 60), Note(3.0, 3.05, 38, 60), Note(1.0, 4.0, 50, 60)]
    out = release_before_repeat(notes)
    assert out[0].end == 3.0 - REPEAT_GAP  # cut before the repeat
    assert out[1] == notes[1] and out[2] == notes[2]  # the last strike and other pitches untouched


def test_a_pedal_bass_sounds_every_bar_in_the_midi_file():
    """Lullaby, music box, seed 14: the harp holds D2 a whole bar, bar after bar. Played legato
    and nudged in time, every other note used to be cut to a click by the previous note-off."""
    song = compose({"style": "style_lullaby", "instrument": "instrument_music_box", "mood": "mood_tender",
                    "gimmick": "gimmick_rain"}, 14)
    spb = 60.0 / song.plan.tempo_bpm
    (bass,) = [i for t, i in zip(song.plan.tracks, song.midi.instruments, strict=True) if t.role == "bass"]
    lengths = [(n.end - n.start) / spb for n in bass.notes]
    assert len(lengths) >= 20 and min(lengths) > 1.0, sorted(lengths)[:5]


def test_a_doubled_strike_becomes_one_note():
    notes = [Note(1.005, 2.0, 55, 60), Note(1.0, 0.02, 55, 70), Note(4.0, 1.0, 55, 60)]
    out = release_before_repeat(notes)
    assert sorted(out, key=lambda n: n.start) == [Note(1.0, 2.005, 55, 70), Note(4.0, 1.0, 55, 60)]


def test_notes_that_do_not_overlap_are_untouched():
    notes = [Note(0.0, 1.0, 60, 60), Note(1.0, 1.0, 60, 60), Note(2.05, 0.5, 60, 60)]
    assert release_before_repeat(notes) == notes


def test_every_pitched_note_keeps_its_length_in_the_midi_file():
    """Pads and comping double chord tones; nudged apart, the doubled strikes used to cut each
    other to clicks in the file (36 of 40 random songs lost notes this way)."""
    for cards, seed in (({"style": "style_citypop", "instrument": "instrument_rhodes", "mood": "mood_cheerful",
                          "gimmick": "gimmick_echo"}, 1),
                        ({"style": "style_cinematic", "instrument": "instrument_strings", "mood": "mood_solemn",
                          "gimmick": "gimmick_drone"}, 2)):
        song = compose(cards, seed)
        spb = 60.0 / song.plan.tempo_bpm
        for t, inst in zip(song.plan.tracks, song.midi.instruments, strict=True):
            if t.is_drum:
                continue
            heard = {(round(n.start, 2), n.pitch): n.end - n.start for n in inst.notes}
            for n in song.tracks[t.role]:
                got = heard.get((round(n.start * spb, 2), n.pitch))
                assert got is None or got >= 0.5 * n.dur * spb, (cards["style"], t.role, n)
