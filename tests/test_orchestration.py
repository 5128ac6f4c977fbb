"""Orchestration: one playable range per GM program applied to every track; the card's own
programs; idiomatic supporting parts; a lead that sits on top."""

import pytest

from kotone.assets import load_catalog
from kotone.music.orchestration import fit_to_range, orchestras, plan_tracks, program_range, ranges
from kotone.music.types import Note

CAT = load_catalog()


def test_ranges_table_is_complete_and_sane():
    table = ranges()
    assert sorted(table) == list(range(128))
    assert program_range(73) == (60, 96)  # flute C4-C7
    assert program_range(58)[1] <= 60  # tuba stays low
    assert program_range(78)[0] >= 72  # tin whistle stays high
    for lo, hi in table.values():
        assert hi - lo >= 12


def test_fit_to_range_folds_by_octaves():
    notes = [Note(0, 1, 100, 80), Note(1, 1, 40, 80), Note(2, 1, 70, 80)]
    assert [n.pitch for n in fit_to_range(notes, 60, 96)] == [88, 64, 70]


def _tracks(style, inst, mood="mood_calm", gimmick="gimmick_echo"):
    from kotone.domain.scoring import blend_profile

    cards = {"style": CAT.get(style), "instrument": CAT.get(inst), "mood": CAT.get(mood), "gimmick": CAT.get(gimmick)}
    return {t.role: t for t in plan_tracks(cards["style"].music, cards["instrument"].music, blend_profile(cards),
                                           cards["gimmick"].music, {})}


@pytest.mark.parametrize("inst", [c.id for c in CAT.by_slot("instrument")])
def test_the_card_programs_play_the_roles_the_card_names(inst):
    music = CAT.get(inst).music
    tracks = _tracks("style_folk", inst, mood="mood_mysterious")  # complex enough for pad and counter
    for role in ("melody", "harmony", "bass"):
        assert tracks[role].program in music.programs[role], (inst, role)
    for role, t in tracks.items():
        if t.is_drum or role in ("texture", "percussion"):
            continue
        lo, hi = program_range(t.program)
        assert lo <= t.low < t.high <= hi, (inst, role, t)
    lead = tracks["melody"]
    for role in ("harmony", "pad", "counter"):
        if role in tracks:
            assert tracks[role].high < (lead.low + lead.high) / 2, (inst, role)


def test_no_church_organ_comps_a_bossa_and_culture_styles_get_their_own_sounds():
    for inst in [c.id for c in CAT.by_slot("instrument")]:
        tracks = _tracks("style_bossa", inst, mood="mood_romantic")
        assert all(t.program != 19 for r, t in tracks.items() if r != "pad" or "pad" not in CAT.get(inst).music.programs)
    matsuri = _tracks("style_matsuri", "instrument_piano", mood="mood_mysterious")
    assert matsuri["percussion"].program == 116  # taiko
    assert matsuri["counter"].program in orchestras()["japanese"]["counter"]
    assert "percussion" not in _tracks("style_bossa", "instrument_piano")
