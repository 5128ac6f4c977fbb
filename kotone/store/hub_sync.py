"""Optional mirror of the gallery to a Hugging Face dataset repo (a Space's disk is wiped on
restart). Off unless KOTONE_HUB_DATASET names a repo; the token comes from HF_TOKEN only
and is never logged. Uploads run in a background thread and never block or fail a compose.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class HubMirror:
    def __init__(self, repo_id: str, token: str | None, api: Any = None):
        self.repo_id = repo_id
        self._token = token
        self._api = api

    @classmethod
    def from_env(cls, api: Any = None) -> HubMirror | None:
        repo = os.environ.get("KOTONE_HUB_DATASET", "").strip()
        if not repo or os.environ.get("HF_HUB_OFFLINE") == "1":
            return None
        return cls(repo, os.environ.get("HF_TOKEN"), api)

    @property
    def api(self) -> Any:
        if self._api is None:
            from huggingface_hub import HfApi

            self._api = HfApi(token=self._token)
        return self._api

    def push_song(self, song_dir: Path) -> None:
        """Upload one finished song folder to songs/<id>/ in the dataset repo."""
        try:
            self.api.upload_folder(repo_id=self.repo_id, repo_type="dataset", folder_path=str(song_dir),
                                   path_in_repo=f"songs/{song_dir.name}", commit_message=f"song {song_dir.name}")
        except Exception as exc:
            log.warning("hub mirror upload of %s failed: %s", song_dir.name, type(exc).__name__)

    def push_song_async(self, song_dir: Path) -> threading.Thread:
        t = threading.Thread(target=self.push_song, args=(song_dir,), daemon=True)
        t.start()
        return t

    def restore(self, root: Path) -> int:
        """Download the mirrored songs into ``root`` (at start-up); returns how many arrived."""
        try:
            from huggingface_hub import snapshot_download

            snapshot_download(repo_id=self.repo_id, repo_type="dataset", local_dir=str(root),
                              allow_patterns=["songs/*/*"], token=self._token)
        except Exception as exc:
            log.warning("hub mirror restore failed: %s", type(exc).__name__)
            return 0
        songs = root / "songs"
        return sum(1 for p in songs.iterdir() if p.is_dir()) if songs.exists() else 0
