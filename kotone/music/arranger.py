"""Section-local, sequential generation: drums -> bass -> harmony -> pad -> melody -> ..."""

from __future__ import annotations

import numpy as np

from kotone.domain.plan import SectionSpec, SongPlan, TrackSpec
from kotone.domain.theory import scale_pcs
from kotone.music.generators import ROLE_ORDER, generator_for
from kotone.music.generators.melody import realize_motif
from kotone.music.rhythm import anticipate, anticipation_share
from kotone.music.types import ChordSpan, EmotionVector, Note, SectionContext

REGISTER_LIFT = {"mid_high": 4, "high": 7, "mid": 0, "mid_low": -3, "low": -6}

Parts = dict[str, dict[str, list[Note]]]  # section_id -> track_id -> notes


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
        lift = REGISTER_LIFT.get(section.melodic_register, 0) + round(6 * section.emotion.valence)
        lo, hi = lo + lift, min(127, hi + lift)
    ev = section.emotion
    return SectionContext(
        section_id=section.section_id,
        section_type=section.section_type,
        start_beat=section.start_beat,
        bars=section.bars,
        beats_per_bar=plan.beats_per_bar,
        tonic_pc=tonic,
        scale_pcs=scale_pcs(tonic, scale),
        chords=chords,
        emotion=EmotionVector(ev.energy, ev.valence, ev.tension, ev.intimacy, ev.motion),
        density=density,
        register=(lo, hi),
        style_family=plan.style_family,
        groove=plan.groove,
        parts=parts,
        complexity=plan.intent.complexity / 100,
    )


def section_seed(plan_seed: int, section_index: int, role: str, attempt: int = 0) -> int:
    """A stable per-(section, role, attempt) seed, so regenerating one part leaves others alone."""
    return (plan_seed * 1_000_003 + section_index * 7919 + ROLE_ORDER.index(role) * 104_729 + attempt * 15_485_863) % (2**32)


MAX_PASSES = 3
SYNCOPATED_ROLES = ("melody", "counter")  # lines that anticipate beats as complexity rises


def generate_section(plan: SongPlan, index: int, traces: list | None = None) -> dict[str, list[Note]]:
    """Generate one section, then (seed 002) score it and regenerate only the weakest
    dimension's roles, at most MAX_PASSES times; motifs stay locked throughout."""
    from kotone.music.critic import REGENERATE, score_section, weakest

    attempts: dict[str, int] = {}
    made = _generate_roles(plan, index, attempts)
    section = plan.sections[index]
    melody_track = plan.track("melody")
    for _ in range(MAX_PASSES):
        ctx = section_context(plan, section, melody_track or plan.tracks[0], made, 0.5)
        ctx.motif_notes = _motif_notes(plan, section, ctx) if melody_track else []
        scores = score_section(section, ctx, made)
        weak = weakest(scores)
        if weak is None:
            break
        dim, value = weak
        for role in REGENERATE[dim]:
            attempts[role] = attempts.get(role, 0) + 1
        retry = _generate_roles(plan, index, attempts, keep=made, only=set(REGENERATE[dim]))
        new_scores = score_section(section, ctx, retry)
        if traces is not None:
            traces.append({"section_id": section.section_id, "dimension": dim, "before": value,
                           "after": new_scores[dim], "kept": new_scores[dim] > value})
        if new_scores[dim] > value:
            made = retry
    return made


def _motif_notes(plan: SongPlan, section: SectionSpec, ctx: SectionContext) -> list[Note]:
    motifs = {m.motif_id: m for m in plan.motifs}
    vel = int(62 + 40 * section.emotion.energy)
    return [n for use in section.motif_usage for n in realize_motif(motifs[use.motif_id], use, ctx, vel)]


def _generate_roles(plan: SongPlan, index: int, attempts: dict[str, int], keep: dict[str, list[Note]] | None = None,
                    only: set[str] | None = None) -> dict[str, list[Note]]:
    """Generate the section's roles in order; with ``only``, other roles are kept from ``keep``."""
    section = plan.sections[index]
    made: dict[str, list[Note]] = {}
    tracks = {t.role: t for t in plan.tracks}
    for role in ROLE_ORDER:
        track = tracks.get(role)
        behavior = section.track_behaviors.get(role)
        if track is None or behavior is None or not behavior.active:
            continue
        if only is not None and keep is not None and role not in only:
            if role in keep:
                made[role] = list(keep[role])
            continue
        ctx = section_context(plan, section, track, dict(made), behavior.density)
        rng = np.random.default_rng(section_seed(plan.seed, index, role, attempts.get(role, 0)))
        if role == "melody":
            ctx.motif_notes = _motif_notes(plan, section, ctx)
        notes = clip_to_section(generator_for(track, plan).generate(ctx, rng), ctx)
        if role in SYNCOPATED_ROLES:
            sync_rng = np.random.default_rng(section_seed(plan.seed, index, role, attempts.get(role, 0)) ^ 0x5EED)
            notes = anticipate(notes, anticipation_share(ctx.complexity), sync_rng, set(ctx.motif_notes),
                               ctx.start_beat)
        if not track.is_drum:
            notes = resolve_clashes(notes, made, ctx, tracks, set(ctx.motif_notes))
        made[role] = notes
    return made


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
    """All sections, each generated on its own; ``log`` collects the critic's passes."""
    return {s.section_id: generate_section(plan, i, log) for i, s in enumerate(plan.sections)}


def flatten(plan: SongPlan, parts: Parts) -> dict[str, list[Note]]:
    """track role -> all its notes over the song, in time order."""
    out: dict[str, list[Note]] = {t.role: [] for t in plan.tracks}
    for section in plan.sections:
        for role, notes in parts.get(section.section_id, {}).items():
            out.setdefault(role, []).extend(notes)
    for role in out:
        out[role].sort(key=lambda n: (n.start, n.pitch))
    return out


def _clash(a: int, b: int) -> bool:
    return abs(a - b) in (1, 13)


def resolve_clashes(notes: list[Note], made: dict[str, list[Note]], ctx: SectionContext,
                    tracks: dict[str, TrackSpec], locked: set[Note]) -> list[Note]:
    """Keep a new part from grinding a semitone (or minor ninth) against the parts before it.

    A clashing note moves to the nearest chord tone that clashes with nothing; if none fits
    it is dropped. A locked motif note stays, and the earlier part's clashing note yields.
    """
    earlier = [(role, m) for role, ms in made.items() if not tracks[role].is_drum for m in ms]
    lo, hi = ctx.register
    out: list[Note] = []
    for n in notes:
        sounding = [(r, m) for r, m in earlier if m.start < n.end - 0.05 and m.end > n.start + 0.05]
        bad = [(r, m) for r, m in sounding if _clash(m.pitch, n.pitch)]
        if not bad:
            out.append(n)
            continue
        if n in locked:
            for r, m in bad:
                if m in made[r]:
                    made[r].remove(m)
            out.append(n)
            continue
        chord = ctx.chord_at(n.start)
        cands = sorted((p for p in range(max(lo, n.pitch - 7), min(hi, n.pitch + 7) + 1) if p % 12 in chord.pcs),
                       key=lambda p: (abs(p - n.pitch), p))
        for p in cands:
            if not any(_clash(m.pitch, p) for _, m in sounding):
                out.append(Note(n.start, n.dur, p, n.velocity))
                break
    return out
