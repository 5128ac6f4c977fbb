from pathlib import Path

from kotone.store.hub_sync import HubMirror


class FakeApi:
    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    def upload_folder(self, **kw):
        if self.fail:
            raise ConnectionError("no network")
        self.calls.append(kw)


def test_mirror_is_off_without_config(monkeypatch):
    monkeypatch.delenv("KOTONE_HUB_DATASET", raising=False)
    assert HubMirror.from_env() is None
    monkeypatch.setenv("KOTONE_HUB_DATASET", "me/songs")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert HubMirror.from_env() is None


def test_push_uploads_the_song_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KOTONE_HUB_DATASET", "me/songs")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    api = FakeApi()
    mirror = HubMirror.from_env(api=api)
    song = tmp_path / "AbCdEfGhIjKlMnOp"
    song.mkdir()
    mirror.push_song_async(song).join(5)
    assert api.calls == [{"repo_id": "me/songs", "repo_type": "dataset", "folder_path": str(song),
                          "path_in_repo": "songs/AbCdEfGhIjKlMnOp", "commit_message": "song AbCdEfGhIjKlMnOp"}]
    assert "hf_secret_value" not in repr(mirror.__dict__.get("repo_id"))


def test_upload_failure_never_raises_and_never_logs_the_token(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    mirror = HubMirror("me/songs", "hf_secret_value", api=FakeApi(fail=True))
    mirror.push_song(Path(tmp_path))
    assert "upload" in caplog.text and "hf_secret_value" not in caplog.text
