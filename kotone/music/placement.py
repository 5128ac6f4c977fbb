"""Placement: the one place every generated part is fitted into the band. Each part is kept
inside its instrument's playable range, under the tune when it accompanies, and clear of
held semitone clashes with the parts made before it; the song's last bar ends together.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from kotone.domain.plan import SectionSpec, SongPlan, TrackSpec
from kotone.domain.roles import ROLES
from kotone.domain.theory import nearest_pitch
from kotone.music.generators.harmony import voice_under
from kotone.music.orchestration import fit_to_range, program_range
from kotone.music.types import Note, SectionContext


def place(notes: list[Note], track: TrackSpec, made: dict[str, list[Note]], ctx: SectionContext,
          tracks: dict[str, TrackSpec]) -> list[Note]:
    """The one place every part is fitted: inside its instrument's range, below the lead when it
    accompanies, and clear of semitone clashes with the parts already made."""
    info = ROLES[track.role]
    if not info.pitched or track.is_drum:
        return notes
    lo, hi = program_range(track.program)
    # a canon imitates the lead exactly: a note that cannot stay in range or under it is left out
    exact = track.role == "counter" and "canon" in ctx.effects
    notes = [n for n in notes if lo <= n.pitch <= hi] if exact else fit_to_range(notes, lo, hi)
    lead = made.get("melody", [])
    if info.accompanies and lead:
        notes = below_lead(notes, lead, lo, drop=exact)
    if is_pedal(track, ctx):  # a pedal holds its tone: at most it takes another octave
        return pedal_octaves(notes, made, lo, hi)
    return resolve_clashes(notes, made, ctx, tracks, lead if info.accompanies else [], (lo, hi),
                           move=track.role != "texture" and not exact, octaves=track.role in ("harmony", "pad"),
                           protect_roots=track.role == "bass")


def pedal_octaves(notes: list[Note], made: dict[str, list[Note]], lo: int, hi: int) -> list[Note]:
    """A held tone that would rub a semitone (or a minor ninth) against what sounds with it
    moves an octave; where no octave is clear it stays (a pedal does not give way)."""
    others = [m for role, ms in made.items() if ROLES[role].pitched for m in ms]
    out = []
    for n in notes:
        sounding = [m.pitch for m in others if min(m.end, n.end) - max(m.start, n.start) > 0.05]
        for q in (n.pitch, n.pitch - 12, n.pitch + 12):
            if lo <= q <= hi and not any(_clash(q, m) for m in sounding):
                break
        else:
            q = n.pitch
        out.append(n if q == n.pitch else Note(n.start, n.dur, q, n.velocity))
    return out


def is_pedal(track: TrackSpec, ctx: SectionContext) -> bool:
    return (track.role == "bass" and ctx.bass_style == "pedal") or (track.role == "texture" and "drone" in ctx.effects)


def below_lead(notes: list[Note], lead: list[Note], low: int, drop: bool = False) -> list[Note]:
    """Every note under the lowest lead note sounding with it (an octave down, or left out;
    with ``drop``, always left out)."""
    out, seen = [], set()
    spans = sorted((m.start, m.end, m.pitch) for m in lead)
    starts = [m[0] for m in spans]
    longest = max((e - s for s, e, _ in spans), default=0.0)
    for n in notes:
        # only lead notes starting within ``longest`` before n and before its end can sound with it
        window = spans[bisect_right(starts, n.start + 0.02 - longest - 1e-6):bisect_left(starts, n.end - 0.02)]
        over = [m[2] for m in window if m[0] < n.end - 0.02 and m[1] > n.start + 0.02]
        p = n.pitch
        if over:
            while p >= min(over) and p - 12 >= low and not drop:
                p -= 12
            if p >= min(over):
                continue
        if (n.start, p) in seen:
            continue
        seen.add((n.start, p))
        out.append(n if p == n.pitch else Note(n.start, n.dur, p, n.velocity))
    return out


def close_song(plan: SongPlan, section: SectionSpec, made: dict[str, list[Note]],
               tracks: dict[str, TrackSpec]) -> dict[str, list[Note]]:
    """The last bar: the tune's tonic held (set by its cadence), the bass on the tonic, the
    final chord held under the lead, the counter on a chord tone; nothing starts after it."""
    end = section.start_beat + section.bars * plan.beats_per_bar
    last = end - plan.beats_per_bar
    tonic = plan.end_tonic_pc
    final = section.chords[-1]
    shift = section.tonic_shift
    pcs = tuple((p + shift) % 12 for p in final.pcs)
    lead = made.get("melody", [])
    top = min((n.pitch for n in lead if n.end > last + 1e-6), default=127)
    out = dict(made)
    for role, notes in made.items():
        if role in ("drums", "percussion", "melody"):
            continue
        track = tracks[role]
        lo, hi = program_range(track.program)
        lo, hi = max(lo, track.low), min(hi, track.high)
        kept = [n if n.end <= last + 1e-6 else Note(n.start, round(last - n.start, 4), n.pitch, n.velocity)
                for n in notes if n.start < last - 1e-6 and last - n.start > 0.05]
        ref = kept[-1].pitch if kept else (lo + hi) // 2
        vel = max((n.velocity for n in notes), default=60)
        dur = round(end - last, 4)
        if role == "bass":
            kept.append(Note(last, dur, nearest_pitch(tonic, ref, lo, hi), vel))
        elif role in ("harmony", "pad"):
            kept += [Note(last, dur, p, max(1, vel - 8)) for p in voice_under(pcs, min(top - 1, hi), lo, hi, None, True)]
        elif role == "counter":
            p = nearest_pitch(pcs[1] if len(pcs) > 1 else pcs[0], min(ref, top - 3), lo, min(hi, top - 1))
            if p < top:
                kept.append(Note(last, dur, p, max(1, vel - 10)))
        elif role == "texture" and "drone" in plan.effects:  # the drone holds through the end
            kept += [Note(last, dur, p, n.velocity) for p, n in {n.pitch: n for n in notes}.items()]
        out[role] = kept
    return out


CLASH_OVERLAP = 0.45  # beats two notes must sound together for a semitone between them to count


def _clash(a: int, b: int) -> bool:
    return abs(a - b) in (1, 13)


def resolve_clashes(notes: list[Note], made: dict[str, list[Note]], ctx: SectionContext,
                    tracks: dict[str, TrackSpec], lead: list[Note], rng_: tuple[int, int], move: bool = True,
                    octaves: bool = False, protect_roots: bool = False) -> list[Note]:
    """A part made later never grinds a semitone (or minor ninth) against the parts made
    before it: a clashing note moves to the nearest chord tone that clashes with nothing and
    stays under the lead (a chord's note first tries the same tone an octave away, keeping
    its colour), else it is left out (an ornament is only ever left out). The tune is made
    first and never moves; nor does a bass note that starts a chord (``protect_roots``)."""
    earlier = sorted((m.start, m.end, m.pitch) for role, ms in made.items()
                     if ROLES[role].pitched and not tracks[role].is_drum for m in ms)
    starts = [m[0] for m in earlier]
    longest = max((e - s for s, e, _ in earlier), default=0.0)
    lo, hi = max(ctx.register[0], rng_[0]), min(ctx.register[1], rng_[1])
    out: list[Note] = []
    roots = {round(c.start, 3) for c in ctx.chords} if protect_roots else set()
    for n in notes:
        # a passing rub is music; a semitone held together for half a beat or more is a clash
        # (only notes starting within ``longest`` before n and before its end can overlap it)
        n_start, n_end = n.start, n.end
        window = earlier[bisect_right(starts, n_start - longest - 1e-6):bisect_left(starts, n_end)]
        sounding = [m for m in window if min(m[1], n_end) - max(m[0], n_start) >= CLASH_OVERLAP]
        if not any(_clash(m[2], n.pitch) for m in sounding) or round(n.start, 3) in roots:
            out.append(n)
            continue
        if not move:
            continue
        over = [m.pitch for m in lead if m.start < n.end - 0.02 and m.end > n.start + 0.02]
        cap = min(over) - 1 if over else hi
        chord = ctx.chord_at(n.start)
        # the same tone an octave or two away first (a seventh kept clear of the tune), then
        # the nearest other chord tone
        same = [n.pitch + d for d in (-12, 12, -24, 24) if lo <= n.pitch + d <= min(hi, cap)] if octaves else []
        cands = same + sorted((p for p in range(max(lo, n.pitch - 7), min(hi, cap, n.pitch + 7) + 1)
                               if p % 12 in chord.pcs), key=lambda p: (abs(p - n.pitch), p))
        for p in cands:
            if not any(_clash(m[2], p) for m in sounding):
                out.append(Note(n.start, n.dur, p, n.velocity))
                break
    return out
