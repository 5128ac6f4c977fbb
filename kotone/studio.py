"""The game's service layer: compose a commission, render it, save it, load it back.

Both the Gradio app and the CLIs call these; they raise KotoneError subclasses only.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kotone.assets import load_book, load_catalog
from kotone.domain.commissions import Commission
from kotone.pipeline import Song, compose, song_summary
from kotone.render.audio import render_audio
from kotone.store.gallery import Gallery, SongEntry
from kotone.store.hub_sync import HubMirror

AUDIO_TIMEOUT_S = 20.0
AUDIO_MAX_S = 150.0  # songs run 45-120 s (kotone.music.form), plus the release tail


@dataclass
class Composed:
    entry: SongEntry
    song: Song
    record: dict[str, Any]


def render_files(song: Song, out_dir: Path, *, with_images: bool = True) -> dict[str, Path]:
    """Write song.mid, the audio file and the piano-roll images into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    t0 = time.perf_counter()
    mid = out_dir / "song.mid"
    song.midi.write(str(mid))
    files["song.mid"] = mid
    audio = render_audio(song.midi, out_dir, stem="song", fx=song.plan.audio_fx, timeout_s=AUDIO_TIMEOUT_S,
                         max_seconds=AUDIO_MAX_S)
    files[audio.path.name] = audio.path
    song.timings_ms["render_audio"] = (time.perf_counter() - t0) * 1000
    song.timings_ms["audio_s"] = audio.duration_s * 1000
    if with_images:
        from kotone.render.roll import render_song_roll

        t1 = time.perf_counter()
        files.update(render_song_roll(song, out_dir))
        song.timings_ms["render_roll"] = (time.perf_counter() - t1) * 1000
    return files


def compose_and_save(choice: Mapping[str, str], seed: int, commission: Commission | None = None,
                     gallery: Gallery | None = None, request_text: str | None = None,
                     parent: str | None = None) -> Composed:
    song = compose(choice, seed, commission)
    return save_song(song, commission, gallery or Gallery(), request_text, parent)


def save_song(song: Song, commission: Commission | None, gallery: Gallery, request_text: str | None = None,
              parent: str | None = None, extra: dict | None = None) -> Composed:
    with tempfile.TemporaryDirectory(dir=gallery.songs_dir, prefix=".work-") as tmp:
        files = render_files(song, Path(tmp))
        record = {**song_record(song, commission, request_text, parent), **(extra or {})}
        entry = gallery.save(record, files)
    record["song_id"] = entry.song_id
    mirror = HubMirror.from_env()
    if mirror is not None:
        mirror.push_song_async(gallery.song_dir(entry.song_id))
    return Composed(entry=entry, song=song, record=record)


def refine_and_save(song_id: str, command: str, gallery: Gallery | None = None) -> tuple[Composed, str]:
    """Refine a saved song in words; the new version is saved beside the old (parent link)."""
    from kotone.domain.commissions import Commission as _Commission
    from kotone.domain.plan import SongPlan
    from kotone.music.refine import diff_markdown
    from kotone.pipeline import refine_song, song_from_plan

    gallery = gallery or Gallery()
    old = gallery.load(song_id)
    commission = _Commission.model_validate(old["commission"]) if old.get("commission") else None
    song = song_from_plan(SongPlan.model_validate(old["plan"]), commission)
    new, diff = refine_song(song, command, commission)
    md = diff_markdown(diff, diff["command"])
    done = save_song(new, commission, gallery, old.get("request"), parent=song_id,
                     extra={"refinement": {**diff, "markdown": md}})
    return done, md


def song_record(song: Song, commission: Commission | None, request_text: str | None, parent: str | None) -> dict:
    catalog = load_catalog()
    summary = song_summary(song)
    person = load_book().people.get(commission.townsperson) if commission else None
    return {
        **summary,
        "title": song.plan.title,
        "cards": dict(song.plan.cards),
        "card_names": {slot: catalog.get(cid).name for slot, cid in song.plan.cards.items()},
        "seed": song.plan.seed,
        "commission_id": commission.id if commission else None,
        "commission": commission.model_dump(mode="json") if commission else None,
        "request": request_text or (commission.text if commission else None),
        "client": {"name": person.name, "portrait": person.portrait} if person else None,
        "parent": parent,
    }


def interpret_request(text: str, backend: str | None = None):
    """Request text -> Interpretation, through the registered backends (default backend)."""
    import kotone.interpret.backends  # noqa: F401  (registers the shipped backends)
    from kotone.interpret.base import check_text, get_interpreter

    return get_interpreter(backend).interpret(check_text(text))


def custom_commission(text: str) -> Commission:
    """A commission for the player's own request, its hidden target labelled by the interpreter."""
    import hashlib

    from kotone.domain.commissions import Commission as _Commission

    result = interpret_request(text)
    digest = hashlib.sha256(result.params.model_dump_json().encode() + text.encode()).hexdigest()[:10]
    return _Commission(id=f"custom-{digest}", townsperson="you", text=" ".join(text.split()),
                       target=result.params, reward=100, difficulty=3)


def generated_commission(rng, book) -> Commission:
    """A fresh commission from the request grammar, its hidden target labelled by the
    default interpreter (the same one that reads the player's own requests)."""
    import kotone.interpret.backends  # noqa: F401
    from kotone.assets import tag_vocabulary
    from kotone.domain.commissions import Commission as _Commission
    from kotone.interpret.base import get_interpreter
    from kotone.interpret.commission_gen import generate_commission

    person = rng.choice(sorted(book.people))
    row = generate_commission(rng, person, get_interpreter(), vocabulary=tag_vocabulary())
    return _Commission.model_validate(row)
