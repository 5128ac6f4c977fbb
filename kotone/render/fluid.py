"""In-process FluidSynth (libfluidsynth through pyfluidsynth), for machines without
TinySoundFont (a Space installs only requirements.txt, and TinySoundFont's pyaudio
dependency needs a C toolchain and portaudio there).

Each synth parses the SoundFont once when it is made; synths are pooled per process (at
most ``POOL_SIZE``, one render at a time on each) and reset between renders. libfluidsynth
runs outside Python's GIL, so renders in different threads run in parallel. Reverb and
chorus are off: the effects and the loudness are the same on every backend.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from functools import lru_cache
from typing import Any

import numpy as np
import pretty_midi

from kotone.domain.errors import RenderError
from kotone.render.soundfont import BackendUnavailableError, _check_channels, _midi_events, find_soundfont

POOL_SIZE = max(1, min(4, os.cpu_count() or 1))
GAIN = 0.4  # libfluidsynth's output gain (the CLI backend uses the same)
DRUM_BANK = 128
POLYPHONY = 512  # voices (fluidsynth default 256); FluidR3 sounds many notes on two voices each
BLOCK = 64  # libfluidsynth synthesizes in blocks of 64 samples and applies events at block starts
DRAIN_BLOCKS, DRAIN_MAX_BLOCKS = 16, 16 * 48  # after a render: play out released voices, ~1.4 s at most at 22 kHz
SILENT_LSB = 2  # its 16-bit output dithers: +-2 is silence


def _fluidsynth() -> Any:
    try:
        import fluidsynth  # pyfluidsynth; its import fails when libfluidsynth is missing
    except (ImportError, OSError) as exc:
        raise BackendUnavailableError(f"libfluidsynth / pyfluidsynth not available: {exc}") from exc
    return fluidsynth


class _SynthPool:
    """Synths for one SoundFont and sample rate; ``take`` waits at most ``timeout_s``."""

    def __init__(self, path: str, sample_rate: int) -> None:
        self.path, self.sample_rate = path, sample_rate
        self.free: queue.LifoQueue[tuple[Any, int]] = queue.LifoQueue()
        self.made = 0
        self.lock = threading.Lock()

    def _make(self) -> tuple[Any, int]:
        fs = _fluidsynth().Synth(gain=GAIN, samplerate=float(self.sample_rate))
        fs.setting("synth.polyphony", POLYPHONY)
        fs.setting("synth.reverb.active", 0)
        fs.setting("synth.chorus.active", 0)
        sfid = fs.sfload(self.path)
        if sfid < 0:
            fs.delete()
            raise RenderError(f"libfluidsynth cannot load SoundFont {self.path}")
        return fs, sfid

    def take(self, timeout_s: float) -> tuple[Any, int]:
        try:
            return self.free.get_nowait()
        except queue.Empty:
            pass
        with self.lock:
            make = self.made < POOL_SIZE
            self.made += make
        if make:
            try:
                return self._make()
            except Exception:
                with self.lock:
                    self.made -= 1
                raise
        try:
            return self.free.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            raise RenderError(f"no free libfluidsynth synth within {timeout_s:.1f} s") from None

    def give(self, item: tuple[Any, int]) -> None:
        self.free.put(item)


@lru_cache(maxsize=4)
def synth_pool(path: str, sample_rate: int) -> _SynthPool:
    return _SynthPool(path, sample_rate)


def _select(fs: Any, sfid: int, ch: int, program: int, is_drum: bool) -> None:
    bank = DRUM_BANK if is_drum else 0
    if fs.program_select(ch, sfid, bank, program) != 0:  # a preset the SoundFont lacks
        fs.program_select(ch, sfid, bank, 0)


def _drain(fs: Any, rendered: int) -> None:
    """Play out what a reset leaves sounding (a reset releases the voices, it does not stop
    them) so it cannot bleed into the next render, for at most ``DRAIN_MAX_BLOCKS`` blocks,
    and end on a block boundary so the next render's events fall where this one's did."""
    fs.get_samples((-rendered) % BLOCK)
    for _ in range(DRAIN_MAX_BLOCKS // DRAIN_BLOCKS):
        if np.max(np.abs(fs.get_samples(DRAIN_BLOCKS * BLOCK))) <= SILENT_LSB:
            return


def synth_libfluidsynth(
    pm: pretty_midi.PrettyMIDI, sample_rate: int, duration_s: float, timeout_s: float, channels: int = 2
) -> np.ndarray:
    """Render in-process with libfluidsynth: exactly ``duration_s`` seconds of samples."""
    _check_channels(channels)
    deadline = time.monotonic() + timeout_s
    pool = synth_pool(str(find_soundfont("libfluidsynth")), sample_rate)
    fs, sfid = pool.take(timeout_s)
    n_samples = round(duration_s * sample_rate)
    out = np.zeros((n_samples, 2), dtype=np.float32)
    pos = 0
    try:
        fs.system_reset()
        for t, _, ch, kind, a, b in _midi_events(pm):
            at = min(round(t * sample_rate), n_samples)
            if at > pos:
                out[pos:at] = fs.get_samples(at - pos).reshape(-1, 2) / 32768.0
                pos = at
                if time.monotonic() > deadline:
                    raise RenderError(f"libfluidsynth timed out after {timeout_s:.1f} s")
            if kind == "on":
                fs.noteon(ch, a, b)
            elif kind == "off":
                fs.noteoff(ch, a)
            elif kind == "cc":
                fs.cc(ch, a, b)
            elif kind == "bend":
                fs.pitch_bend(ch, a)
            else:
                _select(fs, sfid, ch, a, bool(b))
        if pos < n_samples:
            out[pos:] = fs.get_samples(n_samples - pos).reshape(-1, 2) / 32768.0
            pos = n_samples
    finally:
        fs.system_reset()
        _drain(fs, pos)
        pool.give((fs, sfid))
    return out.mean(axis=1, keepdims=True) if channels == 1 else out
