"""The one compose -> render -> save path: typed records, versions, refusals that save nothing."""

import pytest

from kotone.assets import load_book
from kotone.domain.errors import InvalidInputError, NotFoundError
from kotone.store.gallery import Gallery
from kotone.studio import compose_and_save, load_record, refine_and_save, song_tracks

CHOICE = {"style": "style_folk", "instrument": "instrument_nylon", "mood": "mood_cheerful", "gimmick": "gimmick_echo"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    gallery = Gallery(tmp_path_factory.mktemp("gallery"))
    done = compose_and_save(CHOICE, 5, load_book().get("c017"), gallery)
    return gallery, done


def folders(gallery):
    return sorted(p.name for p in gallery.songs_dir.iterdir() if not p.name.startswith("."))


def test_saved_record_is_typed_and_reads_back_the_same(saved):
    gallery, done = saved
    again = load_record(gallery, done.entry.song_id)
    assert again.model_dump(exclude={"created", "files"}) == done.record.model_dump(exclude={"created", "files"})
    assert again.score is not None and len(again.score.coaching) == 4
    assert again.card_names["style"] == "Village Folk" and again.client is not None
    assert gallery.audio_file(done.entry.song_id) is not None
    assert again.timings_ms["coach_trials"] >= 1


def test_roll_tracks_follow_the_plan_tracks(saved):
    gallery, done = saved
    tracks = song_tracks(gallery, done.record)
    assert [t["role"] for t in tracks] == [t["role"] for t in done.record.plan["tracks"]]
    assert all(n[0] < n[1] for t in tracks for n in t["notes"])


def test_refined_song_is_a_titled_version_of_its_parent(saved):
    gallery, done = saved
    v2 = refine_and_save(done.entry.song_id, "make it a bit sadder and purple", gallery)
    assert v2.record.title == f"{done.record.title} (v2, a bit sadder)"
    assert v2.record.version == 2 and v2.record.parent == done.entry.song_id
    assert v2.record.refinement.understood == ["a bit sadder"] and v2.record.refinement.not_understood == ["purple"]
    assert len(v2.record.refinement.summary) == 3
    v3 = refine_and_save(v2.entry.song_id, "warmer", gallery)
    assert v3.record.title == f"{done.record.title} (v3, warmer)"


@pytest.mark.parametrize(("song_id", "command", "error"), [
    (None, "make it purple", InvalidInputError), ("AAAAAAAAAAAAAAAA", "sadder", NotFoundError),
])
def test_bad_refinements_save_nothing(saved, song_id, command, error):
    gallery, done = saved
    before = folders(gallery)
    with pytest.raises(error):
        refine_and_save(song_id or done.entry.song_id, command, gallery)
    assert folders(gallery) == before
