"""One entry: compose(cards, seed) -> Song. Plan -> generate -> humanize -> MIDI -> measure.

Audio and the piano roll are rendered by ``render_song`` so callers that only need the
music (tests, eval) can skip them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import pretty_midi

from kotone.assets import load_catalog
from kotone.domain.cards import Card
from kotone.domain.commissions import Commission
from kotone.domain.params import Params
from kotone.domain.plan import SongPlan
from kotone.domain.scoring import ScoreBreakdown, score_song
from kotone.music.arranger import Parts, arrange, flatten
from kotone.music.humanize import humanize
from kotone.music.measure import Features, measure
from kotone.music.planner import plan_song
from kotone.music.types import Note
from kotone.render.midi import build_midi, midi_bytes, read_midi

MAX_SEED = 2**31 - 1


@dataclass
class Song:
    plan: SongPlan
    parts: Parts  # section_id -> role -> notes (before humanization)
    tracks: dict[str, list[Note]]  # role -> humanized notes over the whole song
    midi: pretty_midi.PrettyMIDI  # read back from ``midi_file``: exactly what is saved and shared
    measured: Params
    features: Features
    timings_ms: dict[str, float] = field(default_factory=dict)
    score: ScoreBreakdown | None = None
    midi_file: bytes = b""  # the song.mid bytes, written once

    @property
    def duration_s(self) -> float:
        return self.plan.duration_s


def check_seed(seed: object) -> int:
    from kotone.domain.errors import InvalidInputError

    try:
        value = int(seed)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"seed must be an integer, got {seed!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise InvalidInputError(f"seed must be between 0 and {MAX_SEED}, got {value}")
    return value


def resolve_cards(choice: Mapping[str, str]) -> dict[str, Card]:
    return load_catalog().resolve(choice)


def compose(choice: Mapping[str, str], seed: int, commission: Commission | None = None) -> Song:
    """Plan, generate, humanize, build MIDI and measure a song for four cards."""
    seed = check_seed(seed)
    cards = resolve_cards(choice)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    plan = plan_song(cards, seed)
    t1 = time.perf_counter()
    passes: list[dict] = []
    parts = arrange(plan, passes)
    plan.traces.extend(critic_traces(passes))
    return finish_song(plan, parts, cards, commission, timings | {"plan": (t1 - t0) * 1000}, t1)


def drop_silent_tracks(plan: SongPlan, parts: Parts) -> SongPlan:
    """A track that ended up with no notes leaves the plan, so ``plan.tracks`` stays exactly
    the MIDI file's tracks, in order."""
    sounding = {role for sec in parts.values() for role, notes in sec.items() if notes}
    silent = [t for t in plan.tracks if t.role not in sounding]
    if not silent:
        return plan
    return plan.model_copy(update={"tracks": [t for t in plan.tracks if t.role in sounding]})


def critic_traces(passes: list[dict]) -> list:
    from kotone.domain.plan import IntentTrace, TraceFactor

    return [IntentTrace(
        decision_type="refinement_target", section_id=p["section_id"],
        decision=(f"Regenerated the {p['dimension']} of the {p['section_id']}" if p["kept"]
                  else f"Tried regenerating the {p['dimension']} of the {p['section_id']}; kept the first take"),
        because=[TraceFactor(factor=f"critic.{p['dimension']}", value=f"{p['before']:.2f} → {p['after']:.2f}",
                             implication="the weakest dimension of the section, below its threshold", weight=1.0)],
        principle="Fix only the weakest element, then listen again (at most three passes).",
    ) for p in passes]


def finish_song(plan: SongPlan, parts: Parts, cards: Mapping[str, Card], commission: Commission | None,
                timings: dict[str, float], t_start: float) -> Song:
    plan = drop_silent_tracks(plan, parts)
    tracks = humanize(plan, flatten(plan, parts))
    # Everything downstream (measurement, audio, piano roll) reads the MIDI *file*, so what is
    # judged is exactly what is shared and downloaded.
    data = midi_bytes(build_midi(plan, tracks))
    pm = read_midi(data)
    t2 = time.perf_counter()
    timings["generate"] = (t2 - t_start) * 1000
    measured, feats = measure(pm)
    t3 = time.perf_counter()
    timings["measure"] = (t3 - t2) * 1000
    song = Song(plan=plan, parts=parts, tracks=tracks, midi=pm, measured=measured, features=feats,
                timings_ms=timings, midi_file=data)
    if commission is not None:
        song.score = score_song(commission.target, measured, cards, commission, load_catalog())
    return song


def song_summary(song: Song) -> dict:
    """The JSON-able record of a song (plan, measured dims, timings, score)."""
    return {
        "plan": song.plan.model_dump(mode="json"),
        "measured": song.measured.rounded(),
        "duration_s": round(song.duration_s, 2),
        "timings_ms": {k: round(v, 1) for k, v in song.timings_ms.items()},
        "score": song.score.as_dict() if song.score else None,
        "instruments": [
            {"name": str(i.name), "program": int(i.program), "is_drum": bool(i.is_drum), "notes": len(i.notes)}
            for i in song.midi.instruments
        ],
    }


def song_from_plan(plan: SongPlan, commission: Commission | None = None) -> Song:
    """Rebuild a song from its stored plan (generation is a pure function of the plan)."""
    cards = resolve_cards(plan.cards)
    t0 = time.perf_counter()
    parts = arrange(plan)
    return finish_song(plan, parts, cards, commission, {"plan": 0.0}, t0)


def refine_song(song: Song, command: str, commission: Commission | None = None) -> tuple[Song, dict]:
    """Apply a refinement command; only the named sections are regenerated. Returns the new
    song and the musical diff against the old one."""
    from kotone.music.refine import apply_refinement, musical_diff, parse_command

    req = parse_command(command, song.plan)
    t0 = time.perf_counter()
    plan, parts = apply_refinement(song.plan, song.parts, req)
    t1 = time.perf_counter()
    new = finish_song(plan, parts, resolve_cards(plan.cards), commission, {"plan": (t1 - t0) * 1000}, t1)
    diff = musical_diff(song.plan, song.parts, new.plan, new.parts, song.measured.as_dict(), new.measured.as_dict(),
                        song.midi, new.midi)
    diff["command"] = req.command
    diff["delta"] = req.delta
    diff["target_sections"] = req.sections
    return new, diff
