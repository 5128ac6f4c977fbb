"""Notes in beats -> a pretty_midi multi-track file (seconds), and back for measurement."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import mido
import numpy as np
import pretty_midi

from kotone.domain.errors import RenderError
from kotone.domain.plan import SongPlan
from kotone.music.types import Note
from kotone.render.mix import apply_mix

METER_SIG = {"4/4": (4, 4), "3/4": (3, 4), "6/8": (6, 8)}
MAX_NOTES = 20_000


def build_midi(plan: SongPlan, tracks: dict[str, list[Note]], *, mix: bool = True) -> pretty_midi.PrettyMIDI:
    """One instrument per track; every note ends by the song's last beat (no hanging notes).

    With ``mix`` each track gets its fader (CC7 at time 0, :mod:`kotone.render.mix`) from
    its role, so the lead is heard over the accompaniment in any arrangement."""
    sec_per_beat = 60.0 / plan.tempo_bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=plan.tempo_bpm)
    num, den = METER_SIG[plan.meter]
    pm.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
    end_s = plan.total_beats * sec_per_beat
    total = 0
    roles: list[str] = []
    for spec in plan.tracks:
        notes = tracks.get(spec.role, [])
        if not notes:
            continue
        inst = pretty_midi.Instrument(program=spec.program, is_drum=spec.is_drum, name=spec.name)
        for n in notes:
            s = n.start * sec_per_beat
            e = min(end_s, (n.start + n.dur) * sec_per_beat)
            if e - s < 0.01:
                continue
            inst.notes.append(pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=s, end=e))
        total += len(inst.notes)
        pm.instruments.append(inst)
        roles.append(spec.role)
    if total > MAX_NOTES:
        raise RenderError(f"song has {total} notes; the limit is {MAX_NOTES}")
    if mix:
        apply_mix(pm, roles)
    return pm


def midi_track_roles(plan: SongPlan, pm: pretty_midi.PrettyMIDI) -> list[str]:
    """The role of each instrument of ``pm`` as :func:`build_midi` wrote it (tracks with no
    notes are left out of the file); matched by track name, in order."""
    specs = list(plan.tracks)
    roles = []
    for inst in pm.instruments:
        k = next((i for i, s in enumerate(specs) if s.name == inst.name), None)
        if k is None:
            raise RenderError(f"MIDI track {inst.name!r} is not in the plan")
        roles.append(specs.pop(k).role)
    return roles


def midi_bytes(pm: pretty_midi.PrettyMIDI) -> bytes:
    """The Standard MIDI File ``pm.write`` would write, byte for byte. A song built by
    :func:`build_midi` is encoded here directly (:func:`_song_file_bytes`), ~10x faster than
    pretty_midi, which makes and checks a mido message per event; anything else (several
    tempi, pitch bends, key signatures, a file read back) goes through ``pm.write``."""
    fast = _song_file_bytes(pm)
    if fast is not None:
        return fast
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def _vlq(value: int) -> bytes:
    """A MIDI variable-length quantity (7 bits a byte, high bit = more follows)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _chunk(name: bytes, data: bytes) -> bytes:
    return name + struct.pack(">L", len(data)) + data


def _encode_track(events: list[tuple[int, bytes]]) -> bytes:
    """``(absolute tick, message bytes)`` in order -> an MTrk chunk, with running status for
    channel messages as mido writes it, closed by end-of-track one tick after the last event."""
    data = bytearray()
    tick, running = 0, -1
    for at, msg in events:
        data += _vlq(at - tick)
        tick = at
        if msg[0] == 0xFF:  # meta: cancels running status
            data += msg
            running = -1
        elif msg[0] == running:
            data += msg[1:]
        else:
            data += msg
            running = msg[0]
    data += _vlq(1) + b"\xff\x2f\x00"
    return _chunk(b"MTrk", bytes(data))


# pretty_midi's event order at one tick (its ``event_compare``): program, control, note on/off
_PROGRAM, _CONTROL, _NOTE = 6 << 16, 8 << 16, 10 << 16


def _song_file_bytes(pm: pretty_midi.PrettyMIDI) -> bytes | None:
    """What ``pm.write`` writes, for a PrettyMIDI made in memory with one tempo, time
    signatures, notes and control changes (what :func:`build_midi` makes); None otherwise."""
    if (len(pm._tick_scales) != 1 or len(getattr(pm, "_PrettyMIDI__tick_to_time", ())) != 1
            or pm.key_signature_changes or pm.lyrics or pm.text_events or not pm.time_signature_changes
            or any(inst.pitch_bends for inst in pm.instruments)):  # fmt: skip
        return None
    scale = pm._tick_scales[0][1]

    def tick(t: float) -> int:  # pretty_midi's time_to_tick for one tempo, built in memory
        return int(round(t / scale)) if t > 0 else 0

    meta = [(0, 1 << 16, mido.MetaMessage("set_tempo", tempo=int(6e7 / (60.0 / (scale * pm.resolution))))),
            *((tick(ts.time), 2 << 16, mido.MetaMessage("time_signature", numerator=ts.numerator,
                                                       denominator=ts.denominator))
              for ts in pm.time_signature_changes)]  # fmt: skip
    if min(ts.time for ts in pm.time_signature_changes) > 0.0:
        return None  # pretty_midi would add a default 4/4 first
    meta.sort(key=lambda e: (e[0], e[1]))
    tracks = [_encode_track([(at, bytes(m.bytes())) for at, _, m in meta])]
    pitched = [c for c in range(16) if c != 9]
    for n, inst in enumerate(pm.instruments):
        ch = 9 if inst.is_drum else pitched[n % len(pitched)]
        keyed: list[tuple[int, int, bytes]] = [(0, _PROGRAM, bytes((0xC0 | ch, inst.program)))]
        for note in inst.notes:
            on = (_NOTE + (note.pitch << 8) + note.velocity)
            keyed.append((tick(note.start), on, bytes((0x90 | ch, note.pitch, note.velocity))))
            keyed.append((tick(note.end), _NOTE + (note.pitch << 8), bytes((0x90 | ch, note.pitch, 0))))
        for cc in inst.control_changes:
            keyed.append((tick(cc.time), _CONTROL + (cc.number << 8) + cc.value,
                          bytes((0xB0 | ch, cc.number, cc.value))))
        keyed.sort(key=lambda e: (e[0], e[1]))  # stable, as pretty_midi's sort
        events = [(at, msg) for at, _, msg in keyed]
        if inst.name:
            events.insert(0, (0, bytes(mido.MetaMessage("track_name", name=inst.name).bytes())))
        tracks.append(_encode_track(events))
    header = _chunk(b"MThd", struct.pack(">hhh", 1, len(tracks), pm.resolution))
    return header + b"".join(tracks)


def write_midi(pm: pretty_midi.PrettyMIDI, path: Path) -> Path:
    path.write_bytes(midi_bytes(pm))
    return path


def read_midi(data: bytes) -> pretty_midi.PrettyMIDI:
    """The :class:`pretty_midi.PrettyMIDI` that reading ``data`` gives. A file as
    :func:`midi_bytes` writes a song is read directly (:func:`_read_song_file`, ~10x faster
    than pretty_midi through mido, the same object to the last float); any other goes through
    pretty_midi."""
    fast = _read_song_file(data)
    if fast is not None:
        return fast
    try:
        return pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # pretty_midi raises many kinds on broken files
        raise RenderError(f"not a readable MIDI file: {exc}") from exc


class _NotOurs(Exception):
    """The file holds something :func:`_read_song_file` leaves to pretty_midi."""


def _parse_tracks(data: bytes) -> tuple[int, list[list[tuple[int, int, bytes]]]]:
    """``(ticks per beat, tracks)``; each track a list of ``(absolute tick, status, data)``
    (meta events: status 0xFF and data = type byte + payload). Raises _NotOurs."""
    if len(data) < 14 or data[:4] != b"MThd" or struct.unpack_from(">L", data, 4)[0] != 6:
        raise _NotOurs
    fmt, n_tracks, division = struct.unpack_from(">hhh", data, 8)
    if fmt != 1 or division <= 0 or n_tracks < 1:
        raise _NotOurs
    pos, tracks = 14, []
    for _ in range(n_tracks):
        if data[pos : pos + 4] != b"MTrk":
            raise _NotOurs
        (size,) = struct.unpack_from(">L", data, pos + 4)
        end = pos + 8 + size
        if end > len(data):
            raise _NotOurs
        i, tick, running, events = pos + 8, 0, 0, []
        while i < end:
            delta = 0
            while True:
                b = data[i]
                i += 1
                delta = (delta << 7) | (b & 0x7F)
                if not b & 0x80:
                    break
            tick += delta
            status = data[i]
            if status == 0xFF:
                length = data[i + 2]
                if length & 0x80:
                    raise _NotOurs
                events.append((tick, 0xFF, data[i + 1 : i + 3 + length]))
                i += 3 + length
                running = 0
                continue
            if status & 0x80:
                i += 1
                running = status
            elif not running:
                raise _NotOurs
            kind = running & 0xF0
            width = 2 if kind in (0x80, 0x90, 0xB0) else 1 if kind == 0xC0 else 0
            if not width or any(b & 0x80 for b in data[i : i + width]):
                raise _NotOurs  # pitch bends, pressure, sysex, a broken data byte ...
            events.append((tick, running, data[i : i + width]))
            i += width
        if i != end or not events:
            raise _NotOurs
        tracks.append(events)
        pos = end
    return division, tracks


def _read_song_file(data: bytes) -> pretty_midi.PrettyMIDI | None:
    """What ``pretty_midi.PrettyMIDI(file)`` makes of a file holding one tempo at tick 0,
    time signatures and track names (track 0), and program changes, control changes and
    notes; None for anything else. Follows pretty_midi 0.2's reading: its tick-to-time
    table, instruments in order of their first finished note (control changes before it
    kept for it), notes in order of their note-offs, a note-off closing every open note of
    its key begun on an earlier tick."""
    try:
        resolution, tracks = _parse_tracks(data)
    except (_NotOurs, IndexError, struct.error):
        return None
    tempi = [ev for ev in tracks[0] if ev[1] == 0xFF and ev[2][0] == 0x51]
    if len(tempi) != 1 or tempi[0][0] != 0 or len(tempi[0][2]) != 5:
        return None
    if any(ev[1] == 0xFF and ev[2][0] not in (0x03, 0x2F, 0x51, 0x58) for tr in tracks for ev in tr):
        return None  # key signatures, lyrics, text ... are pretty_midi's to read
    if any(ev[1] == 0xFF and ev[2][0] in (0x51, 0x58) for tr in tracks[1:] for ev in tr):
        return None
    tempo = int.from_bytes(tempi[0][2][2:5], "big")
    if tempo <= 0:
        return None
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=6e7 / tempo)
    max_tick = max((tr[-1][0] for tr in tracks if tr), default=0) + 1
    if max_tick > pretty_midi.pretty_midi.MAX_TICK:
        return None
    pm._update_tick_to_time(max_tick)
    to_time = pm._PrettyMIDI__tick_to_time
    pm.time_signature_changes = [pretty_midi.TimeSignature(ev[2][2], 2 ** ev[2][3], to_time[ev[0]])
                                 for ev in tracks[0] if ev[1] == 0xFF and ev[2][0] == 0x58]  # fmt: skip
    instruments: dict[tuple[int, int, int], pretty_midi.Instrument] = {}
    for t_idx, track in enumerate(tracks):
        name = ""
        early_ccs: dict[int, list[pretty_midi.ControlChange]] = {}  # per channel, before its first note
        program = np.zeros(16, dtype=int)
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for tick, status, body in track:
            if status == 0xFF:
                if body[0] == 0x03:
                    name = bytes(body[2:]).decode("latin1")
                continue
            ch, kind = status & 0x0F, status & 0xF0
            if kind == 0xC0:
                program[ch] = body[0]
            elif kind == 0x90 and body[1] > 0:
                open_notes.setdefault((ch, body[0]), []).append((tick, body[1]))
            elif kind in (0x80, 0x90):
                opened = open_notes.get((ch, body[0]))
                if opened is None:
                    continue
                close = [(t, v) for t, v in opened if t != tick]
                keep = [(t, v) for t, v in opened if t == tick]
                for start, vel in close:
                    key = (program[ch], ch, t_idx)
                    inst = instruments.get(key)
                    if inst is None:
                        inst = instruments[key] = pretty_midi.Instrument(program[ch], ch == 9, name)
                        inst.control_changes = early_ccs.get(ch, [])
                    inst.notes.append(pretty_midi.Note(vel, body[0], to_time[start], to_time[tick]))
                if close and keep:
                    open_notes[(ch, body[0])] = keep
                else:
                    del open_notes[(ch, body[0])]
            elif kind == 0xB0:
                cc = pretty_midi.ControlChange(body[0], body[1], to_time[tick])
                inst = instruments.get((program[ch], ch, t_idx))
                (inst.control_changes if inst is not None else early_ccs.setdefault(ch, [])).append(cc)
    pm.instruments = list(instruments.values())
    return pm
