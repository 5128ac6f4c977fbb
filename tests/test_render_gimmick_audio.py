"""Rain and vinyl crackle are heard in the rendered audio (and do not drown the music)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from kotone.render.audio import render_audio

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tinysoundfont") is None, reason="tinysoundfont not installed")
RATE = 22050


def band_frames_db(x: np.ndarray, lo: float = 1000, hi: float = 5000) -> np.ndarray:
    """Level of the 1-5 kHz band in 100 ms frames (dB)."""
    y = signal.sosfilt(signal.butter(4, [lo, hi], "bandpass", fs=RATE, output="sos"), x)
    hop = RATE // 10
    frames = y[: len(y) // hop * hop].reshape(-1, hop)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def clicks_per_s(x: np.ndarray) -> float:
    """Impulses above 3 kHz that stand 8x over the local median level, at most one per 20 ms."""
    hp = np.abs(signal.sosfilt(signal.butter(4, 3000, "highpass", fs=RATE, output="sos"), x))
    local = np.repeat(signal.medfilt(hp[::10], 101), 10)[: len(hp)]
    peaks, _ = signal.find_peaks(hp, height=8 * local + 1e-4, distance=int(0.02 * RATE))
    return len(peaks) / (len(x) / RATE)


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """One quiet lo-fi song rendered dry, with rain and with vinyl crackle."""
    from kotone.pipeline import compose

    song = compose({"style": "style_lofi", "instrument": "instrument_rhodes", "mood": "mood_wistful",
                    "gimmick": "gimmick_rain"}, 3)  # fmt: skip
    assert "rain" in song.plan.audio_fx
    base = [f for f in song.plan.audio_fx if f not in ("rain", "vinyl_crackle")]
    out = tmp_path_factory.mktemp("fx")
    audio = {}
    for name, fx in (("dry", base), ("rain", [*base, "rain"]), ("vinyl", [*base, "vinyl_crackle"])):
        result = render_audio(song.midi, out, stem=name, fx=fx, fmt="wav")
        audio[name] = sf.read(str(result.path), dtype="float64")[0]
    return audio


def test_rain_is_heard_in_the_quiet_moments(renders):
    dry, wet = renders["dry"], renders["rain"]
    d, w = band_frames_db(dry), band_frames_db(wet)
    quiet = d <= np.percentile(d, 10)
    assert float(np.median(w[quiet] - d[quiet])) >= 6.0  # the rain fills the quiet moments


def test_rain_stays_under_the_music(renders):
    dry, wet = renders["dry"], renders["rain"]
    gain = float(np.dot(wet, dry) / np.dot(dry, dry))
    added = wet - gain * dry
    rel_db = 10 * np.log10(np.mean(added**2) / np.mean(wet**2))
    assert -26.0 <= rel_db <= -10.0


def test_vinyl_crackles_and_hisses(renders):
    dry, wet = renders["dry"], renders["vinyl"]
    assert clicks_per_s(wet) >= clicks_per_s(dry) + 3.0
    d, w = band_frames_db(dry), band_frames_db(wet)
    quiet = d <= np.percentile(d, 10)
    assert float(np.median(w[quiet] - d[quiet])) >= 3.0  # the hiss is heard between phrases
