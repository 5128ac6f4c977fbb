"""Section-local generation in the order of the ROLES table: the drums, the tune, then the
parts arranged around it (counter, bass, harmony, pad, textures), each fitted into the band
by ``placement`` (inside its instrument's range, below the lead).

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
from kotone.music.motifs import realize_motif
from kotone.music.orchestration import LEAD_FLOOR, clamp_band, fit_to_range, program_range
from kotone.music.placement import close_song, place
from kotone.music.rhythm import anticipate, anticipation_share
from kotone.music.types import ChordSpan, EmotionVector, Note, SectionContext

REGISTER_LIFT = {"mid_high": 3, "high": 6, "mid": 0, "mid_low": -3, "low": -6}
VALENCE_LIFT = 8  # semitones the lead rises (falls) at full valence

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
        lift = max(lift, LEAD_FLOOR - (lo + hi) // 2)  # a dark section sits lower, its centre never under C4
        lo, hi = clamp_band(lo + lift, hi + lift, track.program)
        rise = max((s.tonic_shift - section.tonic_shift for s in plan.sections if s.repeat_of == section.section_id),
                   default=0)
        if rise > 0:  # room for a later key change to lift this tune
            hi -= rise
            lo = max(program_range(track.program)[0], min(lo, hi - 12))
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
        roles = with_dependents(regenerate_roles(dim), plan)
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


def with_dependents(roles: tuple[str, ...], plan: SongPlan) -> tuple[str, ...]:
    """A new take of the tune means new takes of every part arranged under it."""
    if "melody" not in roles:
        return roles
    order = generation_order(plan)
    return tuple(dict.fromkeys([*roles, *order[order.index("melody") + 1:]]))


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
    lead = plan.track("melody")
    tune = {"melody": fit_to_range(moved["melody"], *program_range(lead.program))} if "melody" in moved and lead else {}
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


def downbeat_roots(ctx: SectionContext) -> list[Note]:
    """A root on every downbeat, fixed for a bass expert to play between (a bar never waits
    for its bass)."""
    lo, hi = ctx.register
    center = min(hi - 5, (lo + hi) // 2 - 2)
    vel = int(55 + 45 * ctx.emotion.energy)
    out = []
    for b in range(ctx.bars):
        t = ctx.start_beat + b * ctx.beats_per_bar
        out.append(Note(t, 1.0, nearest_pitch(ctx.chord_at(t).root_pc, center, lo, hi), vel))
    return out


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
        elif role == "bass" and track.generator != "rule":
            ctx.motif_notes = downbeat_roots(ctx)
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


