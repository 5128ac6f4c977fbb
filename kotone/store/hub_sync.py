"""Keep the gallery across Space restarts (a Space's own disk is wiped on restart).

Two ways, both optional:

- a Storage Bucket mounted on the Space as a volume, with ``KOTONE_DATA_DIR`` pointing at
  the mount: the gallery is written there directly and nothing here runs;
- a dataset repo named by ``KOTONE_HUB_DATASET`` (token from ``HF_TOKEN``, never logged):
  at start-up :meth:`HubMirror.restore` brings back the songs that are not on the local
  disk, then :meth:`HubMirror.start` runs a ``huggingface_hub.CommitScheduler`` that commits
  new files under ``songs/`` every few minutes. It is append-only: song folders are
  write-once, files already on the Hub are never uploaded again, nothing is ever deleted,
  and a failed commit is simply retried at the next tick. Compose never waits for it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kotone.store.gallery import SONG_ID_RE

log = logging.getLogger(__name__)

DEFAULT_EVERY_MIN = 5.0
MIN_TRIGGER_GAP_S = 60.0  # a save asks for a commit at most this often; the timer takes the rest
IGNORE = [".*", "*/.*"]  # the gallery's temporary folders and files (.tmp-*, .work-*, .add-*)
_ACTIVE: dict[str, HubMirror] = {}  # repo id -> the started mirror of this process
_ACTIVE_LOCK = threading.Lock()


def _scheduler_class() -> type:
    from huggingface_hub import CommitScheduler

    class SongScheduler(CommitScheduler):
        """CommitScheduler that knows which local files the Hub already has (restored or pushed
        by an earlier run), so a restart uploads only what is new."""

        def __init__(self, *, already: dict[Path, float], **kwargs: Any):
            self._already = already
            super().__init__(**kwargs)

        def push_to_hub(self):
            with self.lock:
                for path, mtime in self._already.items():
                    self.last_uploaded.setdefault(path, mtime)
                self._already = {}
            return super().push_to_hub()

    return SongScheduler


class HubMirror:
    def __init__(self, repo_id: str, token: str | None, api: Any = None, *, every_min: float = DEFAULT_EVERY_MIN):
        self.repo_id = repo_id
        self._token = token
        self._api = api
        self.every_min = every_min
        self.scheduler: Any = None
        self._remote: set[str] = set()
        self._last_trigger = float("-inf")

    def __repr__(self) -> str:  # never the token
        return f"HubMirror({self.repo_id!r}, started={self.scheduler is not None})"

    @classmethod
    def from_env(cls, api: Any = None) -> HubMirror | None:
        """The mirror KOTONE_HUB_DATASET asks for (the one already started in this process, if
        any), or None when it is unset or HF_HUB_OFFLINE=1."""
        repo = os.environ.get("KOTONE_HUB_DATASET", "").strip()
        if not repo or os.environ.get("HF_HUB_OFFLINE") == "1":
            return None
        with _ACTIVE_LOCK:
            if repo in _ACTIVE and api is None:
                return _ACTIVE[repo]
        try:
            every = float(os.environ.get("KOTONE_HUB_EVERY_MIN", DEFAULT_EVERY_MIN))
        except ValueError:
            every = DEFAULT_EVERY_MIN
        return cls(repo, os.environ.get("HF_TOKEN"), api, every_min=max(every, 0.1))

    @property
    def api(self) -> Any:
        if self._api is None:
            from huggingface_hub import HfApi

            self._api = HfApi(token=self._token)
        return self._api

    # ---- start-up

    def remote_files(self) -> set[str]:
        """Paths under songs/ in the dataset repo (empty when the repo does not exist yet)."""
        from huggingface_hub.errors import RepositoryNotFoundError

        try:
            files = self.api.list_repo_files(repo_id=self.repo_id, repo_type="dataset")
        except RepositoryNotFoundError:
            return set()
        return {f for f in files if f.startswith("songs/")}

    def restore(self, root: Path) -> int:
        """Bring back the mirrored songs that are not in ``root/songs`` (complete folders only,
        moved in whole; an existing local folder is never touched). Returns how many arrived."""
        songs = Path(root) / "songs"
        songs.mkdir(parents=True, exist_ok=True)
        try:
            self._remote = self.remote_files()
            missing = sorted({p.split("/")[1] for p in self._remote if p.count("/") == 2}
                             - {d.name for d in songs.iterdir()})
            missing = [m for m in missing if SONG_ID_RE.fullmatch(m) and f"songs/{m}/song.json" in self._remote]
            if not missing:
                return 0
            with tempfile.TemporaryDirectory(prefix=".restore-", dir=songs) as staging:
                self.api.snapshot_download(repo_id=self.repo_id, repo_type="dataset", local_dir=staging,
                                           allow_patterns=[f"songs/{m}/*" for m in missing])
                arrived = 0
                for song_id in missing:
                    src = Path(staging) / "songs" / song_id
                    if (src / "song.json").is_file() and not (songs / song_id).exists():
                        shutil.move(str(src), songs / song_id)
                        arrived += 1
            return arrived
        except Exception as exc:
            log.warning("hub mirror restore from %s failed: %s", self.repo_id, type(exc).__name__)
            return 0

    def start(self, songs_dir: Path) -> Any:
        """Start the background CommitScheduler over ``songs_dir`` (once per repo and process)."""
        songs_dir = Path(songs_dir).resolve()
        already = {p: p.stat().st_mtime for p in _files(songs_dir)
                   if f"songs/{p.relative_to(songs_dir).as_posix()}" in self._remote}
        try:
            self.scheduler = _scheduler_class()(
                already=already, repo_id=self.repo_id, repo_type="dataset", folder_path=songs_dir,
                path_in_repo="songs", every=self.every_min, private=True, ignore_patterns=IGNORE,
                hf_api=self.api)
        except Exception as exc:
            log.warning("hub mirror to %s could not start: %s", self.repo_id, type(exc).__name__)
            return None
        with _ACTIVE_LOCK:
            _ACTIVE[self.repo_id] = self
        return self.scheduler

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        with _ACTIVE_LOCK:
            if _ACTIVE.get(self.repo_id) is self:
                del _ACTIVE[self.repo_id]

    # ---- after a save

    def push_song_async(self, song_dir: Path) -> Any:
        """Ask for a commit soon after a save (at most once a minute; the scheduler's timer
        picks up every new file anyway). Returns a Future, or None when none was asked for."""
        if self.scheduler is None:
            log.info("hub mirror not started; %s is pushed after the next start-up", Path(song_dir).name)
            return None
        now = time.monotonic()
        if now - self._last_trigger < MIN_TRIGGER_GAP_S:
            return None
        self._last_trigger = now
        return self.scheduler.trigger()


def _files(folder: Path) -> Iterable[Path]:
    return (p for p in folder.glob("*/*") if p.is_file() and not p.parent.name.startswith("."))


def start_mirror(gallery: Any, api: Any = None) -> HubMirror | None:
    """At app start-up: restore missing songs into ``gallery``, rebuild its index when any
    arrived, and start the background mirror. None when no dataset is configured."""
    mirror = HubMirror.from_env(api=api)
    if mirror is None or mirror.scheduler is not None:
        return mirror
    if mirror.restore(gallery.root):
        gallery.rebuild_index()
    mirror.start(gallery.songs_dir)
    return mirror
