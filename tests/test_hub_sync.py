"""The gallery's mirror to a Hub dataset, against a fake Hub: a real ``HfApi`` subclass whose
network calls (create_repo, list_repo_files, create_commit, snapshot_download) work on a dict,
so huggingface_hub's own CommitScheduler runs unchanged up to that boundary."""

from __future__ import annotations

import fnmatch
import logging
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import RepositoryNotFoundError
from huggingface_hub.hf_api import RepoUrl

from kotone.store import hub_sync
from kotone.store.gallery import Gallery, new_song_id
from kotone.store.hub_sync import HubMirror, start_mirror

TOKEN = "hf_secret_token_value_123"


class FakeHub(HfApi):
    def __init__(self, files: dict[str, bytes] | None = None, *, exists: bool = True, down: bool = False):
        super().__init__(token=TOKEN)
        self.files = dict(files or {})
        self.exists, self.down = exists, down
        self.commits: list[list[str]] = []
        self.created: dict | None = None

    def _check(self):
        if self.down:
            raise ConnectionError(f"no network (token {TOKEN} would never be printed by us)")

    def create_repo(self, repo_id, **kw):
        self._check()
        self.created, self.exists = kw, True
        return RepoUrl(f"https://huggingface.co/datasets/{repo_id}")

    def list_repo_files(self, repo_id, **kw):
        self._check()
        if not self.exists:
            raise RepositoryNotFoundError("404", response=httpx.Response(404))
        return sorted(self.files)

    def create_commit(self, repo_id, operations, **kw):
        self._check()
        assert all(isinstance(op, CommitOperationAdd) for op in operations)  # append-only: never a delete
        for op in operations:
            with op.as_file() as fh:
                self.files[op.path_in_repo] = fh.read()
        self.commits.append(sorted(op.path_in_repo for op in operations))

    def snapshot_download(self, repo_id, *, local_dir, allow_patterns=(), **kw):
        self._check()
        for path, data in self.files.items():
            if any(fnmatch.fnmatch(path, pat) for pat in allow_patterns):
                target = Path(local_dir) / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        return str(local_dir)


def add_song(gallery: Gallery, tmp_path: Path, title: str) -> str:
    f = tmp_path / f"{title}.mid"
    f.write_bytes(b"MThd" + title.encode())
    return gallery.save({"title": title, "cards": {"style": "style_folk"}}, {"song.mid": f}).song_id


def remote_song(song_id: str, title: str) -> dict[str, bytes]:
    record = f'{{"title": "{title}", "song_id": "{song_id}", "created": 1.0, "cards": {{}}}}'
    return {f"songs/{song_id}/song.json": record.encode(), f"songs/{song_id}/song.mid": b"MThd"}


@pytest.fixture()
def env(monkeypatch):
    monkeypatch.setenv("KOTONE_HUB_DATASET", "me/kotone-songs")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("KOTONE_HUB_EVERY_MIN", "600")  # only the first tick and explicit triggers run
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield
    for mirror in list(hub_sync._ACTIVE.values()):
        mirror.stop()


def test_mirror_is_off_without_config_or_offline(monkeypatch):
    monkeypatch.delenv("KOTONE_HUB_DATASET", raising=False)
    assert HubMirror.from_env() is None
    monkeypatch.setenv("KOTONE_HUB_DATASET", "me/songs")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert HubMirror.from_env() is None


def test_restart_restores_missing_songs_and_uploads_only_new_files(env, tmp_path):
    kept, lost = new_song_id(), new_song_id()
    hub = FakeHub({**remote_song(kept, "Kept"), **remote_song(lost, "Lost on restart"),
                   f"songs/{new_song_id()}/song.mid": b"no song.json: an incomplete upload",
                   "songs/not-a-song-id/song.json": b"{}"})
    gallery = Gallery(tmp_path / "data")
    (gallery.songs_dir / kept).mkdir()  # still on disk: never touched
    (gallery.songs_dir / kept / "song.json").write_text('{"title": "local copy", "created": 2.0}')
    new = add_song(gallery, tmp_path, "Made before the restart")

    mirror = start_mirror(gallery, api=hub)
    mirror.scheduler.trigger().result(timeout=30)
    assert sorted(p.name for p in gallery.songs_dir.iterdir() if not p.name.startswith(".")) == sorted(
        [kept, lost, new])
    assert gallery.load(lost)["title"] == "Lost on restart"
    assert gallery.load(kept)["title"] == "local copy"
    assert {e.song_id for e in gallery.entries()} >= {lost, new}  # the index was rebuilt
    # the first commit holds only what the Hub lacked (the restored song is not sent back)
    assert hub.commits == [[f"songs/{new}/song.json", f"songs/{new}/song.mid"]]
    assert hub.created["private"] is True and hub.created["repo_type"] == "dataset"


def test_later_files_are_committed_once_and_temporary_ones_never(env, tmp_path):
    hub = FakeHub(exists=False)
    gallery = Gallery(tmp_path / "data")
    mirror = start_mirror(gallery, api=hub)
    mirror.scheduler.trigger().result(timeout=30)
    assert hub.commits == []  # nothing yet
    song = add_song(gallery, tmp_path, "First")
    (gallery.songs_dir / ".tmp-halfwritten").mkdir()
    (gallery.songs_dir / ".tmp-halfwritten" / "song.mid").write_bytes(b"partial")
    mirror.push_song_async(gallery.song_dir(song)).result(timeout=30)
    assert hub.commits == [[f"songs/{song}/song.json", f"songs/{song}/song.mid"]]
    gallery.add_file(song, "elevenlabs.mp3", b"ID3 audio")  # an ElevenLabs render added later
    mirror.scheduler.trigger().result(timeout=30)
    mirror.scheduler.trigger().result(timeout=30)  # no change: no commit
    assert hub.commits[1:] == [[f"songs/{song}/elevenlabs.mp3"]]
    assert not any(".tmp-" in p for p in hub.files)


def test_a_save_asks_for_a_commit_at_most_once_a_minute(env, tmp_path):
    gallery = Gallery(tmp_path / "data")
    mirror = start_mirror(gallery, api=FakeHub())
    assert HubMirror.from_env() is mirror  # studio.save_song finds the running mirror
    song = add_song(gallery, tmp_path, "One")
    assert mirror.push_song_async(gallery.song_dir(song)) is not None
    assert mirror.push_song_async(gallery.song_dir(song)) is None  # the timer picks it up instead


def test_hub_down_never_blocks_start_up_or_leaks_the_token(env, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    gallery = Gallery(tmp_path / "data")
    song = add_song(gallery, tmp_path, "Local")
    mirror = start_mirror(gallery, api=FakeHub(down=True))
    assert mirror is not None and mirror.scheduler is None  # could not start: the app runs on
    assert gallery.load(song)["title"] == "Local"
    assert "restore" in caplog.text and TOKEN not in caplog.text and TOKEN not in repr(mirror)
    assert mirror.push_song_async(gallery.song_dir(song)) is None
