"""Bounded MIDI -> audio rendering: synthesize, effects, loudness, fade, encode.

Only render MIDI the app built itself. Every render is bounded in time (``timeout_s``,
shared by all backends tried) and size (refuses MIDI longer than ``max_seconds`` or with
more than ``max_notes`` notes). The audio lasts the MIDI's end time plus ``tail_s`` of
release, is normalised to ``TARGET_LUFS`` integrated loudness with peaks under -1 dBFS
(:mod:`kotone.render.loudness`) and fades out over its last ``fade_s``.

Backends (see :mod:`kotone.render.soundfont`) are tried in order; the first can be chosen
with ``$KOTONE_AUDIO_BACKEND`` (``fluidsynth`` or ``tinysoundfont``) and any failure falls
back to the next. The default file is MP3 (LAME through lameenc: the cheapest encoder
measured by ``eval/bench_render.py``, and every browser plays it), else OGG Vorbis, else WAV.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf
from scipy import fft as sp_fft
from scipy import signal

from kotone.domain.errors import RenderError
from kotone.render.loudness import TARGET_LUFS, LoudnessReport, normalize_loudness
from kotone.render.soundfont import SYNTH_BACKENDS

log = logging.getLogger(__name__)

BACKEND_ENV = "KOTONE_AUDIO_BACKEND"
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000
MAX_SECONDS = 150.0  # songs run up to 120 s, plus a ritardando and the release tail
MP3_KBPS_PER_CHANNEL = 64
MP3_QUALITY = 7  # LAME -q 7: its fast mode (see eval/bench_render.py for the others)
LAMEENC_SCALE = 0.95  # lameenc scales its input by 0.95 (a 440 Hz sine decodes 0.45 dB down)
FORMATS = ("mp3", "ogg", "wav")
SAMPLE_RATE = 22050  # Hz, the app's songs


@dataclass(frozen=True)
class AudioResult:
    """A written audio file. ``duration_s`` in seconds, ``sample_rate`` in Hz."""

    path: Path
    duration_s: float
    backend: str
    sample_rate: int
    render_s: float = 0.0  # wall time of synthesis + effects + encoding, seconds
    synth_s: float = 0.0  # of which synthesis, seconds
    encode_s: float = 0.0  # of which encoding, seconds
    loudness: LoudnessReport | None = None


def render_audio(
    pm: pretty_midi.PrettyMIDI,
    out_dir: Path,
    *,
    stem: str = "song",
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float = MAX_SECONDS,
    timeout_s: float = 20.0,
    fx: Sequence[str] = (),
    fmt: str = "auto",
    channels: int = 1,
    max_notes: int = 20_000,
    tail_s: float = 1.0,
    backends: Sequence[str] | None = None,
) -> AudioResult:
    """Render ``pm`` to ``out_dir/{stem}.mp3`` (or ``.ogg``/``.wav`` per ``fmt``).

    ``fmt``: ``"auto"`` (the first of MP3, OGG Vorbis, WAV this machine can write),
    ``"mp3"``, ``"ogg"`` or ``"wav"``. ``channels``: 1 (mono, the default: half the cost)
    or 2. ``sample_rate`` in Hz; ``max_seconds``, ``timeout_s`` and ``tail_s`` in seconds.
    Raises :class:`RenderError` when the MIDI is out of bounds or every backend failed.
    """
    t0 = time.perf_counter()
    if channels not in (1, 2):
        raise RenderError(f"channels must be 1 or 2, got {channels!r}")
    ext = resolve_format(fmt)
    audio, backend = synthesize(
        pm, sample_rate=sample_rate, max_seconds=max_seconds, timeout_s=timeout_s,
        max_notes=max_notes, tail_s=tail_s, backends=backends, channels=channels,
    )  # fmt: skip
    t1 = time.perf_counter()
    audio, report = finish(apply_fx(audio, sample_rate, fx), sample_rate)
    t2 = time.perf_counter()
    path = Path(out_dir) / f"{stem}.{ext}"
    write_audio(audio, sample_rate, path)
    t3 = time.perf_counter()
    return AudioResult(
        path=path, duration_s=len(audio) / sample_rate, backend=backend, sample_rate=sample_rate,
        render_s=t3 - t0, synth_s=t1 - t0, encode_s=t3 - t2, loudness=report,
    )  # fmt: skip


def synthesize(
    pm: pretty_midi.PrettyMIDI,
    *,
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float = MAX_SECONDS,
    timeout_s: float = 20.0,
    max_notes: int = 20_000,
    tail_s: float = 1.0,
    backends: Sequence[str] | None = None,
    channels: int = 2,
) -> tuple[np.ndarray, str]:
    """Raw float32 samples ``(n, channels)`` of ``pm`` and the name of the backend used.

    ``n == round((pm.get_end_time() + tail_s) * sample_rate)``. The backends share one
    time budget of ``timeout_s`` seconds; all but the last get 3/4 of what is left.
    """
    end_s = check_midi(pm, max_seconds=max_seconds, max_notes=max_notes)
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise RenderError(f"sample_rate must be {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz, got {sample_rate!r}")
    if not 0.0 <= tail_s <= 1.5:
        raise RenderError(f"tail_s must be 0-1.5 s, got {tail_s!r}")
    if timeout_s <= 0:
        raise RenderError(f"timeout_s must be positive, got {timeout_s!r}")
    order = backend_order(backends)
    deadline = time.monotonic() + timeout_s
    failures: list[str] = []
    for i, name in enumerate(order):
        left = deadline - time.monotonic()
        if left <= 0:
            failures.append(f"{name}: no time left")
            break
        budget = left if i == len(order) - 1 else 0.75 * left
        try:
            audio = SYNTH_BACKENDS[name](pm, sample_rate, end_s + tail_s, budget, channels)
        except RenderError as exc:
            log.warning("audio backend %s failed, trying the next: %s", name, exc)
            failures.append(f"{name}: {exc}")
            continue
        if not np.all(np.isfinite(audio)):
            failures.append(f"{name}: produced non-finite samples")
            continue
        return audio, name
    raise RenderError("every audio backend failed: " + "; ".join(failures))


def check_midi(pm: pretty_midi.PrettyMIDI, *, max_seconds: float, max_notes: int) -> float:
    """Validate that ``pm`` is safe to render; returns its end time in seconds."""
    n_notes = sum(len(inst.notes) for inst in pm.instruments)
    if n_notes == 0:
        raise RenderError("MIDI has no notes to render")
    if n_notes > max_notes:
        raise RenderError(f"MIDI has {n_notes} notes, more than the limit of {max_notes}")
    end_s = float(pm.get_end_time())
    if not np.isfinite(end_s) or end_s > max_seconds:
        raise RenderError(f"MIDI lasts {end_s:.1f} s, longer than the limit of {max_seconds:.1f} s")
    return end_s


def backend_order(backends: Sequence[str] | None = None) -> list[str]:
    """Backends to try, in order: ``backends`` if given, else the default order with
    ``$KOTONE_AUDIO_BACKEND`` (when set to a known name) moved to the front."""
    if backends is not None:
        unknown = [b for b in backends if b not in SYNTH_BACKENDS]
        if unknown or not backends:
            raise RenderError(f"unknown audio backends {list(backends)!r}; known: {list(SYNTH_BACKENDS)}")
        return list(backends)
    order = list(SYNTH_BACKENDS)
    preferred = os.environ.get(BACKEND_ENV, "").strip().lower()
    if preferred in SYNTH_BACKENDS:
        order.remove(preferred)
        order.insert(0, preferred)
    elif preferred:
        log.warning("ignoring %s=%r; known: %s", BACKEND_ENV, preferred, list(SYNTH_BACKENDS))
    return order


# ---------------------------------------------------------------- post-processing


def finish(
    audio: np.ndarray, sample_rate: int, *, fade_s: float = 0.5, target_lufs: float = TARGET_LUFS
) -> tuple[np.ndarray, LoudnessReport]:
    """Normalise to ``target_lufs`` (peaks limited to -1 dBFS) and fade out linearly over
    the last ``fade_s`` seconds."""
    audio, report = normalize_loudness(audio.astype(np.float32, copy=False), sample_rate, target_lufs=target_lufs)
    n_fade = min(len(audio), round(fade_s * sample_rate))
    if n_fade > 0:
        audio[-n_fade:] *= np.linspace(1.0, 0.0, n_fade, dtype=np.float32)[:, None]
    return audio, report


def _have_lameenc() -> bool:
    try:
        import lameenc  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_format(fmt: str) -> str:
    """The file suffix for ``fmt`` (``auto``, ``mp3``, ``ogg`` or ``wav``) on this machine."""
    fmt = str(fmt).lower()
    if fmt == "auto":
        if _have_lameenc():
            return "mp3"
        return "ogg" if "OGG" in sf.available_formats() else "wav"
    if fmt not in FORMATS:
        raise RenderError(f"audio format must be auto, mp3, ogg or wav, got {fmt!r}")
    if fmt == "mp3" and not (_have_lameenc() or "MP3" in sf.available_formats()):
        raise RenderError("no MP3 encoder here (pip install lameenc)")
    if fmt == "ogg" and "OGG" not in sf.available_formats():
        raise RenderError("this libsndfile cannot write ogg")
    return fmt


def encode_mp3(audio: np.ndarray, sample_rate: int, *, kbps_per_channel: int = MP3_KBPS_PER_CHANNEL,
               quality: int = MP3_QUALITY) -> bytes:  # fmt: skip
    """MP3 bytes of ``audio`` (n,) or (n, channels) in [-1, 1], constant bit rate."""
    import lameenc

    data = audio if audio.ndim == 2 else audio[:, None]
    enc = lameenc.Encoder()
    enc.set_in_sample_rate(sample_rate)
    enc.set_channels(data.shape[1])
    enc.set_bit_rate(kbps_per_channel * data.shape[1])
    enc.set_quality(quality)
    pcm = np.round(np.clip(data / LAMEENC_SCALE, -1.0, 1.0) * 32767).astype("<i2")
    return bytes(enc.encode(pcm.tobytes()) + enc.flush())


def write_audio(audio: np.ndarray, sample_rate: int, path: Path) -> Path:
    """Write ``audio`` (n,) or (n, channels) in [-1, 1] to ``path``; the format follows
    the suffix (.mp3, .ogg Vorbis, else 16-bit WAV). Written to a temp name, then renamed."""
    path = Path(path)
    suffix = path.suffix.lower()
    tmp = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".mp3" and _have_lameenc():
            tmp.write_bytes(encode_mp3(audio, sample_rate))
        else:
            kwargs: dict[str, object] = {"format": "WAV", "subtype": "PCM_16"}
            if suffix == ".ogg":
                kwargs = {"format": "OGG", "subtype": "VORBIS", "compression_level": 0.6}
            elif suffix == ".mp3":
                kwargs = {"format": "MP3", "compression_level": 0.6}
            sf.write(str(tmp), np.clip(audio, -1.0, 1.0), sample_rate, **kwargs)
        os.replace(tmp, path)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        tmp.unlink(missing_ok=True)
        raise RenderError(f"cannot write audio to {path}: {exc}") from exc
    return path


def write_wav(audio: np.ndarray, sample_rate: int, path: Path) -> Path:
    """Write 16-bit PCM WAV to ``path`` (suffix forced to .wav); ``sample_rate`` in Hz."""
    return write_audio(audio, sample_rate, Path(path).with_suffix(".wav"))


# ------------------------------------------------------------------------- effects
# Each effect maps float32 (n, channels) -> same shape; deterministic; numpy/scipy only.


def _bitcrush(x: np.ndarray, sr: int) -> np.ndarray:
    """6-bit quantization and sample-and-hold down to ~sr/4 Hz, mixed 70 % wet."""
    hold = 4
    held = np.repeat(x[::hold], hold, axis=0)[: len(x)]
    peak = max(float(np.max(np.abs(held))), 1e-6)
    levels = 2 ** 5
    crushed = np.round(held / peak * levels) / levels * peak
    return 0.3 * x + 0.7 * crushed


def _noise_level(x: np.ndarray, sr: int, over_quiet_db: float, lo_db: float, hi_db: float) -> float:
    """RMS for a noise bed heard in the song's quiet moments: ``over_quiet_db`` above the
    music's quietest tenth (100 ms frames, 1-5 kHz band, where the ear is keenest), held
    between ``lo_db`` and ``hi_db`` relative to the music's overall RMS."""
    rms = max(float(np.sqrt(np.mean(x**2))), 1e-4)
    band = signal.sosfilt(signal.butter(2, [1000, min(5000, 0.45 * sr)], "bandpass", fs=sr, output="sos"),
                          x.mean(axis=1))  # fmt: skip
    hop = max(1, sr // 10)
    frames = band[: len(band) // hop * hop].reshape(-1, hop) if len(band) >= hop else band[None, :]
    quiet = float(np.percentile(np.sqrt(np.mean(frames**2, axis=1)), 10))
    level_db = 20 * np.log10(max(quiet, 1e-9) / rms) + over_quiet_db
    return rms * 10 ** (float(np.clip(level_db, lo_db, hi_db)) / 20)


def _shaped_noise(seed: int, n: int, sr: int, lo_hz: float, hi_hz: float, rms: float) -> np.ndarray:
    """The first ``n`` samples of a band-passed noise bed (float32), scaled to ``rms``. The
    bed is made once per process for the longest song (a causal filter: its first ``n``
    samples are what filtering ``n`` samples of the same noise would give)."""
    bed = _noise_bed(seed, sr, lo_hz, hi_hz, round((MAX_SECONDS + 1.5) * sr))
    noise = bed[:n] if n <= len(bed) else _noise_bed.__wrapped__(seed, sr, lo_hz, hi_hz, n)
    return noise * np.float32(rms / max(float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))), 1e-12))


@lru_cache(maxsize=8)
def _noise_bed(seed: int, sr: int, lo_hz: float, hi_hz: float, n: int) -> np.ndarray:
    sos = signal.butter(2, [lo_hz, min(hi_hz, 0.45 * sr)], "bandpass", fs=sr, output="sos")
    bed = signal.sosfilt(sos, np.random.default_rng(seed).standard_normal(n)).astype(np.float32)
    bed.flags.writeable = False
    return bed


def _vinyl_crackle(x: np.ndarray, sr: int) -> np.ndarray:
    """A worn record: the music band-limited to 80 Hz-7 kHz, ~10 clicks per second (half
    of them pops 8-20 dB under the music's peak) and a hiss heard in the quiet moments."""
    rng = np.random.default_rng(7)
    peak = max(float(np.max(np.abs(x))), 1e-3)
    n = len(x)
    clicks = np.zeros(n, dtype=np.float32)
    n_clicks = int(10 * n / sr)
    idx = rng.integers(0, n, n_clicks)
    size = np.where(rng.random(n_clicks) < 0.5, rng.uniform(0.1, 0.4, n_clicks), rng.uniform(0.03, 0.1, n_clicks))
    clicks[idx] = rng.choice([-1.0, 1.0], n_clicks) * size * peak
    clicks = signal.lfilter([1.0], [1.0, -0.6], clicks).astype(np.float32)  # short decay
    hiss = _shaped_noise(8, n, sr, 300, 5000, _noise_level(x, sr, 0.0, -36.0, -22.0))
    tone = signal.butter(1, [80, min(7000, 0.45 * sr)], "bandpass", fs=sr, output="sos")
    return signal.sosfilt(tone, x, axis=0).astype(np.float32) + (clicks + hiss)[:, None]


def _rain(x: np.ndarray, sr: int) -> np.ndarray:
    """Steady rain: band-passed noise (500 Hz-6 kHz) with slow swells, 6 dB over the music's
    quietest moments in its band (masked where the band plays loud), at most 12 dB under
    the music's RMS."""
    n = len(x)
    bed = _shaped_noise(11, n, sr, 500, 6000, _noise_level(x, sr, 6.0, -26.0, -12.0))
    bed = bed * (0.75 + 0.25 * np.sin(2 * np.pi * 0.07 * np.arange(n, dtype=np.float32) / sr, dtype=np.float32))
    return x + bed[:, None]


def _echo(x: np.ndarray, sr: int, delay_s: float = 0.33, feedback: float = 0.35) -> np.ndarray:
    """Feedback delay ``y[n] = x[n] + feedback * y[n - D]``, mixed 35 % wet."""
    d = max(1, round(delay_s * sr))
    y = x.astype(np.float32, copy=True)
    for k in range(d, len(y), d):
        y[k : k + d] += feedback * y[k - d : k - d + len(y[k : k + d])]
    return 0.65 * x + 0.35 * y


def _reverb(x: np.ndarray, sr: int, rt60_s: float = 1.4) -> np.ndarray:
    """Convolution with a synthetic impulse response: exponentially decaying noise."""
    wet = np.stack([_convolve_ir(x[:, c], _reverb_ir(sr, rt60_s)) for c in range(x.shape[1])], axis=1)
    return (0.75 * x + 0.35 * wet).astype(np.float32)


REVERB_BLOCK = 1 << 15  # overlap-add block (samples): the cheapest measured at 22.05 kHz


@lru_cache(maxsize=4)
def _reverb_ir(sr: int, rt60_s: float) -> tuple[np.ndarray, int]:
    """The impulse response's spectrum (float32 maths) for :data:`REVERB_BLOCK` blocks, and its FFT size."""
    rng = np.random.default_rng(3)
    n_ir = round(rt60_s * sr)
    t = np.arange(n_ir) / sr
    ir = rng.standard_normal(n_ir) * np.exp(-6.9 * t / rt60_s)
    ir = signal.sosfilt(signal.butter(1, min(5000, 0.45 * sr), fs=sr, output="sos"), ir)
    ir /= np.sqrt(np.sum(ir**2))
    n_fft = sp_fft.next_fast_len(REVERB_BLOCK + n_ir - 1, real=True)
    spectrum = sp_fft.rfft(ir.astype(np.float32), n_fft)
    spectrum.flags.writeable = False
    return spectrum, n_fft


def _convolve_ir(x: np.ndarray, ir: tuple[np.ndarray, int]) -> np.ndarray:
    """``x`` convolved with the cached impulse response, cut to ``len(x)`` (overlap-add in
    float32; the same as ``scipy.signal.fftconvolve`` to about 1e-6 of full scale)."""
    spectrum, n_fft = ir
    n = len(x)
    n_blocks = -(-n // REVERB_BLOCK)
    blocks = np.zeros((n_blocks, REVERB_BLOCK), dtype=np.float32)
    blocks.reshape(-1)[:n] = x
    ys = sp_fft.irfft(sp_fft.rfft(blocks, n_fft, axis=1) * spectrum, n_fft, axis=1)
    out = np.zeros(n_blocks * REVERB_BLOCK + n_fft, dtype=np.float32)
    for k in range(n_blocks):
        out[k * REVERB_BLOCK : k * REVERB_BLOCK + n_fft] += ys[k]
    return out[:n]


FX: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "bitcrush": _bitcrush,
    "vinyl_crackle": _vinyl_crackle,
    "rain": _rain,
    "echo": _echo,
    "reverb": _reverb,
}
AUDIO_FX = frozenset(FX)


def apply_fx(audio: np.ndarray, sample_rate: int, fx: Sequence[str]) -> np.ndarray:
    """Apply the named effects in order; the length and channel count never change."""
    unknown = [name for name in fx if name not in FX]
    if unknown:
        raise RenderError(f"unknown audio effects {unknown!r}; known: {sorted(FX)}")
    for name in fx:
        audio = FX[name](audio, sample_rate).astype(np.float32, copy=False)
    return audio
