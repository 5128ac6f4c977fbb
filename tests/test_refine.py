"""Refinement commands change only the targeted sections and move the music the asked way."""

import pytest

from kotone.domain.errors import InvalidInputError
from kotone.music.refine import parse_command
from kotone.pipeline import compose, refine_song

SONG = {"style": "style_citypop", "instrument": "instrument_rhodes", "mood": "mood_cheerful", "gimmick": "gimmick_echo"}


@pytest.fixture(scope="module")
def song():
    s = compose(SONG, 17)
    assert {x.section_type for x in s.plan.sections} >= {"verse", "chorus", "outro"}
    return s


def notes_in(song, section):
    spb = 60.0 / song.plan.tempo_bpm
    t0, t1 = section.start_beat * spb, (section.start_beat + section.bars * song.plan.beats_per_bar) * spb
    return sorted((i.name, round(n.start, 4), round(n.end, 4), n.pitch, n.velocity)
                  for i in song.midi.instruments for n in i.notes if t0 - 0.002 <= n.start < t1 - 0.002)


@pytest.mark.parametrize(
    ("command", "targets", "dim", "direction"),
    [
        ("make it sadder", None, "brightness", -1),
        ("happier please", None, "brightness", +1),
        ("more intense in the chorus", {"chorus"}, "energy", +1),
        ("calmer ending", {"outro"}, "energy", -1),
        ("a calmer verse", {"verse"}, "energy", -1),
        ("more driving in the verse", {"verse"}, "energy", +1),
        ("sadder chorus", {"chorus"}, "brightness", -1),
    ],
)
def test_command_table(song, command, targets, dim, direction):
    new, diff = refine_song(song, command)
    kinds = targets or {s.section_type for s in song.plan.sections}
    moves = []
    for old_s, new_s, d in zip(song.plan.sections, new.plan.sections, diff["sections"], strict=True):
        if old_s.section_type in kinds:
            assert d["changed"], (command, old_s.section_id)
            before, after = d["measured"][dim]
            moves.append(after - before)
        else:  # untouched sections stay note for note, in the plan's parts and in the MIDI file
            assert not d["changed"], (command, old_s.section_id)
            assert notes_in(song, old_s) == notes_in(new, new_s), (command, old_s.section_id)
    # the targeted sections, measured on their own, move the asked way on average
    assert sum(moves) / len(moves) * direction > 0, (command, dim, moves)
    assert new.plan.seed == song.plan.seed and new.plan.cards == song.plan.cards


def test_motifs_stay_locked(song):
    new, _ = refine_song(song, "more intense in the chorus")
    assert new.plan.motifs == song.plan.motifs
    for a, b in zip(song.plan.sections, new.plan.sections, strict=True):
        assert a.motif_usage == b.motif_usage


@pytest.mark.parametrize(("text", "message"), [
    ("", "say how to change"),
    ("make it purple", "don't know how"),
    ("sadder bridge", "no bridge"),
    ("x" * 500, "limited to"),
])
def test_bad_commands(text, message):
    plan = compose({**SONG, "style": "style_celtic"}, 3).plan  # AABB strains: no bridge
    if "bridge" in text:
        assert "bridge" not in {s.section_type for s in plan.sections}
    with pytest.raises(InvalidInputError, match=message):
        parse_command(text, plan)


FOLK = {"style": "style_folk", "instrument": "instrument_nylon", "mood": "mood_tender", "gimmick": "gimmick_rain"}


@pytest.fixture(scope="module")
def folk():
    return compose(FOLK, 3)


def _onsets(song):
    return sorted((round(n.start, 4), round(n.end, 4), n.pitch) for i in song.midi.instruments for n in i.notes)


@pytest.mark.parametrize(
    ("which", "command", "dim", "direction"),
    [
        ("citypop", "more energetic", "energy", +1),
        ("citypop", "calmer", "energy", -1),
        ("citypop", "warmer", "warmth", +1),
        ("citypop", "colder", "warmth", -1),
        ("citypop", "more acoustic", "acousticness", +1),
        ("folk", "less acoustic", "acousticness", -1),
        ("citypop", "richer", "complexity", +1),
        ("citypop", "simpler", "complexity", -1),
        ("citypop", "more nostalgic", "nostalgia", +1),
        ("citypop", "more modern", "nostalgia", -1),
    ],
)
def test_every_quality_moves_the_song_the_asked_way(song, folk, which, command, dim, direction):
    """Each of the six qualities, both ways, measured over the whole refined song."""
    base = song if which == "citypop" else folk
    _, diff = refine_song(base, command)
    before, after = diff["measured"][dim]
    assert (after - before) * direction >= 1.0, (command, dim, before, after)
    assert any(s["changed"] for s in diff["sections"]), command


def test_an_instrument_swap_keeps_every_note_and_the_cards_lead(song):
    new, diff = refine_song(song, "more acoustic")
    swapped = {i["role"] for i in diff["instruments"]}
    assert swapped and swapped <= {"bass", "pad", "counter"}, diff["instruments"]
    assert new.parts == song.parts  # the same notes (only the players of a more acoustic band sit looser)
    assert new.plan.track("melody").program == song.plan.track("melody").program
    assert new.plan.track("harmony").program == song.plan.track("harmony").program
    assert any(t.decision_type == "orchestration" for t in new.plan.traces)


def test_a_named_section_changes_its_players_only(song):
    new, diff = refine_song(song, "more nostalgic in the chorus")
    assert not diff["instruments"]  # instruments play the whole song: a section request keeps them
    for old_s, new_s, d in zip(song.plan.sections, new.plan.sections, diff["sections"], strict=True):
        if old_s.section_type == "chorus":
            assert new_s.timing_spread > song.plan.timing_spread
            assert d["measured"]["nostalgia"][1] > d["measured"]["nostalgia"][0]
        else:
            assert new_s.timing_spread is None and not d["changed"]
            assert notes_in(song, old_s) == notes_in(new, new_s)


def test_richer_and_simpler_change_the_chords(song):
    richer, _ = refine_song(song, "richer chorus")
    for old_s, new_s in zip(song.plan.sections, richer.plan.sections, strict=True):
        if old_s.section_type == "chorus":
            assert sum(len(c.pcs) > 3 for c in new_s.chords) > sum(len(c.pcs) > 3 for c in old_s.chords)
        else:
            assert new_s.chords == old_s.chords
    simpler, _ = refine_song(song, "simpler")
    assert all(len(c.pcs) == 3 for s in simpler.plan.sections for c in s.chords)
    assert len(simpler.plan.sections[-1].chords[-1].pcs) == 3  # the final tonic stays a triad either way
    assert len(richer.plan.sections[-1].chords[-1].pcs) == len(song.plan.sections[-1].chords[-1].pcs)
