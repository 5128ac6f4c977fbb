"""The game's service layer: compose a commission, coach it, render it, save it, load it back.

The Gradio app, the API endpoints and the ``kotone.compose`` CLI all go through
``render_song`` (files) and ``song_record`` (the typed record); they raise KotoneError
subclasses only.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kotone.assets import load_book, load_catalog
from kotone.domain.coaching import coach_song
from kotone.domain.commissions import Commission
from kotone.domain.errors import InvalidInputError, NotFoundError
from kotone.domain.params import Params
from kotone.domain.scoring import score_song
from kotone.domain.song import ClientInfo, Refinement, SongRecord, version_title
from kotone.pipeline import Song, compose, song_summary
from kotone.render.audio import render_audio
from kotone.store.gallery import Gallery, SongEntry
from kotone.store.hub_sync import HubMirror

log = logging.getLogger(__name__)

AUDIO_TIMEOUT_S = 20.0
COACH_BUDGET_S = 3.0  # wall-clock cap on the coaching's real compositions (a safety net)
_CACHE_SIZE = 48
AUDIO_MAX_S = 150.0  # songs run 45-120 s (kotone.music.form), plus the release tail
ROLL_IMAGES = ("roll.png", "thumb.png")
APP_IMAGES = ("thumb.png",)
"""The app draws the roll in the browser from the notes; it serves only the thumbnail (gallery and
share previews). The compose CLI writes both."""


@dataclass
class Composed:
    entry: SongEntry
    song: Song
    record: SongRecord


class _SongCache:
    """Recently composed songs by (cards, seed): a suggestion the coaching verified opens at
    once when the player follows it. Composition is deterministic, so this is only a speed-up."""

    def __init__(self, size: int = _CACHE_SIZE):
        self.size = size
        self._songs: OrderedDict[tuple, Song] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, choice: Mapping[str, str], seed: int) -> Song:
        key = (tuple(sorted(choice.items())), int(seed))
        with self._lock:
            song = self._songs.get(key)
            if song is not None:
                self._songs.move_to_end(key)
        if song is None:
            song = compose(choice, seed)
            with self._lock:
                self._songs[key] = song
                while len(self._songs) > self.size:
                    self._songs.popitem(last=False)
        return dataclasses.replace(song, timings_ms=dict(song.timings_ms), score=None)


SONGS = _SongCache()


def compose_scored(choice: Mapping[str, str], seed: int, commission: Commission | None) -> Song:
    """The song four cards make with ``seed`` (cached), scored against ``commission``."""
    song = SONGS.get(choice, seed)
    if commission is not None:
        cards = load_catalog().resolve(song.plan.cards)
        song.score = score_song(commission.target, song.measured, cards, commission)
    return song


def coach(song: Song, commission: Commission, budget_s: float = COACH_BUDGET_S) -> None:
    """Fill ``song.score.coaching`` with swaps composed with the song's own seed and measured."""
    assert song.score is not None
    catalog = load_catalog()
    t0 = time.perf_counter()
    trials = 0

    def measure_swap(cards) -> Params:
        nonlocal trials
        trials += 1
        return SONGS.get({s: c.id for s, c in cards.items()}, song.plan.seed).measured

    song.score.coaching = coach_song(commission, catalog.resolve(song.plan.cards), song.score, catalog,
                                     measure_swap, lambda: time.perf_counter() - t0 > budget_s)
    song.timings_ms["coach"] = (time.perf_counter() - t0) * 1000
    song.timings_ms["coach_trials"] = float(trials)


def render_song(song: Song, out_dir: Path, *, fmt: str = "auto", with_images: bool = True,
                images: tuple[str, ...] = ROLL_IMAGES) -> dict[str, Path]:
    """Write song.mid, the audio file and the piano-roll ``images`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    t0 = time.perf_counter()
    mid = out_dir / "song.mid"
    if song.midi_file:  # the bytes the song was measured from (pretty_midi's write is slow)
        mid.write_bytes(song.midi_file)
    else:
        song.midi.write(str(mid))
    files["song.mid"] = mid
    audio = render_audio(song.midi, out_dir, stem="song", fx=song.plan.audio_fx, timeout_s=AUDIO_TIMEOUT_S,
                         max_seconds=AUDIO_MAX_S, fmt=fmt)
    files[audio.path.name] = audio.path
    song.timings_ms["render_audio"] = (time.perf_counter() - t0) * 1000
    song.timings_ms["synth"] = audio.synth_s * 1000
    song.timings_ms["encode"] = audio.encode_s * 1000
    song.timings_ms["audio_s"] = audio.duration_s * 1000
    if with_images and images:
        from kotone.render.roll import render_song_roll

        t1 = time.perf_counter()
        files.update(render_song_roll(song, out_dir, images))
        song.timings_ms["render_roll"] = (time.perf_counter() - t1) * 1000
    return files


render_files = render_song  # the name eval/bench.py uses


def render_and_coach(song: Song, commission: Commission | None, out_dir: Path, *, fmt: str = "auto",
                     coaching: bool = True, images: tuple[str, ...] = ROLL_IMAGES) -> dict[str, Path]:
    """Render the files while the coaching composes its swaps (audio encoding runs outside the
    interpreter lock, so on two cores the coaching adds little to the wall clock)."""
    if commission is None or song.score is None or not coaching:
        return render_song(song, out_dir, fmt=fmt, images=images)
    with ThreadPoolExecutor(max_workers=1) as pool:
        rendering = pool.submit(render_song, song, out_dir, fmt=fmt, images=images)
        coach(song, commission)
        return rendering.result()


def compose_and_save(choice: Mapping[str, str], seed: int, commission: Commission | None = None,
                     gallery: Gallery | None = None, request_text: str | None = None,
                     parent: str | None = None, *, coaching: bool = True) -> Composed:
    t0 = time.perf_counter()
    song = compose_scored(choice, seed, commission)
    gallery = gallery or Gallery()
    with tempfile.TemporaryDirectory(dir=gallery.songs_dir, prefix=".work-") as tmp:
        files = render_and_coach(song, commission, Path(tmp), coaching=coaching, images=APP_IMAGES)
        song.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        record = song_record(song, commission, request_text, parent)
        done = _save(record, files, gallery, song)
    return done


def _save(record: SongRecord, files: dict[str, Path], gallery: Gallery, song: Song) -> Composed:
    entry = gallery.save(record.model_dump(mode="json", exclude={"song_id", "created", "files"}), files)
    record = record.model_copy(update={"song_id": entry.song_id, "created": entry.created, "files": sorted(files)})
    mirror = HubMirror.from_env()
    if mirror is not None:
        mirror.push_song_async(gallery.song_dir(entry.song_id))
    return Composed(entry=entry, song=song, record=record)


def song_record(song: Song, commission: Commission | None, request_text: str | None = None,
                parent: str | None = None, *, title: str | None = None, version: int = 1,
                refinement: Refinement | None = None) -> SongRecord:
    catalog = load_catalog()
    person = load_book().people.get(commission.townsperson) if commission else None
    return SongRecord(
        **song_summary(song),
        title=title or song.plan.title,
        version=version,
        cards=dict(song.plan.cards),
        card_names={slot: catalog.get(cid).name for slot, cid in song.plan.cards.items()},
        seed=song.plan.seed,
        commission_id=commission.id if commission else None,
        commission=commission,
        request=request_text or (commission.text if commission else None),
        client=ClientInfo(name=person.name, portrait=person.portrait) if person else None,
        parent=parent,
        refinement=refinement,
    )


def load_record(gallery: Gallery, song_id: str) -> SongRecord:
    """The typed record of a saved song; a damaged one is reported as not found."""
    raw: dict[str, Any] = gallery.load(song_id)
    try:
        return SongRecord.model_validate({**raw, "song_id": song_id})
    except ValidationError as exc:
        raise NotFoundError(f"song {song_id!r} cannot be read: {exc.error_count()} invalid fields") from None


def refine_and_save(song_id: str, command: str, gallery: Gallery | None = None) -> Composed:
    """Refine a saved song in words; the new version is saved beside the old (parent link) and
    titled as a version ('… (v2, sadder)')."""
    from kotone.domain.plan import SongPlan
    from kotone.domain.refine_words import refine_summary
    from kotone.music.refine import parse_command
    from kotone.pipeline import refine_song, song_from_plan

    gallery = gallery or Gallery()
    old = load_record(gallery, song_id)
    plan = SongPlan.model_validate(old.plan)
    request = parse_command(command, plan)  # a player mistake fails here, before any work
    song = song_from_plan(plan, old.commission)
    new, diff = refine_song(song, command, old.commission)
    summary = refine_summary(diff, old.measured, new.measured.rounded())
    refinement = Refinement(command=request.command, understood=request.matched, not_understood=request.unknown,
                            summary=summary, diff=diff)
    version = old.version + 1
    title = version_title(old.base_title, version, ", ".join(request.matched))
    with tempfile.TemporaryDirectory(dir=gallery.songs_dir, prefix=".work-") as tmp:
        files = render_song(new, Path(tmp), images=APP_IMAGES)
        record = song_record(new, old.commission, old.request, parent=song_id, title=title, version=version,
                             refinement=refinement)
        return _save(record, files, gallery, new)


def interpret_request(text: str, backend: str | None = None):
    """Request text -> Interpretation, through the registered backends (default backend)."""
    import kotone.interpret.backends  # noqa: F401  (registers the shipped backends)
    from kotone.interpret.base import check_text, get_interpreter

    return get_interpreter(backend).interpret(check_text(text))


def custom_commission(text: object) -> Commission:
    """A commission for the player's own request, its hidden target labelled by the interpreter.

    Bad text (empty, whitespace-only, too short or long, control characters, unpaired
    surrogates) is refused with an InvalidInputError before anything is interpreted.
    """
    import hashlib

    from pydantic import ValidationError

    from kotone.interpret.base import check_text

    cleaned = check_text(text)
    result = interpret_request(cleaned)
    digest = hashlib.sha256(result.params.model_dump_json().encode() + cleaned.encode()).hexdigest()[:10]
    try:
        return Commission(id=f"custom-{digest}", townsperson="you", text=cleaned, target=result.params,
                          reward=100, difficulty=3)
    except ValidationError as exc:  # a rule of the schema that check_text does not know
        first = exc.errors()[0]
        raise InvalidInputError(f"your request cannot become a commission: {first.get('msg', 'invalid')}") from None


def generated_commission(rng, book) -> Commission:
    """A fresh commission from the request grammar for a townsperson, in their own voice and
    consistent with their personality; its hidden target labelled by the default interpreter
    (the same one that reads the player's own requests)."""
    import kotone.interpret.backends  # noqa: F401
    from kotone.assets import tag_vocabulary
    from kotone.interpret.base import get_interpreter
    from kotone.interpret.commission_gen import generate_commission

    person = book.people[rng.choice(sorted(book.people))]
    row = generate_commission(rng, person.id, get_interpreter(), vocabulary=tag_vocabulary(), persona=person)
    return Commission.model_validate(row)


def song_tracks(gallery: Gallery, record: SongRecord) -> list[dict[str, Any]]:
    """The notes of the saved MIDI file per track, in file order (= ``plan.tracks`` order), for
    the roll drawn in the browser: ``[start_s, end_s, pitch, velocity]`` per note."""
    from kotone.render.midi import read_midi

    assert record.song_id is not None
    pm = read_midi(gallery.file(record.song_id, "song.mid").read_bytes())
    roles = [str(t.get("role", "")) for t in record.plan.get("tracks", [])]
    out = []
    for i, inst in enumerate(pm.instruments):
        notes = sorted(([round(n.start, 3), round(n.end, 3), int(n.pitch), int(n.velocity)] for n in inst.notes),
                       key=lambda n: n[0])
        out.append({"name": inst.name or f"track {i + 1}", "role": roles[i] if i < len(roles) else "",
                    "is_drum": bool(inst.is_drum), "notes": notes})
    return out
