"""Release tails: stop TinySoundFont's voices once they are far below hearing.

TinySoundFont keeps a released voice playing until its envelope has fallen 80 dB or its
sample has ended: seconds after it stopped mattering (a crystal or a halo pad rings on for
9-10 s after a 0.2 s note, 60 dB under its peak after ~5 s). Every live voice costs the
same to render, so on pad-heavy songs most of the synthesis is spent on tails no one hears.

TinySoundFont cannot stop one voice, only every voice of a channel (``sounds off``, a 10 ms
fade). So a track whose voices outlive their hearing by more than ``MIN_SAVING_S`` gets
spare MIDI channels (the ones no other track uses) and plays on them in turn: it moves to a
free channel every ``SWITCH_S`` or more, and a channel it left is silenced once every note
it played there is ``CUT_DB`` under that note's own peak (:func:`tail_of`, measured once per
program by playing it). A note whose pitch is still held goes to the channel that holds it,
so note-offs end exactly the voices they ended before. Nothing else changes: the same notes,
programs, channel volumes and controls.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pretty_midi

CUT_DB = 60.0
"""A voice is stopped once it is this far under its own peak, for good."""
MIN_SAVING_S = 0.5
SWITCH_S = 0.25
MAX_EXTRA_CHANNELS = 3
PROBE_KEYS = (36, 60, 84)
PROBE_GAINS = (0.25, 1.0)
PROBE_HOLDS_S = (0.05, 1.5)
PROBE_TAIL_S = 12.0
_BLOCK_S = 0.005

# Event tuples as kotone.render.soundfont builds them: (time_s, order, channel, kind, a, b)
Event = tuple[float, int, int, str, int, int]


@dataclass(frozen=True)
class Tail:
    """Seconds after a note-off: ``cut_s`` until the voice is ``CUT_DB`` under its peak for
    good (inf when not within the probe), ``alive_s`` until TinySoundFont stops it."""

    cut_s: float
    alive_s: float

    @property
    def saving_s(self) -> float:
        return self.alive_s - self.cut_s if math.isfinite(self.cut_s) else 0.0


_TAILS: dict[tuple[object, int, int], Tail] = {}
_TAILS_LOCK = threading.Lock()


def tail_of(tsf: Any, font: Any, program: int, sample_rate: int, font_key: object = None) -> Tail:
    """The release tail of a pitched ``program`` in the parsed ``font`` (cached per process
    under ``font_key``, which names the SoundFont file and its version): the longest over a
    few keys, velocities and note lengths."""
    key = (font_key if font_key is not None else id(font), program, sample_rate)
    with _TAILS_LOCK:
        if key in _TAILS:
            return _TAILS[key]
    cut = alive = 0.0
    for pitch in PROBE_KEYS:
        for gain in PROBE_GAINS:
            for hold in PROBE_HOLDS_S:
                c, a = _probe(tsf, font, program, pitch, gain, hold, sample_rate)
                cut, alive = max(cut, c), max(alive, a)
    tail = Tail(cut, alive)
    with _TAILS_LOCK:
        _TAILS[key] = tail
    return tail


def _probe(tsf: Any, font: Any, program: int, pitch: int, gain: float, hold_s: float,
           sample_rate: int) -> tuple[float, float]:  # fmt: skip
    synth = tsf.SoundFont(font)
    synth.set_output(tsf.OutputMode.Mono, sample_rate, 0.0)
    try:
        synth.channel_set_preset_number(0, program, False)
    except RuntimeError:
        return math.inf, 0.0
    held = round(hold_s * sample_rate)
    out = np.zeros(held + round(PROBE_TAIL_S * sample_rate), dtype=np.float32)
    raw = memoryview(out).cast("B")
    synth.channel_note_on(0, pitch, gain)
    synth.render(raw[: held * 4])
    synth.channel_note_off(0, pitch)
    synth.render(raw[held * 4 :])
    block = max(1, round(_BLOCK_S * sample_rate))
    level = np.abs(out[: len(out) // block * block]).reshape(-1, block).max(axis=1)
    peak = float(level.max())
    if peak <= 0.0:
        return 0.0, 0.0
    off_block = held // block
    loud = np.flatnonzero(level > peak * 10 ** (-CUT_DB / 20))
    live = np.flatnonzero(level > 0.0)
    if loud[-1] >= len(level) - 1:
        return math.inf, PROBE_TAIL_S  # still audible at the end of the probe
    cut = max(0.0, (loud[-1] + 2 - off_block) * block / sample_rate)
    alive = max(0.0, (live[-1] + 1 - off_block) * block / sample_rate)
    return cut, alive


def spare_channels(primary: Sequence[int], pitched: Sequence[int], tails: Sequence[Tail | None],
                   notes: Sequence[int]) -> list[list[int]]:  # fmt: skip
    """Extra channels per instrument: the pitched channels no instrument plays on, dealt one
    at a time to the instruments whose tails waste most (saving x notes), at most
    ``MAX_EXTRA_CHANNELS`` each."""
    free = [c for c in pitched if c not in set(primary)]
    extra: list[list[int]] = [[] for _ in primary]
    worth = sorted((i for i, t in enumerate(tails) if t is not None and t.saving_s >= MIN_SAVING_S),
                   key=lambda i: -tails[i].saving_s * notes[i])  # type: ignore[union-attr]
    for _ in range(MAX_EXTRA_CHANNELS):
        for i in worth:
            if free:
                extra[i].append(free.pop(0))
    return extra


def rotated_events(inst: pretty_midi.Instrument, channels: Sequence[int], cut_s: float, end_s: float) -> list[Event]:
    """The events of one pitched instrument played over ``channels`` in turn (the first is its
    own), with a ``kill`` (sounds off) on a channel once its notes' tails are ``cut_s`` past
    their note-offs and before the channel takes new notes."""
    events: list[Event] = []
    for ch in channels:
        events.append((0.0, 0, ch, "program", inst.program, 0))
        events.extend((c.time, 1, ch, "cc", c.number, c.value) for c in inst.control_changes)
        events.extend((b.time, 1, ch, "bend", b.pitch, 0) for b in inst.pitch_bends)
    last_end: dict[int, float | None] = {ch: None for ch in channels}  # of the channel's notes since its last kill
    held: dict[int, tuple[int, float]] = {}  # pitch -> (channel, latest note-off)
    current, since = channels[0], -math.inf
    for n in sorted((n for n in inst.notes if n.velocity > 0 and n.end > n.start), key=lambda n: n.start):
        holder = held.get(n.pitch)
        if holder is not None and holder[1] > n.start:
            ch = holder[0]  # the same key still sounds: its note-off must find this voice
        else:
            if n.start - since >= SWITCH_S:
                ch_free = next((c for c in channels if c != current and (
                    last_end[c] is None or last_end[c] + cut_s <= n.start)), None)  # type: ignore[operator]
                if ch_free is not None:
                    if last_end[ch_free] is not None:
                        events.append((last_end[ch_free] + cut_s, 1, ch_free, "kill", 0, 0))  # type: ignore[operator]
                        last_end[ch_free] = None
                    current, since = ch_free, n.start
            ch = current
        prev = last_end[ch]
        last_end[ch] = n.end if prev is None else max(prev, n.end)
        held[n.pitch] = (ch, max(n.end, holder[1]) if holder is not None and holder[0] == ch else n.end)
        events.append((n.start, 3, ch, "on", n.pitch, n.velocity))
        events.append((n.end, 2, ch, "off", n.pitch, 0))
    for ch, last in last_end.items():
        if last is not None and last + cut_s < end_s:
            events.append((last + cut_s, 1, ch, "kill", 0, 0))
    return events


def plan_events(pm: pretty_midi.PrettyMIDI, channels: Sequence[int], pitched: Sequence[int],
                tail: Callable[[int], Tail], end_s: float,
                plain: Callable[[pretty_midi.Instrument, int], list[Event]]) -> list[Event]:  # fmt: skip
    """Every instrument's events, long-tailed pitched ones rotated over spare channels."""
    tails = [None if inst.is_drum else tail(inst.program) for inst in pm.instruments]
    primary = [ch for inst, ch in zip(pm.instruments, channels, strict=True) if not inst.is_drum]
    extra = spare_channels(channels, pitched, tails, [len(inst.notes) for inst in pm.instruments])
    events: list[Event] = []
    for inst, ch, more, t in zip(pm.instruments, channels, extra, tails, strict=True):
        if more and t is not None and len(primary) == len(set(primary)):
            events.extend(rotated_events(inst, [ch, *more], t.cut_s, end_s))
        else:
            events.extend(plain(inst, ch))
    return snap_kills(events)


def snap_kills(events: list[Event]) -> list[Event]:
    """``events`` in play order, each ``kill`` moved later to the next instant where something
    else happens (none after the last): TinySoundFont works its envelopes in 64-sample steps
    counted from each render call, so a kill at a new instant would split a render and shift
    every voice's steps (an audible-in-theory difference, ~40 dB down); at an existing one the
    rest of the song renders exactly as before. Killing later is always safe, and the channel's
    next note starts at such an instant, after its kill."""
    times = sorted({e[0] for e in events if e[3] != "kill"})
    out = [e for e in events if e[3] != "kill"]
    for e in events:
        if e[3] == "kill":
            k = bisect_left(times, e[0])
            if k < len(times):
                out.append((times[k], *e[1:]))
    out.sort(key=lambda e: (e[0], e[1]))
    return out
