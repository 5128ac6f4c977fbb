"""Notes in beats -> a pretty_midi multi-track file (seconds), and back for measurement."""

from __future__ import annotations

import io
from pathlib import Path

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
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def write_midi(pm: pretty_midi.PrettyMIDI, path: Path) -> Path:
    path.write_bytes(midi_bytes(pm))
    return path


def read_midi(data: bytes) -> pretty_midi.PrettyMIDI:
    try:
        return pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # pretty_midi raises many kinds on broken files
        raise RenderError(f"not a readable MIDI file: {exc}") from exc
