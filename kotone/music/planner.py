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
from kotone.music.experts_registry import default_generators
from kotone.music.timbre import (
    KIT_PROGRAMS,
    ROLE_PALETTES,
    TIMBRE_DIMS,
    kit_timbre,
    pick_program,
    program_name,
    program_timbre,
)

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
GOLDEN = 0.6180339887
TEMPO_SLACK = 10  # bpm the energy may push a style outside its range
BEATS_PER_BAR = {"4/4": 4.0, "3/4": 3.0, "6/8": 3.0}
SWING_GROOVES = {"swing": 0.1, "shuffle": 0.12}


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
    t_style = lo + (hi - lo) * e
    t_global = 50 + 130 * e
    tempo = float(round(np.clip(0.5 * t_style + 0.5 * t_global + rng.uniform(-2, 2), lo - TEMPO_SLACK, hi + TEMPO_SLACK)))
    tempo = max(40.0, min(200.0, tempo))
    traces.append(_trace("tempo", f"Tempo {tempo:.0f} bpm", [
        ("style.tempo_range", f"{lo}-{hi} bpm", "the style sets the range", 0.5),
        ("intent.energy", f"{intent.energy:.0f}", "higher energy sits higher in the range", 0.5),
    ], principle="Tempo is the strongest single cue for musical energy."))

    brightness = intent.brightness + 12 * mood.valence
    bucket = "dark" if brightness < 46 else "bright" if brightness > 56 else "neutral"
    scale = getattr(style.scales, bucket)
    tonic = int(rng.integers(0, 12))
    key_name = f"{pc_name(tonic)} {scale.replace('_', ' ')}"
    traces.append(_trace("scale_choice", f"Key of {key_name}", [
        ("intent.brightness", f"{intent.brightness:.0f}", f"leans {bucket}", 0.6),
        ("mood.valence", f"{mood.valence:+.1f}", "the mood tilts light or shade", 0.2),
        ("style.scales", f"{style.scales.model_dump()}", "the style's scale family", 0.2),
    ], principle="Major-like scales read as bright, minor-like and modal ones as dark."))

    bpb = BEATS_PER_BAR[style.meter]
    extended = float(np.clip((intent.complexity - 32) / 36, 0, 1))  # share of chords with a 7th
    if gim.effect == "drone":
        # a pedal under the changes already makes sevenths of half the chords (ii over the
        # tonic is ii7), so fewer are written
        extended = max(0.0, extended - DRONE_COLOR)
    effects = [gim.effect]
    # swing rises with nostalgia (older records swing); swing grooves and the gimmick add a lift

    sections = _plan_sections(style, mood, intent, tempo, bpb, tonic, scale, extended, rng, traces)
    if gim.effect == "key_change" and len(sections) >= 3:
        shift = 2 if gim.amount >= 0.5 else 1
        for s in sections[-2:]:
            s.tonic_shift = shift
        traces.append(_trace("key_change", f"Lift the last sections by {shift} semitone(s)", [
            ("gimmick", "key_change", "the gimmick asks for a modulation", 0.8),
        ], section_id=sections[-2].section_id, principle="A late key change lifts a repeated chorus."))
    motifs = _plan_motifs(intent, mood, rng)
    _place_motifs(sections, motifs, intent, bpb, traces)
    tracks = _plan_tracks(style, inst, intent, gim, traces)
    # the players make up what the band's timbre leaves of the wish: a band cooler than the
    # wish plays more legato, a band more modern than the wish plays looser and swings more
    band = band_timbre(tracks)
    # the same for brightness: a band duller than the wish plays its lines higher
    lift = int(round(0.35 * (_compensate("brightness", intent.brightness, band["brightness"]) - intent.brightness)))
    for t in tracks:
        if t.role in ("melody", "counter") and lift:
            t.low, t.high = max(21, t.low + lift), min(108, t.high + lift)
    warm = _compensate("warmth", intent.warmth, band["warmth"])
    old = _compensate("nostalgia", intent.nostalgia, band["nostalgia"])
    legato = round(0.2 + 0.78 * warm / 100, 3)  # at most the full slot: no ringing into the next chord
    timing_spread = round(0.003 + 0.025 * old / 100, 4)
    swing = 0.3 * max(0.0, old - 25) / 75 + SWING_GROOVES.get(style.groove, 0.0)
    if gim.effect == "swing":
        swing += 0.08 + 0.08 * gim.amount
    swing = min(0.45, swing)
    if style.meter == "6/8":
        swing = 0.0
    traces.append(_trace("performance", f"Played {'legato' if legato > 0.8 else 'detached' if legato < 0.55 else 'evenly'}"
                         f", {'loosely' if timing_spread > 0.018 else 'tightly' if timing_spread < 0.01 else 'naturally'}"
                         f" timed{', with swing' if swing > 0.05 else ''}", [
        ("intent.warmth", f"{intent.warmth:.0f}", "warm songs are played legato, cool ones detached", 0.3),
        ("band warmth", f"{band['warmth']:.0f}", "the players make up what the instruments' warmth leaves", 0.2),
        ("intent.nostalgia", f"{intent.nostalgia:.0f}", "old-time songs are played loosely and swing", 0.3),
        ("band nostalgia", f"{band['nostalgia']:.0f}", "a modern-sounding band is aged by the playing", 0.2),
    ], principle="Timbre sets a song's warmth and age first; articulation and timing finish the job."))
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
        legato=legato,
        timing_spread=timing_spread,
        dynamics=_dynamics(mood, e),
        chord_extensions=extended > 0.5,
        motifs=motifs,
        sections=sections,
        tracks=tracks,
        traces=traces,
    )


def _dynamics(mood: MoodMusic, e: float) -> tuple[int, int]:
    """Velocity range: mostly the energy, a little of the mood's own dynamics."""
    lo = 0.75 * (30 + 45 * e) + 0.25 * mood.dynamics[0]
    hi = 0.75 * (68 + 52 * e) + 0.25 * mood.dynamics[1]
    return int(round(lo)), int(round(max(lo + 10, hi)))


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
                   tonic: int, scale: str, extended: float, rng: np.random.Generator,
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
             f"{extended:.0%} of chords get a 7th", 0.2),
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
                 extended: float, rng: np.random.Generator, energy: float) -> tuple[list[ChordEvent], str]:
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
    offset = int(rng.integers(0, 1000))
    why = f"{family} {key} progression {'-'.join(map(str, prog))}"
    chords = []
    for i, deg in enumerate(degrees):
        beat = i * bars_per_chord * bpb
        beats = min(bars_per_chord * bpb, nbars * bpb - beat)
        # golden-ratio sequence: the share of 7th chords tracks ``extended`` closely
        root, pcs, symbol = build_chord(tonic, scale, deg, bool(((i + offset) * GOLDEN) % 1.0 < extended))
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


def _place_motifs(sections: list[SectionSpec], motifs: list[Motif], intent: Params, bpb: float,
                  traces: list[IntentTrace]) -> None:
    main = motifs[0]
    answer = motifs[1] if len(motifs) > 1 else None
    for s in sections:
        section_beats = s.bars * bpb
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


# Each role's share of the song's sounding time relative to the melody (median over 80 songs:
# chords sound several notes at once), for orchestrating the band toward the intent.
ROLE_WEIGHT = {"melody": 1.0, "harmony": 3.0, "bass": 1.0, "drums": 0.36, "pad": 5.5, "counter": 0.8, "texture": 0.5}


def _plan_tracks(style: StyleMusic, inst: InstrumentMusic, intent: Params, gim: GimmickMusic,
                 traces: list[IntentTrace]) -> list[TrackSpec]:
    """Lead and harmony come from the instrument card, drums from the style; the supporting
    parts (bass, pad, counter-line) are orchestrated so the whole band's timbre lands on the
    intent's warmth, acousticness, brightness and nostalgia."""
    b = intent.brightness
    lead_center = round(64 + (b - 50) * 0.35 + REGISTER_SHIFT_SHARE * inst.register_shift)
    chosen: list[tuple[str, float, dict[str, float]]] = []  # (role, weight, timbre)
    tracks: list[TrackSpec] = []

    generators = default_generators()

    def add(role: str, program: int, low: int, high: int, **kw) -> None:
        tracks.append(TrackSpec(track_id=role, name=kw.pop("name", program_name(program)), role=role,
                                program=program, low=low, high=high, color=TRACK_COLORS[role],
                                generator=generators.get(role, "rule"), **kw))
        timbre = kit_timbre(kw["kit"]) if kw.get("kit") else program_timbre(program)
        chosen.append((role, ROLE_WEIGHT[role], timbre))

    melody_prog = 80 if gim.effect == "bitcrush" else pick_program(inst.programs["melody"], intent, prefer_first=0.5)
    add("melody", melody_prog, lead_center - 9, lead_center + 12)
    card_harmony = list(inst.programs["harmony"])
    add("harmony", _orchestrate(card_harmony + [p for p in ROLE_PALETTES["harmony"] if p not in card_harmony],
                                "harmony", chosen, intent, prefer=card_harmony), 48, 76)
    if style.drum_kit != "none":
        kit = style.drum_kit
        add("drums", KIT_PROGRAMS[kit], 35, 81, is_drum=True, kit=kit, name=f"Drums ({kit})")
        traces.append(_trace("rhythm_pattern", f"{style.groove} groove on a {kit} kit", [
            ("style.groove", style.groove, "the style's characteristic pattern", 0.6),
            ("intent.energy", f"{intent.energy:.0f}", "sets how many hits each bar gets", 0.4),
        ], track="drums", principle="The groove carries the style; density carries the energy."))
    texture = {"music_box_intro": 10, "rain": 8, "birdsong": 123, "vinyl_crackle": 4, "drone": 89}.get(gim.effect)
    if texture is not None:
        add("texture", texture, 36, 96)
    supporting = [("bass", inst.programs.get("bass") or list(ROLE_PALETTES["bass"]), 28, 52)]
    if intent.complexity > 28 or (gim.effect in ("canon", "call_response") and intent.complexity > 25):
        supporting.append(("pad", inst.programs.get("pad") or list(ROLE_PALETTES["pad"]), 48, 79))
    if intent.complexity > 45 or gim.effect in ("canon", "call_response"):
        supporting.append(("counter", inst.programs.get("counter") or list(ROLE_PALETTES["counter"]),
                           lead_center - 14, lead_center + 5))
    for role, cands, low, high in supporting:
        prog = _orchestrate(cands, role, chosen, intent)
        add(role, prog, low, high)
        if role != "bass":
            traces.append(_trace("instrument_entry", f"Added a {program_name(prog)} {role}", [
                ("intent.complexity", f"{intent.complexity:.0f}", "richer songs get more voices", 0.5),
                ("band timbre", program_name(prog), "brings the band's timbre closest to the wish", 0.5),
            ], track=role))
    tracks.sort(key=lambda t: ROLE_ORDER_PLAN.index(t.role))
    return tracks


ROLE_ORDER_PLAN = ("melody", "harmony", "bass", "drums", "pad", "counter", "texture")


def _orchestrate(cands: list[int] | tuple[int, ...], role: str, chosen: list[tuple[str, float, dict[str, float]]],
                 intent: Params, prefer: list[int] | None = None) -> int:
    """The candidate that brings the weighted band timbre nearest the intent; programs in
    ``prefer`` (the card's own) win unless another fits the wish clearly better."""
    def band_error(prog: int) -> float:
        avg = _weighted_timbre([(w, t) for _, w, t in chosen] + [(ROLE_WEIGHT[role], program_timbre(prog))])
        return sum(ORCHESTRATION_FOCUS[d] * (avg[d] - getattr(intent, d)) ** 2 for d in TIMBRE_DIMS)

    def cost(prog: int) -> float:
        return band_error(prog) + (0.0 if prefer is None or prog in prefer else PREFER_PENALTY)

    return min(cands, key=cost)


PREFER_PENALTY = 25.0
DRONE_COLOR = 0.3  # share of chords a tonic pedal already turns into seventh chords
REGISTER_SHIFT_SHARE = 0.5  # how much of an instrument's octave shift its lead line takes
# How much each dimension leans on timbre (the rest comes from tempo, mode, register, swing ...)
ORCHESTRATION_FOCUS = {"warmth": 1.3, "acousticness": 0.8, "brightness": 0.4, "nostalgia": 1.6}  # squared timbre points a non-card harmony program must win by


# how far the playing leans against the band's timbre gap, per dimension
COMPENSATE = {"warmth": 1.2, "nostalgia": 0.6, "brightness": 0.6}


def _compensate(dim: str, wish: float, band: float) -> float:
    return float(np.clip(wish + COMPENSATE[dim] * (wish - band), 0.0, 100.0))


def _weighted_timbre(items: list[tuple[float, dict[str, float]]]) -> dict[str, float]:
    total = sum(w for w, _ in items)
    return {d: sum(w * t[d] for w, t in items) / total for d in TIMBRE_DIMS}


def band_timbre(tracks: list[TrackSpec]) -> dict[str, float]:
    """The band's timbre: each track's program timbre weighted by its role's sounding share."""
    return _weighted_timbre([(ROLE_WEIGHT[t.role], kit_timbre(t.kit) if t.is_drum and t.kit else program_timbre(t.program))
                             for t in tracks])


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
                density = role_density(role, s.emotion)
            elif role == "bass":
                active = not (s.section_type == "intro" and e < 0.35)
                density = role_density(role, s.emotion)
            elif role == "melody":
                active = s.section_type != "intro" or gim.effect == "music_box_intro" or s.bars >= 4
                density = role_density(role, s.emotion)
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
