import json

import pytest

from kotone.domain.errors import InvalidInputError, NotFoundError
from kotone.store.gallery import Gallery, check_song_id, new_song_id


def save(g, tmp_path, title="Song", score=None):
    f = tmp_path / f"{title}.mid"
    f.write_bytes(b"MThd")
    return g.save({"title": title, "cards": {"style": "style_folk"}, "score": score}, {"song.mid": f})


def test_ids_are_unguessable_and_validated():
    ids = {new_song_id() for _ in range(2000)}
    assert len(ids) == 2000
    for i in ids:
        assert check_song_id(i) == i
    for forged in ["../etc/passwd", "", "a" * 15, "a" * 17, "abc/defghijklmno", None, 12, "<script>alert(1)</s>"]:
        with pytest.raises(InvalidInputError):
            check_song_id(forged)


def test_save_load_and_newest_first(tmp_path):
    g = Gallery(tmp_path / "data")
    a = save(g, tmp_path, "First", {"total": 80.0, "rank": "A"})
    b = save(g, tmp_path, "Second")
    assert [e.song_id for e in g.entries()] == [b.song_id, a.song_id]
    rec = g.load(a.song_id)
    assert rec["title"] == "First" and rec["song_id"] == a.song_id
    assert g.file(a.song_id, "song.mid").read_bytes() == b"MThd"
    with pytest.raises(NotFoundError):
        g.load(new_song_id())
    with pytest.raises(InvalidInputError):
        g.file(a.song_id, "../../secret")


def test_index_rebuilds_from_folders(tmp_path):
    g = Gallery(tmp_path / "data")
    ids = {save(g, tmp_path, f"S{i}").song_id for i in range(3)}
    (g.root / "index.jsonl").write_text("not json\n")
    assert {e.song_id for e in g.entries()} == ids
    (g.root / "index.jsonl").unlink()
    assert {e.song_id for e in Gallery(g.root).entries()} == ids


def test_failed_save_leaves_nothing(tmp_path):
    g = Gallery(tmp_path / "data")
    with pytest.raises(FileNotFoundError):
        g.save({"title": "x"}, {"song.mid": tmp_path / "missing.mid"})
    assert list(g.songs_dir.iterdir()) == []
    assert not (g.root / "index.jsonl").exists()


def test_songs_are_write_once(tmp_path):
    g = Gallery(tmp_path / "data")
    e = save(g, tmp_path)
    before = (g.song_dir(e.song_id) / "song.json").read_text()
    save(g, tmp_path)
    assert (g.song_dir(e.song_id) / "song.json").read_text() == before
    assert json.loads(before)["song_id"] == e.song_id


def test_added_files_are_write_once(tmp_path):
    g = Gallery(tmp_path / "data")
    song = save(g, tmp_path).song_id
    path = g.add_file(song, "elevenlabs.mp3", b"ID3 first")
    with pytest.raises(FileExistsError):
        g.add_file(song, "elevenlabs.mp3", b"ID3 second")
    assert path.read_bytes() == b"ID3 first" and g.file(song, "elevenlabs.mp3") == path
    assert not [p for p in g.song_dir(song).iterdir() if p.name.startswith(".")]
    with pytest.raises(InvalidInputError):
        g.add_file(song, "song.json", b"{}")
    with pytest.raises(NotFoundError):
        g.add_file(new_song_id(), "elevenlabs.mp3", b"x")
