"""ElevenLabs render of a saved song: its plan -> one paid call -> saved beside the song.

The SoundFont render stays the song's audio; the ElevenLabs one is an extra
(``elevenlabs.mp3`` + ``elevenlabs.json`` with model, duration, cost and the plan's hash),
added to the write-once song folder once. A second request for the same song answers from
those files without calling the service, and two clicks at once make one call (a lock per
song). A failed call saves nothing and leaves the song as it was.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kotone.services.elevenlabs import KEY_HELP, ElevenLabsError, compose_music, resolve_key
from kotone.services.elevenlabs_plan import composition_plan
from kotone.store.gallery import Gallery, check_song_id

AUDIO_NAME = "elevenlabs.mp3"
META_NAME = "elevenlabs.json"
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@dataclass(frozen=True)
class ElevenRender:
    song_id: str
    audio: Path
    meta: dict[str, Any]
    cached: bool


def plan_for_record(record: dict[str, Any]) -> dict[str, Any]:
    """The composition plan of a saved song (its plan, cards and commission)."""
    return composition_plan(record["plan"], record.get("commission"))


def plan_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def cached_render(gallery: Gallery, song_id: str) -> ElevenRender | None:
    folder = gallery.song_dir(song_id)
    audio = folder / AUDIO_NAME
    if not audio.is_file():
        return None
    try:
        meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    return ElevenRender(song_id, audio, meta, cached=True)


def _song_lock(song_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(song_id, threading.Lock())


def render_saved_song(song_id: str, gallery: Gallery, session_key: str | None = None, *,
                      timeout_s: float | None = None, httpx_client: Any = None) -> ElevenRender:
    """Render a saved song with ElevenLabs (or return the render saved earlier)."""
    song_id = check_song_id(song_id)
    record = gallery.load(song_id)
    hit = cached_render(gallery, song_id)
    if hit is not None:
        return hit
    key = resolve_key(session_key)
    if not key:
        raise ElevenLabsError("no_key", KEY_HELP)
    body = plan_for_record(record)
    with _song_lock(song_id):
        hit = cached_render(gallery, song_id)
        if hit is not None:
            return hit
        result = compose_music(body, key, timeout_s=timeout_s, httpx_client=httpx_client)
        meta = {"model_id": result.model_id, "output_format": result.output_format,
                "duration_ms": result.duration_ms, "render_s": round(result.seconds, 2), "credits": result.credits,
                "request_id": result.request_id, "plan_sha256": plan_hash(body), "created": time.time(),
                "sections": [s["section_name"] for s in body["sections"]]}
        try:
            audio = gallery.add_file(song_id, AUDIO_NAME, result.audio)
        except FileExistsError:  # another process saved its render first: that one stands
            return cached_render(gallery, song_id)  # type: ignore[return-value]
        gallery.add_file(song_id, META_NAME, json.dumps(meta, indent=1).encode())
    return ElevenRender(song_id, audio, meta, cached=False)


def describe(render: ElevenRender) -> str:
    """One line for the Studio: model, length, cost and time, or that it was saved earlier."""
    m = render.meta
    parts = [f"**ElevenLabs** ({m.get('model_id', 'music')})"]
    if m.get("duration_ms"):
        parts.append(f"{m['duration_ms'] / 1000:.1f} s")
    credits = m.get("credits")
    parts.append(f"cost: {credits:,} credits" if isinstance(credits, int) else "cost: not reported by the service")
    if render.cached:
        parts.append("saved earlier, no new charge")
    elif m.get("render_s") is not None:
        parts.append(f"rendered in {m['render_s']:.0f} s")
    return " · ".join(parts)
