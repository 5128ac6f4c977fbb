"""The General MIDI SoundFont and the synthesizers that play MIDI through it.

The SoundFont depends on the synthesizer (:func:`find_soundfont`). TinySoundFont plays
FluidR3_GM (Debian ``fluid-soundfont-gm``); FluidSynth (libfluidsynth or the CLI) plays
MuseScore General (Debian ``musescore-general-soundfont-small``, an SF3: about 40% less
synthesis time than FluidR3 under FluidSynth), else FluidR3_GM. TinySoundFont plays MuseScore
General's grand piano 25-35 dB quiet and muffled above C3 (it applies no SoundFont modulators,
the likely cause; ``python -m eval.soundfont_programs``), so it does not use it. Both fall back
to the TimGM6mb.sf2 that pretty_midi ships; ``$KOTONE_SOUNDFONT`` overrides them all.

Every synthesizer takes a :class:`pretty_midi.PrettyMIDI` and returns float32 samples of
shape ``(n_samples, channels)`` with exactly ``round(duration_s * sample_rate)`` rows, and
is bounded: ``tinysoundfont`` renders in-process from a SoundFont parsed once per process
(each render plays on its own cheap clone, so threads never share voices) and checks its
clock between events; ``libfluidsynth`` (:mod:`kotone.render.fluid`, where TinySoundFont
is not installed) renders in-process on pooled synths that keep the SoundFont loaded;
``fluidsynth`` (the CLI, last resort) runs as a subprocess killed at ``timeout_s`` or when
its output grows past the expected size.

All play the MIDI the way the General MIDI default modulators do: a note's amplitude
grows with the square of its velocity, and CC7 (volume) and CC11 (expression) scale it by
the square of their value (``40 * log10(value / 127)`` dB).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi

from kotone.domain.errors import RenderError

log = logging.getLogger(__name__)

SOUNDFONT_ENV = "KOTONE_SOUNDFONT"
FLUIDSYNTH_ENV = "KOTONE_FLUIDSYNTH"
FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MUSESCORE_GENERAL = Path("/usr/share/sounds/sf3/MuseScore_General.sf3")
PREFERRED_SOUNDFONTS: tuple[Path, ...] = (FLUID_R3,)
"""Better-sounding GM SoundFonts for TinySoundFont, tried in order before the fallback."""
FLUIDSYNTH_SOUNDFONTS: tuple[Path, ...] = (MUSESCORE_GENERAL, FLUID_R3)
"""The same for FluidSynth (libfluidsynth and the CLI), which reads SF3 and plays its modulators."""
FLUIDSYNTH_BACKENDS = ("libfluidsynth", "fluidsynth")
FALLBACK_SOUNDFONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
DRUM_CHANNEL = 9
_PITCHED_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)
TSF_GAIN_DB = -6.0
TSF_MAX_VOICES = 256
CULL_TAILS = True
"""Stop TinySoundFont's voices once 60 dB under their peak (:mod:`kotone.render.tails`)."""
NOTE_CACHE = True
"""Mono renders with culled tails play each distinct note of a pitched track once
(:mod:`kotone.render.notecache`)."""

SynthFn = Callable[[pretty_midi.PrettyMIDI, int, float, float, int], np.ndarray]
"""``(pm, sample_rate_hz, duration_s, timeout_s, channels) -> float32 (n, channels)``."""


class BackendUnavailableError(RenderError):
    """A synthesizer backend is not installed on this machine."""


def find_soundfont(backend: str = "tinysoundfont") -> Path:
    """The SoundFont ``backend`` plays: ``$KOTONE_SOUNDFONT`` if set (it must exist), else the
    first installed of :data:`PREFERRED_SOUNDFONTS` (TinySoundFont) or
    :data:`FLUIDSYNTH_SOUNDFONTS` (FluidSynth), else TimGM6mb.sf2 from pretty_midi."""
    override = os.environ.get(SOUNDFONT_ENV)
    if override:
        candidates = [Path(override)]
    else:
        preferred = FLUIDSYNTH_SOUNDFONTS if backend in FLUIDSYNTH_BACKENDS else PREFERRED_SOUNDFONTS
        candidates = [*preferred, FALLBACK_SOUNDFONT]
    for path in candidates:
        if path.is_file():
            return path
    raise RenderError(f"SoundFont not found at {candidates[0]}")


def _fit_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Trim or zero-pad ``samples`` (n, c) to exactly ``n_samples`` rows."""
    if len(samples) >= n_samples:
        return samples[:n_samples]
    pad = np.zeros((n_samples - len(samples), samples.shape[1]), dtype=samples.dtype)
    return np.concatenate([samples, pad])


def _check_channels(channels: int) -> None:
    if channels not in (1, 2):
        raise RenderError(f"channels must be 1 or 2, got {channels!r}")


# --------------------------------------------------------------------------- fluidsynth


def fluidsynth_executable() -> str | None:
    """Path of the ``fluidsynth`` CLI (``$KOTONE_FLUIDSYNTH`` overrides), or None."""
    override = os.environ.get(FLUIDSYNTH_ENV)
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("fluidsynth")


def synth_fluidsynth(
    pm: pretty_midi.PrettyMIDI, sample_rate: int, duration_s: float, timeout_s: float, channels: int = 2
) -> np.ndarray:
    """Render with the ``fluidsynth`` CLI in fast-render mode (``-F``) into a temp WAV.

    The CLI parses the SoundFont on every call (it is the fallback backend). The process is
    killed after ``timeout_s`` seconds or once its WAV grows past twice the expected size
    (Debian's 2.3.1 can render forever on a note that never ends).
    """
    import soundfile as sf

    _check_channels(channels)
    exe = fluidsynth_executable()
    if exe is None:
        raise BackendUnavailableError("fluidsynth CLI not found on PATH")
    sf2 = find_soundfont("fluidsynth")
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
    data = data[:, :2]
    if channels == 1:
        data = data.mean(axis=1, keepdims=True)
    return _fit_length(data, n_samples)


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

_LOAD_LOCK = threading.Lock()


def _tsf_module() -> Any:
    """TinySoundFont's native module. Its ``SoundFont`` can be cloned (voices of their
    own, sample data shared), which the ``Synth`` wrapper does not expose."""
    try:
        from tinysoundfont import _tinysoundfont
    except ImportError as exc:
        raise BackendUnavailableError("tinysoundfont is not installed") from exc
    return _tinysoundfont


@lru_cache(maxsize=2)
def _parsed_soundfont(path: str, mtime_ns: int, size: int) -> Any:
    """Parse the SoundFont at ``path`` once per process (keyed by its stat, so a replaced
    file is parsed again); at most two SoundFonts are kept."""
    t0 = time.perf_counter()
    try:
        font = _tsf_module().SoundFont(path)
    except (RuntimeError, OSError, ValueError) as exc:
        raise RenderError(f"cannot load SoundFont {path}: {exc}") from exc
    log.info("loaded SoundFont %s (%.0f MB) in %.2f s", path, size / 1e6, time.perf_counter() - t0)
    return font


def loaded_soundfont(path: Path | None = None) -> Any:
    """The parsed TinySoundFont ``SoundFont`` for ``path`` (default :func:`find_soundfont`),
    parsed on first use and reused by every later render in this process."""
    path = path or find_soundfont()
    try:
        st = path.stat()
    except OSError as exc:
        raise RenderError(f"SoundFont not readable at {path}: {exc}") from exc
    with _LOAD_LOCK:  # two first renders at once parse it once
        return _parsed_soundfont(str(path), st.st_mtime_ns, st.st_size)


def preload(*, tails_at: int | None = None) -> Path:
    """Parse TinySoundFont's SoundFont now (call at start-up so the first song does not wait);
    with ``tails_at`` (a sample rate, Hz) also measure every melodic program's release tail
    (:func:`kotone.render.tails.tail_of`, ~2 s of CPU in all) and read its preset tables, which
    renders otherwise do the first time they meet a program."""
    path = find_soundfont()
    font = loaded_soundfont(path)
    if tails_at is not None and CULL_TAILS:
        from kotone.render.sf2zones import preset_layers
        from kotone.render.tails import tail_of

        preset_layers(path)
        key = _font_key(path)
        for program in range(128):
            tail_of(_tsf_module(), font, program, tails_at, key)
    return path


def _font_key(path: Path) -> object:
    """What names a SoundFont file and its version (release tails are measured per key)."""
    try:
        return (str(path), path.stat().st_mtime_ns)
    except OSError:
        return None


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


def _instrument_events(inst: pretty_midi.Instrument, ch: int) -> list[_Event]:
    events: list[_Event] = [(0.0, 0, ch, "program", inst.program, int(inst.is_drum))]
    events.extend((c.time, 1, ch, "cc", c.number, c.value) for c in inst.control_changes)
    events.extend((b.time, 1, ch, "bend", b.pitch, 0) for b in inst.pitch_bends)
    for n in inst.notes:
        if n.velocity > 0 and n.end > n.start:
            events.append((n.start, 3, ch, "on", n.pitch, n.velocity))
            events.append((n.end, 2, ch, "off", n.pitch, 0))
    return events


def _midi_events(pm: pretty_midi.PrettyMIDI) -> list[_Event]:
    events: list[_Event] = []
    for inst, ch in zip(pm.instruments, _assign_channels(pm), strict=True):
        events.extend(_instrument_events(inst, ch))
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def _tsf_events(pm: pretty_midi.PrettyMIDI, font: Any, sample_rate: int, end_s: float,
                font_key: object = None) -> list[_Event]:
    """The events TinySoundFont plays: with :data:`CULL_TAILS`, long release tails are
    stopped once inaudible (:mod:`kotone.render.tails`)."""
    if not CULL_TAILS:
        return _midi_events(pm)
    from kotone.render.tails import plan_events, tail_of

    tsf = _tsf_module()
    return plan_events(pm, _assign_channels(pm), _PITCHED_CHANNELS,
                       lambda prog: tail_of(tsf, font, prog, sample_rate, font_key), end_s, _instrument_events)


def gm_gain(value: int) -> float:
    """Linear amplitude for a velocity, CC7 or CC11 value under the GM default modulators
    (``(value / 127) ** 2``, i.e. ``40 * log10(value / 127)`` dB)."""
    return (min(max(value, 0), 127) / 127.0) ** 2


class _TsfPlayer:
    """Plays one song's events on a clone of the parsed SoundFont."""

    def __init__(self, font: Any, sample_rate: int, channels: int) -> None:
        tsf = _tsf_module()
        self.synth = tsf.SoundFont(font)  # a clone: fresh voices, shared samples
        mode = tsf.OutputMode.Mono if channels == 1 else tsf.OutputMode.StereoInterleaved
        self.synth.set_output(mode, sample_rate, TSF_GAIN_DB)
        self.synth.set_max_voices(TSF_MAX_VOICES)
        self.volume = [127] * 16
        self.expression = [127] * 16

    def apply(self, ch: int, kind: str, a: int, b: int) -> None:
        s = self.synth
        if kind == "on":
            # TinySoundFont's level grows linearly with velocity; GM's with its square.
            s.channel_note_on(ch, a, gm_gain(b))
        elif kind == "off":
            s.channel_note_off(ch, a)
        elif kind == "cc" and a in (7, 11):
            # TinySoundFont's own CC7 curve is steeper than GM's; apply GM's.
            (self.volume if a == 7 else self.expression)[ch] = b
            s.channel_set_volume(ch, gm_gain(self.volume[ch]) * gm_gain(self.expression[ch]))
        elif kind == "cc":
            s.channel_midi_control(ch, a, b)
        elif kind == "bend":
            s.channel_set_pitch_wheel(ch, min(max(a + 8192, 0), 16383))
        elif kind == "kill":  # every voice of the channel fades out over 10 ms
            s.channel_sounds_off(ch)
        else:
            self.select_program(ch, a, is_drum=bool(b))

    def select_program(self, ch: int, program: int, *, is_drum: bool) -> None:
        """A preset missing from the SoundFont falls back to program 0."""
        try:
            self.synth.channel_set_preset_number(ch, program, is_drum)
        except RuntimeError:
            self.synth.channel_set_preset_number(ch, 0, is_drum)


def synth_tinysoundfont(
    pm: pretty_midi.PrettyMIDI, sample_rate: int, duration_s: float, timeout_s: float, channels: int = 2
) -> np.ndarray:
    """Render in-process with TinySoundFont: exactly ``duration_s`` seconds of samples."""
    _check_channels(channels)
    deadline = time.monotonic() + timeout_s
    path = find_soundfont()
    font = loaded_soundfont(path)
    player = _TsfPlayer(font, sample_rate, channels)
    n_samples = round(duration_s * sample_rate)
    out = np.zeros((n_samples, channels), dtype=np.float32)
    raw = memoryview(out.reshape(-1)).cast("B")  # TinySoundFont writes raw bytes
    frame = 4 * channels
    pos = 0
    font_key = _font_key(path)  # the tails belong to this SoundFont file
    by_note: list[pretty_midi.Instrument] = []
    if channels == 1 and NOTE_CACHE and CULL_TAILS:
        pm, by_note = _split_by_note(pm, path)
    for t, _, ch, kind, a, b in _tsf_events(pm, font, sample_rate, duration_s, font_key):
        at = min(round(t * sample_rate), n_samples)
        if at > pos:
            player.synth.render(raw[pos * frame : at * frame])  # overwrites: before the notes are added
            pos = at
            if time.monotonic() > deadline:
                raise RenderError(f"tinysoundfont timed out after {timeout_s:.1f} s")
        player.apply(ch, kind, a, b)
    if pos < n_samples and pm.instruments:
        player.synth.render(raw[pos * frame :])
    if by_note:
        _play_distinct_notes(by_note, font, path, font_key, sample_rate, out[:, 0], deadline)
    return out


def _split_by_note(pm: pretty_midi.PrettyMIDI, path: Path) -> tuple[pretty_midi.PrettyMIDI, list[pretty_midi.Instrument]]:
    """The MIDI the synth must play, and the tracks (or parts of tracks)
    :mod:`kotone.render.notecache` can play note by note."""
    from kotone.render.notecache import split_tracks
    from kotone.render.sf2zones import preset_layers

    synth, by_note = split_tracks(pm.instruments, preset_layers(path))
    if not by_note:
        return pm, []
    rest = pretty_midi.PrettyMIDI(resolution=pm.resolution)
    rest.instruments = synth
    return rest, by_note


def _play_distinct_notes(instruments: list[pretty_midi.Instrument], font: Any, path: Path, font_key: object,
                         sample_rate: int, out: np.ndarray, deadline: float) -> None:  # fmt: skip
    """Add ``instruments`` (from :func:`_split_by_note`) into mono ``out``."""
    from kotone.render import notecache
    from kotone.render.sf2zones import preset_layers
    from kotone.render.tails import tail_of

    tsf = _tsf_module()
    player = notecache.NotePlayer(tsf, font, sample_rate, TSF_GAIN_DB, preset_layers(path), deadline)
    notecache.play_tracks(instruments, out, sample_rate, player,
                          lambda prog: tail_of(tsf, font, prog, sample_rate, font_key))  # fmt: skip


def synth_libfluidsynth(
    pm: pretty_midi.PrettyMIDI, sample_rate: int, duration_s: float, timeout_s: float, channels: int = 2
) -> np.ndarray:
    """In-process libfluidsynth, synths pooled with the SoundFont loaded (:mod:`kotone.render.fluid`)."""
    from kotone.render.fluid import synth_libfluidsynth as render

    return render(pm, sample_rate, duration_s, timeout_s, channels)


SYNTH_BACKENDS: dict[str, SynthFn] = {
    "tinysoundfont": synth_tinysoundfont,
    "libfluidsynth": synth_libfluidsynth,
    "fluidsynth": synth_fluidsynth,
}
"""Backends in default order (cheapest first, measured by ``eval/bench_render.py``); the
first two parse the SoundFont once per process, the fluidsynth CLI on every render."""
