"""The one ROLES table, the plan contract (tracks in MIDI order, tonic, section types), old
plans still loading, and no track without notes."""

import json
from typing import get_args

from kotone.domain.plan import RETIRED_FIELDS, SongPlan
from kotone.domain.roles import ACCOMPANIMENT, GEN_ORDER, PLAN_ORDER, ROLES, RoleName
from kotone.music.critic import regenerate_roles
from kotone.pipeline import compose

FOLK = {"style": "style_folk", "instrument": "instrument_nylon", "mood": "mood_tender", "gimmick": "gimmick_rain"}


def test_one_role_table():
    assert set(get_args(RoleName)) == set(ROLES) == set(PLAN_ORDER) == set(GEN_ORDER)
    assert len({r.salt for r in ROLES.values()}) == len(ROLES)
    # the tune is made before every part arranged under it
    assert all(GEN_ORDER.index("melody") < GEN_ORDER.index(r) for r in ACCOMPANIMENT)
    assert "melody" not in ACCOMPANIMENT and "texture" not in ACCOMPANIMENT
    assert regenerate_roles("rhythm") == ("drums",)


def test_song_json_contract_and_track_order():
    song = compose(FOLK, 4)
    data = json.loads(song.plan.model_dump_json())
    assert [t["name"] for t in data["tracks"]] == [i.name for i in song.midi.instruments]
    assert all("role" in t for t in data["tracks"]) and 0 <= data["tonic_pc"] <= 11
    assert all("section_type" in s for s in data["sections"])
    assert all(i.notes for i in song.midi.instruments)  # a track with no notes is never planned
    assert [t.role for t in song.plan.tracks] == sorted((t.role for t in song.plan.tracks), key=PLAN_ORDER.index)


def test_plans_stored_by_the_previous_version_still_load():
    data = json.loads(compose(FOLK, 3).plan.model_dump_json())
    data["chord_extensions"] = True
    data["articulation"] = "legato"
    for t in data["tracks"]:
        t["color"] = "#ffb454"
    for s in data["sections"]:
        for b in s["track_behaviors"].values():
            b.update(enter_bar=0, pattern="")
        del s["label"], s["repeat_of"]
    old = SongPlan.model_validate(data)
    assert old.tracks and RETIRED_FIELDS["TrackSpec"] == {"color"}
    from kotone.pipeline import song_from_plan

    again = song_from_plan(old)
    assert again.midi.instruments and again.duration_s > 0


def test_unknown_fields_are_still_refused():
    import pytest
    from pydantic import ValidationError

    data = json.loads(compose(FOLK, 3).plan.model_dump_json())
    data["tempo"] = 3
    with pytest.raises(ValidationError):
        SongPlan.model_validate(data)
