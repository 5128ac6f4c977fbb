"""Level meters for rendered audio, and stems: each track of a song rendered alone.

- ``presence_db``: RMS above 300 Hz in dBFS (4th-order Butterworth high-pass), the level
  that decides whether a part is heard over the others (issue 9 measured the lead this way).
- ``loudness_lufs``: integrated loudness (ITU-R BS.1770-4, via pyloudnorm).
- ``render_stems``: every instrument of a MIDI file rendered on its own through the same
  synthesizer (same CC7, same SoundFont), all of the same length.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pretty_midi
from scipy import signal

from kotone.render.soundfont import SYNTH_BACKENDS

PRESENCE_HZ = 300.0
SILENCE_DB = -120.0


@lru_cache(maxsize=8)
def _presence_sos(sample_rate: int) -> np.ndarray:
    return signal.butter(4, PRESENCE_HZ, "highpass", fs=sample_rate, output="sos")


def presence_filter(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``audio`` (n,) or (n, c) high-passed at 300 Hz."""
    return signal.sosfilt(_presence_sos(sample_rate), audio, axis=0)


def rms_db(audio: np.ndarray) -> float:
    """RMS of ``audio`` in dBFS (``SILENCE_DB`` for silence)."""
    if audio.size == 0:
        return SILENCE_DB
    ms = float(np.mean(np.square(audio, dtype=np.float64)))
    return max(SILENCE_DB, 10 * np.log10(ms)) if ms > 0 else SILENCE_DB


def presence_db(audio: np.ndarray, sample_rate: int) -> float:
    """RMS above 300 Hz over the whole of ``audio``, in dBFS."""
    return rms_db(presence_filter(audio, sample_rate))


def loudness_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of ``audio`` (n,) or (n, c) in LUFS; -inf for silence, and for
    clips shorter than one 0.4 s gating block."""
    import pyloudnorm

    if len(audio) < int(0.4 * sample_rate) + 1:
        return float("-inf")
    data = audio[:, 0] if audio.ndim == 2 and audio.shape[1] == 1 else audio
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(np.asarray(data, dtype=np.float64)))


def solo(pm: pretty_midi.PrettyMIDI, index: int) -> pretty_midi.PrettyMIDI:
    """A copy of ``pm`` holding only instrument ``index`` (tempo and meter kept)."""
    tempi = pm.get_tempo_changes()[1]
    out = pretty_midi.PrettyMIDI(initial_tempo=float(tempi[0]) if len(tempi) else 120.0)
    out.time_signature_changes = list(pm.time_signature_changes)
    out.instruments = [pm.instruments[index]]
    return out


def render_stems(
    pm: pretty_midi.PrettyMIDI,
    *,
    sample_rate: int = 22050,
    tail_s: float = 1.0,
    backend: str = "tinysoundfont",
    timeout_s: float = 60.0,
) -> list[np.ndarray]:
    """Each instrument of ``pm`` rendered alone, mono, all ``end + tail_s`` seconds long."""
    duration_s = float(pm.get_end_time()) + tail_s
    synth = SYNTH_BACKENDS[backend]
    return [synth(solo(pm, i), sample_rate, duration_s, timeout_s, 1)[:, 0] for i in range(len(pm.instruments))]


def stem_presence_db(stems: Sequence[np.ndarray], sample_rate: int) -> list[float]:
    """``presence_db`` of each stem."""
    return [presence_db(s, sample_rate) for s in stems]
