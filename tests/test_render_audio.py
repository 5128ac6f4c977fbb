"""Audio rendering: every backend, the bounds, the fallback, the effects."""

from __future__ import annotations

import ctypes.util
import importlib.util
import stat
import time
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from kotone.domain.errors import RenderError
from kotone.render import audio as audio_mod
from kotone.render.audio import AUDIO_FX, apply_fx, backend_order, render_audio, write_wav
from kotone.render.loudness import TARGET_LUFS
from kotone.render.soundfont import SYNTH_BACKENDS, BackendUnavailableError, fluidsynth_executable
from kotone.render.stems import loudness_lufs

HAVE_BACKEND = {
    "fluidsynth": fluidsynth_executable() is not None,
    "tinysoundfont": importlib.util.find_spec("tinysoundfont") is not None,
    "libfluidsynth": importlib.util.find_spec("fluidsynth") is not None and ctypes.util.find_library("fluidsynth") is not None,
}
BACKEND_PARAMS = [
    pytest.param(name, marks=pytest.mark.skipif(not HAVE_BACKEND[name], reason=f"{name} not installed"))
    for name in SYNTH_BACKENDS
]
needs_all = pytest.mark.skipif(not all(HAVE_BACKEND.values()), reason="needs every backend")


def make_song(seconds: float = 10.0, tempo_bpm: float = 120.0) -> pretty_midi.PrettyMIDI:
    """Piano chords, bass, flute melody and drums; ends at ``seconds``."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    beat = 60.0 / tempo_bpm
    piano = pretty_midi.Instrument(program=0, name="piano")
    bass = pretty_midi.Instrument(program=33, name="bass")
    flute = pretty_midi.Instrument(program=73, name="flute")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    n_beats = int(seconds / beat)
    for b in range(n_beats):
        t = b * beat
        root = [60, 65, 67, 57][(b // 4) % 4]
        if b % 4 == 0:
            piano.notes += [pretty_midi.Note(70, root + i, t, t + 4 * beat) for i in (0, 4, 7)]
        bass.notes.append(pretty_midi.Note(85, root - 24, t, t + 0.9 * beat))
        flute.notes.append(pretty_midi.Note(80, root + 12 + (b % 3) * 2, t, t + 0.9 * beat))
        drums.notes.append(pretty_midi.Note(100, 36 if b % 2 == 0 else 38, t, t + 0.1))
    pm.instruments = [piano, bass, flute, drums]
    return pm


@pytest.fixture(scope="module")
def song() -> pretty_midi.PrettyMIDI:
    return make_song()


def read(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data, rate


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("fmt", ["mp3", "ogg", "wav"])
def test_each_backend_renders_the_song(song, tmp_path, backend, fmt):
    result = render_audio(song, tmp_path, backends=[backend], fmt=fmt)
    assert result.backend == backend
    assert result.path == tmp_path / f"song.{fmt}" and result.path.is_file()
    data, rate = read(result.path)
    assert rate == result.sample_rate == 22050
    end_s = song.get_end_time()
    assert end_s <= len(data) / rate <= end_s + 1.5
    assert abs(result.duration_s - len(data) / rate) < 0.1  # MP3 adds its encoder delay
    assert abs(loudness_lufs(data, rate) - TARGET_LUFS) < 0.5  # loudness-normalised
    assert float(np.max(np.abs(data))) < 10 ** (-0.8 / 20)  # peaks limited to -1 dBFS
    tail = data[-int(0.02 * rate) :]
    assert float(np.max(np.abs(tail))) < 0.05  # faded out


def test_default_writes_mp3(song, tmp_path):
    result = render_audio(song, tmp_path, stem="x")
    assert result.path.name == "x.mp3"
    assert sf.info(str(result.path)).format == "MP3"


def test_default_falls_back_to_ogg_without_lameenc(song, tmp_path, monkeypatch):
    monkeypatch.setattr(audio_mod, "_have_lameenc", lambda: False)
    expected = "ogg" if "OGG" in sf.available_formats() else "wav"
    assert render_audio(song, tmp_path, stem="x").path.name == f"x.{expected}"


def test_max_length_allows_two_minute_songs(tmp_path):
    result = render_audio(make_song(seconds=121.0, tempo_bpm=240.0), tmp_path, fmt="wav")
    assert result.duration_s > 121.0


def test_stereo_output(song, tmp_path):
    result = render_audio(song, tmp_path, channels=2, fmt="wav")
    assert read(result.path)[0].shape[1] == 2


def test_overlong_midi_is_refused(tmp_path):
    pm = make_song(seconds=12.0)
    with pytest.raises(RenderError, match="longer than"):
        render_audio(pm, tmp_path, max_seconds=10.0)


def test_note_count_bomb_is_refused(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.notes = [pretty_midi.Note(100, 60 + i % 12, i * 1e-4, i * 1e-4 + 0.5) for i in range(30_000)]
    pm.instruments.append(inst)
    with pytest.raises(RenderError, match="30000 notes"):
        render_audio(pm, tmp_path)


def test_empty_midi_is_refused(tmp_path):
    with pytest.raises(RenderError, match="no notes"):
        render_audio(pretty_midi.PrettyMIDI(), tmp_path)


def _fake_fluidsynth(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-fluidsynth"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.skipif(not HAVE_BACKEND["tinysoundfont"], reason="tinysoundfont not installed")
@pytest.mark.parametrize("body", ["echo broken >&2; exit 3", "exec sleep 30"])
def test_broken_fluidsynth_falls_back(song, tmp_path, monkeypatch, body):
    monkeypatch.setenv("KOTONE_FLUIDSYNTH", _fake_fluidsynth(tmp_path, body))
    result = render_audio(song, tmp_path, backends=["fluidsynth", "tinysoundfont"], timeout_s=2.0)
    assert result.backend == "tinysoundfont"


@pytest.mark.skipif(not HAVE_BACKEND["tinysoundfont"], reason="tinysoundfont not installed")
def test_runaway_fluidsynth_output_is_killed_by_size(song, tmp_path, monkeypatch):
    # $4 is the WAV path after "-ni -q -F"; write far more than a 10 s song needs, then hang
    body = 'head -c 20000000 /dev/zero > "$4"; exec sleep 30'
    monkeypatch.setenv("KOTONE_FLUIDSYNTH", _fake_fluidsynth(tmp_path, body))
    t0 = time.monotonic()
    result = render_audio(song, tmp_path, backends=["fluidsynth", "tinysoundfont"], timeout_s=20.0)
    assert result.backend == "tinysoundfont"
    assert time.monotonic() - t0 < 10.0  # killed for size long before the time budget


@pytest.mark.skipif(not HAVE_BACKEND["tinysoundfont"], reason="tinysoundfont not installed")
def test_tinysoundfont_respects_the_time_budget(song, tmp_path):
    with pytest.raises(RenderError, match="timed out"):
        render_audio(song, tmp_path, backends=["tinysoundfont"], timeout_s=1e-4)


@pytest.mark.skipif(not HAVE_BACKEND["libfluidsynth"], reason="libfluidsynth not installed")
def test_without_tinysoundfont_libfluidsynth_plays_with_the_soundfont_loaded_once(song, tmp_path, monkeypatch):
    """What a Space gets (no tinysoundfont): in-process synths that keep the SoundFont."""
    from kotone.render import fluid

    def missing(*args: object) -> np.ndarray:
        raise BackendUnavailableError("tinysoundfont is not installed")

    made = []
    original = fluid._SynthPool._make
    monkeypatch.setattr(fluid._SynthPool, "_make", lambda self: made.append(1) or original(self))
    fluid.synth_pool.cache_clear()
    monkeypatch.setitem(audio_mod.SYNTH_BACKENDS, "tinysoundfont", missing)
    for i in range(3):
        result = render_audio(song, tmp_path, stem=f"s{i}", fmt="wav")
        assert result.backend == "libfluidsynth"
    assert len(made) == 1  # one synth, parsed once, reused for every render
    data, rate = read(result.path)
    assert abs(loudness_lufs(data, rate) - TARGET_LUFS) < 0.5


@pytest.mark.skipif(not HAVE_BACKEND["fluidsynth"], reason="fluidsynth not installed")
def test_broken_in_process_backends_fall_back_to_the_cli(song, tmp_path, monkeypatch):
    def broken(*args: object) -> np.ndarray:
        raise RenderError("simulated crash")

    monkeypatch.setitem(audio_mod.SYNTH_BACKENDS, "tinysoundfont", broken)
    monkeypatch.setitem(audio_mod.SYNTH_BACKENDS, "libfluidsynth", broken)
    monkeypatch.setenv("KOTONE_AUDIO_BACKEND", "tinysoundfont")
    result = render_audio(song, tmp_path)
    assert result.backend == "fluidsynth"


def test_all_backends_failing_raises(song, tmp_path, monkeypatch):
    def broken(*args: object) -> np.ndarray:
        raise RenderError("simulated crash")

    for name in list(SYNTH_BACKENDS):
        monkeypatch.setitem(audio_mod.SYNTH_BACKENDS, name, broken)
    with pytest.raises(RenderError, match="every audio backend failed"):
        render_audio(song, tmp_path)


@needs_all
def test_env_var_picks_the_first_backend(monkeypatch):
    for name in SYNTH_BACKENDS:
        monkeypatch.setenv("KOTONE_AUDIO_BACKEND", name)
        order = backend_order()
        assert order[0] == name and sorted(order) == sorted(SYNTH_BACKENDS)
    monkeypatch.setenv("KOTONE_AUDIO_BACKEND", "nonsense")
    assert backend_order() == list(SYNTH_BACKENDS)
    with pytest.raises(RenderError):
        backend_order(["nonsense"])


def _test_signal(seconds: float = 3.0, rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return tone.astype(np.float32)[:, None]


@pytest.mark.parametrize("name", sorted(AUDIO_FX))
def test_fx_change_the_signal_but_keep_the_length(name):
    x = _test_signal()
    y = apply_fx(x, 22050, [name])
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.all(np.isfinite(y))
    assert float(np.mean(np.abs(y - x))) > 1e-3
    assert np.array_equal(y, apply_fx(x, 22050, [name]))  # deterministic


def test_unknown_fx_is_refused():
    with pytest.raises(RenderError, match="unknown audio effects"):
        apply_fx(_test_signal(), 22050, ["flanger"])


def test_render_with_fx_keeps_duration(song, tmp_path):
    plain = render_audio(song, tmp_path, stem="plain", fmt="wav")
    wet = render_audio(song, tmp_path, stem="wet", fmt="wav", fx=["reverb", "echo", "vinyl_crackle"])
    a, b = read(plain.path)[0], read(wet.path)[0]
    assert a.shape == b.shape
    assert float(np.mean(np.abs(a - b))) > 1e-3


def test_write_wav_forces_wav(tmp_path):
    path = write_wav(_test_signal(), 22050, tmp_path / "clip.ogg")
    assert path.suffix == ".wav"
    assert sf.info(str(path)).format == "WAV"


@pytest.mark.skipif(not HAVE_BACKEND["libfluidsynth"], reason="libfluidsynth not installed")
def test_libfluidsynth_respects_the_time_budget(song, tmp_path):
    with pytest.raises(RenderError, match="timed out|no free"):
        render_audio(song, tmp_path, backends=["libfluidsynth"], timeout_s=1e-4)


@pytest.mark.skipif(not HAVE_BACKEND["libfluidsynth"], reason="libfluidsynth not installed")
def test_a_pooled_libfluidsynth_synth_does_not_carry_one_song_into_the_next():
    """A render that ends while voices still sound (a reset only releases them) leaves the
    synth silent for the next render, which then sounds the same as on a fresh synth."""
    from kotone.render import fluid
    from kotone.render.soundfont import SYNTH_BACKENDS

    def one_note(start: float, end: float) -> pretty_midi.PrettyMIDI:
        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(program=48)  # strings: a long release
        inst.notes.append(pretty_midi.Note(110, 60, start, end))
        pm.instruments.append(inst)
        return pm

    fluid.synth_pool.cache_clear()
    render = SYNTH_BACKENDS["libfluidsynth"]
    fresh = render(one_note(0.5, 0.8), 22050, 1.5, 10.0, 1)
    render(one_note(0.0, 5.0), 22050, 1.0 + 37 / 22050, 10.0, 1)  # cut off mid-note, mid-block
    after = render(one_note(0.5, 0.8), 22050, 1.5, 10.0, 1)
    assert np.max(np.abs(after[: int(0.5 * 22050)])) < 1e-3  # nothing before its own note
    assert np.allclose(after, fresh, atol=1e-4)
