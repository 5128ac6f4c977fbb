"""The SoundFont: found, parsed once per process, cloned per render, GM curves, fallback."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from kotone.domain.errors import RenderError
from kotone.render import soundfont
from kotone.render.audio import render_audio, synthesize

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tinysoundfont") is None, reason="tinysoundfont not installed")


def tone(program: int = 0, velocity: int = 100, cc7: int | None = None, seconds: float = 1.5) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    if cc7 is not None:
        inst.control_changes.append(pretty_midi.ControlChange(7, cc7, 0.0))
    inst.notes.append(pretty_midi.Note(velocity, 60, 0.05, seconds))
    pm.instruments.append(inst)
    return pm


def level_db(pm: pretty_midi.PrettyMIDI, backend: str = "tinysoundfont") -> float:
    x, _ = synthesize(pm, backends=[backend], channels=1)
    return float(10 * np.log10(np.mean(x**2)))


def test_soundfont_is_parsed_once_and_reused(tmp_path):
    soundfont._parsed_soundfont.cache_clear()
    for i in range(3):
        render_audio(tone(), tmp_path, stem=f"t{i}", fmt="wav", backends=["tinysoundfont"])
    info = soundfont._parsed_soundfont.cache_info()
    assert info.misses == 1 and info.hits >= 2


def test_concurrent_renders_do_not_share_voices():
    songs = [tone(program=p, velocity=v) for p, v in ((0, 100), (73, 60), (40, 120))]
    alone = [synthesize(pm, backends=["tinysoundfont"])[0] for pm in songs]
    together: list[np.ndarray | None] = [None] * len(songs)

    def run(i: int) -> None:
        together[i] = synthesize(songs[i], backends=["tinysoundfont"])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(songs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, together, strict=True):
        assert b is not None and np.array_equal(a, b)


def test_better_soundfont_preferred_and_timgm6mb_is_the_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv(soundfont.SOUNDFONT_ENV, raising=False)
    better = tmp_path / "Better_GM.sf2"
    better.write_bytes(soundfont.FALLBACK_SOUNDFONT.read_bytes())
    monkeypatch.setattr(soundfont, "PREFERRED_SOUNDFONTS", (tmp_path / "missing.sf2", better))
    assert soundfont.find_soundfont() == better
    monkeypatch.setattr(soundfont, "PREFERRED_SOUNDFONTS", (tmp_path / "missing.sf2",))
    assert soundfont.find_soundfont() == soundfont.FALLBACK_SOUNDFONT
    result = render_audio(tone(), tmp_path, fmt="wav", backends=["tinysoundfont"])
    assert result.duration_s > 1.0


def test_fluidsynth_prefers_musescore_general_and_tinysoundfont_does_not(monkeypatch, tmp_path):
    """TinySoundFont plays MuseScore General's grand piano muffled (no modulators): only
    FluidSynth gets it first; both fall back to FluidR3, then TimGM6mb."""
    monkeypatch.delenv(soundfont.SOUNDFONT_ENV, raising=False)
    musescore, fluid_r3 = tmp_path / "MuseScore_General.sf3", tmp_path / "FluidR3_GM.sf2"
    for f in (musescore, fluid_r3):
        f.write_bytes(b"x")
    monkeypatch.setattr(soundfont, "PREFERRED_SOUNDFONTS", (fluid_r3,))
    monkeypatch.setattr(soundfont, "FLUIDSYNTH_SOUNDFONTS", (musescore, fluid_r3))
    assert soundfont.find_soundfont() == fluid_r3
    assert soundfont.find_soundfont("libfluidsynth") == soundfont.find_soundfont("fluidsynth") == musescore
    musescore.unlink()
    assert soundfont.find_soundfont("libfluidsynth") == fluid_r3
    fluid_r3.unlink()
    assert soundfont.find_soundfont("libfluidsynth") == soundfont.find_soundfont() == soundfont.FALLBACK_SOUNDFONT
    monkeypatch.setenv(soundfont.SOUNDFONT_ENV, str(soundfont.FALLBACK_SOUNDFONT))
    assert soundfont.find_soundfont("libfluidsynth") == soundfont.FALLBACK_SOUNDFONT


def test_a_missing_override_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(soundfont.SOUNDFONT_ENV, "/nonexistent/font.sf2")
    with pytest.raises(RenderError, match="SoundFont not found"):
        synthesize(tone(), backends=["tinysoundfont"])


def test_a_broken_soundfont_is_a_render_error(monkeypatch, tmp_path):
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00not a soundfont")
    monkeypatch.setenv(soundfont.SOUNDFONT_ENV, str(junk))
    with pytest.raises(RenderError):
        synthesize(tone(), backends=["tinysoundfont"])


@pytest.mark.parametrize(("cc7", "velocity"), [(64, 127), (32, 127), (127, 64), (64, 100)])
def test_volume_and_velocity_follow_the_general_midi_curve(cc7, velocity):
    """CC7 and velocity each scale amplitude by (value/127)^2: 40 log10(value/127) dB."""
    expected_db = 40 * np.log10(cc7 / 127) + 40 * np.log10(velocity / 127)
    ref = level_db(tone(cc7=127, velocity=127))
    assert level_db(tone(cc7=cc7, velocity=velocity)) - ref == pytest.approx(expected_db, abs=1.0)


@pytest.mark.skipif(soundfont.fluidsynth_executable() is None, reason="fluidsynth not installed")
def test_both_backends_agree_on_cc7():
    for backend in ("tinysoundfont", "fluidsynth"):
        drop = level_db(tone(cc7=64), backend) - level_db(tone(cc7=127), backend)
        assert drop == pytest.approx(-11.9, abs=1.0), backend


def test_mono_synthesis_has_one_channel():
    x, _ = synthesize(tone(), backends=["tinysoundfont"], channels=1)
    assert x.shape[1] == 1 and float(np.max(np.abs(x))) > 0.01
    assert Path(soundfont.find_soundfont()).is_file()
