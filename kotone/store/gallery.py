"""The gallery: each song is a write-once folder named by an unguessable id, plus an index
(:mod:`kotone.store.index`, SQLite) that can always be rebuilt from the folders. A Space's
disk is wiped on restart, so the folder layout is also what ``hub_sync`` mirrors.

Durability: a song is written into a ``.tmp-*`` folder, every file and the folder are
fsynced, the folder is renamed into place (atomic), the parent is fsynced and the index row
committed before :meth:`Gallery.save` returns. A crash leaves at worst a ``.tmp-*``/``.work-*``
folder (removed by :meth:`Gallery.recover` at start-up) or a complete folder the index does
not list yet (re-indexed by :meth:`Gallery.recover`).

Bounds: :meth:`Gallery.check_capacity` refuses new songs when free disk falls under
``min_free_mb`` and keeps at most ``max_songs``, pruning first the oldest songs nobody
ever reopened (older than ``keep_s``), then the least recently reopened.

Only media files are meant for the web (:data:`MEDIA_FILES`); ``song.json`` holds the whole
internal record, including the commission's hidden target.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kotone.domain.errors import CapacityError, InvalidInputError, NotFoundError
from kotone.store.index import INDEX_FILE, SongEntry, SongIndex

__all__ = ["MEDIA_FILES", "Gallery", "SongEntry", "check_song_id", "new_song_id"]

log = logging.getLogger(__name__)

SONG_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16}$")
# files that may be added to a finished song folder later, once each (an ElevenLabs render)
ADDED_FILES = frozenset({"elevenlabs.mp3", "elevenlabs.json"})
# what the web may serve: audio, MIDI and images (never song.json or elevenlabs.json)
MEDIA_FILES = frozenset({"song.mid", "song.ogg", "song.wav", "song.mp3", "roll.png", "thumb.png", "elevenlabs.mp3"})
TEMP_PREFIXES = (".tmp-", ".work-")
DEFAULT_MAX_SONGS = 20_000  # ~0.4 MB each: about 8 GB of songs
DEFAULT_MIN_FREE_MB = 500
DEFAULT_KEEP_S = 86_400.0  # a new song is never pruned in its first day


def default_root() -> Path:
    return Path(os.environ.get("KOTONE_DATA_DIR", Path.cwd() / "data"))


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        log.warning("ignoring %s: not a number", name)
        return default


def new_song_id() -> str:
    """16 URL-safe characters from a CSPRNG (96 bits): not guessable, not enumerable."""
    return secrets.token_urlsafe(12)


def check_song_id(song_id: object) -> str:
    if not isinstance(song_id, str) or not SONG_ID_RE.fullmatch(song_id.strip()):
        if not isinstance(song_id, str):
            shown = f"a {type(song_id).__name__}"
        elif re.fullmatch(r"[\w\-. ]{0,40}", song_id, flags=re.ASCII):
            shown = repr(song_id)
        else:  # never echo markup or odd characters back
            shown = f"{len(song_id)} characters"
        raise InvalidInputError(f"not a valid song id ({shown}); a share id is 16 letters, digits, - or _")
    return song_id.strip()


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's data and metadata to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Recovery:
    """What :meth:`Gallery.recover` did."""

    removed_temp: int
    reindexed: int
    dropped: int
    damaged: int


_REOPENED: dict[tuple, Gallery] = {}


def _reopen(root: str, max_songs: int, min_free_mb: float, keep_s: float) -> Gallery:
    """The Gallery a pickled one stands for, opened once per process (see ``__reduce__``)."""
    key = (root, max_songs, min_free_mb, keep_s)
    if key not in _REOPENED:
        _REOPENED[key] = Gallery(Path(root), max_songs=max_songs, min_free_mb=min_free_mb, keep_s=keep_s)
    return _REOPENED[key]


class Gallery:
    def __init__(self, root: Path | None = None, *, max_songs: int | None = None,
                 min_free_mb: float | None = None, keep_s: float | None = None):
        self.root = Path(root) if root else default_root()
        self.songs_dir = self.root / "songs"
        self.songs_dir.mkdir(parents=True, exist_ok=True)
        self.max_songs = int(max_songs if max_songs is not None
                             else _env_number("KOTONE_GALLERY_MAX_SONGS", DEFAULT_MAX_SONGS))
        self.min_free_mb = float(min_free_mb if min_free_mb is not None
                                 else _env_number("KOTONE_MIN_FREE_MB", DEFAULT_MIN_FREE_MB))
        self.keep_s = float(keep_s if keep_s is not None else _env_number("KOTONE_GALLERY_KEEP_S", DEFAULT_KEEP_S))
        self.index = SongIndex(self.root / INDEX_FILE)
        if self.index.fresh:
            self.rebuild_index()

    def __reduce__(self) -> tuple:
        """Pickled as its settings (a worker process reopens the same folder and index)."""
        return _reopen, (str(self.root), self.max_songs, self.min_free_mb, self.keep_s)

    # ---- paths -------------------------------------------------------------------------

    def song_dir(self, song_id: str) -> Path:
        return self.songs_dir / check_song_id(song_id)

    def add_file(self, song_id: str, name: str, data: bytes) -> Path:
        """Add one of ADDED_FILES to a saved song, write-once: it appears whole or not at all and
        an existing file is never replaced (FileExistsError). Durable when it returns."""
        if name not in ADDED_FILES:
            raise InvalidInputError(f"unknown added song file {name!r}")
        folder = self.song_dir(song_id)
        if not (folder / "song.json").is_file():
            raise NotFoundError(f"no song with id {song_id!r}")
        fd, tmp = tempfile.mkstemp(prefix=".add-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, folder / name)  # atomic, and fails if the name exists
            except FileExistsError:
                raise
            except OSError:  # a mount without hard links: exclusive create still never replaces
                with open(folder / name, "xb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
        finally:
            os.unlink(tmp)
        fsync_path(folder)
        return folder / name

    def file(self, song_id: str, name: str) -> Path:
        if name not in MEDIA_FILES | ADDED_FILES:
            raise InvalidInputError(f"unknown song file {name[:40]!r}")
        path = self.song_dir(song_id) / name
        if not path.is_file():
            raise NotFoundError(f"song {song_id!r} has no {name}")
        return path

    def audio_file(self, song_id: str) -> Path | None:
        for name in ("song.mp3", "song.ogg", "song.wav"):
            p = self.song_dir(song_id) / name
            if p.is_file():
                return p
        return None

    # ---- write ---------------------------------------------------------------------------

    def save(self, record: dict[str, Any], files: dict[str, Path]) -> SongEntry:
        """Move ``files`` (name -> path) and write ``song.json`` into a new song folder.
        Durable (fsynced, indexed) when it returns; leaves nothing behind when it raises."""
        self.check_capacity()
        song_id = new_song_id()
        final = self.songs_dir / song_id
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.songs_dir))
        try:
            for name, path in files.items():
                shutil.move(str(path), tmp / name)
            record = {**record, "song_id": song_id, "created": time.time(), "files": sorted(files)}
            entry = SongEntry.from_record(song_id, record)
            (tmp / "song.json").write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            for p in tmp.iterdir():
                fsync_path(p)
            fsync_path(tmp)
            with self.index.lock:  # a rebuild never sees the folder without its row
                os.rename(tmp, final)  # atomic on one filesystem; never overwrites an existing song
                tmp = final
                fsync_path(self.songs_dir)
                self.index.add(entry)
        except BaseException:
            self._discard(tmp)
            raise
        return entry

    def _discard(self, folder: Path) -> None:
        """Remove a song or temp folder: renamed away first (atomic), then deleted."""
        if not folder.exists():
            return
        gone = folder
        if not folder.name.startswith(TEMP_PREFIXES):
            gone = folder.with_name(f".tmp-gone-{folder.name}")
            os.rename(folder, gone)
        shutil.rmtree(gone, ignore_errors=True)

    # ---- read ----------------------------------------------------------------------------

    def load(self, song_id: str) -> dict[str, Any]:
        path = self.song_dir(song_id) / "song.json"
        if not path.is_file():
            raise NotFoundError(f"no song with id {song_id!r}")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("song %s is damaged: %s", song_id, type(exc).__name__)
            raise NotFoundError(f"song {song_id!r} is damaged and cannot be opened") from exc
        self.index.mark_opened(song_id)
        return record

    def entries(self, limit: int = 50, before: tuple[float, str] | None = None) -> list[SongEntry]:
        """Newest first, ``limit`` rows; ``before`` = (created, song_id) of the previous page's last."""
        return self.index.page(limit, before)

    def count(self) -> int:
        return self.index.count()

    # ---- bounds --------------------------------------------------------------------------

    def check_capacity(self) -> None:
        """Raise CapacityError when a new song cannot be kept; prunes per the size policy."""
        free_mb = shutil.disk_usage(self.root).free / 1e6
        if free_mb < self.min_free_mb:
            log.warning("disk guard: %.0f MB free under %s, below %.0f MB; refusing new songs",
                        free_mb, self.root.name, self.min_free_mb)
            raise CapacityError("the atelier has run out of shelf space for new songs right now; "
                                "please try again later (saved songs still open)")
        over = self.index.count() - self.max_songs + 1
        if over > 0 and self.prune(over) < over:
            raise CapacityError("the gallery is full of recent songs right now; please try again later")

    def prune(self, n: int) -> int:
        """Delete up to ``n`` songs per the size policy; returns how many went."""
        ids = self.index.prune_candidates(n, created_before=time.time() - self.keep_s)
        for song_id in ids:
            with self.index.lock:
                self.index.remove([song_id])
                self._discard(self.songs_dir / song_id)
        if ids:
            log.info("gallery size policy: pruned %d songs (cap %d)", len(ids), self.max_songs)
        return len(ids)

    # ---- index maintenance -----------------------------------------------------------------

    def _read_entry(self, folder: Path) -> SongEntry | None:
        try:
            rec = json.loads((folder / "song.json").read_text(encoding="utf-8"))
            return SongEntry.from_record(folder.name, rec)
        except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError):
            return None

    def _song_folders(self) -> list[Path]:
        with os.scandir(self.songs_dir) as it:
            return [Path(d.path) for d in it if d.is_dir(follow_symlinks=False) and SONG_ID_RE.fullmatch(d.name)]

    def rebuild_index(self) -> int:
        """Rebuild the whole index from the song folders (under the index lock); returns rows."""
        with self.index.lock:
            entries = [e for e in map(self._read_entry, self._song_folders()) if e is not None]
            return self.index.replace_all(entries)

    def recover(self) -> Recovery:
        """Start-up recovery: remove temp folders left by a crash, index complete folders the
        index misses, drop rows whose folder is gone. Run once, before serving."""
        removed = 0
        with os.scandir(self.songs_dir) as it:
            temps = [Path(d.path) for d in it if d.name.startswith(TEMP_PREFIXES)]
        for t in temps:
            if t.is_dir():
                shutil.rmtree(t, ignore_errors=True)
            else:
                t.unlink(missing_ok=True)
            removed += 1
        with self.index.lock:
            folders = {p.name: p for p in self._song_folders()}
            listed = self.index.ids()
            missing = [folders[i] for i in sorted(set(folders) - listed)]
            entries = [e for e in map(self._read_entry, missing) if e is not None]
            self.index.add_many(entries)
            dropped = self.index.remove(sorted(listed - set(folders)))
        if temps:
            fsync_path(self.songs_dir)
        report = Recovery(removed_temp=removed, reindexed=len(entries), dropped=dropped,
                          damaged=len(missing) - len(entries))
        if removed or entries or dropped or report.damaged:
            log.info("gallery recovery: %s", report)
        return report
