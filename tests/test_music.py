"""Planning, generation and measurement on real card combinations."""

import json

import numpy as np
import pytest

from kotone.assets import load_catalog
from kotone.domain.cards import SLOTS
from kotone.domain.plan import SongPlan
from kotone.domain.theory import harmony_scale, scale_pcs
from kotone.pipeline import compose

FOLK = {"style": "style_folk", "instrument": "instrument_nylon", "mood": "mood_tender", "gimmick": "gimmick_rain"}


def test_same_seed_same_song_different_seed_different_song():
    a, b, c = compose(FOLK, 11), compose(FOLK, 11), compose(FOLK, 12)
    notes = lambda s: [(n.start, n.pitch) for i in s.midi.instruments for n in i.notes]  # noqa: E731
    assert notes(a) == notes(b)
    assert notes(a) != notes(c)


def test_plan_roundtrips_through_json():
    song = compose(FOLK, 3)
    again = SongPlan.model_validate(json.loads(song.plan.model_dump_json()))
    assert again == song.plan


def test_plans_saved_before_performance_fields_still_load():
    data = json.loads(compose(FOLK, 3).plan.model_dump_json())
    del data["legato"], data["timing_spread"]
    old = SongPlan.model_validate(data)
    assert 0.1 <= old.legato <= 1.2 and old.timing_spread > 0


def test_complexity_nostalgia_and_warmth_become_the_playing():
    """Richer cards get more 7ths and syncopation; older and warmer ones are played looser
    and more legato; each is read back from the MIDI file."""
    plain = compose({"style": "style_lullaby", "instrument": "instrument_glass_pad", "mood": "mood_cold",
                     "gimmick": "gimmick_bitcrush"}, 7)
    rich = compose({"style": "style_jazz_swing", "instrument": "instrument_rhodes", "mood": "mood_romantic",
                    "gimmick": "gimmick_vinyl_crackle"}, 7)
    assert rich.plan.intent.complexity > plain.plan.intent.complexity + 15
    assert rich.features.chord_richness > plain.features.chord_richness + 0.3
    assert rich.features.syncopation > plain.features.syncopation
    assert rich.plan.legato > plain.plan.legato and rich.plan.timing_spread > plain.plan.timing_spread
    assert rich.features.looseness > plain.features.looseness
    assert any(t.decision_type == "performance" for t in rich.plan.traces)
    for dim in ("complexity", "warmth", "nostalgia"):
        assert getattr(rich.measured, dim) > getattr(plain.measured, dim) + 10, dim


def test_plan_shape():
    song = compose(FOLK, 5)
    plan = song.plan
    style = load_catalog().get("style_folk").music
    assert style.tempo_range[0] - 12 <= plan.tempo_bpm <= style.tempo_range[1] + 12
    assert 4 <= len(plan.sections) <= 8
    assert 45 <= plan.duration_s <= 120
    assert any(s.repeat_of for s in plan.sections)
    assert plan.motifs and any(s.motif_usage for s in plan.sections)
    assert {t.role for t in plan.tracks} >= {"melody", "harmony", "bass"}
    kinds = [s.section_type for s in plan.sections]
    assert kinds[-1] == "outro"
    for a, b in zip(plan.sections, plan.sections[1:]):
        assert b.start_beat == pytest.approx(a.start_beat + a.bars * plan.beats_per_bar)
        assert b.entry_state.last_chord == a.exit_state.last_chord
    assert any(t.decision_type == "chord_selection" for t in plan.traces)


def test_energy_arc_peaks_in_the_chorus():
    song = compose({**FOLK, "mood": "mood_cheerful"}, 2)
    energy = {s.section_type: s.emotion.energy for s in song.plan.sections}
    assert energy["chorus"] > energy["verse"] > energy.get("intro", 0)


def test_pitched_notes_stay_in_scale():
    """A yo-scale tune stays pentatonic; its accompaniment uses the parent scale's chords."""
    song = compose({"style": "style_matsuri", "instrument": "instrument_koto", "mood": "mood_festive",
                    "gimmick": "gimmick_echo"}, 9)
    plan = song.plan
    tune = set(scale_pcs(plan.tonic_pc, plan.scale))
    parent = set(scale_pcs(plan.tonic_pc, harmony_scale(plan.scale)))
    assert len(tune) == 5 and tune < parent
    for track, inst in zip(plan.tracks, song.midi.instruments, strict=True):
        if inst.is_drum:
            continue
        pcs = {n.pitch % 12 for n in inst.notes}
        assert pcs <= (tune if track.role in ("melody", "texture") else parent), inst.name  # texture: the echo


def test_motif_notes_survive_in_the_melody():
    from kotone.music.arranger import generate_section, section_context
    from kotone.music.motifs import realize_motif

    song = compose(FOLK, 21)
    plan = song.plan
    i, sec = next((i, s) for i, s in enumerate(plan.sections) if s.motif_usage and not s.repeat_of)
    made = generate_section(plan, i)
    track = plan.track("melody")
    ctx = section_context(plan, sec, track, {}, 0.5)
    motifs = {m.motif_id: m for m in plan.motifs}
    vel = int(62 + 40 * sec.emotion.energy)
    for use in sec.motif_usage:
        for n in realize_motif(motifs[use.motif_id], use, ctx, vel):
            assert n in made["melody"]


def _sample_choices(n: int, seed: int = 0) -> list[dict[str, str]]:
    """A stratified sample: every card appears, the rest random."""
    cat = load_catalog()
    rng = np.random.default_rng(seed)
    per_slot = {s: [c.id for c in cat.by_slot(s)] for s in SLOTS}
    longest = max(len(v) for v in per_slot.values())
    out = []
    for k in range(longest):  # cover every card at least once
        out.append({s: per_slot[s][k % len(per_slot[s])] for s in SLOTS})
    while len(out) < n:
        out.append({s: str(rng.choice(per_slot[s])) for s in SLOTS})
    return out


@pytest.mark.slow
def test_stratified_combinations_all_compose():
    """>= 300 combinations, every card covered: valid, 45-120 s, >= 3 instruments, every track
    sounding and in the plan's order, pitches in the scale, the parent scale or the chords."""
    from eval.controllability import plan_scales

    choices = _sample_choices(300)
    seen = {c for ch in choices for c in ch.values()}
    assert seen == {c.id for c in load_catalog()}
    for k, choice in enumerate(choices):
        song = compose(choice, 1000 + k)
        check_song(song, choice, plan_scales(song.plan))


def check_song(song, choice, scale_at) -> None:
    assert 45.0 <= song.duration_s <= 120.0, choice
    assert len([i for i in song.midi.instruments if i.notes]) >= 3, choice
    assert song.midi.get_end_time() <= song.duration_s + 1e-6
    assert [t.name for t in song.plan.tracks] == [i.name for i in song.midi.instruments], choice
    assert all(i.notes for i in song.midi.instruments), choice
    for inst in song.midi.instruments:
        if not inst.is_drum:
            assert all(n.pitch % 12 in scale_at(n.start + 1e-3) for n in inst.notes), (choice, inst.name)
    for dim, v in song.measured.as_dict().items():
        assert 0 <= v <= 100, (choice, dim)


def test_every_card_composes():
    """Every card at least once (20 combinations), checked as in the slow 300-song sweep."""
    from eval.controllability import plan_scales

    for k, choice in enumerate(_sample_choices(20)):
        song = compose(choice, 2000 + k)
        check_song(song, choice, plan_scales(song.plan))


def _tune(song):
    return sorted((n for s in song.plan.sections for n in song.parts[s.section_id].get("melody", [])),
                  key=lambda n: n.start)


@pytest.mark.parametrize("choice", [FOLK, {"style": "style_jazz_swing", "instrument": "instrument_vibes",
                                            "mood": "mood_playful", "gimmick": "gimmick_swing"},
                                     {"style": "style_celtic", "instrument": "instrument_fiddle",
                                      "mood": "mood_festive", "gimmick": "gimmick_canon"}])
def test_a_new_mood_or_a_new_seed_is_a_new_tune(choice):
    """Key, motif and rhythm come from the cards and the seed together: fewer than half the
    tune's bars survive a mood swap or a seed change (read relative to each song's tonic)."""
    from eval.music_metrics import melody_overlap

    a = compose(choice, 31)
    for b in (compose({**choice, "mood": "mood_melancholy"}, 31), compose(choice, 32)):
        assert melody_overlap(_tune(a), _tune(b), a.plan.beats_per_bar, a.plan.tonic_pc, b.plan.tonic_pc) < 0.5


def test_swing_only_where_the_style_swings():
    straight = compose({**FOLK, "mood": "mood_homesick", "gimmick": "gimmick_vinyl_crackle"}, 5)
    assert straight.plan.swing == 0.0  # an old-time wish ages a straight style by its timing, not by swing
    assert compose({**FOLK, "gimmick": "gimmick_swing"}, 5).plan.swing > 0.1
    assert compose({**FOLK, "style": "style_jazz_swing"}, 5).plan.swing > 0.05


@pytest.mark.parametrize("style", ["style_folk", "style_bossa", "style_jazz_swing", "style_club", "style_waltz"])
def test_the_comping_strikes_at_most_two_chords_a_beat_and_stays_under_the_tune(style):
    from kotone.music.arranger import flatten

    song = compose({**FOLK, "style": style, "mood": "mood_frantic"}, 9)
    played = flatten(song.plan, song.parts)  # as composed (the players' timing spreads a chord's notes)
    onsets: dict[float, int] = {}
    for n in played["harmony"]:
        onsets[round(n.start, 2)] = onsets.get(round(n.start, 2), 0) + 1
    chords = sorted(t for t, k in onsets.items() if k >= 2)
    per_beat = max((sum(1 for t in chords if b <= t < b + 1) for b in range(int(song.plan.total_beats))), default=0)
    assert per_beat <= 2, (style, per_beat)
    lead = played["melody"]
    for n in played["harmony"]:
        over = [m.pitch for m in lead if m.start < n.end - 0.01 and m.end > n.start + 0.01]
        assert not over or n.pitch < min(over), (style, n)


def test_the_longest_songs_still_render(tmp_path):
    """Songs run up to 120 s; the audio renderer is given room for them (and their tail)."""
    from kotone.music.form import MAX_SECONDS
    from kotone.studio import AUDIO_MAX_S, render_files

    assert MAX_SECONDS + 10 <= AUDIO_MAX_S
    song = max((compose({**FOLK, "style": "style_ambient", "mood": "mood_calm"}, s) for s in range(3)),
               key=lambda s: s.duration_s)
    assert song.duration_s > 75
    files = render_files(song, tmp_path, with_images=False)
    assert any(name.startswith("song.") and name != "song.mid" for name in files)
