"""Section-local generation in the order of the ROLES table: the drums, the tune, then the
parts arranged around it (counter, bass, harmony, pad, textures), each kept inside its
instrument's range and below the lead.

A section that returns (a second chorus, the A strain again) brings back its source's tune
note for note, transposed by any key change; its accompaniment is copied too when nothing
about the section differs, and otherwise re-played around the same tune. The song's last
section ends together: the tune on the tonic for the whole last bar, the bass on the tonic,
the final chord held, one last hit from the drums.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np

from kotone.assets import load_catalog
from kotone.domain.cards import StyleMusic
from kotone.domain.plan import SectionSpec, SongPlan, TrackSpec
from kotone.domain.roles import GEN_ORDER, ROLES
from kotone.domain.theory import harmony_scale, nearest_pitch, scale_pcs
from kotone.music import phrases
from kotone.music.generators import generator_for
from kotone.music.generators.harmony import voice_under
from kotone.music.motifs import realize_motif
from kotone.music.orchestration import LEAD_FLOOR, clamp_band, fit_to_range, program_range
from kotone.music.rhythm import anticipate, anticipation_share
from kotone.music.types import ChordSpan, EmotionVector, Note, SectionContext

REGISTER_LIFT = {"mid_high": 3, "high": 6, "mid": 0, "mid_low": -3, "low": -6}
VALENCE_LIFT = 5  # semitones the lead rises (falls) at full valence

Parts = dict[str, dict[str, list[Note]]]  # section_id -> track role -> notes


@lru_cache(maxsize=64)
def style_of(style_id: str) -> StyleMusic:
    return load_catalog().get(style_id).music  # type: ignore[return-value]


def motif_cells(plan: SongPlan) -> tuple[tuple[float, ...], ...]:
    """The tune's bar rhythms: each motif's inter-onset times cut at the bar lines."""
    out: list[tuple[float, ...]] = []
    for m in plan.motifs:
        bar: list[float] = []
        acc = 0.0
        for d in m.rhythm_pattern:
            bar.append(d)
            acc += d
            if abs(acc - plan.beats_per_bar) < 1e-6:
                out.append(tuple(bar))
                bar, acc = [], 0.0
            elif acc > plan.beats_per_bar:
                bar, acc = [], 0.0
    return tuple(dict.fromkeys(out))


def section_context(plan: SongPlan, section: SectionSpec, track: TrackSpec,
                    parts: dict[str, list[Note]], density: float) -> SectionContext:
    shift = section.tonic_shift
    tonic, scale = plan.section_scale(section)
    chords = [
        ChordSpan(start=section.start_beat + c.beat, dur=c.beats, root_pc=(c.root_pc + shift) % 12,
                  pcs=tuple((p + shift) % 12 for p in c.pcs), symbol=c.symbol, degree=c.degree)
        for c in section.chords
    ]
    lo, hi = track.low, track.high
    if track.role == "melody":
        lift = REGISTER_LIFT.get(section.melodic_register, 0) + round(VALENCE_LIFT * section.emotion.valence)
        lift = max(lift, LEAD_FLOOR - (lo + hi) // 2)  # a dark section sits lower, its centre never under D4
        lo, hi = clamp_band(lo + lift, hi + lift, track.program)
    style = style_of(plan.cards["style"])
    ev = section.emotion
    return SectionContext(
        section_id=section.section_id, section_type=section.section_type, start_beat=section.start_beat,
        bars=section.bars, beats_per_bar=plan.beats_per_bar, tonic_pc=tonic, scale_pcs=scale_pcs(tonic, scale),
        chords=chords, emotion=EmotionVector(ev.energy, ev.valence, ev.tension, ev.intimacy, ev.motion),
        density=density, register=(lo, hi), style_family=plan.style_family, groove=plan.groove, parts=parts,
        complexity=plan.intent.complexity / 100, harmony_pcs=scale_pcs(tonic, harmony_scale(scale)),
        compound=plan.meter == "6/8", grid=style.melody_grid, cells=motif_cells(plan),
        blue_notes=style.dominant_sevenths, final=section is plan.sections[-1], effects=tuple(plan.effects),
        bass_style=plan.bass_style,
    )


def _cards_salt(plan: SongPlan) -> int:
    return zlib.crc32("|".join(plan.cards[s] for s in sorted(plan.cards)).encode())


def section_seed(plan: SongPlan, section_index: int, role: str, attempt: int = 0) -> int:
    """A stable per-(cards, section, role, attempt) seed: regenerating one part leaves the others alone."""
    return (plan.seed * 1_000_003 + _cards_salt(plan) + section_index * 7919 + ROLES[role].salt * 104_729
            + attempt * 15_485_863) % (2**32)


MAX_PASSES = 3


def generate_section(plan: SongPlan, index: int, traces: list | None = None, done: Parts | None = None
                     ) -> dict[str, list[Note]]:
    """One section. A return copies its source from ``done``; otherwise (seed 002) generate,
    score, and regenerate only the weakest dimension's roles, at most MAX_PASSES times."""
    from kotone.music.critic import regenerate_roles, score_section, weakest

    section = plan.sections[index]
    if section.repeat_of is not None and done is not None and section.repeat_of in done:
        return _repeat(plan, index, done[section.repeat_of])
    attempts: dict[str, int] = {}
    made = _generate_roles(plan, index, attempts)
    melody_track = plan.track("melody")
    for _ in range(MAX_PASSES):
        ctx = section_context(plan, section, melody_track or plan.tracks[0], made, 0.5)
        scores = score_section(section, ctx, made)
        weak = weakest(scores)
        if weak is None:
            break
        dim, value = weak
        roles = regenerate_roles(dim)
        for role in roles:
            attempts[role] = attempts.get(role, 0) + 1
        retry = _generate_roles(plan, index, attempts, keep=made, only=set(roles))
        new_scores = score_section(section, ctx, retry)
        if traces is not None:
            traces.append({"section_id": section.section_id, "dimension": dim, "before": value,
                           "after": new_scores[dim], "kept": new_scores[dim] > value})
        if new_scores[dim] > value:
            made = retry
    return made


def _repeat(plan: SongPlan, index: int, source_parts: dict[str, list[Note]]) -> dict[str, list[Note]]:
    section = plan.sections[index]
    src = plan.section(section.repeat_of or "")
    dt = section.start_beat - src.start_beat
    shift = section.tonic_shift - src.tonic_shift
    moved = {role: [Note(round(n.start + dt, 4), n.dur, n.pitch + (shift if ROLES[role].pitched else 0), n.velocity)
                    for n in notes] for role, notes in source_parts.items()}
    same = (section.emotion == src.emotion and section.track_behaviors == src.track_behaviors
            and section.chords == src.chords and shift == 0)
    if same:
        return moved
    tune = {"melody": moved["melody"]} if "melody" in moved else {}
    return _generate_roles(plan, index, {}, fixed=tune)


def melody_frame(plan: SongPlan, section: SectionSpec, ctx: SectionContext) -> tuple[list[Note], list]:
    """The tune's fixed notes (motifs and cadences) and the spans a generator fills."""
    motifs = {m.motif_id: m for m in plan.motifs}
    vel = int(62 + 40 * section.emotion.energy)
    ideas = sorted((n for use in section.motif_usage if use.motif_id in motifs
                    for n in realize_motif(motifs[use.motif_id], use, ctx, vel)), key=lambda n: n.start)
    lay = phrases.layout(section.section_type, section.bars, plan.beats_per_bar, compound=ctx.compound,
                         final=ctx.final, pickups="call_response" not in plan.effects)
    cads = phrases.cadence_notes(lay, ctx, ideas, vel)
    locked: list[Note] = []
    for n in sorted(ideas + cads, key=lambda n: n.start):
        if locked and locked[-1].end > n.start + 1e-6:  # an idea never runs into the cadence
            prev = locked[-1]
            locked[-1] = Note(prev.start, round(max(0.1, n.start - prev.start), 4), prev.pitch, prev.velocity)
        locked.append(n)
    spans = [(ctx.start_beat + a, ctx.start_beat + b) for a, b in lay.fills]
    return locked, spans


def theme_for_intro(plan: SongPlan, section: SectionSpec, ctx: SectionContext) -> list[Note]:
    """The main theme's idea over the intro's chords (the music box's prelude)."""
    from kotone.domain.plan import MotifUse

    if not plan.motifs:
        return []
    m = plan.motifs[0]
    starts = [0.0, m.duration_beats] if section.bars * plan.beats_per_bar >= 2 * m.duration_beats else [0.0]
    return [n for b in starts for n in realize_motif(m, MotifUse(motif_id=m.motif_id, beat=b), ctx, 58)]


def _generate_roles(plan: SongPlan, index: int, attempts: dict[str, int], keep: dict[str, list[Note]] | None = None,
                    only: set[str] | None = None, fixed: dict[str, list[Note]] | None = None) -> dict[str, list[Note]]:
    """Generate the section's roles in order; with ``only``, other roles are kept from ``keep``;
    roles in ``fixed`` are taken as given."""
    section = plan.sections[index]
    made: dict[str, list[Note]] = {}
    tracks = {t.role: t for t in plan.tracks}
    for role in generation_order(plan):
        track = tracks.get(role)
        behavior = section.track_behaviors.get(role)
        if track is None or behavior is None or not behavior.active:
            continue
        if fixed and role in fixed:
            made[role] = list(fixed[role])
            continue
        if only is not None and keep is not None and role not in only:
            if role in keep:
                made[role] = list(keep[role])
            continue
        ctx = section_context(plan, section, track, dict(made), behavior.density)
        seed = section_seed(plan, index, role, attempts.get(role, 0))
        rng = np.random.default_rng(seed)
        if role == "melody":
            ctx.motif_notes, ctx.fill_spans = melody_frame(plan, section, ctx)
        elif role == "texture" and "music_box_intro" in plan.effects:
            ctx.motif_notes = theme_for_intro(plan, section, ctx)
        notes = clip_to_section(generator_for(track, plan).generate(ctx, rng), ctx)
        if role == "melody":
            notes = keep_in_spans(notes, ctx)
        if role == "melody" or (role == "counter" and not {"canon", "call_response"} & set(plan.effects)):
            # richer songs push more of their lines' on-beat notes half a beat early
            notes = anticipate(notes, anticipation_share(ctx.complexity), np.random.default_rng(seed ^ 0x5EED),
                               set(ctx.motif_notes), ctx.start_beat)
        made[role] = place(notes, track, made, ctx, tracks)
    if section is plan.sections[-1]:
        made = close_song(plan, section, made, tracks)
    return made


def generation_order(plan: SongPlan) -> tuple[str, ...]:
    """The ROLES table's order; a drone is laid down right after the tune, before the parts
    that move over it (they then keep clear of it)."""
    if "drone" not in plan.effects:
        return GEN_ORDER
    rest = [r for r in GEN_ORDER if r != "texture"]
    at = rest.index("melody") + 1
    return (*rest[:at], "texture", *rest[at:])


def keep_in_spans(notes: list[Note], ctx: SectionContext) -> list[Note]:
    """The fixed notes plus generated notes that start inside a fill span (an expert decodes
    the whole section; only its fills are kept, the rests stay rests)."""
    locked = set(ctx.motif_notes)
    return [n for n in notes if n in locked or any(a - 1e-6 <= n.start < b - 1e-6 for a, b in ctx.fill_spans)]


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
    if is_pedal(track, ctx):  # a pedal holds its tone whatever moves above it
        return notes
    return resolve_clashes(notes, made, ctx, tracks, lead if info.accompanies else [], (lo, hi),
                           move=track.role != "texture" and not exact, octaves=track.role in ("harmony", "pad"),
                           protect_roots=track.role == "bass")


def is_pedal(track: TrackSpec, ctx: SectionContext) -> bool:
    return (track.role == "bass" and ctx.bass_style == "pedal") or (track.role == "texture" and "drone" in ctx.effects)


def below_lead(notes: list[Note], lead: list[Note], low: int, drop: bool = False) -> list[Note]:
    """Every note under the lowest lead note sounding with it (an octave down, or left out;
    with ``drop``, always left out)."""
    out, seen = [], set()
    for n in notes:
        over = [m.pitch for m in lead if m.start < n.end - 0.02 and m.end > n.start + 0.02]
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


def clip_to_section(notes: list[Note], ctx: SectionContext) -> list[Note]:
    end = ctx.end_beat
    out = []
    for n in notes:
        if n.start < ctx.start_beat - 1e-6 or n.start >= end - 1e-6:
            continue
        dur = min(n.dur, end - n.start)
        if dur > 0.01:
            out.append(n if dur == n.dur else Note(n.start, dur, n.pitch, n.velocity))
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


def arrange(plan: SongPlan, log: list | None = None) -> Parts:
    """All sections in order, each generated on its own (returns copy their source);
    ``log`` collects the critic's passes."""
    parts: Parts = {}
    for i, s in enumerate(plan.sections):
        parts[s.section_id] = generate_section(plan, i, log, parts)
    return parts


def flatten(plan: SongPlan, parts: Parts) -> dict[str, list[Note]]:
    """track role -> all its notes over the song, in time order."""
    out: dict[str, list[Note]] = {t.role: [] for t in plan.tracks}
    for section in plan.sections:
        for role, notes in parts.get(section.section_id, {}).items():
            out.setdefault(role, []).extend(notes)
    for role in out:
        out[role].sort(key=lambda n: (n.start, n.pitch))
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
    earlier = [m for role, ms in made.items() if ROLES[role].pitched and not tracks[role].is_drum for m in ms]
    lo, hi = max(ctx.register[0], rng_[0]), min(ctx.register[1], rng_[1])
    out: list[Note] = []
    roots = {round(c.start, 3) for c in ctx.chords} if protect_roots else set()
    for n in notes:
        # a passing rub is music; a semitone held together for half a beat or more is a clash
        sounding = [m for m in earlier if min(m.end, n.end) - max(m.start, n.start) >= CLASH_OVERLAP]
        if not any(_clash(m.pitch, n.pitch) for m in sounding) or round(n.start, 3) in roots:
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
            if not any(_clash(m.pitch, p) for m in sounding):
                out.append(Note(n.start, n.dur, p, n.velocity))
                break
    return out
