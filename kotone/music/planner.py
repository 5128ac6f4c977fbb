"""Cards -> song plan: tempo, key and scale, form with an energy arc, chords, motifs, tracks.

Continuous knobs follow the blended six-dim intent (so the song measurably becomes the
cards); discrete choices (groove, scale family, programs, effects) come from the cards.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kotone.domain.cards import Card, GimmickMusic, InstrumentMusic, MoodMusic, StyleMusic
from kotone.domain.params import Params
from kotone.domain.plan import (
    ChordEvent,
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
from kotone.domain.theory import PROGRESSIONS, build_chord, map_degree, pc_name
from kotone.music.timbre import KIT_PROGRAMS, ROLE_PALETTES, pick_program, program_name

TARGET_SECONDS = (40.0, 52.0)
MIN_SECONDS, MAX_SECONDS = 31.0, 58.0
SECTION_ENERGY = {"intro": 0.6, "verse": 0.88, "chorus": 1.12, "bridge": 0.85, "outro": 0.62}
TRACK_COLORS = {
    "melody": "#ffb454",
    "harmony": "#59c2ff",
    "bass": "#aad94c",
    "drums": "#f07178",
    "pad": "#d2a6ff",
    "counter": "#95e6cb",
    "texture": "#b8c4d6",
}
BEATS_PER_BAR = {"4/4": 4.0, "3/4": 3.0, "6/8": 3.0}
SWING_GROOVES = {"swing": 0.3, "shuffle": 0.33, "jig": 0.0}


def plan_song(cards: Mapping[str, Card], seed: int, title: str | None = None) -> SongPlan:
    """Build the full plan for four chosen cards; deterministic given ``seed``."""
    rng = np.random.default_rng(seed)
    style: StyleMusic = cards["style"].music  # type: ignore[assignment]
    inst: InstrumentMusic = cards["instrument"].music  # type: ignore[assignment]
    mood: MoodMusic = cards["mood"].music  # type: ignore[assignment]
    gim: GimmickMusic = cards["gimmick"].music  # type: ignore[assignment]
    intent = blend_profile(cards)
    traces: list[IntentTrace] = []

    e = intent.energy / 100
    lo, hi = style.tempo_range
    tempo = float(round(lo + (hi - lo) * e + rng.uniform(-2, 2)))
    tempo = max(40.0, min(200.0, tempo))
    traces.append(_trace("tempo", f"Tempo {tempo:.0f} bpm", [
        ("style.tempo_range", f"{lo}-{hi} bpm", "the style sets the range", 0.5),
        ("intent.energy", f"{intent.energy:.0f}", "higher energy sits higher in the range", 0.5),
    ], principle="Tempo is the strongest single cue for musical energy."))

    brightness = intent.brightness + 12 * mood.valence
    bucket = "dark" if brightness < 42 else "bright" if brightness > 60 else "neutral"
    scale = getattr(style.scales, bucket)
    tonic = int(rng.integers(0, 12))
    key_name = f"{pc_name(tonic)} {scale.replace('_', ' ')}"
    traces.append(_trace("scale_choice", f"Key of {key_name}", [
        ("intent.brightness", f"{intent.brightness:.0f}", f"leans {bucket}", 0.6),
        ("mood.valence", f"{mood.valence:+.1f}", "the mood tilts light or shade", 0.2),
        ("style.scales", f"{style.scales.model_dump()}", "the style's scale family", 0.2),
    ], principle="Major-like scales read as bright, minor-like and modal ones as dark."))

    bpb = BEATS_PER_BAR[style.meter]
    extended = intent.complexity > 55
    effects = [gim.effect]
    swing = SWING_GROOVES.get(style.groove, 0.0)
    if gim.effect == "swing":
        swing = max(swing, 0.18 + 0.15 * gim.amount)
    if style.meter == "6/8":
        swing = 0.0

    sections = _plan_sections(style, mood, intent, tempo, bpb, tonic, scale, extended, rng, traces)
    if gim.effect == "key_change" and len(sections) >= 3:
        shift = 2 if gim.amount >= 0.5 else 1
        for s in sections[-2:]:
            s.tonic_shift = shift
        traces.append(_trace("key_change", f"Lift the last sections by {shift} semitone(s)", [
            ("gimmick", "key_change", "the gimmick asks for a modulation", 0.8),
        ], section_id=sections[-2].section_id, principle="A late key change lifts a repeated chorus."))
    motifs = _plan_motifs(intent, mood, rng)
    _place_motifs(sections, motifs, intent, traces)
    tracks = _plan_tracks(style, inst, intent, gim, traces)
    _plan_behaviors(sections, tracks, intent, gim, traces)

    audio_fx = [fx for fx in (gim.effect,) if fx in ("bitcrush", "vinyl_crackle", "rain", "echo")]
    if mood.intimacy < 0.4 or intent.warmth > 65:
        audio_fx.append("reverb")
    return SongPlan(
        title=title or f"{cards['mood'].name} {cards['style'].name}",
        seed=int(seed),
        cards={slot: card.id for slot, card in cards.items()},
        intent=intent,
        tempo_bpm=tempo,
        meter=style.meter,
        beats_per_bar=bpb,
        tonic_pc=tonic,
        scale=scale,
        key_name=key_name,
        groove=style.groove,
        swing=round(swing, 3),
        style_family=style.progression_family,
        comp_style="arpeggio" if gim.effect == "arpeggiator" else style.comp_style,
        bass_style=style.bass_style,
        effects=effects,
        audio_fx=audio_fx,
        articulation=mood.articulation,
        dynamics=mood.dynamics,
        chord_extensions=extended,
        motifs=motifs,
        sections=sections,
        tracks=tracks,
        traces=traces,
    )


def _trace(kind: str, decision: str, factors: list[tuple[str, str, str, float]], *,
           section_id: str | None = None, track: str | None = None,
           alternatives: list[str] | None = None, principle: str = "") -> IntentTrace:
    return IntentTrace(
        decision_type=kind,
        section_id=section_id,
        track=track,
        decision=decision,
        because=[TraceFactor(factor=f, value=v, implication=i, weight=w) for f, v, i, w in factors],
        alternatives=alternatives or [],
        principle=principle,
    )


def _form(total_bars: int) -> list[tuple[str, float]]:
    if total_bars >= 26:
        return [("intro", 0.12), ("verse", 0.3), ("chorus", 0.3), ("bridge", 0.14), ("outro", 0.14)]
    if total_bars >= 16:
        return [("intro", 0.15), ("verse", 0.35), ("chorus", 0.35), ("outro", 0.15)]
    return [("verse", 0.4), ("chorus", 0.4), ("outro", 0.2)]


def _section_bars(total: int, form: list[tuple[str, float]]) -> list[int]:
    bars = [max(2, int(round(total * w / 2)) * 2) for _, w in form]
    # settle the difference on the longest sections, in steps of two bars
    i = 0
    order = sorted(range(len(bars)), key=lambda k: -bars[k])
    while sum(bars) != total and i < 100:
        k = order[i % len(order)]
        step = 2 if sum(bars) < total else -2
        if abs(sum(bars) - total) == 1:
            step = 1 if step > 0 else -1
        if bars[k] + step >= 2:
            bars[k] += step
        i += 1
    return bars


def _plan_sections(style: StyleMusic, mood: MoodMusic, intent: Params, tempo: float, bpb: float,
                   tonic: int, scale: str, extended: bool, rng: np.random.Generator,
                   traces: list[IntentTrace]) -> list[SectionSpec]:
    bar_s = bpb * 60.0 / tempo
    target = rng.uniform(*TARGET_SECONDS)
    total = int(round(target / bar_s))
    total = max(int(np.ceil(MIN_SECONDS / bar_s)), min(int(MAX_SECONDS / bar_s), total))
    form = _form(total)
    bars = _section_bars(total, form)
    e = intent.energy / 100
    c = intent.complexity / 100
    family = style.progression_family
    sections: list[SectionSpec] = []
    start = 0.0
    prev_energy = None
    prev_chord: str | None = None
    prev_register = None
    for (kind, _), nbars in zip(form, bars, strict=True):
        energy = float(np.clip(e * SECTION_ENERGY[kind] + 0.05 * (kind == "chorus"), 0.02, 1.0))
        if prev_energy is not None and kind not in ("intro", "outro") and abs(energy - prev_energy) > 0.3:
            fixed = prev_energy + 0.3 * np.sign(energy - prev_energy)
            traces.append(_trace("section_transition",
                                 f"Smoothed the jump into the {kind} to energy {fixed:.2f}",
                                 [("entry_state.energy", f"{prev_energy:.2f}", "previous exit", 0.6),
                                  ("planned energy", f"{energy:.2f}", "over 0.3 jump without a break", 0.4)],
                                 section_id=kind, principle="Energy should not leap more than 0.3 between "
                                 "sections unless a break, intro or outro absorbs it."))
            energy = float(fixed)
        valence = float(np.clip(0.7 * mood.valence + 0.6 * (intent.brightness - 50) / 100, -1, 1))
        tension = float(np.clip(0.6 * mood.tension + 0.35 * c + (0.12 if kind == "bridge" else 0), 0, 1))
        motion = float(np.clip(0.45 * mood.motion + 0.55 * energy, 0, 1))
        emotion = EmotionVec(energy=round(energy, 3), valence=round(valence, 3), tension=round(tension, 3),
                             intimacy=mood.intimacy, motion=round(motion, 3))
        chords, why = _plan_chords(family, kind, nbars, bpb, tonic, scale, extended, rng, energy)
        register = "mid_high" if kind == "chorus" and energy > 0.45 else "mid"
        if kind == "chorus" and register == "mid_high":
            traces.append(_trace("melody_register_shift", "Raised the melody register for the chorus", [
                ("emotion.energy", f"{energy:.2f}", "energy rises into the chorus", 0.4),
                ("section_type", "chorus", "choruses sit higher than verses", 0.3),
                ("entry_state.melodic_register", str(prev_register), "upward motion creates lift", 0.3),
            ], section_id=kind, track="melody",
                alternatives=["keep the register and add density instead"],
                principle="Choruses typically occupy a higher register than verses to create lift."))
        traces.append(_trace("chord_selection", f"{kind}: {' - '.join(ch.symbol for ch in chords)}", [
            ("style.progression_family", family, why, 0.5),
            ("key", f"{pc_name(tonic)} {scale}", "every chord is built from scale tones only", 0.3),
            ("intent.complexity", f"{intent.complexity:.0f}",
             "sevenths added" if extended else "plain triads", 0.2),
        ], section_id=kind, principle="Chords stacked from the scale keep any style/mood pairing consonant."))
        entry = SectionState(energy=round(prev_energy if prev_energy is not None else energy * 0.8, 3),
                             last_chord=prev_chord, melodic_register=prev_register,
                             drum_active=False)
        exit_ = SectionState(energy=round(energy, 3), last_chord=chords[-1].symbol,
                             melodic_register=register, drum_active=False)
        sections.append(SectionSpec(
            section_id=kind, section_type=kind, bars=nbars, start_beat=start, emotion=emotion,
            chords=chords, entry_state=entry, exit_state=exit_, melodic_register=register,
        ))
        start += nbars * bpb
        prev_energy, prev_chord, prev_register = energy, chords[-1].symbol, register
    return sections


def _plan_chords(family: str, kind: str, nbars: int, bpb: float, tonic: int, scale: str,
                 extended: bool, rng: np.random.Generator, energy: float) -> tuple[list[ChordEvent], str]:
    table = PROGRESSIONS[family]
    key = {"intro": "verse", "outro": "chorus"}.get(kind, kind)
    options = table.get(key) or table["verse"]
    prog = options[int(rng.integers(0, len(options)))]
    bars_per_chord = 2 if (family in ("ambient", "minimal") or energy < 0.2) and nbars >= 4 else 1
    degrees: list[int] = []
    while len(degrees) * bars_per_chord < nbars:
        degrees.extend(prog)
    degrees = degrees[: int(np.ceil(nbars / bars_per_chord))]
    if kind == "outro":
        degrees[-1] = 1
    why = f"{family} {key} progression {'-'.join(map(str, prog))}"
    chords = []
    for i, deg in enumerate(degrees):
        beat = i * bars_per_chord * bpb
        beats = min(bars_per_chord * bpb, nbars * bpb - beat)
        root, pcs, symbol = build_chord(tonic, scale, deg, extended)
        chords.append(ChordEvent(beat=beat, beats=beats, degree=map_degree(scale, deg), root_pc=root,
                                 pcs=list(pcs), symbol=symbol))
    return chords, why


RHYTHMS_SLOW = ([1.0, 1.0, 2.0], [2.0, 1.0, 1.0], [1.5, 0.5, 2.0], [1.0, 1.0, 1.0, 1.0])
RHYTHMS_MID = ([1.0, 0.5, 0.5, 2.0], [0.5, 0.5, 1.0, 1.0, 1.0], [1.5, 0.5, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5, 2.0])
RHYTHMS_FAST = ([0.5, 0.5, 0.5, 0.5, 1.0, 1.0], [0.5, 0.25, 0.25, 0.5, 0.5, 2.0], [0.75, 0.25, 0.5, 0.5, 1.0, 1.0])


def _plan_motifs(intent: Params, mood: MoodMusic, rng: np.random.Generator) -> list[Motif]:
    count = 1 if intent.complexity < 35 else 2 if intent.complexity < 70 else 3
    motion = 0.5 * mood.motion + 0.5 * intent.energy / 100
    pool = RHYTHMS_SLOW if motion < 0.4 else RHYTHMS_MID if motion < 0.7 else RHYTHMS_FAST
    leap_p = 0.1 + 0.3 * mood.tension
    motifs = []
    roles = ("main_theme", "answer_phrase", "counter_figure")
    for k in range(count):
        rhythm = list(pool[int(rng.integers(0, len(pool)))])
        steps = [0]
        for _ in range(len(rhythm) - 1):
            if rng.random() < leap_p:
                move = int(rng.choice([-4, -3, 3, 4]))
            else:
                move = int(rng.choice([-2, -1, 1, 2]))
            steps.append(int(np.clip(steps[-1] + move, -6, 6)))
        anchor = int(rng.choice([1, 3, 5]))
        motifs.append(Motif(
            motif_id=roles[k],
            interval_pattern=steps,
            rhythm_pattern=rhythm,
            register_band="mid_high" if k == 1 else "mid",
            anchor_degree=anchor,
            emotional_role=["statement", "answer", "color"][k],
            allowed_transformations=["transpose", "register_shift", "rhythmic_expand",
                                     "rhythmic_compress", "invert", "retrograde", "intensify", "simplify"],
        ))
    return motifs


def _place_motifs(sections: list[SectionSpec], motifs: list[Motif], intent: Params,
                  traces: list[IntentTrace]) -> None:
    main = motifs[0]
    answer = motifs[1] if len(motifs) > 1 else None
    for s in sections:
        section_beats = s.bars * _bpb_of(s)
        uses: list[MotifUse] = []
        if s.section_type == "verse":
            uses.append(MotifUse(motif_id=main.motif_id, beat=0))
            if section_beats >= 16:
                uses.append(MotifUse(motif_id=main.motif_id, beat=section_beats / 2, transformation="transpose",
                                     params={"steps": 1}))
        elif s.section_type == "chorus":
            tf = "register_shift" if s.melodic_register == "mid_high" else "intensify"
            uses.append(MotifUse(motif_id=main.motif_id, beat=0, transformation=tf,
                                 params={"octaves": 1} if tf == "register_shift" else {}))
            if answer and section_beats >= 12:
                uses.append(MotifUse(motif_id=answer.motif_id, beat=section_beats / 2))
        elif s.section_type == "bridge":
            tf = "invert" if intent.complexity > 50 else "retrograde"
            uses.append(MotifUse(motif_id=main.motif_id, beat=0, transformation=tf))
        elif s.section_type == "outro":
            uses.append(MotifUse(motif_id=main.motif_id, beat=0, transformation="simplify"))
        elif s.section_type == "intro" and section_beats >= 8:
            uses.append(MotifUse(motif_id=main.motif_id, beat=section_beats / 2,
                                 transformation="rhythmic_expand"))
        # keep only uses that fit inside the section
        m_by_id = {m.motif_id: m for m in motifs}
        fitted = []
        for u in uses:
            dur = m_by_id[u.motif_id].duration_beats
            dur *= 2 if u.transformation == "rhythmic_expand" else 0.5 if u.transformation == "rhythmic_compress" else 1
            if u.beat + dur <= section_beats:
                fitted.append(u)
        s.motif_usage = fitted
        for u in fitted:
            if u.transformation != "none":
                traces.append(_trace("motif_transformation",
                                     f"{u.motif_id} -> {u.transformation} in the {s.section_type}", [
                    ("section_type", s.section_type, _MOTIF_WHY.get(u.transformation, ""), 0.5),
                    ("emotion.energy", f"{s.emotion.energy:.2f}", "section energy", 0.3),
                    ("motif.allowed_transformations", u.transformation, "permitted for this motif", 0.2),
                ], section_id=s.section_id, track="melody",
                    principle="A theme that returns transformed is recognised and still feels new."))


_MOTIF_WHY = {
    "transpose": "restating the theme a step higher develops it",
    "register_shift": "an octave up gives the chorus lift",
    "intensify": "passing tones make the theme busier as energy rises",
    "invert": "an inverted theme contrasts in the bridge",
    "retrograde": "the theme backwards gives the bridge contrast",
    "simplify": "fewer, longer notes let the ending settle",
    "rhythmic_expand": "doubled note lengths hint at the theme calmly",
}


def _bpb_of(section: SectionSpec) -> float:
    total = sum(ch.beats for ch in section.chords)
    return total / section.bars


def _plan_tracks(style: StyleMusic, inst: InstrumentMusic, intent: Params, gim: GimmickMusic,
                 traces: list[IntentTrace]) -> list[TrackSpec]:
    b = intent.brightness
    lead_center = int(round(64 + (b - 50) * 0.2 + inst.register_shift))
    tracks: list[TrackSpec] = []
    melody_prog = pick_program(inst.programs["melody"], intent, prefer_first=0.5)
    if gim.effect == "bitcrush":
        melody_prog = 80
    tracks.append(TrackSpec(track_id="melody", name=program_name(melody_prog), role="melody",
                            program=melody_prog, low=lead_center - 9, high=lead_center + 12,
                            color=TRACK_COLORS["melody"]))
    harm_prog = pick_program(inst.programs["harmony"], intent, prefer_first=0.5)
    tracks.append(TrackSpec(track_id="harmony", name=program_name(harm_prog), role="harmony",
                            program=harm_prog, low=48, high=76, color=TRACK_COLORS["harmony"]))
    bass_cands = inst.programs.get("bass") or list(ROLE_PALETTES["bass"])
    bass_prog = pick_program(bass_cands, intent, prefer_first=0.3 if inst.programs.get("bass") else 0.0)
    tracks.append(TrackSpec(track_id="bass", name=program_name(bass_prog), role="bass",
                            program=bass_prog, low=28, high=52, color=TRACK_COLORS["bass"]))
    if style.drum_kit != "none":
        kit = style.drum_kit
        tracks.append(TrackSpec(track_id="drums", name=f"Drums ({kit})", role="drums",
                                program=KIT_PROGRAMS[kit], is_drum=True, kit=kit, low=35, high=81,
                                color=TRACK_COLORS["drums"]))
        traces.append(_trace("rhythm_pattern", f"{style.groove} groove on a {kit} kit", [
            ("style.groove", style.groove, "the style's characteristic pattern", 0.6),
            ("intent.energy", f"{intent.energy:.0f}", "sets how many hits each bar gets", 0.4),
        ], track="drums", principle="The groove carries the style; density carries the energy."))
    if intent.warmth > 55 or intent.energy < 35 or intent.complexity > 62:
        pad_cands = inst.programs.get("pad") or list(ROLE_PALETTES["pad"])
        pad_prog = pick_program(pad_cands, intent)
        tracks.append(TrackSpec(track_id="pad", name=program_name(pad_prog), role="pad", program=pad_prog,
                                low=48, high=79, color=TRACK_COLORS["pad"]))
        traces.append(_trace("instrument_entry", f"Added a {program_name(pad_prog)} pad", [
            ("intent.warmth", f"{intent.warmth:.0f}", "sustained pads round out the low mids", 0.5),
            ("timbre", program_name(pad_prog), "nearest pad timbre to the blend", 0.5),
        ], track="pad"))
    if intent.complexity > 55 or gim.effect in ("canon", "call_response"):
        cands = inst.programs.get("counter") or list(ROLE_PALETTES["counter"])
        prog = pick_program(cands, intent)
        tracks.append(TrackSpec(track_id="counter", name=program_name(prog), role="counter", program=prog,
                                low=lead_center - 14, high=lead_center + 5, color=TRACK_COLORS["counter"]))
        traces.append(_trace("instrument_entry", f"Added a {program_name(prog)} counter-line", [
            ("intent.complexity", f"{intent.complexity:.0f}", "richer songs get a second voice", 0.7),
            ("gimmick", gim.effect, "", 0.3),
        ], track="counter"))
    texture = {"music_box_intro": 10, "rain": 8, "birdsong": 123, "vinyl_crackle": 4, "drone": 89}.get(gim.effect)
    if texture is not None:
        if gim.effect == "vinyl_crackle":
            texture = pick_program((4, 11, 0), intent)
        tracks.append(TrackSpec(track_id="texture", name=program_name(texture), role="texture",
                                program=texture, low=36, high=96, color=TRACK_COLORS["texture"]))
    return tracks


def _plan_behaviors(sections: list[SectionSpec], tracks: list[TrackSpec], intent: Params,
                    gim: GimmickMusic, traces: list[IntentTrace]) -> None:
    roles = {t.role for t in tracks}
    for s in sections:
        e = s.emotion.energy
        behaviors: dict[str, TrackBehavior] = {}
        for role in roles:
            active, enter, density = True, 0, e
            if role == "drums":
                active = not (s.section_type == "intro" and e < 0.55) and e > 0.08
                if s.section_type == "outro" and e < 0.3:
                    active = False
                density = float(np.clip(0.15 + 0.85 * e, 0, 1))
            elif role == "bass":
                active = not (s.section_type == "intro" and e < 0.35)
                density = float(np.clip(0.2 + 0.8 * e, 0, 1))
            elif role == "melody":
                active = s.section_type != "intro" or gim.effect == "music_box_intro" or s.bars >= 4
                density = float(np.clip(0.25 + 0.75 * s.emotion.motion, 0, 1))
            elif role == "counter":
                active = s.section_type in ("chorus", "bridge", "verse") and s.bars >= 4
                density = float(np.clip(0.2 + 0.6 * intent.complexity / 100, 0, 1))
            elif role == "texture" and gim.effect == "music_box_intro":
                active = s.section_type in ("intro", "outro") or s is sections[0]
            behaviors[role] = TrackBehavior(active=active, enter_bar=enter, density=round(density, 3))
        s.track_behaviors = behaviors
        s.entry_state.drum_active = bool(behaviors.get("drums", TrackBehavior(active=False)).active)
        s.exit_state.drum_active = s.entry_state.drum_active
        if "drums" in behaviors and behaviors["drums"].active and s is not sections[0]:
            prev = sections[sections.index(s) - 1].track_behaviors.get("drums")
            if prev is not None and not prev.active:
                traces.append(_trace("instrument_entry", f"Drums enter in the {s.section_type}", [
                    ("emotion.energy", f"{e:.2f}", "the pulse arrives as energy builds", 0.7),
                    ("section_type", s.section_type, "", 0.3),
                ], section_id=s.section_id, track="drums"))
    if gim.effect == "fade_out":
        traces.append(_trace("dynamic_curve", "Fade out over the final section", [
            ("gimmick", "fade_out", "velocities ramp down to near silence", 1.0)],
            section_id=sections[-1].section_id))
