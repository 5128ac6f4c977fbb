"""Play each distinct note of a track once and place copies of it (TinySoundFont, mono).

TinySoundFont sums its voices: a note's samples do not depend on the other notes (no
effects, no voice stealing under its voice limit), and within one velocity layer of the
preset (:mod:`kotone.render.sf2zones`) a note's sound is its unit-gain sound times its
gain. A song repeats itself (chords return every few bars, choruses come back), so a pad
or a comping part plays the same few dozen notes hundreds of times: rendered per distinct
``(program, key, velocity layer, length)`` and mixed by adding scaled copies, it costs a
fraction of playing every voice. On the card combinations of ``eval/bench.py`` the pitched
tracks play about six times fewer notes.

What differs from playing the track through one synth, and by how much:

- note lengths are rounded to ``LENGTH_QUANTUM`` samples (11.6 ms at 22.05 kHz; the MIDI
  file keeps the exact lengths; humanisation moves note ends by more than that);
- TinySoundFont steps its envelopes every 64 samples counted from each render call, so a
  note alone steps at other instants than in the song (about 40 dB under the music);
- every note's release is stopped, with a 10 ms fade, once a whole ``RELEASE_STEP`` after its
  note-off lies 60 dB under the note's own peak (or at its program's worst case,
  ``Tail.cut_s``, :mod:`kotone.render.tails`): the song renderer stops tails by the same
  measure, per program rather than per note.

``tests/test_notecache.py`` measures the difference against the song renderer.

Only tracks whose notes cannot interact are played this way: pitched, no pitch bends,
and no controllers but a volume (CC7) and expression (CC11) set before the first note.
Everything else is played through the synth as before.
"""

from __future__ import annotations

import contextlib
import math
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pretty_midi
from scipy.linalg import blas

from kotone.domain.errors import RenderError
from kotone.render.sf2zones import DRUM_BANK, PresetLayers
from kotone.render.soundfont import gm_gain
from kotone.render.tails import CUT_DB, Tail

LENGTH_QUANTUM = 256
"""Note lengths are rounded to this many samples (at least one quantum)."""
FADE_S = 0.010
RELEASE_STEP = 2048  # samples (a multiple of TinySoundFont's 64-sample step): a release is checked this often
LEVEL_CCS = (7, 11)
DRUM_TAIL_STEP_S, DRUM_TAIL_MAX_S = 0.25, 6.0  # a drum rings until its sample ends, at most this


def track_gain(inst: pretty_midi.Instrument) -> float | None:
    """The constant channel gain of ``inst`` (GM curves of CC7 x CC11), or None when the
    track's notes could interact or change level mid-song (bends, other controllers, a level
    change after the first note)."""
    if inst.pitch_bends or not inst.notes:
        return None
    first = min(n.start for n in inst.notes)
    level = {7: 127, 11: 127}
    for c in sorted(inst.control_changes, key=lambda c: c.time):
        if c.number not in LEVEL_CCS or (c.time > first and level[c.number] != c.value):
            return None
        level[c.number] = c.value
    return gm_gain(level[7]) * gm_gain(level[11])


def split_tracks(instruments: Sequence[pretty_midi.Instrument], layers: dict[tuple[int, int], PresetLayers] | None
                 ) -> tuple[list[pretty_midi.Instrument], list[pretty_midi.Instrument]]:  # fmt: skip
    """``(for the synth, note by note)``: tracks that pass :func:`track_gain` are played note
    by note, except notes on keys with an exclusive class (they cut other notes off), which
    stay with the synth in a copy of their track. Each track keeps its place in the first
    list or appears once in the second (or is split across both)."""
    synth: list[pretty_midi.Instrument] = []
    by_note: list[pretty_midi.Instrument] = []
    for inst in instruments:
        if track_gain(inst) is None:
            synth.append(inst)
            continue
        bank = DRUM_BANK if inst.is_drum else 0
        exclusive = layers[(bank, inst.program)].exclusive_keys if layers and (bank, inst.program) in layers else None
        if exclusive is None and inst.is_drum:
            synth.append(inst)  # which drums choke others is unknown
            continue
        if not exclusive:
            by_note.append(inst)
            continue
        keep = [n for n in inst.notes if n.pitch in exclusive]
        free = [n for n in inst.notes if n.pitch not in exclusive]
        for notes, into in ((keep, synth), (free, by_note)):
            if notes:
                part = pretty_midi.Instrument(program=inst.program, is_drum=inst.is_drum, name=inst.name)
                part.notes, part.control_changes = notes, list(inst.control_changes)
                into.append(part)
    return synth, by_note


def tsf_velocity(gain: float) -> int:
    """The velocity TinySoundFont selects regions with for a note-on ``gain`` (C float maths)."""
    return int(np.float32(gain) * np.float32(127))


class NotePlayer:
    """Distinct notes of one song, each rendered once at unit gain on a fresh synth clone."""

    def __init__(self, tsf: Any, font: Any, sample_rate: int, gain_db: float,
                 layers: dict[tuple[int, int], PresetLayers] | None, deadline: float) -> None:  # fmt: skip
        self.tsf, self.font, self.sr, self.gain_db = tsf, font, sample_rate, gain_db
        self.layers, self.deadline = layers, deadline
        self.cache: dict[tuple[bool, int, int, int, int], tuple[np.ndarray, bool]] = {}  # -> (samples, whole)
        self.rendered = 0

    def layer(self, is_drum: bool, program: int, tsf_vel: int) -> int:
        found = self.layers.get((DRUM_BANK if is_drum else 0, program)) if self.layers else None
        if found is None:
            return tsf_vel  # layers unknown: each velocity is its own
        return bisect_right(found.splits, tsf_vel)

    def _synth(self, program: int, is_drum: bool) -> Any:
        synth = self.tsf.SoundFont(self.font)
        synth.set_output(self.tsf.OutputMode.Mono, self.sr, self.gain_db)
        try:
            synth.channel_set_preset_number(0, program, is_drum)
        except RuntimeError:  # a preset the SoundFont lacks, as the song renderer falls back
            synth.channel_set_preset_number(0, 0, is_drum)
        return synth

    def sound(self, program: int, is_drum: bool, pitch: int, gain: float, length: int, tail: Tail | None,
              room: int) -> np.ndarray:  # fmt: skip
        """Samples of one note at unit gain: ``length`` held, then its release until cut
        (``tail``; for drums until the sample ends), at most ``room`` samples in all."""
        key = (is_drum, program, pitch, self.layer(is_drum, program, tsf_velocity(gain)), length)
        hit = self.cache.get(key)
        if hit is not None and (hit[1] or len(hit[0]) >= room):
            return hit[0]
        if time.monotonic() > self.deadline:
            raise RenderError("tinysoundfont timed out")
        synth = self._synth(program, is_drum)
        if tail is None:
            buf, whole = self._ring_out(synth, pitch, gain, length, room)
        else:
            buf, whole = self._play_cut(synth, pitch, gain, length, tail, room)
        buf /= np.float32(gain)
        self.cache[key] = (buf, whole)
        self.rendered += 1
        return buf

    def _play_cut(self, synth: Any, pitch: int, gain: float, length: int, tail: Tail,
                  room: int) -> tuple[np.ndarray, bool]:  # fmt: skip
        """Held ``length``, then released: stopped (a 10 ms fade) at the first
        :data:`RELEASE_STEP` after the note-off that stays ``Tail.cut_db`` under the note's own
        peak, or at the program's worst-case cut (``tail.cut_s``), whichever comes first."""
        release = tail.cut_s if math.isfinite(tail.cut_s) else tail.alive_s
        whole = length + max(1, round(release * self.sr))
        total = min(room, whole)
        buf, raw, held = _hold(synth, pitch, gain, length, total)
        peak = float(np.max(np.abs(buf[:held]))) if held else 0.0
        floor = 10 ** (-CUT_DB / 20)
        n_fade = max(1, round(FADE_S * self.sr))
        pos = held
        while pos < total:
            end = min(total, pos + RELEASE_STEP)
            synth.render(raw[pos * 4 : end * 4])
            step_peak = float(np.max(np.abs(buf[pos:end])))
            if peak > 0.0 and step_peak <= peak * floor and end - pos == RELEASE_STEP:
                stop = pos + n_fade  # this step is already that far down: fade out at its start
                buf[pos:stop] *= np.linspace(1.0, 0.0, n_fade, dtype=np.float32)
                return buf[:stop].copy(), True
            peak = max(peak, step_peak)
            pos = end
        if math.isfinite(tail.cut_s) and total == whole and total > held:  # stopped at the program's cut
            fade = min(total - held, n_fade)
            buf[total - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        return buf, total == whole

    def _ring_out(self, synth: Any, pitch: int, gain: float, length: int, room: int) -> tuple[np.ndarray, bool]:
        """A drum: held ``length``, then played until its voice ends (a silent step)."""
        step = max(1, round(DRUM_TAIL_STEP_S * self.sr))
        whole = length + round(DRUM_TAIL_MAX_S * self.sr)
        total = min(room, whole)
        buf, raw, pos = _hold(synth, pitch, gain, length, total)
        while pos < total:
            end = min(total, pos + step)
            synth.render(raw[pos * 4 : end * 4])
            if not buf[pos:end].any():
                return buf[: int(np.flatnonzero(buf[:pos])[-1]) + 1 if buf[:pos].any() else 1].copy(), True
            pos = end
        if total == whole:  # still ringing at the cap: fade out there
            fade = min(total, max(1, round(FADE_S * self.sr)))
            buf[total - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        return buf, total == whole


def _hold(synth: Any, pitch: int, gain: float, length: int, total: int) -> tuple[np.ndarray, memoryview, int]:
    """A buffer of ``total`` samples with the note played into its first ``length`` (at most
    ``total``), then released; returns it, its raw view and the samples rendered."""
    buf = np.zeros(total, dtype=np.float32)
    raw = memoryview(buf).cast("B")  # TinySoundFont writes raw bytes
    held = min(length, total)
    synth.channel_note_on(0, pitch, gain)
    synth.render(raw[: held * 4])
    synth.channel_note_off(0, pitch)
    return buf, raw, held


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()
    except Exception:  # threadpoolctl missing or a BLAS it cannot read: BLAS's own threading
        return None


def _one_blas_thread() -> Any:
    """A context with BLAS on one thread: the copies are many short adds, for which a second
    thread costs more CPU than it saves (a song's mix: 1.3x the CPU on two threads)."""
    ctl = _blas_controller()
    return ctl.limit(limits=1, user_api="blas") if ctl is not None else contextlib.nullcontext()


def _saxpy(x: np.ndarray, y: np.ndarray, a: float) -> None:
    """``y += a * x`` in place, in one pass (BLAS; ``y`` a contiguous float32 view)."""
    blas.saxpy(x, y, a=a)


def _add(x: np.ndarray, y: np.ndarray, a: float) -> None:
    y += x * np.float32(a)


def play_tracks(instruments: Sequence[pretty_midi.Instrument], out: np.ndarray, sample_rate: int,
                player: NotePlayer, tail: Callable[[int], Tail]) -> int:  # fmt: skip
    """Add the notes of ``instruments`` (each passed :func:`track_gain`) into mono ``out``;
    returns how many notes were placed."""
    placed = 0
    add = _saxpy if out.dtype == np.float32 and out.flags.c_contiguous else _add
    with _one_blas_thread():
        for inst in instruments:
            placed += _place(inst, out, sample_rate, player, tail, add)
    return placed


def _place(inst: pretty_midi.Instrument, out: np.ndarray, sample_rate: int, player: NotePlayer,
           tail: Callable[[int], Tail], add: Callable[[np.ndarray, np.ndarray, float], None]) -> int:  # fmt: skip
    """Add one track's notes into ``out``; returns how many were placed."""
    n_out = len(out)
    placed = 0
    ch_gain = track_gain(inst) or 0.0
    t = None if inst.is_drum else tail(inst.program)
    for n in inst.notes:
        if n.velocity <= 0 or n.end <= n.start:
            continue
        at = round(n.start * sample_rate)
        if at >= n_out:
            continue
        length = max(1, round((round(n.end * sample_rate) - at) / LENGTH_QUANTUM)) * LENGTH_QUANTUM
        gain = gm_gain(n.velocity)
        snd = player.sound(inst.program, inst.is_drum, n.pitch, gain, length, t, n_out - at)
        m = min(len(snd), n_out - at)
        add(snd[:m], out[at : at + m], gain * ch_gain)
        placed += 1
    return placed
