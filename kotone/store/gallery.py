"""The gallery: each song is a write-once folder named by an unguessable id, plus an index
(``index.jsonl``) that can always be rebuilt from the folders. A Space's disk is wiped on
restart, so the folder layout is also what ``hub_sync`` mirrors to a Hub dataset.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kotone.domain.errors import InvalidInputError, NotFoundError

SONG_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16}$")
INDEX_NAME = "index.jsonl"
# files that may be added to a finished song folder later, once each (an ElevenLabs render)
ADDED_FILES = frozenset({"elevenlabs.mp3", "elevenlabs.json"})
_LOCK = threading.Lock()


def default_root() -> Path:
    return Path(os.environ.get("KOTONE_DATA_DIR", Path.cwd() / "data"))


def new_song_id() -> str:
    """16 URL-safe characters from a CSPRNG (96 bits): not guessable, not enumerable."""
    return secrets.token_urlsafe(12)


def check_song_id(song_id: object) -> str:
    if not isinstance(song_id, str) or not SONG_ID_RE.fullmatch(song_id.strip()):
        raise InvalidInputError(f"not a valid song id: {str(song_id)[:40]!r}")
    return song_id.strip()


@dataclass(frozen=True)
class SongEntry:
    song_id: str
    created: float
    title: str
    commission: str | None
    score: float | None
    rank: str | None
    cards: dict[str, str]
    parent: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Gallery:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_root()
        self.songs_dir = self.root / "songs"
        self.songs_dir.mkdir(parents=True, exist_ok=True)

    def song_dir(self, song_id: str) -> Path:
        return self.songs_dir / check_song_id(song_id)

    def save(self, record: dict[str, Any], files: dict[str, Path]) -> SongEntry:
        """Move ``files`` (name -> path) and write ``song.json`` into a new song folder."""
        song_id = new_song_id()
        final = self.songs_dir / song_id
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.songs_dir))
        try:
            for name, path in files.items():
                shutil.move(str(path), tmp / name)
            entry = SongEntry(
                song_id=song_id,
                created=time.time(),
                title=str(record.get("title", "Untitled")),
                commission=record.get("commission_id"),
                score=(record.get("score") or {}).get("total"),
                rank=(record.get("score") or {}).get("rank"),
                cards=dict(record.get("cards", {})),
                parent=record.get("parent"),
            )
            record = {**record, "song_id": song_id, "created": entry.created, "files": sorted(files)}
            (tmp / "song.json").write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            os.rename(tmp, final)  # atomic on one filesystem; never overwrites an existing song
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with _LOCK, (self.root / INDEX_NAME).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry.as_dict(), ensure_ascii=False) + "\n")
        return entry

    def load(self, song_id: str) -> dict[str, Any]:
        path = self.song_dir(song_id) / "song.json"
        if not path.is_file():
            raise NotFoundError(f"no song with id {song_id!r}")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise NotFoundError(f"song {song_id!r} is damaged: {exc}") from exc

    def add_file(self, song_id: str, name: str, data: bytes) -> Path:
        """Add one of ADDED_FILES to a saved song, write-once: it appears whole or not at all and
        an existing file is never replaced (FileExistsError)."""
        if name not in ADDED_FILES:
            raise InvalidInputError(f"unknown added song file {name!r}")
        folder = self.song_dir(song_id)
        if not (folder / "song.json").is_file():
            raise NotFoundError(f"no song with id {song_id!r}")
        fd, tmp = tempfile.mkstemp(prefix=".add-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            try:
                os.link(tmp, folder / name)  # atomic, and fails if the name exists
            except FileExistsError:
                raise
            except OSError:  # a mount without hard links: exclusive create still never replaces
                with open(folder / name, "xb") as fh:
                    fh.write(data)
        finally:
            os.unlink(tmp)
        return folder / name

    def file(self, song_id: str, name: str) -> Path:
        if name not in {"song.mid", "song.mp3", "song.ogg", "song.wav", "roll.png", "thumb.png", *ADDED_FILES}:
            raise InvalidInputError(f"unknown song file {name!r}")
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

    def entries(self, limit: int = 50) -> list[SongEntry]:
        """Newest first. Rebuilds the index when it is missing or unreadable."""
        index = self.root / INDEX_NAME
        rows: list[SongEntry] = []
        try:
            with index.open(encoding="utf-8") as fh:
                rows = [SongEntry(**json.loads(line)) for line in fh if line.strip()]
        except (FileNotFoundError, json.JSONDecodeError, TypeError):
            rows = self.rebuild_index()
        rows = [r for r in rows if (self.songs_dir / r.song_id).is_dir()]
        return sorted(rows, key=lambda r: r.created, reverse=True)[:limit]

    def rebuild_index(self) -> list[SongEntry]:
        rows = []
        for d in self.songs_dir.iterdir():
            if not d.is_dir() or not SONG_ID_RE.fullmatch(d.name):
                continue
            try:
                rec = json.loads((d / "song.json").read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            score = rec.get("score") or {}
            rows.append(SongEntry(song_id=d.name, created=float(rec.get("created", 0)),
                                  title=str(rec.get("title", "Untitled")), commission=rec.get("commission_id"),
                                  score=score.get("total"), rank=score.get("rank"),
                                  cards=dict(rec.get("cards", {})), parent=rec.get("parent")))
        tmp = self.root / (INDEX_NAME + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for r in sorted(rows, key=lambda r: r.created):
                fh.write(json.dumps(r.as_dict(), ensure_ascii=False) + "\n")
        os.replace(tmp, self.root / INDEX_NAME)
        return rows
