import json
import os
import threading
import time

import pytest

from kotone.domain.errors import CapacityError, InvalidInputError, NotFoundError
from kotone.store.gallery import Gallery, check_song_id, new_song_id
from kotone.store.index import SongEntry


def save(g, tmp_path, title="Song", score=None):
    f = tmp_path / f"{title}.mid"
    f.write_bytes(b"MThd")
    return g.save({"title": title, "cards": {"style": "style_folk"}, "score": score}, {"song.mid": f})


def listed(g, limit=500):
    return [e.song_id for e in g.entries(limit)]


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
    assert listed(g) == [b.song_id, a.song_id]
    assert g.entries()[1] == a and a.score == 80.0 and a.rank == "A"
    rec = g.load(a.song_id)
    assert rec["title"] == "First" and rec["song_id"] == a.song_id and rec["created"] == a.created
    assert g.file(a.song_id, "song.mid").read_bytes() == b"MThd"
    with pytest.raises(NotFoundError):
        g.load(new_song_id())
    with pytest.raises(InvalidInputError):
        g.file(a.song_id, "../../secret")
    with pytest.raises(InvalidInputError):
        g.file(a.song_id, "song.json")  # the record is not a media file


def test_pages_follow_a_keyset_cursor_newest_first(tmp_path):
    g = Gallery(tmp_path / "data")
    rows = [SongEntry(song_id=new_song_id(), created=1000.0 + i // 3, title=f"S{i}", commission=None, score=None,
                      rank=None, cards={}) for i in range(30)]
    g.index.add_many(rows)
    expect = [r.song_id for r in sorted(rows, key=lambda r: (r.created, r.song_id), reverse=True)]
    got, before = [], None
    while page := g.entries(7, before):
        got += [e.song_id for e in page]
        before = (page[-1].created, page[-1].song_id)
    assert got == expect  # equal timestamps neither repeat nor skip across pages


def test_index_rebuilds_from_folders_and_survives_corruption(tmp_path):
    g = Gallery(tmp_path / "data")
    ids = {save(g, tmp_path, f"S{i}").song_id for i in range(3)}
    g.index.close()
    for name in ("index.db-wal", "index.db-shm"):
        (g.root / name).unlink(missing_ok=True)
    (g.root / "index.db").write_bytes(b"this is not a database" * 100)
    assert set(listed(Gallery(g.root))) == ids
    for name in ("index.db", "index.db-wal", "index.db-shm"):
        (g.root / name).unlink(missing_ok=True)
    g2 = Gallery(g.root)
    assert set(listed(g2)) == ids
    g2.index.remove(ids)
    assert g2.rebuild_index() == 3 and set(listed(g2)) == ids


def test_failed_save_leaves_nothing(tmp_path):
    g = Gallery(tmp_path / "data")
    with pytest.raises(FileNotFoundError):
        g.save({"title": "x"}, {"song.mid": tmp_path / "missing.mid"})
    assert list(g.songs_dir.iterdir()) == []
    assert g.count() == 0


def test_songs_are_write_once(tmp_path):
    g = Gallery(tmp_path / "data")
    e = save(g, tmp_path)
    before = (g.song_dir(e.song_id) / "song.json").read_text()
    save(g, tmp_path)
    assert (g.song_dir(e.song_id) / "song.json").read_text() == before
    assert json.loads(before)["song_id"] == e.song_id


def test_recover_cleans_temp_folders_and_lists_unlisted_songs(tmp_path):
    g = Gallery(tmp_path / "data")
    kept = save(g, tmp_path, "Kept")
    unlisted = save(g, tmp_path, "Unlisted")
    gone = save(g, tmp_path, "Gone")
    g.index.remove([unlisted.song_id])  # a crash between the rename and the index row
    os.rename(g.song_dir(gone.song_id), tmp_path / "elsewhere")  # a folder lost out of band
    (g.songs_dir / ".work-abc").mkdir()
    (g.songs_dir / ".tmp-xyz").mkdir()
    (g.songs_dir / ".tmp-xyz" / "song.mid").write_bytes(b"half")
    broken = g.songs_dir / new_song_id()
    broken.mkdir()
    (broken / "song.json").write_text("{not json")
    report = Gallery(g.root).recover()
    assert (report.removed_temp, report.reindexed, report.dropped, report.damaged) == (2, 1, 1, 1)
    assert not [p for p in g.songs_dir.iterdir() if p.name.startswith(".")]
    assert set(listed(g)) == {kept.song_id, unlisted.song_id}


def test_disk_guard_refuses_new_songs_and_saves_nothing(tmp_path):
    g = Gallery(tmp_path / "data", min_free_mb=1e12)
    with pytest.raises(CapacityError, match="space"):
        save(g, tmp_path)
    assert list(g.songs_dir.iterdir()) == [] and g.count() == 0


def test_size_policy_prunes_never_opened_songs_first(tmp_path):
    g = Gallery(tmp_path / "data", max_songs=3, keep_s=0)
    a, b, c = (save(g, tmp_path, t) for t in "ABC")
    g.load(a.song_id)  # reopened: kept over the never-opened ones
    d = save(g, tmp_path, "D")
    assert set(listed(g)) == {a.song_id, c.song_id, d.song_id}
    assert not g.songs_dir.joinpath(b.song_id).exists()
    assert not [p for p in g.songs_dir.iterdir() if p.name.startswith(".")]


def test_size_policy_never_prunes_young_songs(tmp_path):
    g = Gallery(tmp_path / "data", max_songs=2, keep_s=3600)
    save(g, tmp_path, "A"), save(g, tmp_path, "B")
    with pytest.raises(CapacityError, match="full"):
        save(g, tmp_path, "C")
    assert g.count() == 2 and len(list(g.songs_dir.iterdir())) == 2


def test_concurrent_saves_and_rebuilds_lose_no_row(tmp_path):
    g = Gallery(tmp_path / "data")
    saved, errors = [], []

    def writer(k):
        try:
            for i in range(15):
                f = tmp_path / f"w{k}-{i}.mid"
                f.write_bytes(b"MThd")
                saved.append(Gallery(g.root).save({"title": f"{k}-{i}", "cards": {}}, {"song.mid": f}).song_id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        g.rebuild_index()
        time.sleep(0.005)
    for t in threads:
        t.join()
    assert not errors
    assert set(listed(g)) == set(saved) and len(saved) == 60


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
