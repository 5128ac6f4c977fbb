"""Refinement commands (seed 002): words -> emotion deltas on named sections -> only those
sections are regenerated -> a musical diff of what changed and what was kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kotone.assets import load_catalog
from kotone.domain.errors import InvalidInputError
from kotone.domain.plan import EmotionVec, IntentTrace, SongPlan, TraceFactor
from kotone.domain.refine_words import parse_words
from kotone.domain.theory import added_tone, build_chord, chord_symbol, harmony_scale, is_seventh_chord
from kotone.music.arranger import Parts, generate_section
from kotone.music.orchestration import retimbre
from kotone.music.planner import role_density
from kotone.music.timbre import KIT_PROGRAMS, program_name
from kotone.music.types import Note

MODE_PROGRESSIONS = {"dark": (1, 6, 4, 5), "bright": (1, 4, 5, 1)}
WESTERN_BRIGHTISH = {"major", "lydian", "mixolydian", "dorian", "pentatonic_major"}
WESTERN_DARKISH = {"minor", "dorian", "phrygian", "harmonic_minor", "pentatonic_minor", "blues_minor", "mixolydian"}
# how the players answer the asked qualities, per step: warmth binds the notes, nostalgia (and,
# a little, acoustic players) loosens the timing off the grid; modern/electronic tightens it
LEGATO_STEP = 0.12
LEGATO_RANGE = (0.15, 0.98)
SPREAD_STEP = {"nostalgia": 0.008, "acousticness": 0.003}
SPREAD_RANGE = (0.002, 0.04)


@dataclass
class RefineRequest:
    command: str
    delta: dict[str, float]  # section emotion deltas (energy, valence, tension, intimacy, motion)
    sections: list[str]  # section ids; all sections when the words name none
    matched: list[str] = field(default_factory=list)  # understood, e.g. ["warmer", "a bit sadder"]
    dims: dict[str, float] = field(default_factory=dict)  # asked direction per game dimension, -1.5..1.5
    unknown: list[str] = field(default_factory=list)  # words that were not understood


def parse_command(text: object, plan: SongPlan) -> RefineRequest:
    """Read a refinement request (see ``kotone.domain.refine_words``); nothing understood or a
    section the song does not have gives a clear error."""
    words = parse_words(text)
    kinds = set(words.section_kinds)
    present = {s.section_type for s in plan.sections}
    missing = kinds - present
    if missing:
        raise InvalidInputError(f"this song has no {', '.join(sorted(missing))}; its sections are "
                                f"{', '.join(s.section_type for s in plan.sections)}")
    sections = [s.section_id for s in plan.sections if not kinds or s.section_type in kinds]
    return RefineRequest(command=" ".join(str(text).split()), delta=words.delta, sections=sections,
                         matched=words.matched, dims=words.dims, unknown=words.unknown)


def apply_refinement(plan: SongPlan, parts: Parts, req: RefineRequest) -> tuple[SongPlan, Parts]:
    """A new plan with the emotion deltas applied to the named sections, and parts in which
    only those sections are regenerated (every other section is carried over as is)."""
    new = plan.model_copy(deep=True)
    cat = load_catalog()
    style = cat.get(plan.cards["style"]).music
    traces: list[IntentTrace] = []
    if set(req.sections) == {s.section_id for s in new.sections}:  # instruments play the whole song
        _retune_instruments(new, req, traces)
    for s in new.sections:
        if s.section_id not in req.sections:
            continue
        before = s.emotion
        s.emotion = EmotionVec(**{k: round(v, 3) for k, v in before.shifted(**req.delta).model_dump().items()})
        _retune_behaviors(s)
        _retune_feel(new, s, req.dims)
        if req.dims.get("complexity"):
            _retune_sevenths(new, s, req.dims["complexity"] > 0, style)
        if abs(req.delta.get("valence", 0.0)) >= 0.3:
            _retune_mode(new, s, style.scales, "dark" if req.delta["valence"] < 0 else "bright", traces)
        traces.append(IntentTrace(
            decision_type="refinement_target", section_id=s.section_id,
            decision=f"“{req.command}”: regenerated the {s.section_type}",
            because=[TraceFactor(factor=f"emotion.{k}", value=f"{getattr(before, k):.2f} → {getattr(s.emotion, k):.2f}",
                                 implication="asked for in words", weight=min(1.0, abs(v)))
                     for k, v in req.delta.items()],
            principle="Refine surgically: change only what was asked, keep the rest note for note.",
        ))
    new.traces = [*new.traces, *traces]
    new_parts = {sid: ({r: list(n) for r, n in p.items()}) for sid, p in parts.items()}
    for i, s in enumerate(new.sections):
        if s.section_id in req.sections:  # in order: a returning chorus brings back its refined source
            new_parts[s.section_id] = generate_section(new, i, done=new_parts)
    return new, new_parts


def _retune_instruments(plan: SongPlan, req: RefineRequest, traces: list[IntentTrace]) -> None:
    """Warmer, more acoustic, more nostalgic (or the opposite) over the whole song: swap the
    instruments that answer it best among the card's and the style's own (notes unchanged)."""
    cat = load_catalog()
    music = {slot: cat.get(plan.cards[slot]).music for slot in ("style", "instrument", "gimmick")}
    tracks = list(plan.tracks)
    swaps = retimbre(tracks, music["style"], music["instrument"], music["gimmick"], req.dims)
    if not swaps:
        return
    plan.tracks = tracks
    traces.append(IntentTrace(
        decision_type="orchestration", decision="; ".join(
            f"the {role} moves from {_sound_name(role, a)} to {_sound_name(role, b)}" for role, a, b in swaps),
        because=[TraceFactor(factor=f"refine.{d}", value=f"{v:+.1f}", implication="asked for in words",
                             weight=min(1.0, abs(v))) for d, v in req.dims.items() if v],
        principle="An instrument is heard in the whole song: swap among the idiomatic ones, keep every note.",
    ))


def _sound_name(role: str, program: int) -> str:
    if role == "drums":
        return next((f"the {k} kit" for k, p in KIT_PROGRAMS.items() if p == program and k != "hand"), "a drum kit")
    return program_name(program)


def _retune_feel(plan: SongPlan, s, dims: dict[str, float]) -> None:
    """The players of this section: warmer binds the notes (legato), colder detaches them; more
    nostalgic (and a little more acoustic) plays off the grid, more modern (electronic) on it."""
    if dims.get("warmth"):
        base = plan.legato if s.legato is None else s.legato
        s.legato = round(float(np.clip(base + LEGATO_STEP * dims["warmth"], *LEGATO_RANGE)), 3)
    shift = sum(step * dims.get(d, 0.0) for d, step in SPREAD_STEP.items())
    if shift:
        base = plan.timing_spread if s.timing_spread is None else s.timing_spread
        s.timing_spread = round(float(np.clip(base + shift, *SPREAD_RANGE)), 4)


def _retune_sevenths(plan: SongPlan, s, richer: bool, style) -> None:
    """Richer: triads take their 7th (or added 6th) from the scale; simpler: 7ths are dropped.
    The song's final tonic keeps the style's choice, and a blues keeps its dominant sevenths."""
    tonic, scale = plan.section_scale(s)
    parent = harmony_scale(scale)
    for k, ch in enumerate(s.chords):
        final = s is plan.sections[-1] and k == len(s.chords) - 1
        if final and not style.final_seventh:
            continue
        if richer and len(ch.pcs) == 3:
            rel = tuple((p - tonic) % 12 for p in ch.pcs)
            tone = added_tone(parent, rel)
            if tone is None:
                continue
            pcs = [*ch.pcs, (tonic + tone) % 12]
        elif not richer and len(ch.pcs) > 3 and is_seventh_chord(set(ch.pcs)):
            dominant = (ch.pcs[1] - ch.pcs[0]) % 12 == 4 and (ch.pcs[3] - ch.pcs[0]) % 12 == 10
            if style.dominant_sevenths and dominant:
                continue
            pcs = ch.pcs[:3]
        else:
            continue
        ch.pcs, ch.symbol = pcs, chord_symbol(ch.root_pc, tuple(pcs), len(pcs) > 3)


def _retune_behaviors(s) -> None:
    for role, b in s.track_behaviors.items():
        if role in ("drums", "bass", "melody"):
            b.density = role_density(role, s.emotion)
        if role == "drums" and s.section_type in ("intro", "outro") and s.emotion.energy < 0.25:
            b.active = False


def _retune_mode(plan: SongPlan, s, scales, bucket: str, traces: list[IntentTrace]) -> None:
    """A section asked to be clearly sadder (happier) moves to the style's dark (bright) scale."""
    current = s.scale or plan.scale
    v = s.emotion.valence
    target = getattr(scales, bucket)
    # Western modes read ambiguously (C dorian sounds like Bb major): go all the way
    if bucket == "dark" and target in WESTERN_BRIGHTISH:
        target = "minor"
    if bucket == "bright" and target in WESTERN_DARKISH:
        target = "major"
    if target == current:
        return
    tonic = (plan.tonic_pc + s.tonic_shift) % 12
    s.scale = target
    # lean the harmony on the new tonic so the mode is heard: i-VI-iv-v / I-IV-V-I
    cycle = MODE_PROGRESSIONS[bucket]
    for k, ch in enumerate(s.chords):
        degree = cycle[k % len(cycle)] if k < len(s.chords) - 1 or bucket == "bright" else 1
        root, pcs, symbol = build_chord(tonic, harmony_scale(target), degree, len(ch.pcs) > 3)
        ch.degree, ch.root_pc, ch.pcs, ch.symbol = degree, root, list(pcs), symbol
    traces.append(IntentTrace(
        decision_type="scale_choice", section_id=s.section_id,
        decision=(f"The {s.section_type} moves from {current.replace('_', ' ')} to {target.replace('_', ' ')}, "
                  f"its chords leaning on the new tonic"),
        because=[TraceFactor(factor="emotion.valence", value=f"{v:+.2f}", implication=f"leans {bucket}", weight=1.0)],
        principle="Minor-like scales read as sadder, major-like ones as happier.",
    ))


def _played(plan: SongPlan, s, key: str) -> float:
    """A section's legato or timing spread as played (its own, else the song's)."""
    own = getattr(s, key)
    return float(getattr(plan, key) if own is None else own)


def _stats(notes: list[Note]) -> dict[str, float]:
    if not notes:
        return {"notes": 0, "mean_pitch": 0.0, "mean_velocity": 0.0}
    return {"notes": len(notes), "mean_pitch": round(float(np.mean([n.pitch for n in notes])), 1),
            "mean_velocity": round(float(np.mean([n.velocity for n in notes])), 1)}


def musical_diff(old: SongPlan, old_parts: Parts, new: SongPlan, new_parts: Parts,
                 old_measured: dict[str, float], new_measured: dict[str, float],
                 old_midi=None, new_midi=None) -> dict:
    """What changed and what was kept, per section and track, plus the measured six dims
    (of the whole song, and of each changed section measured on its own)."""
    from kotone.music.measure import measure_span

    spb = 60.0 / old.tempo_bpm
    instruments = [{"role": a.role, "before": _sound_name(a.role, a.program), "after": _sound_name(b.role, b.program)}
                   for a, b in zip(old.tracks, new.tracks, strict=True) if a.program != b.program]
    sections = []
    for so, sn in zip(old.sections, new.sections, strict=True):
        po, pn = old_parts.get(so.section_id, {}), new_parts.get(sn.section_id, {})
        tracks = {}
        for role in sorted(set(po) | set(pn)):
            a, b = po.get(role, []), pn.get(role, [])
            same = a == b
            kept = len(set(a) & set(b))
            tracks[role] = {"identical": same, "kept_notes": kept, "before": _stats(a), "after": _stats(b)}
        emotion = {k: [getattr(so.emotion, k), getattr(sn.emotion, k)]
                   for k in EmotionVec.model_fields if getattr(so.emotion, k) != getattr(sn.emotion, k)}
        chords = [c.symbol for c in so.chords], [c.symbol for c in sn.chords]
        feel = {k: [_played(old, so, k), _played(new, sn, k)] for k in ("legato", "timing_spread")
                if _played(old, so, k) != _played(new, sn, k)}
        changed = any(not t["identical"] for t in tracks.values()) or bool(feel) or bool(instruments)
        span_measured = None
        if changed and old_midi is not None and new_midi is not None:
            t0, t1 = so.start_beat * spb, (so.start_beat + so.bars * old.beats_per_bar) * spb
            a, b = measure_span(old_midi, t0, t1), measure_span(new_midi, t0, t1)
            span_measured = {d: [round(getattr(a, d), 1), round(getattr(b, d), 1)] for d in a.as_dict()}
        sections.append({
            "section": so.section_id, "changed": changed, "measured": span_measured,
            "emotion": emotion, "chords": None if chords[0] == chords[1] else {"before": chords[0], "after": chords[1]},
            "scale": None if so.scale == sn.scale else {"before": so.scale or old.scale, "after": sn.scale or new.scale},
            "feel": feel or None, "tracks": tracks,
        })
    measured = {d: [round(old_measured[d], 1), round(new_measured[d], 1)] for d in old_measured}
    return {"sections": sections, "measured": measured, "instruments": instruments}


def diff_markdown(diff: dict, command: str) -> str:
    lines = [f"### Musical diff — “{command}”"]
    for i in diff.get("instruments", []):
        lines.append(f"- **{i['role']}** now played on {i['after']} (was {i['before']}), every note kept")
    for s in diff["sections"]:
        if not s["changed"]:
            lines.append(f"- **{s['section']}**: kept note for note")
            continue
        bits = []
        for k, (a, b) in s["emotion"].items():
            bits.append(f"{k} {a:.2f}→{b:.2f}")
        if s["scale"]:
            bits.append(f"scale {s['scale']['before'].replace('_', ' ')}→{s['scale']['after'].replace('_', ' ')}")
        if s["chords"]:
            bits.append(f"chords {' '.join(s['chords']['before'])} → {' '.join(s['chords']['after'])}")
        for k, (a, b) in (s.get("feel") or {}).items():
            bits.append(f"{k.replace('_', ' ')} {a:g}→{b:g}")
        lines.append(f"- **{s['section']}** regenerated: " + ", ".join(bits))
        if s.get("measured"):
            moved = [f"{d} {a:.0f}→{b:.0f}" for d, (a, b) in s["measured"].items() if abs(a - b) >= 2]
            if moved:
                lines.append(f"  - measured in this section: {', '.join(moved)}")
        for role, t in s["tracks"].items():
            if not t["identical"]:
                a, b = t["before"], t["after"]
                lines.append(f"  - {role}: {a['notes']}→{b['notes']} notes, mean pitch {a['mean_pitch']}→"
                             f"{b['mean_pitch']}, velocity {a['mean_velocity']}→{b['mean_velocity']}")
    moved = [f"{d} {a:.0f}→{b:.0f}" for d, (a, b) in diff["measured"].items() if abs(a - b) >= 1]
    lines.append("- **measured**: " + (", ".join(moved) if moved else "no dimension moved by a point or more"))
    return "\n".join(lines)
