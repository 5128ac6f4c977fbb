"""The song file: ``midi_bytes`` writes exactly what pretty_midi writes, and ``read_midi``
reads it back exactly as pretty_midi reads it."""

from __future__ import annotations

import io

import numpy as np
import pretty_midi
import pytest

from kotone.assets import load_catalog
from kotone.domain.cards import SLOTS
from kotone.domain.errors import RenderError
from kotone.music.arranger import flatten
from kotone.music.humanize import humanize
from kotone.pipeline import compose
from kotone.render.midi import _read_song_file, _song_file_bytes, build_midi, midi_bytes, read_midi


def pretty_midi_bytes(pm: pretty_midi.PrettyMIDI) -> bytes:
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def tricky_song() -> pretty_midi.PrettyMIDI:
    """Events on one tick in every order pretty_midi sorts: a note ending where the same
    pitch starts again, notes at 0, controls late, drums, 17 tracks (channels wrap past 15)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=97.0)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(6, 8, 0.0))
    rng = np.random.default_rng(3)
    for k in range(17):
        inst = pretty_midi.Instrument(program=k * 7 % 128, is_drum=k == 3, name="" if k == 5 else f"track {k}")
        t = 0.0
        for _ in range(60):
            dur = float(rng.choice([0.1, 0.3094, 0.6185, 1.0]))
            pitch = int(rng.integers(50, 54))
            inst.notes.append(pretty_midi.Note(int(rng.integers(1, 128)), pitch, t, t + dur))
            t += float(rng.choice([0.0, dur, dur / 2]))
        inst.control_changes += [pretty_midi.ControlChange(7, 100, 0.0), pretty_midi.ControlChange(11, 90, t / 2),
                                 pretty_midi.ControlChange(7, 80, t / 2)]
        pm.instruments.append(inst)
    return pm


def test_tricky_file_is_written_byte_for_byte_as_pretty_midi_writes_it():
    pm = tricky_song()
    fast = _song_file_bytes(pm)
    assert fast is not None and fast == pretty_midi_bytes(pm)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_composed_songs_are_written_byte_for_byte_as_pretty_midi_writes_them(seed):
    cat = load_catalog()
    rng = np.random.default_rng(seed)
    choice = {s: str(rng.choice([c.id for c in cat.by_slot(s)])) for s in SLOTS}
    song = compose(choice, seed)
    # the song's file is the fast one; build the same PrettyMIDI afresh and let pretty_midi write it
    pm = build_midi(song.plan, humanize(song.plan, flatten(song.plan, song.parts)))
    assert song.midi_file == pretty_midi_bytes(pm)


def test_anything_else_goes_through_pretty_midi():
    pm = tricky_song()
    pm.instruments[0].pitch_bends.append(pretty_midi.PitchBend(300, 0.5))
    assert _song_file_bytes(pm) is None and midi_bytes(pm) == pretty_midi_bytes(pm)
    read_back = read_midi(pretty_midi_bytes(tricky_song()))  # a file read back: its own tick table
    assert _song_file_bytes(read_back) is None and midi_bytes(read_back) == pretty_midi_bytes(read_back)


def snapshot(pm: pretty_midi.PrettyMIDI) -> tuple:
    """Everything a reader decides, to the last float and type."""
    return (pm.resolution, pm._tick_scales, list(pm._PrettyMIDI__tick_to_time),
            [(t.numerator, t.denominator, t.time) for t in pm.time_signature_changes],
            [(k.key_number, k.time) for k in pm.key_signature_changes], [(x.text, x.time) for x in pm.lyrics],
            [(x.text, x.time) for x in pm.text_events], pm.get_end_time(),
            [(type(i.program), i.program, i.is_drum, i.name,
              [(n.start, n.end, n.pitch, n.velocity, type(n.start)) for n in i.notes],
              [(c.number, c.value, c.time) for c in i.control_changes], [(b.pitch, b.time) for b in i.pitch_bends])
             for i in pm.instruments])  # fmt: skip


def pretty_midi_read(data: bytes) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(data))


def test_a_song_file_is_read_as_pretty_midi_reads_it():
    data = pretty_midi_bytes(tricky_song())  # same-pitch overlaps, a note-off and -on on one tick, late controls
    fast = _read_song_file(data)
    assert fast is not None and snapshot(fast) == snapshot(pretty_midi_read(data))
    assert snapshot(read_midi(data)) == snapshot(pretty_midi_read(data))


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_composed_songs_are_read_as_pretty_midi_reads_them(seed):
    cat = load_catalog()
    rng = np.random.default_rng(seed)
    song = compose({s: str(rng.choice([c.id for c in cat.by_slot(s)])) for s in SLOTS}, seed)
    assert _read_song_file(song.midi_file) is not None
    assert snapshot(song.midi) == snapshot(pretty_midi_read(song.midi_file))


def test_files_the_fast_reader_does_not_know_go_to_pretty_midi():
    bent = tricky_song()
    bent.instruments[0].pitch_bends.append(pretty_midi.PitchBend(300, 0.5))
    keyed = tricky_song()
    keyed.key_signature_changes.append(pretty_midi.KeySignature(3, 0.0))
    two_tempi = pretty_midi_read(pretty_midi_bytes(tricky_song()))
    two_tempi._tick_scales.append((4000, two_tempi._tick_scales[0][1] / 2))
    for pm in (bent, keyed, two_tempi):
        data = pretty_midi_bytes(pm)
        assert _read_song_file(data) is None
        assert snapshot(read_midi(data)) == snapshot(pretty_midi_read(data))
    for broken in (b"", b"MThd", pretty_midi_bytes(tricky_song())[:-7], b"RIFF" + bytes(40)):
        assert _read_song_file(broken) is None
        with pytest.raises(RenderError):
            read_midi(broken)
    data = bytearray(pretty_midi_bytes(tricky_song()))
    data[data.index(bytes((0x90,))) + 1] |= 0x80  # a data byte with its top bit set
    assert _read_song_file(bytes(data)) is None
