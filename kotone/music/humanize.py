"""Humanization that follows the emotion vector: swing, microtiming, velocity arcs, articulation."""

from __future__ import annotations

import numpy as np

from kotone.domain.plan import SongPlan
from kotone.domain.roles import ROLES
from kotone.music.types import Note

PITCHED_LEGATO_ROLES = ("melody", "counter", "harmony", "bass")
# the mood's articulation of the lead, on top of the band's legato
LEAD_ARTICULATION = {"staccato": 0.8, "normal": 1.0, "legato": 1.08}


def humanize(plan: SongPlan, tracks: dict[str, list[Note]]) -> dict[str, list[Note]]:
    """Return new note lists; deterministic given the plan seed."""
    out: dict[str, list[Note]] = {}
    for role, notes in tracks.items():
        # one generator per (section, role): re-generating a section leaves the others untouched
        rngs: dict[int, np.random.Generator] = {}
        res = []
        for n in notes:
            idx = _section_index(plan, n.start)
            if idx not in rngs:
                rngs[idx] = np.random.default_rng([plan.seed, 99, idx, ROLES[role].salt])
            res.append(_humanize_note(plan, role, n, rngs[idx]))
        out[role] = res if role == "drums" else release_before_repeat(res)
    if "fade_out" in plan.effects:
        last = plan.sections[-1]
        t0, t1 = last.start_beat, plan.total_beats
        for role, notes in out.items():
            out[role] = [_scale_vel(n, 1.0 - 0.85 * max(0.0, (n.start - t0) / max(1e-6, t1 - t0))) for n in notes]
    return out


REPEAT_GAP = 0.02  # beats of silence before a pitch is struck again in the same part
DOUBLED_STRIKE = 0.125  # beats: two overlapping strikes of one pitch this close are one note


def release_before_repeat(notes: list[Note]) -> list[Note]:
    """One part's notes as a MIDI channel can play them: a note ends before its pitch is struck
    again, and two overlapping strikes of one pitch a moment apart (a doubled chord tone nudged
    apart by the players) become one note. Otherwise the first note-off in the file cuts the
    later note to a click (a pedal bass lost every other bar, pads lost doubled tones). Notes
    that do not overlap are untouched, so a section boundary never changes anything."""
    out: list[Note | None] = list(notes)
    nxt: dict[int, int] = {}  # pitch -> index of the next kept strike
    after: dict[int, int | None] = {}  # index -> index of the kept strike after it
    for i in sorted(range(len(notes)), key=lambda k: -notes[k].start):
        n = notes[i]
        j = nxt.get(n.pitch)
        follower = j
        if j is not None:
            m = out[j]
            assert m is not None
            if m.start - n.start < DOUBLED_STRIKE and n.start <= m.start < n.end:
                out[j], follower = None, after.get(j)
                n = Note(n.start, max(n.end, m.end) - n.start, n.pitch, max(n.velocity, m.velocity))
            limit = out[follower].start if follower is not None and out[follower] is not None else None
            if limit is not None and n.start < limit < n.end:
                n = Note(n.start, max(0.03, round(limit - REPEAT_GAP - n.start, 4)), n.pitch, n.velocity)
        out[i], after[i], nxt[n.pitch] = n, follower, i
    return [n for n in out if n is not None]


def _section_index(plan: SongPlan, beat: float) -> int:
    for i, s in enumerate(plan.sections):
        if s.start_beat <= beat < s.start_beat + s.bars * plan.beats_per_bar:
            return i
    return len(plan.sections) - 1


def _section_at(plan: SongPlan, beat: float):
    return plan.sections[_section_index(plan, beat)]


def _humanize_note(plan: SongPlan, role: str, n: Note, rng: np.random.Generator) -> Note:
    sec = _section_at(plan, n.start)
    ev = sec.emotion
    start, dur, vel = n.start, n.dur, float(n.velocity)
    # swing: delay off-beat eighths
    frac = start % 1.0
    if plan.swing > 0 and abs(frac - 0.5) < 0.02:
        start += plan.swing * 0.5
        dur = max(0.05, dur - plan.swing * 0.5)
    # microtiming: looser when intimate, tighter when driving
    spread_s = plan.timing_spread if sec.timing_spread is None else sec.timing_spread
    sd = spread_s * (0.7 if role == "drums" else 1.0) * (0.85 + 0.3 * ev.intimacy) * (1.1 - 0.2 * ev.motion)
    start = max(0.0, start + float(rng.normal(0, sd)))
    # velocity: bar-level accent and a phrase arc, range narrower when intimate
    bar_pos = (n.start - sec.start_beat) / plan.beats_per_bar
    arc = np.sin(np.pi * (bar_pos % 4) / 4)
    spread = 6 + 10 * (1 - ev.intimacy)
    vel += spread * (arc - 0.5) + float(rng.normal(0, 3))
    lo, hi = plan.dynamics
    vel = lo + (vel - 1) / 126 * (hi - lo) * 1.25 if role != "drums" else vel
    # articulation; the song's final notes are held to the end whatever the articulation
    held_to_end = n.end >= plan.total_beats - 1e-3
    if role in PITCHED_LEGATO_ROLES and not held_to_end:
        # warm songs are played legato, cool ones detached (notes come in at 0.95 of their slot)
        slot = n.dur / 0.95  # composed notes fill 0.95 of their slot
        legato = plan.legato if sec.legato is None else sec.legato
        dur = min(slot, dur * legato / 0.95)
        if role == "melody":  # the lead never rings into its next note
            dur = min(slot, dur * LEAD_ARTICULATION.get(plan.articulation, 1.0))
    # stay inside the note's own section: sections can then be regenerated independently
    sec_start = sec.start_beat
    sec_end = sec.start_beat + sec.bars * plan.beats_per_bar
    start = min(max(start, sec_start), sec_end - 0.05)
    dur = min(dur, sec_end - start)
    return Note(round(start, 4), max(0.03, round(dur, 4)), n.pitch, min(127, max(1, int(round(vel)))))


def _scale_vel(n: Note, k: float) -> Note:
    return Note(n.start, n.dur, n.pitch, min(127, max(1, int(round(n.velocity * k)))))
