"""The gallery's index: one SQLite database (WAL) beside the song folders.

The folders are the truth; this index only makes listing fast (newest-first pages by a
keyset cursor, so page 1 of 100,000 songs reads 50 rows) and remembers which songs were
ever reopened (the size policy prunes the others first). It can always be rebuilt from the
folders. Every call runs under one lock; each write is committed (and, with
``synchronous=FULL``, fsynced to the WAL) before it returns.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

INDEX_FILE = "index.db"
INDEX_FILES = (INDEX_FILE, INDEX_FILE + "-wal", INDEX_FILE + "-shm", INDEX_FILE + "-journal")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS songs (
    song_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    title TEXT NOT NULL,
    commission TEXT,
    score REAL,
    rank TEXT,
    cards TEXT NOT NULL,
    parent TEXT,
    opened INTEGER NOT NULL DEFAULT 0,
    last_opened REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS songs_newest ON songs (created DESC, song_id DESC);
CREATE INDEX IF NOT EXISTS songs_prune ON songs (opened, last_opened, created);
"""
_LOCKS: dict[str, threading.RLock] = {}  # one lock per index file, shared by every Gallery on it
_LOCKS_GUARD = threading.Lock()
_COLUMNS = "song_id, created, title, commission, score, rank, cards, parent"
REOPEN_MARK_S = 3600.0  # a reopened song's last_opened is refreshed at most once an hour


@dataclass(frozen=True)
class SongEntry:
    """One gallery row. ``created`` in seconds since the epoch; ``score`` 0-100 or None."""

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

    @classmethod
    def from_record(cls, song_id: str, record: dict[str, Any]) -> SongEntry:
        """The row for a saved ``song.json`` record."""
        score = record.get("score") or {}
        cards = record.get("cards") or {}
        return cls(song_id=song_id, created=float(record.get("created") or 0.0),
                   title=str(record.get("title") or "Untitled"), commission=record.get("commission_id"),
                   score=score.get("total"), rank=score.get("rank"),
                   cards={str(k): str(v) for k, v in dict(cards).items()}, parent=record.get("parent"))


def _row_entry(row: tuple) -> SongEntry:
    song_id, created, title, commission, score, rank, cards, parent = row
    return SongEntry(song_id=song_id, created=created, title=title, commission=commission, score=score,
                     rank=rank, cards=json.loads(cards), parent=parent)


def _row_values(e: SongEntry) -> tuple:
    return (e.song_id, e.created, e.title, e.commission, e.score, e.rank,
            json.dumps(e.cards, ensure_ascii=False), e.parent)


class SongIndex:
    """The SQLite index of one data folder. ``fresh`` is True when the file was just created
    (or replaced after corruption), i.e. it must be filled from the folders."""

    def __init__(self, path: Path):
        self.path = Path(path)
        with _LOCKS_GUARD:
            self.lock = _LOCKS.setdefault(str(self.path.resolve()), threading.RLock())
        self.fresh = not self.path.exists()
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            broken = self.path.with_name(f"{self.path.name}.broken-{int(time.time())}")
            log.warning("gallery index %s is unreadable (%s); moved aside and rebuilt", self.path.name, exc)
            for name in INDEX_FILES:
                p = self.path.with_name(name)
                if p.exists():
                    p.rename(broken.with_name(broken.name + name[len(INDEX_FILE):]))
            self.fresh = True
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            conn.execute("SELECT count(*) FROM songs WHERE song_id = ''").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    def add(self, entry: SongEntry) -> None:
        with self.lock:
            self._conn.execute(f"INSERT OR REPLACE INTO songs ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                               _row_values(entry))

    def page(self, limit: int = 50, before: tuple[float, str] | None = None) -> list[SongEntry]:
        """Newest first; ``before`` = (created, song_id) of the last row of the previous page."""
        limit = max(1, min(int(limit), 500))
        with self.lock:
            if before is None:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM songs ORDER BY created DESC, song_id DESC LIMIT ?", (limit,))
            else:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM songs WHERE (created, song_id) < (?, ?) "
                    "ORDER BY created DESC, song_id DESC LIMIT ?", (float(before[0]), str(before[1]), limit))
            return [_row_entry(r) for r in rows.fetchall()]

    def count(self) -> int:
        with self.lock:
            return int(self._conn.execute("SELECT count(*) FROM songs").fetchone()[0])

    def ids(self) -> set[str]:
        with self.lock:
            return {r[0] for r in self._conn.execute("SELECT song_id FROM songs")}

    def contains(self, song_id: str) -> bool:
        with self.lock:
            return self._conn.execute("SELECT 1 FROM songs WHERE song_id = ?", (song_id,)).fetchone() is not None

    def remove(self, song_ids: Iterable[str]) -> int:
        ids = [(i,) for i in song_ids]
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("DELETE FROM songs WHERE song_id = ?", ids)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return len(ids)

    def mark_opened(self, song_id: str, now: float | None = None) -> None:
        """Record that a song was reopened (by link, gallery or API); cheap when recent."""
        now = time.time() if now is None else now
        with self.lock:
            self._conn.execute("UPDATE songs SET opened = 1, last_opened = ? WHERE song_id = ? AND "
                               "(opened = 0 OR last_opened < ?)", (now, song_id, now - REOPEN_MARK_S))

    def prune_candidates(self, n: int, created_before: float) -> list[str]:
        """Up to ``n`` ids to drop first: never reopened, oldest first; then least recently reopened."""
        with self.lock:
            rows = self._conn.execute(
                "SELECT song_id FROM songs WHERE created < ? ORDER BY opened, "
                "COALESCE(last_opened, created), created LIMIT ?", (created_before, max(0, int(n))))
            return [r[0] for r in rows]

    def replace_all(self, entries: Iterable[SongEntry]) -> int:
        """Swap the whole index for ``entries`` in one transaction (keeps known reopen marks)."""
        with self.lock:
            kept = dict(self._conn.execute("SELECT song_id, last_opened FROM songs WHERE opened = 1").fetchall())
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("DELETE FROM songs")
                n = 0
                for e in entries:
                    self._conn.execute(
                        f"INSERT OR REPLACE INTO songs ({_COLUMNS}, opened, last_opened) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (*_row_values(e), int(e.song_id in kept), kept.get(e.song_id)))
                    n += 1
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        self.fresh = False
        return n

    def add_many(self, entries: Iterable[SongEntry]) -> int:
        rows = [_row_values(e) for e in entries]
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(f"INSERT OR REPLACE INTO songs ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return len(rows)
