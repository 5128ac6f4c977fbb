"""The General MIDI SoundFont and the two synthesizers that play MIDI through it.

Both synthesizers take a :class:`pretty_midi.PrettyMIDI` and return float32 samples of
shape ``(n_samples, 2)`` (stereo) with exactly ``round(duration_s * sample_rate)`` rows.
Both are bounded: ``fluidsynth`` runs as a subprocess killed at ``timeout_s`` or when its
output grows past the expected size; ``tinysoundfont`` renders a fixed number of samples
in-process and checks its clock between events.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pretty_midi

from kotone.domain.errors import RenderError

SOUNDFONT_ENV = "KOTONE_SOUNDFONT"
FLUIDSYNTH_ENV = "KOTONE_FLUIDSYNTH"
DRUM_CHANNEL = 9
_PITCHED_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)

SynthFn = Callable[[pretty_midi.PrettyMIDI, int, float, float], np.ndarray]
"""``(pm, sample_rate_hz, duration_s, timeout_s) -> float32 array (n, 2)``."""


class BackendUnavailableError(RenderError):
    """A synthesizer backend is not installed on this machine."""


def find_soundfont() -> Path:
    """The SoundFont to use: ``$KOTONE_SOUNDFONT`` or the TimGM6mb.sf2 pretty_midi ships."""
    override = os.environ.get(SOUNDFONT_ENV)
    path = Path(override) if override else Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise RenderError(f"SoundFont not found at {path}")
    return path


def _fit_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Trim or zero-pad ``samples`` (n, 2) to exactly ``n_samples`` rows."""
    if len(samples) >= n_samples:
        return samples[:n_samples]
    pad = np.zeros((n_samples - len(samples), samples.shape[1]), dtype=samples.dtype)
    return np.concatenate([samples, pad])


# --------------------------------------------------------------------------- fluidsynth


def fluidsynth_executable() -> str | None:
    """Path of the ``fluidsynth`` CLI (``$KOTONE_FLUIDSYNTH`` overrides), or None."""
    override = os.environ.get(FLUIDSYNTH_ENV)
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("fluidsynth")


def synth_fluidsynth(
    pm: pretty_midi.PrettyMIDI, sample_rate: int, duration_s: float, timeout_s: float
) -> np.ndarray:
    """Render with the ``fluidsynth`` CLI in fast-render mode (``-F``) into a temp WAV.

    The process is killed after ``timeout_s`` seconds or once its WAV grows past twice the
    expected size (Debian's 2.3.1 can render forever on a note that never ends).
    """
    import soundfile as sf

    exe = fluidsynth_executable()
    if exe is None:
        raise BackendUnavailableError("fluidsynth CLI not found on PATH")
    sf2 = find_soundfont()
    n_samples = round(duration_s * sample_rate)
    max_bytes = 2 * n_samples * 2 * 2 + 1_000_000  # stereo s16, with slack for the tail
    with tempfile.TemporaryDirectory(prefix="kotone-fs-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        pm.write(str(mid))
        cmd = [exe, "-ni", "-q", "-F", str(wav), "-T", "wav", "-O", "s16",
               "-r", str(sample_rate), "-g", "0.4", str(sf2), str(mid)]  # fmt: skip
        _run_bounded(cmd, wav, timeout_s=timeout_s, max_bytes=max_bytes)
        try:
            data, rate = sf.read(str(wav), dtype="float32", always_2d=True)
        except (RuntimeError, OSError, sf.LibsndfileError) as exc:
            raise RenderError(f"fluidsynth wrote an unreadable WAV: {exc}") from exc
    if rate != sample_rate:
        raise RenderError(f"fluidsynth rendered at {rate} Hz, asked for {sample_rate} Hz")
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    return _fit_length(data[:, :2], n_samples)


def _run_bounded(cmd: list[str], out_file: Path, *, timeout_s: float, max_bytes: int) -> None:
    """Run ``cmd``; kill it past ``timeout_s`` seconds or when ``out_file`` > ``max_bytes``."""
    deadline = time.monotonic() + timeout_s
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise BackendUnavailableError(f"cannot start {cmd[0]}: {exc}") from exc
    reason = ""
    while proc.poll() is None:
        if time.monotonic() > deadline:
            reason = f"timed out after {timeout_s:.1f} s"
        elif out_file.exists() and out_file.stat().st_size > max_bytes:
            reason = f"output grew past {max_bytes} bytes"
        if reason:
            proc.kill()
            proc.wait()
            raise RenderError(f"fluidsynth {reason}")
        time.sleep(0.01)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0 or not out_file.exists():
        raise RenderError(f"fluidsynth exited with {proc.returncode}: {stderr[-300:].strip()}")


# ------------------------------------------------------------------------ tinysoundfont


@lru_cache(maxsize=1)
def _soundfont_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _assign_channels(pm: pretty_midi.PrettyMIDI) -> list[int]:
    """One MIDI channel per instrument: drums on 9, the rest in order (wrapping past 15)."""
    channels, k = [], 0
    for inst in pm.instruments:
        if inst.is_drum:
            channels.append(DRUM_CHANNEL)
        else:
            channels.append(_PITCHED_CHANNELS[k % len(_PITCHED_CHANNELS)])
            k += 1
    return channels


# Event tuples: (time_s, order, channel, kind, a, b); order puts setup before note-offs
# before note-ons at the same instant.
_Event = tuple[float, int, int, str, int, int]


def _midi_events(pm: pretty_midi.PrettyMIDI) -> list[_Event]:
    events: list[_Event] = []
    for inst, ch in zip(pm.instruments, _assign_channels(pm), strict=True):
        events.append((0.0, 0, ch, "program", inst.program, int(inst.is_drum)))
        events.extend((c.time, 1, ch, "cc", c.number, c.value) for c in inst.control_changes)
        events.extend((b.time, 1, ch, "bend", b.pitch, 0) for b in inst.pitch_bends)
        for n in inst.notes:
            if n.velocity > 0 and n.end > n.start:
                events.append((n.start, 3, ch, "on", n.pitch, n.velocity))
                events.append((n.end, 2, ch, "off", n.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def _tsf_velocity(velocity: int) -> int:
    """Velocity for TinySoundFont so dynamics match fluidsynth: TSF's level grows linearly
    with velocity (-12.5 dB at 30), fluidsynth's with its square (-25 dB at 30)."""
    return max(1, round(velocity * velocity / 127))


def _select_program(synth: object, channel: int, program: int, *, is_drum: bool) -> None:
    """Select ``program`` on ``channel``; a preset missing from the SoundFont falls back to 0."""
    try:
        synth.program_change(channel, program, is_drums=is_drum)  # type: ignore[attr-defined]
    except RuntimeError:
        synth.program_change(channel, 0, is_drums=is_drum)  # type: ignore[attr-defined]


def synth_tinysoundfont(
    pm: pretty_midi.PrettyMIDI, sample_rate: int, duration_s: float, timeout_s: float
) -> np.ndarray:
    """Render in-process with TinySoundFont: exactly ``duration_s`` seconds of samples."""
    try:
        import tinysoundfont
    except ImportError as exc:
        raise BackendUnavailableError("tinysoundfont is not installed") from exc
    deadline = time.monotonic() + timeout_s
    synth = tinysoundfont.Synth(gain=-6.0, samplerate=sample_rate)
    synth.sfload(_soundfont_bytes(find_soundfont()))
    n_samples = round(duration_s * sample_rate)
    out = np.zeros((n_samples, 2), dtype=np.float32)
    pos = 0
    for t, _, ch, kind, a, b in _midi_events(pm):
        at = min(round(t * sample_rate), n_samples)
        if at > pos:
            out[pos:at] = np.frombuffer(synth.generate_simple(at - pos), np.float32).reshape(-1, 2)
            pos = at
            if time.monotonic() > deadline:
                raise RenderError(f"tinysoundfont timed out after {timeout_s:.1f} s")
        if kind == "on":
            synth.noteon(ch, a, _tsf_velocity(b))
        elif kind == "off":
            synth.noteoff(ch, a)
        elif kind == "cc":
            synth.control_change(ch, a, b)
        elif kind == "bend":
            synth.pitchbend(ch, min(max(a + 8192, 0), 16383))
        else:
            _select_program(synth, ch, a, is_drum=bool(b))
    if pos < n_samples:
        out[pos:] = np.frombuffer(synth.generate_simple(n_samples - pos), np.float32).reshape(-1, 2)
    return out


SYNTH_BACKENDS: dict[str, SynthFn] = {
    "tinysoundfont": synth_tinysoundfont,
    "fluidsynth": synth_fluidsynth,
}
"""Backends in default order (fastest first, measured by ``eval/bench_render.py``)."""
