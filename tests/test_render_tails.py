"""Release tails: long-ringing voices are stopped once 60 dB down, and nothing else changes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pretty_midi
import pytest

from kotone.render import soundfont, tails

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tinysoundfont") is None, reason="tinysoundfont not installed")
RATE = 22050


def crystal_and_pad(seconds: float = 24.0) -> pretty_midi.PrettyMIDI:
    """A crystal (FX 3: rings ~9 s after each note) over a pad whose chords share held tones
    (same pitch restruck while it still sounds, and short notes inside a long one of the same
    pitch, whose note-offs end the older voice), a bass and drums."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=100.0)
    crystal = pretty_midi.Instrument(program=98, name="crystal")
    pad = pretty_midi.Instrument(program=89, name="pad")
    bass = pretty_midi.Instrument(program=33, name="bass")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    rng = np.random.default_rng(1)
    t = 0.0
    while t < seconds:
        crystal.notes.append(pretty_midi.Note(int(rng.integers(60, 110)), int(rng.integers(60, 84)), t, t + 0.2))
        t += float(rng.choice([0.15, 0.3, 0.6]))
    for k in range(int(seconds // 2)):
        root = [57, 60, 62, 55][k % 4]
        pad.notes += [pretty_midi.Note(70, p, 2 * k, 2 * k + 2.3) for p in (root, root + 4, 64)]  # 64 held over
        bass.notes.append(pretty_midi.Note(90, root - 24, 2 * k, 2 * k + 1.0))
        crystal.notes.append(pretty_midi.Note(80, 72, 2 * k + 0.5, 2 * k + 0.8))  # inside the long 72 below
        drums.notes.append(pretty_midi.Note(100, 36, 2 * k, 2 * k + 0.1))
    crystal.notes.append(pretty_midi.Note(90, 72, 0.1, seconds - 1.0))
    crystal.notes.sort(key=lambda n: n.start)
    for inst, cc in ((crystal, 90), (pad, 70), (bass, 110), (drums, 100)):
        inst.control_changes.append(pretty_midi.ControlChange(7, cc, 0.0))
        pm.instruments.append(inst)
    return pm


def render(pm: pretty_midi.PrettyMIDI, monkeypatch, *, cull: bool, kills: bool = True) -> np.ndarray:
    monkeypatch.setattr(soundfont, "CULL_TAILS", cull)
    monkeypatch.setattr(soundfont, "NOTE_CACHE", False)  # every voice through the synth (tests/test_notecache.py)
    if not kills:
        events = soundfont._tsf_events
        monkeypatch.setattr(soundfont, "_tsf_events", lambda *a: [e for e in events(*a) if e[3] != "kill"])
    out = soundfont.synth_tinysoundfont(pm, RATE, pm.get_end_time() + 1.0, 60.0, 1)[:, 0].astype(np.float64)
    monkeypatch.undo()
    return out


def test_long_tails_are_measured_per_program():
    tsf, font = soundfont._tsf_module(), soundfont.loaded_soundfont()
    crystal = tails.tail_of(tsf, font, 98, RATE)
    bass = tails.tail_of(tsf, font, 33, RATE)
    assert crystal.alive_s - crystal.cut_s >= tails.MIN_SAVING_S  # worth extra channels
    assert bass.saving_s < tails.MIN_SAVING_S


def test_playing_over_spare_channels_changes_nothing_but_the_kills(monkeypatch):
    pm = crystal_and_pad()
    plain = render(pm, monkeypatch, cull=False)
    rotated = render(pm, monkeypatch, cull=True, kills=False)
    events = soundfont._tsf_events(pm, soundfont.loaded_soundfont(), RATE, pm.get_end_time() + 1.0)
    assert len({e[2] for e in events}) > len(pm.instruments)  # it did move to spare channels
    assert any(e[3] == "kill" for e in events)
    assert np.allclose(plain, rotated, atol=1e-6)  # same voices, same note-offs (float summation order aside)


def test_stopped_tails_were_inaudible_and_save_work(monkeypatch):
    pm = crystal_and_pad()
    plain = render(pm, monkeypatch, cull=False)
    culled = render(pm, monkeypatch, cull=True)
    rms = np.sqrt(np.mean(plain**2))
    hop = RATE // 10
    n = len(plain) // hop * hop
    residual = np.sqrt(np.mean((plain - culled)[:n].reshape(-1, hop) ** 2, axis=1))
    assert 20 * np.log10(residual.max() / rms) < -55  # the loudest 100 ms of difference, re the song
    assert not np.array_equal(plain, culled)


def test_kills_never_split_a_render():
    pm = crystal_and_pad()
    events = soundfont._tsf_events(pm, soundfont.loaded_soundfont(), RATE, pm.get_end_time() + 1.0)
    others = {e[0] for e in events if e[3] != "kill"}
    assert all(e[0] in others for e in events if e[3] == "kill")
