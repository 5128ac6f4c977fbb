"""Playing each distinct note once (kotone.render.notecache) sounds like playing every voice,
and the SoundFont tables it relies on (kotone.render.sf2zones) read true."""

from __future__ import annotations

import importlib.util
import struct
import time

import numpy as np
import pretty_midi
import pytest

from eval.notecache import band_levels
from kotone.domain.errors import RenderError
from kotone.render import notecache, soundfont
from kotone.render.sf2zones import SoundFontFormatError, preset_layers, read_preset_layers

RATE = 22050
needs_tsf = pytest.mark.skipif(importlib.util.find_spec("tinysoundfont") is None, reason="tinysoundfont not installed")


# ------------------------------------------------------------------ a SoundFont made by hand


def _rec(fmt: str, *values) -> bytes:
    return struct.pack(fmt, *values)


def tiny_sf2(path, *, drum_exclusive: bool = True) -> None:
    """Two presets: melodic program 5 whose instrument has velocity layers 0-63 / 64-100 /
    101-127, and a drum kit (bank 128, program 0) whose keys 42-46 carry exclusive class 1."""
    def name(s: str) -> bytes:
        return s.encode().ljust(20, b"\0")

    def gen(oper: int, lo: int, hi: int) -> bytes:
        return _rec("<HBB", oper, lo, hi)

    phdr = (name("keys") + _rec("<HHHIII", 5, 0, 0, 0, 0, 0) + name("kit") + _rec("<HHHIII", 0, 128, 1, 0, 0, 0)
            + name("EOP") + _rec("<HHHIII", 0, 0, 2, 0, 0, 0))  # fmt: skip
    pbag = _rec("<HH", 0, 0) + _rec("<HH", 1, 0) + _rec("<HH", 2, 0)
    pgen = gen(41, 0, 0) + gen(41, 1, 0) + gen(0, 0, 0)
    inst = name("keys") + _rec("<H", 0) + name("kit") + _rec("<H", 3) + name("EOI") + _rec("<H", 5)
    ibag = b"".join(_rec("<HH", g, 0) for g in (0, 2, 4, 6, 8, 10))
    igen = (gen(44, 0, 63) + gen(53, 0, 0) + gen(44, 64, 100) + gen(53, 0, 0) + gen(44, 101, 127) + gen(53, 0, 0)
            + gen(43, 35, 41) + gen(53, 0, 0)
            + gen(43, 42, 46) + (gen(57, 1, 0) if drum_exclusive else gen(53, 0, 0)))  # fmt: skip
    chunks = {"phdr": phdr, "pbag": pbag, "pmod": b"\0" * 10, "pgen": pgen, "inst": inst, "ibag": ibag,
              "imod": b"\0" * 10, "igen": igen, "shdr": b"\0" * 46}  # fmt: skip
    body = b"pdta" + b"".join(k.encode() + _rec("<I", len(v)) + v for k, v in chunks.items())
    info = b"INFO" + b"ifil" + _rec("<I", 4) + _rec("<HH", 2, 1)
    riff = b"sfbk" + b"LIST" + _rec("<I", len(info)) + info + b"LIST" + _rec("<I", len(body)) + body
    path.write_bytes(b"RIFF" + _rec("<I", len(riff)) + riff)


def test_velocity_layers_and_exclusive_keys_are_read_from_the_preset_tables(tmp_path):
    tiny_sf2(tmp_path / "tiny.sf2")
    layers = read_preset_layers(tmp_path / "tiny.sf2")
    assert layers[(0, 5)].splits == (64, 101)
    assert layers[(0, 5)].exclusive_keys == frozenset()
    assert layers[(128, 0)].exclusive_keys == frozenset(range(42, 47))
    tiny_sf2(tmp_path / "open.sf2", drum_exclusive=False)
    assert read_preset_layers(tmp_path / "open.sf2")[(128, 0)].exclusive_keys == frozenset()


def test_a_broken_soundfont_is_refused_and_then_treated_as_unknown(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00sfbkLIST\x04\x00\x00\x00INFO")
    with pytest.raises(SoundFontFormatError):
        read_preset_layers(bad)
    assert preset_layers(bad) is None
    assert preset_layers(tmp_path / "missing.sf2") is None
    cut = tmp_path / "cut.sf2"
    tiny_sf2(cut)
    cut.write_bytes(cut.read_bytes()[:-30])
    assert preset_layers(cut) is None


def test_the_installed_soundfont_has_the_layers_the_cache_needs():
    path = soundfont.find_soundfont()
    layers = preset_layers(path)
    assert layers is not None and (0, 0) in layers
    if path == soundfont.FLUID_R3:
        assert layers[(0, 0)].splits  # the grand piano has velocity layers
        assert {42, 44, 46} <= layers[(128, 0)].exclusive_keys  # the hi-hats choke each other


# ------------------------------------------------------------------ which tracks are played note by note


def _inst(program=0, *, drum=False, ccs=(), bends=False, notes=((60, 90, 0.0, 1.0),)) -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(program=program, is_drum=drum)
    inst.notes = [pretty_midi.Note(v, p, s, e) for p, v, s, e in notes]
    inst.control_changes = [pretty_midi.ControlChange(n, v, t) for n, v, t in ccs]
    if bends:
        inst.pitch_bends = [pretty_midi.PitchBend(500, 0.5)]
    return inst


def test_only_tracks_whose_notes_cannot_interact_are_played_note_by_note():
    assert notecache.track_gain(_inst(ccs=[(7, 100, 0.0)])) == pytest.approx((100 / 127) ** 4 / (100 / 127) ** 2)
    assert notecache.track_gain(_inst(ccs=[(7, 100, 0.0), (11, 64, 0.0)])) == pytest.approx(
        (100 / 127) ** 2 * (64 / 127) ** 2)
    assert notecache.track_gain(_inst()) == 1.0
    assert notecache.track_gain(_inst(bends=True)) is None
    assert notecache.track_gain(_inst(ccs=[(10, 30, 0.0)])) is None  # pan
    assert notecache.track_gain(_inst(ccs=[(64, 127, 0.0)])) is None  # sustain pedal
    assert notecache.track_gain(_inst(ccs=[(7, 100, 0.0), (7, 50, 0.5)])) is None  # a fade under a held note
    assert notecache.track_gain(_inst(notes=())) is None


def test_choking_drums_stay_with_the_synth(tmp_path):
    tiny_sf2(tmp_path / "tiny.sf2")
    layers = read_preset_layers(tmp_path / "tiny.sf2")
    kit = _inst(0, drum=True, notes=[(36, 100, 0.0, 0.1), (42, 80, 0.0, 0.1), (46, 80, 0.5, 0.6), (38, 90, 0.5, 0.6)])
    pad = _inst(5, ccs=[(7, 90, 0.0)])
    bent = _inst(5, bends=True)
    synth, by_note = notecache.split_tracks([kit, pad, bent], layers)
    assert [sorted(n.pitch for n in i.notes) for i in synth] == [[42, 46], [60]]
    assert [sorted(n.pitch for n in i.notes) for i in by_note] == [[36, 38], [60]]
    assert by_note[1] is pad and synth[1] is bent
    unknown_kit = _inst(7, drum=True)
    assert notecache.split_tracks([unknown_kit], layers) == ([unknown_kit], [])
    assert notecache.split_tracks([unknown_kit], None) == ([unknown_kit], [])


def test_notes_in_one_velocity_layer_share_a_rendering_and_layers_do_not(tmp_path):
    tiny_sf2(tmp_path / "tiny.sf2")
    player = notecache.NotePlayer(None, None, RATE, 0.0, read_preset_layers(tmp_path / "tiny.sf2"), 0.0)
    layer = [player.layer(False, 5, notecache.tsf_velocity((v / 127) ** 2)) for v in (60, 80, 90, 91, 114, 127)]
    assert layer == [0, 0, 0, 1, 2, 2]  # TinySoundFont selects zones by int(gain * 127): 90 -> 63, 91 -> 65
    assert player.layer(False, 99, 50) == 50  # a preset not in the table: every velocity its own


# ------------------------------------------------------------------ it sounds the same


def song_like() -> pretty_midi.PrettyMIDI:
    """A pad and a piano repeating a four-chord loop (velocities humanised), a bass, a kit with
    hi-hats, and a lead whose bend keeps it with the synth."""
    rng = np.random.default_rng(4)
    pm = pretty_midi.PrettyMIDI(initial_tempo=96)
    pad, piano, bass = (pretty_midi.Instrument(program=p) for p in (89, 0, 33))
    lead = pretty_midi.Instrument(program=73)
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    beat = 60 / 96
    for bar in range(16):
        root = (57, 53, 60, 55)[bar % 4]
        t0 = bar * 4 * beat
        for p in (root, root + 4, root + 7):
            pad.notes.append(pretty_midi.Note(int(rng.integers(60, 70)), p, t0 + rng.uniform(0, 0.01), t0 + 4 * beat))
            for k in range(4):
                piano.notes.append(pretty_midi.Note(int(rng.integers(50, 110)), p + 12, t0 + k * beat,
                                                    t0 + (k + 0.9) * beat))  # fmt: skip
        bass.notes.append(pretty_midi.Note(95, root - 24, t0, t0 + 2 * beat))
        lead.notes.append(pretty_midi.Note(100, root + 24, t0 + beat, t0 + 3 * beat))
        for k in range(8):
            kit.notes.append(pretty_midi.Note(int(rng.integers(60, 100)), 42 if k % 4 else 46, t0 + k * beat / 2,
                                              t0 + k * beat / 2 + 0.1))  # fmt: skip
        kit.notes.append(pretty_midi.Note(110, 36, t0, t0 + 0.1))
        kit.notes.append(pretty_midi.Note(100, 38, t0 + 2 * beat, t0 + 2 * beat + 0.1))
    lead.pitch_bends.append(pretty_midi.PitchBend(0, 0.0))
    for inst, cc in ((pad, 70), (piano, 100), (bass, 110), (lead, 120), (kit, 100)):
        inst.control_changes.append(pretty_midi.ControlChange(7, cc, 0.0))
        pm.instruments.append(inst)
    return pm


@needs_tsf
def test_playing_distinct_notes_sounds_like_playing_every_voice(monkeypatch):
    pm = song_like()
    end = pm.get_end_time() + 1.0
    monkeypatch.setattr(soundfont, "NOTE_CACHE", False)
    t0 = time.process_time()
    every = soundfont.synth_tinysoundfont(pm, RATE, end, 60.0, 1)[:, 0].astype(np.float64)
    cpu_every = time.process_time() - t0
    monkeypatch.setattr(soundfont, "NOTE_CACHE", True)
    rendered = []
    real_sound = notecache.NotePlayer.sound

    def counting(self, *args, **kwargs):
        before = self.rendered
        out = real_sound(self, *args, **kwargs)
        rendered.append(self.rendered - before)
        return out

    monkeypatch.setattr(notecache.NotePlayer, "sound", counting)
    t0 = time.process_time()
    distinct = soundfont.synth_tinysoundfont(pm, RATE, end, 60.0, 1)[:, 0].astype(np.float64)
    cpu_distinct = time.process_time() - t0
    assert len(every) == len(distinct)
    a, b = band_levels(every), band_levels(distinct)
    loud = a > a.max() - 50
    diff = np.abs(a - b)[loud]
    assert diff.mean() < 0.3 and np.percentile(diff, 99) < 3.0  # 24 bands x 46 ms, dB
    assert abs(10 * np.log10(np.mean(distinct**2) / np.mean(every**2))) < 0.1
    placed, played = len(rendered), sum(rendered)
    assert placed == sum(len(i.notes) for i in pm.instruments) - 16 - 16 * 8  # not the lead, not the hi-hats
    assert played * 4 < placed  # the loop repeats: most notes are copies
    print(f"every voice {cpu_every * 1000:.0f} ms, distinct notes {cpu_distinct * 1000:.0f} ms; "
          f"{played} of {placed} notes rendered")


@needs_tsf
def test_stereo_renders_and_the_switch_play_every_voice(monkeypatch):
    pm = song_like()
    called = []
    monkeypatch.setattr(notecache, "play_tracks", lambda *a, **k: called.append(1))
    soundfont.synth_tinysoundfont(pm, RATE, 2.0, 60.0, 2)
    monkeypatch.setattr(soundfont, "NOTE_CACHE", False)
    soundfont.synth_tinysoundfont(pm, RATE, 2.0, 60.0, 1)
    assert called == []


@needs_tsf
def test_a_note_by_note_render_is_bounded_in_time():
    from kotone.render.tails import Tail

    tsf, font = soundfont._tsf_module(), soundfont.loaded_soundfont()
    player = notecache.NotePlayer(tsf, font, RATE, -6.0, None, time.monotonic() - 1.0)
    with pytest.raises(RenderError, match="timed out"):
        player.sound(0, False, 60, 0.5, 1024, Tail(0.5, 1.0), 10_000)


@needs_tsf
def test_a_note_cut_short_by_the_song_end_is_rendered_again_when_there_is_room():
    from kotone.render.tails import Tail

    tsf, font = soundfont._tsf_module(), soundfont.loaded_soundfont()
    player = notecache.NotePlayer(tsf, font, RATE, -6.0, None, time.monotonic() + 60)
    short = player.sound(0, False, 60, 0.5, 2048, Tail(0.5, 1.0), 3000)
    full = player.sound(0, False, 60, 0.5, 2048, Tail(0.5, 1.0), 100_000)
    assert len(short) == 3000 and 3000 < len(full) <= 2048 + round(0.5 * RATE)
    assert np.allclose(full[:3000], short, atol=1e-6)
    drum = player.sound(0, True, 36, 0.5, 512, None, 500_000)
    assert 512 < len(drum) < 6.5 * RATE and np.any(drum[-200:])  # played until its voice ended


@needs_tsf
def test_a_release_stops_once_it_stays_60_db_under_the_note_and_not_before():
    from kotone.render.tails import CUT_DB, Tail

    tsf, font = soundfont._tsf_module(), soundfont.loaded_soundfont()
    player = notecache.NotePlayer(tsf, font, RATE, -6.0, None, time.monotonic() + 60)
    worst = Tail(12.0, 12.0)  # a program whose worst case rings 12 s
    for program, pitch in ((0, 72), (48, 60), (24, 52)):
        snd = player.sound(program, False, pitch, 0.5, 8192, worst, 10**7)
        assert 8192 < len(snd) < 8192 + 12 * RATE  # stopped before the worst case
        peak = np.max(np.abs(snd))
        n_fade = round(notecache.FADE_S * RATE)
        assert np.max(np.abs(snd[-n_fade:])) <= peak * 10 ** (-CUT_DB / 20)  # the fade is already that far down
        before = snd[: len(snd) - n_fade]
        assert np.max(np.abs(before[-notecache.RELEASE_STEP :])) > peak * 10 ** (-CUT_DB / 20)  # not earlier


@needs_tsf
def test_a_drum_still_ringing_at_the_cap_fades_there_and_is_rendered_once(monkeypatch):
    monkeypatch.setattr(notecache, "DRUM_TAIL_MAX_S", 0.05)
    tsf, font = soundfont._tsf_module(), soundfont.loaded_soundfont()
    player = notecache.NotePlayer(tsf, font, RATE, -6.0, None, time.monotonic() + 60)
    crash = player.sound(0, True, 49, 0.5, 512, None, 10**6)  # a crash cymbal rings for seconds
    assert len(crash) == 512 + round(0.05 * RATE) and abs(crash[-1]) < 1e-3 < np.max(np.abs(crash[:512]))
    again = player.sound(0, True, 49, 0.5, 512, None, 10**7)
    assert again is crash and player.rendered == 1
