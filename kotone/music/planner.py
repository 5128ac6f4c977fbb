"""Cards -> song plan. A short coordinator over one module per musical concept:
form (sections and returns), harmony (chords and cadences), motifs (the tune's ideas),
orchestration (programs and registers) and performance (tempo, dynamics, timing).

Every random choice draws from its own stream, seeded by the seed *and* the four cards, so
changing the mood (or any card) changes the key, the tune and its rhythm, not just the
timbre, and two seeds give two tunes.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np

from kotone.domain.cards import Card, GimmickMusic, InstrumentMusic, MoodMusic, StyleMusic
from kotone.domain.params import Params
from kotone.domain.plan import (
    EmotionVec,
    IntentTrace,
    Motif,
    MotifUse,
    SectionSpec,
    SectionState,
    SongPlan,
    TraceFactor,
    TrackBehavior,
    TrackSpec,
)
from kotone.domain.scoring import blend_profile
from kotone.domain.theory import pc_name
from kotone.music import form as forms
from kotone.music import orchestration, performance
from kotone.music.experts_registry import default_generators
from kotone.music.harmony import HarmonyPlanner
from kotone.music.motifs import design_motif
from kotone.music.timbre import program_name

SECTION_ENERGY = {"intro": 0.6, "verse": 0.88, "chorus": 1.12, "bridge": 0.85, "outro": 0.62}
BEATS_PER_BAR = {"4/4": 4.0, "3/4": 3.0, "6/8": 3.0}
DRONE_COLOR = 0.3  # share of chords a tonic pedal already turns into seventh chords


def concept_rng(seed: int, cards: Mapping[str, Card], concept: str) -> np.random.Generator:
    """An independent random stream per musical concept, keyed by the seed and all four cards."""
    key = "|".join(cards[s].id for s in sorted(cards)) + "|" + concept
    return np.random.default_rng([int(seed), zlib.crc32(key.encode())])


def plan_song(cards: Mapping[str, Card], seed: int, title: str | None = None) -> SongPlan:
    """Build the full plan for four chosen cards; deterministic given ``seed``."""
    style: StyleMusic = cards["style"].music  # type: ignore[assignment]
    inst: InstrumentMusic = cards["instrument"].music  # type: ignore[assignment]
    mood: MoodMusic = cards["mood"].music  # type: ignore[assignment]
    gim: GimmickMusic = cards["gimmick"].music  # type: ignore[assignment]
    intent = blend_profile(cards)
    traces: list[IntentTrace] = []

    def rng(concept: str) -> np.random.Generator:
        return concept_rng(seed, cards, concept)

    tempo = performance.tempo(style, intent, float(rng("tempo").uniform(-2, 2)))
    traces.append(_trace("tempo", f"Tempo {tempo:.0f} bpm", [
        ("style.tempo_range", f"{style.tempo_range[0]}-{style.tempo_range[1]} bpm", "the style sets the range", 0.5),
        ("intent.energy", f"{intent.energy:.0f}", "higher energy sits higher in the range", 0.5),
    ], principle="Tempo is the strongest single cue for musical energy."))
    brightness = intent.brightness + 12 * mood.valence
    bucket = "dark" if brightness < 46 else "bright" if brightness > 56 else "neutral"
    scale = getattr(style.scales, bucket)
    keys = inst.keys or list(range(12))
    tonic = int(keys[int(rng("key").integers(0, len(keys)))])
    key_name = f"{pc_name(tonic)} {scale.replace('_', ' ')}"
    traces.append(_trace("scale_choice", f"Key of {key_name}", [
        ("intent.brightness", f"{intent.brightness:.0f}", f"leans {bucket}", 0.5),
        ("mood.valence", f"{mood.valence:+.1f}", "the mood tilts light or shade", 0.2),
        ("instrument.keys", ", ".join(pc_name(k) for k in keys), "a key the instrument plays well in", 0.3),
    ], principle="Major-like scales read as bright, minor-like and modal ones as dark."))

    bpb = BEATS_PER_BAR[style.meter]
    extended = float(np.clip((intent.complexity - 32) / 36, 0, 1))  # share of chords with a 7th
    if gim.effect == "drone":  # a pedal already makes sevenths of half the chords
        extended = max(0.0, extended - DRONE_COLOR)
    harmony = HarmonyPlanner(family=style.progression_family, tonic=tonic, scale=scale, cadence_prefs=style.cadence,
                             bpb=bpb, extended=extended, final_seventh=style.final_seventh,
                             blues=style.dominant_sevenths, rng=rng("harmony"),
                             secondary=float(np.clip((intent.complexity - 45) / 35, 0, 0.8)))
    layout = forms.build_form(style.form, tempo, bpb, rng("form"), need_intro=gim.effect == "music_box_intro")
    sections = _plan_sections(layout, harmony, mood, intent, bpb, traces)
    traces.append(_trace("form", f"{style.form.replace('_', '-')} form: "
                         + " ".join(s.label for s in sections), [
        ("style.form", style.form, "the style's own form", 0.7),
        ("tempo", f"{tempo:.0f} bpm", f"{len(sections)} sections, {sum(s.bars for s in sections)} bars", 0.3),
    ], principle="A tune is remembered because it comes back."))
    _key_change(sections, gim, traces)
    motifs = _plan_motifs(sections, style, intent, mood, bpb, rng("motif"), gim, traces)
    generators = default_generators(style.bass_style, style.meter, "period")
    tracks = orchestration.plan_tracks(style, inst, intent, gim, generators)
    band = orchestration.band_timbre(tracks)
    lift = performance.register_lift(intent, band)
    if lift:
        tracks = orchestration.plan_tracks(style, inst, intent, gim, generators, lift=lift)
    perf = performance.plan_performance(style, mood, gim, intent, band)
    traces.append(_trace("performance", _performance_words(perf), [
        ("intent.warmth", f"{intent.warmth:.0f}", "warm songs are played legato, cool ones detached", 0.3),
        ("band warmth", f"{band['warmth']:.0f}", "the players make up what the instruments' warmth leaves", 0.2),
        ("intent.nostalgia", f"{intent.nostalgia:.0f}", "old-time songs are played loosely", 0.3),
        ("style.swings", str(style.swings), "only swinging styles swing", 0.2),
    ], principle="Timbre sets a song's warmth and age first; articulation and timing finish the job."))
    _trace_tracks(tracks, style, intent, traces)
    _plan_behaviors(sections, tracks, intent, gim, traces)
    audio_fx = [fx for fx in (gim.effect,) if fx in ("bitcrush", "vinyl_crackle", "rain", "echo")]
    if mood.intimacy < 0.4 or intent.warmth > 65:
        audio_fx.append("reverb")
    return SongPlan(
        title=title or f"{cards['mood'].name} {cards['style'].name}", seed=int(seed),
        cards={slot: card.id for slot, card in cards.items()}, intent=intent, tempo_bpm=tempo,
        meter=style.meter, beats_per_bar=bpb, tonic_pc=tonic, scale=scale, key_name=key_name,
        groove=style.groove, swing=perf.swing, style_family=style.progression_family,
        comp_style="arpeggio" if gim.effect == "arpeggiator" else style.comp_style, bass_style=style.bass_style,
        effects=[gim.effect], audio_fx=audio_fx, articulation=mood.articulation, legato=perf.legato,
        timing_spread=perf.timing_spread, dynamics=perf.dynamics, form=style.form, motifs=motifs,
        sections=sections, tracks=tracks, traces=traces,
    )


def _performance_words(perf: performance.Performance) -> str:
    legato = "legato" if perf.legato > 0.8 else "detached" if perf.legato < 0.55 else "evenly"
    timing = "loosely" if perf.timing_spread > 0.018 else "tightly" if perf.timing_spread < 0.01 else "naturally"
    return f"Played {legato}, {timing} timed{', with swing' if perf.swing > 0.05 else ''}"


def _trace(kind: str, decision: str, factors: list[tuple[str, str, str, float]], *,
           section_id: str | None = None, track: str | None = None,
           alternatives: list[str] | None = None, principle: str = "") -> IntentTrace:
    return IntentTrace(
        decision_type=kind, section_id=section_id, track=track, decision=decision,
        because=[TraceFactor(factor=f, value=v, implication=i, weight=w) for f, v, i, w in factors],
        alternatives=alternatives or [], principle=principle,
    )


def _section_energy(kind: str, occurrence: int, e: float) -> float:
    lift = 0.04 * (occurrence - 1) if kind in ("verse", "chorus") else 0.0
    return float(np.clip(e * SECTION_ENERGY[kind] + 0.05 * (kind == "chorus") + lift, 0.02, 1.0))


def _plan_sections(layout: list[forms.FormSection], harmony: HarmonyPlanner, mood: MoodMusic, intent: Params,
                   bpb: float, traces: list[IntentTrace]) -> list[SectionSpec]:
    e, c = intent.energy / 100, intent.complexity / 100
    sections: list[SectionSpec] = []
    start = 0.0
    prev_energy: float | None = None
    prev_chord: str | None = None
    prev_register = None
    seen: dict[str, int] = {}
    by_id: dict[str, SectionSpec] = {}
    for i, fs in enumerate(layout):
        kind = fs.section_type
        seen[kind] = seen.get(kind, 0) + 1
        energy = _section_energy(kind, seen[kind], e)
        if prev_energy is not None and kind not in ("intro", "outro") and abs(energy - prev_energy) > 0.3:
            energy = float(prev_energy + 0.3 * np.sign(energy - prev_energy))
        valence = float(np.clip(0.7 * mood.valence + 0.6 * (intent.brightness - 50) / 100, -1, 1))
        tension = float(np.clip(0.6 * mood.tension + 0.35 * c + (0.12 if kind == "bridge" else 0), 0, 1))
        motion = float(np.clip(0.45 * mood.motion + 0.55 * energy, 0, 1))
        emotion = EmotionVec(energy=round(energy, 3), valence=round(valence, 3), tension=round(tension, 3),
                             intimacy=mood.intimacy, motion=round(motion, 3))
        final = i == len(layout) - 1
        if fs.repeat_of is not None:
            chords = [ch.model_copy() for ch in by_id[fs.repeat_of].chords]
        else:
            chords = harmony.section_chords(kind, fs.label, fs.bars, final)
            traces.append(_trace("chord_selection", f"{fs.section_id}: {' - '.join(ch.symbol for ch in chords)}", [
                ("style.progression_family", harmony.family, "the style's progressions, phrase by phrase", 0.4),
                ("style.cadence", harmony.cadence, f"phrases close {harmony.cadence} - I", 0.4),
                ("intent.complexity", f"{intent.complexity:.0f}", f"{harmony.extended:.0%} of chords get a 7th", 0.2),
            ], section_id=fs.section_id, principle="A period opens on a half cadence and closes on the tonic."))
        register = "mid_high" if kind == "chorus" and energy > 0.45 else "mid"
        if fs.repeat_of is not None:
            register = by_id[fs.repeat_of].melodic_register
        entry = SectionState(energy=round(prev_energy if prev_energy is not None else energy * 0.8, 3),
                             last_chord=prev_chord, melodic_register=prev_register)
        exit_ = SectionState(energy=round(energy, 3), last_chord=chords[-1].symbol, melodic_register=register)
        spec = SectionSpec(section_id=fs.section_id, section_type=kind, bars=fs.bars, start_beat=start,
                           emotion=emotion, chords=chords, entry_state=entry, exit_state=exit_,
                           melodic_register=register, label=fs.label, repeat_of=fs.repeat_of)
        sections.append(spec)
        by_id[spec.section_id] = spec
        start += fs.bars * bpb
        prev_energy, prev_chord, prev_register = energy, chords[-1].symbol, register
    return sections


def _key_change(sections: list[SectionSpec], gim: GimmickMusic, traces: list[IntentTrace]) -> None:
    """The key-change gimmick lifts the final statement of the theme (and the ending after it)."""
    if gim.effect != "key_change":
        return
    idx = forms.final_statement_index(sections)
    if idx is None:
        return
    shift = 2 if gim.amount >= 0.5 else 1
    for s in sections[idx:]:
        s.tonic_shift = shift
    traces.append(_trace("key_change", f"The last {sections[idx].section_type} rises {shift} semitone(s)", [
        ("gimmick", "key_change", "the gimmick asks for a modulation", 0.8),
        ("form", sections[idx].section_id, "the final return of the theme", 0.2),
    ], section_id=sections[idx].section_id, principle="A late key change lifts the final chorus."))


def _plan_motifs(sections: list[SectionSpec], style: StyleMusic, intent: Params, mood: MoodMusic, bpb: float,
                 rng: np.random.Generator, gim: GimmickMusic, traces: list[IntentTrace]) -> list[Motif]:
    """One basic idea per form letter, placed where each period states and restates it."""
    motifs: dict[str, Motif] = {}
    sentence: dict[str, int] = {}
    for s in sections:
        if s.repeat_of is not None or s.section_type in ("intro", "outro") or s.label in motifs:
            continue
        sentence[s.label] = int(rng.choice([-1, 1, 2])) if s.label == "B" and rng.random() < 0.5 else 0
        density = role_density("melody", s.emotion)
        motifs[s.label] = design_motif(
            f"theme_{s.label}", s.label, meter=style.meter, bars=1 if sentence[s.label] else 2, density=density,
            tension=s.emotion.tension, grid=style.melody_grid, swings=style.swings or gim.effect == "swing",
            rng=rng, register=s.melodic_register, complexity=intent.complexity / 100)
    by_id = {s.section_id: s for s in sections}
    for s in sections:
        if s.repeat_of is not None:
            s.motif_usage = [u.model_copy() for u in by_id[s.repeat_of].motif_usage]
            continue
        label = "A" if s.section_type == "outro" else s.label
        if label not in motifs or s.section_type == "intro" or (s.section_type == "outro" and s.bars < 4):
            continue
        starts = [0.0] if s.bars < 8 or s.section_type == "outro" else [0.0, 4 * bpb]
        uses = []
        for b in starts:
            uses.append(MotifUse(motif_id=f"theme_{label}", beat=b))
            if sentence.get(label) and s.section_type != "outro":
                uses.append(MotifUse(motif_id=f"theme_{label}", beat=b + bpb, transformation="transpose",
                                     params={"steps": float(sentence[label])}))
        s.motif_usage = uses
    for label, m in motifs.items():
        traces.append(_trace("motif", f"Theme {label}: {len(m.rhythm_pattern)} notes over "
                             f"{m.duration_beats / bpb:.0f} bar(s){', restated a step away' if sentence[label] else ''}",
                             [("style.meter", style.meter, "the meter's own bar rhythms", 0.4),
                              ("mood.motion", f"{mood.motion:.2f}", "busier moods move in shorter notes", 0.3),
                              ("intent.complexity", f"{intent.complexity:.0f}", "", 0.3)],
                             track="melody", principle="A period states its idea, answers, states it again "
                             "and closes."))
    return list(motifs.values())


def _trace_tracks(tracks: list[TrackSpec], style: StyleMusic, intent: Params, traces: list[IntentTrace]) -> None:
    for t in tracks:
        if t.role in ("pad", "counter", "percussion"):
            traces.append(_trace("instrument_entry", f"Added a {program_name(t.program)} {t.role}", [
                ("style.orchestra", style.orchestra, "an instrument of the style's own orchestra", 0.6),
                ("intent.complexity", f"{intent.complexity:.0f}", "richer songs get more voices", 0.4),
            ], track=t.role))
        if t.role == "drums":
            traces.append(_trace("rhythm_pattern", f"{style.groove} groove on a {t.kit} kit", [
                ("style.groove", style.groove, "the style's characteristic pattern", 0.6),
                ("intent.energy", f"{intent.energy:.0f}", "sets how many hits each bar gets", 0.4),
            ], track="drums", principle="The groove carries the style; density carries the energy."))


def role_density(role: str, emotion: EmotionVec) -> float:
    """How busy drums, bass and melody play in a section (0-1), from its emotion vector;
    refinement re-derives densities with this after changing a section's emotion."""
    if role == "drums":
        v = 0.15 + 0.85 * emotion.energy
    elif role == "bass":
        v = 0.2 + 0.8 * emotion.energy
    elif role == "melody":
        v = 0.25 + 0.75 * emotion.motion
    else:
        raise ValueError(f"no emotion-driven density for role {role!r}")
    return round(float(np.clip(v, 0, 1)), 3)


MAIN = ("verse", "chorus", "bridge")


def _active(role: str, s: SectionSpec, gim: GimmickMusic) -> bool:
    e, kind = s.emotion.energy, s.section_type
    if role in ("drums", "percussion"):
        if gim.effect == "music_box_intro" and kind == "intro":
            return False
        return not (kind == "intro" and e < 0.55) and e > 0.08 and not (kind == "outro" and e < 0.3)
    if role == "melody":
        return kind != "intro"
    if role == "counter":
        return kind in MAIN and s.bars >= 4
    if role == "texture":
        if gim.effect == "music_box_intro":
            return kind == "intro"
        return kind in MAIN if gim.effect == "echo" else True
    if gim.effect == "music_box_intro" and kind == "intro":
        return False  # the music box plays the prelude alone
    if role == "bass":
        return not (kind == "intro" and e < 0.35)
    return True


def _plan_behaviors(sections: list[SectionSpec], tracks: list[TrackSpec], intent: Params,
                    gim: GimmickMusic, traces: list[IntentTrace]) -> None:
    roles = {t.role for t in tracks}
    for k, s in enumerate(sections):
        behaviors: dict[str, TrackBehavior] = {}
        for role in roles:
            if role in ("drums", "bass", "melody"):
                density = role_density(role, s.emotion)
            elif role == "counter":
                density = float(np.clip(0.2 + 0.6 * intent.complexity / 100, 0, 1))
            else:
                density = s.emotion.energy
            behaviors[role] = TrackBehavior(active=_active(role, s, gim), density=round(density, 3))
        s.track_behaviors = behaviors
        drums = behaviors.get("drums")
        s.entry_state.drum_active = s.exit_state.drum_active = bool(drums and drums.active)
        prev = sections[k - 1].track_behaviors.get("drums") if k else None
        if drums is not None and drums.active and prev is not None and not prev.active:
            traces.append(_trace("instrument_entry", f"Drums enter in the {s.section_type}", [
                ("emotion.energy", f"{s.emotion.energy:.2f}", "the pulse arrives as energy builds", 0.7),
            ], section_id=s.section_id, track="drums"))
    if gim.effect == "fade_out":
        traces.append(_trace("dynamic_curve", "Fade out over the final section", [
            ("gimmick", "fade_out", "velocities ramp down to near silence", 1.0)], section_id=sections[-1].section_id))
