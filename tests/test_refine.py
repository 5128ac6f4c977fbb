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
