"""Orchestration: which General MIDI program plays each role, in which register, and the one
place where every pitched note is kept inside its instrument's playable range.

The instrument card's programs play the roles the card names; the roles it leaves open are
filled from the style's orchestra (space_assets/orchestration.json), leaning toward the
wish's timbre among the idiomatic candidates. The lead sits on top: its register comes from
the wish's brightness inside the lead instrument's range, and every accompanying part is
registered below it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from kotone.assets import read_json
from kotone.domain.cards import GimmickMusic, InstrumentMusic, StyleMusic
from kotone.domain.errors import DataError
from kotone.domain.params import Params
from kotone.domain.plan import TrackSpec
from kotone.domain.roles import PLAN_ORDER, ROLES
from kotone.music.timbre import KIT_PROGRAMS, TIMBRE_DIMS, kit_timbre, program_name, program_timbre
from kotone.music.types import Note

# Textures a gimmick adds (GM program): a music box for the prelude, celesta droplets for the
# rain, birdsong, a low pad holding the drone. An echo answers the lead on its own program.
GIMMICK_TEXTURE = {"music_box_intro": 10, "rain": 8, "birdsong": 123, "drone": 89}
TEXTURE_REGISTER = {"music_box_intro": (72, 96), "rain": (79, 96), "birdsong": (84, 100), "drone": (28, 55)}
BITCRUSH_LEAD = 80
REGISTER_SHIFT_SHARE = 0.5  # how much of an instrument card's octave shift its lead line takes
LEAD_SPAN = (-5, 9)  # the lead's band around its centre, semitones
LEAD_FLOOR, LEAD_CEILING = 60, 84  # the lead's centre stays where a tune sings (C4-C6)
PREFER_PENALTY = 25.0
# How much each dimension leans on timbre when choosing among idiomatic candidates
ORCHESTRATION_FOCUS = {"warmth": 1.3, "acousticness": 0.8, "brightness": 0.4, "nostalgia": 1.6}


@lru_cache(maxsize=1)
def ranges() -> dict[int, tuple[int, int]]:
    rows = read_json("gm_ranges.json")["programs"]
    out = {int(r["program"]): (int(r["low"]), int(r["high"])) for r in rows}
    if sorted(out) != list(range(128)) or any(not 0 <= lo < hi <= 127 for lo, hi in out.values()):
        raise DataError("gm_ranges.json must give 0 <= low < high <= 127 for each of the 128 programs")
    return out


def program_range(program: int) -> tuple[int, int]:
    return ranges()[program]


@lru_cache(maxsize=1)
def orchestras() -> dict[str, dict[str, list[int]]]:
    data = read_json("orchestration.json")["orchestras"]
    for name, roles in data.items():
        for role, progs in roles.items():
            if role not in ROLES or not progs or any(not 0 <= p <= 127 for p in progs):
                raise DataError(f"orchestration.json: {name}.{role} must list GM programs 0-127, got {progs!r}")
    return data


def fit_to_range(notes: list[Note], low: int, high: int) -> list[Note]:
    """Fold every note into [low, high] by octaves (its pitch class is kept)."""
    out = []
    for n in notes:
        p = n.pitch
        while p > high:
            p -= 12
        while p < low:
            p += 12
        if p > high:  # a range narrower than an octave: the nearest edge
            p = high
        out.append(n if p == n.pitch else Note(n.start, n.dur, p, n.velocity))
    return out


def clamp_band(lo: int, hi: int, program: int, min_width: int = 12) -> tuple[int, int]:
    """``[lo, hi]`` moved inside the program's range, at least ``min_width`` wide when it can be."""
    plo, phi = program_range(program)
    lo, hi = max(lo, plo), min(hi, phi)
    if hi - lo < min_width:
        if hi == phi:
            lo = max(plo, hi - min_width)
        else:
            hi = min(phi, lo + min_width)
    return lo, hi


def lead_center(intent: Params, inst: InstrumentMusic, program: int, lift: int) -> int:
    """Brighter wishes sit higher; the card's octave shift and the players' lift follow;
    always inside the lead instrument's comfortable middle."""
    c = 66 + 0.3 * (intent.brightness - 50) + REGISTER_SHIFT_SHARE * inst.register_shift + lift
    plo, phi = program_range(program)
    floor, ceiling = max(plo + 7, LEAD_FLOOR), min(phi - 14, LEAD_CEILING)  # clear of the extremes
    if ceiling < floor:
        return (plo + phi) // 2
    return int(round(np.clip(c, floor, ceiling)))


def _weighted_timbre(items: list[tuple[float, dict[str, float]]]) -> dict[str, float]:
    total = sum(w for w, _ in items)
    return {d: sum(w * t[d] for w, t in items) / total for d in TIMBRE_DIMS}


def track_timbre(t: TrackSpec) -> dict[str, float]:
    return kit_timbre(t.kit) if t.is_drum and t.kit else program_timbre(t.program)


def band_timbre(tracks: list[TrackSpec]) -> dict[str, float]:
    """The band's timbre: each track's program timbre weighted by its role's sounding share."""
    return _weighted_timbre([(ROLES[t.role].sounding_weight, track_timbre(t)) for t in tracks])


def choose(cands: list[int], role: str, chosen: list[TrackSpec], intent: Params,
           prefer: list[int] | None = None) -> int:
    """The candidate that brings the weighted band timbre nearest the intent; programs in
    ``prefer`` win unless another fits the wish clearly better."""
    base = [(ROLES[t.role].sounding_weight, track_timbre(t)) for t in chosen]

    def cost(prog: int) -> float:
        avg = _weighted_timbre(base + [(ROLES[role].sounding_weight, program_timbre(prog))])
        err = sum(ORCHESTRATION_FOCUS[d] * (avg[d] - getattr(intent, d)) ** 2 for d in TIMBRE_DIMS)
        return err + (0.0 if prefer is None or prog in prefer else PREFER_PENALTY)

    return min(cands, key=cost)


def fits_under(program: int, center: int) -> bool:
    """Whether the program can play a line an octave under a lead centred on ``center``."""
    return program_range(program)[0] <= center - 10


def counter_program(inst: InstrumentMusic, table: dict[str, list[int]], gim: GimmickMusic, lead: int, center: int,
                    chosen: list[TrackSpec], intent: Params) -> int:
    """A canon is a round: the lead's own instrument imitates it (or, when it cannot play an
    octave lower, the card's or the orchestra's counter instrument). Otherwise the card's
    counter instrument, or the style orchestra's, provided it can play under the lead."""
    if gim.effect == "canon":
        fitting = [p for p in (lead, *inst.programs.get("counter", []), *table["counter"]) if fits_under(p, center)]
        return fitting[0] if fitting else lead
    cands = [p for p in inst.programs.get("counter", []) if fits_under(p, center)]
    if cands:
        return cands[0]
    cands = [p for p in table["counter"] if fits_under(p, center)] or [lead]
    return choose(cands, "counter", chosen, intent)


def plan_tracks(style: StyleMusic, inst: InstrumentMusic, intent: Params, gim: GimmickMusic,
                generators: dict[str, str], lift: int = 0) -> list[TrackSpec]:
    """Every track of the song, in plan order, with its program and register."""
    tracks: list[TrackSpec] = []
    table = orchestras()[style.orchestra]

    def add(role: str, program: int, low: int, high: int, **kw) -> None:
        if ROLES[role].pitched:
            low, high = clamp_band(low, high, program)
        tracks.append(TrackSpec(track_id=role, name=kw.pop("name", program_name(program)), role=role,
                                program=program, low=low, high=high, generator=generators.get(role, "rule"), **kw))

    lead = BITCRUSH_LEAD if gim.effect == "bitcrush" else choose(inst.programs["melody"], "melody", [], intent,
                                                                  prefer=inst.programs["melody"][:1])
    c = lead_center(intent, inst, lead, lift)
    add("melody", lead, c + LEAD_SPAN[0], c + LEAD_SPAN[1])
    harmony = choose(inst.programs["harmony"], "harmony", tracks, intent, prefer=inst.programs["harmony"][:1])
    add("harmony", harmony, 43, c - 2)
    if style.drum_kit != "none":
        kit = style.drum_kit
        add("drums", KIT_PROGRAMS[kit], 35, 81, is_drum=True, kit=kit, name=f"Drums ({kit})")
    if style.percussion:
        prog = style.percussion[0]
        add("percussion", prog, *program_range(prog), name=program_name(prog))
    add("bass", inst.programs.get("bass", table["bass"])[0] if inst.programs.get("bass") else
        choose(table["bass"], "bass", tracks, intent), 28, 55)
    wants_pad = intent.complexity > 28
    wants_counter = intent.complexity > 45 or gim.effect in ("canon", "call_response")
    if wants_pad:
        prog = inst.programs["pad"][0] if inst.programs.get("pad") else choose(table["pad"], "pad", tracks, intent)
        add("pad", prog, 43, c - 3)
    if wants_counter:
        add("counter", counter_program(inst, table, gim, lead, c, tracks, intent), c - 14, c - 1)
    texture = lead if gim.effect == "echo" else GIMMICK_TEXTURE.get(gim.effect)
    if texture is not None:
        lo, hi = TEXTURE_REGISTER.get(gim.effect, (c + LEAD_SPAN[0], c + LEAD_SPAN[1] + 12))
        add("texture", texture, lo, hi, name="Echo" if gim.effect == "echo" else program_name(texture))
    tracks.sort(key=lambda t: PLAN_ORDER.index(t.role))
    return tracks


RETIMBRE_DIMS = ("warmth", "acousticness", "nostalgia")  # the qualities an instrument swap answers
RETIMBRE_MIN_GAIN = 1.5  # band-timbre points in the asked direction a swap must bring
RETIMBRE_MAX_SWAPS = 2
SWAP_KITS = ("standard", "room", "electronic", "808")  # brushes, jazz and hand drums are the style's own


def retimbre_candidates(track: TrackSpec, style: StyleMusic, inst: InstrumentMusic, gim: GimmickMusic) -> list[int]:
    """Programs that may take over ``track`` in a refinement: the lead and the comping keep to
    the instrument card's own list (they are the card); bass, pad and counter may also come
    from the style's orchestra. Only programs whose range holds the track's band, so every note
    stays where it is."""
    if track.is_drum:  # a drum-machine kit and a played kit may stand in for each other
        return [KIT_PROGRAMS[k] for k in SWAP_KITS if k != track.kit] if track.kit in SWAP_KITS else []
    if track.role not in ("melody", "harmony", "bass", "pad", "counter"):
        return []
    if (track.role == "melody" and gim.effect == "bitcrush") or (track.role == "counter" and gim.effect == "canon"):
        return []
    table = orchestras()[style.orchestra]
    cands = list(inst.programs.get(track.role, []))
    if track.role not in ("melody", "harmony"):
        cands += [p for p in table.get(track.role, []) if p not in cands]
    return [p for p in cands if p != track.program
            and program_range(p)[0] <= track.low and track.high <= program_range(p)[1]]


def retimbre(tracks: list[TrackSpec], style: StyleMusic, inst: InstrumentMusic, gim: GimmickMusic,
             dims: dict[str, float]) -> list[tuple[str, int, int]]:
    """Swap up to two instruments so the band's timbre moves the way ``dims`` asks (+1 more of
    a quality, -1 less; warmth, acousticness and nostalgia are heard in the instruments). Each
    swap is the idiomatic candidate that moves the band furthest that way; ``tracks`` is
    changed in place. Returns (role, old program, new program) per swap."""
    asked = {d: v for d, v in dims.items() if d in RETIMBRE_DIMS and v}
    swaps: list[tuple[str, int, int]] = []
    if not asked:
        return swaps

    def gain(after: dict[str, float], before: dict[str, float]) -> float:
        return sum(v * (after[d] - before[d]) for d, v in asked.items())

    for _ in range(RETIMBRE_MAX_SWAPS):
        before = band_timbre(tracks)
        best: tuple[float, int, int] | None = None
        for i, t in enumerate(tracks):
            if any(role == t.role for role, _, _ in swaps):
                continue
            for prog in retimbre_candidates(t, style, inst, gim):
                trial = [*tracks[:i], _played_by(t, prog), *tracks[i + 1:]]
                g = gain(band_timbre(trial), before)
                if g >= RETIMBRE_MIN_GAIN and (best is None or g > best[0]):
                    best = (g, i, prog)
        if best is None:
            break
        _, i, prog = best
        old = tracks[i].program
        tracks[i] = _played_by(tracks[i], prog)
        swaps.append((tracks[i].role, old, prog))
        for k, t in enumerate(tracks):  # an echo answers the lead on the lead's own instrument
            lo, hi = program_range(prog)
            if t.role == "texture" and gim.effect == "echo" and tracks[i].role == "melody" and lo <= t.low and t.high <= hi:
                tracks[k] = t.model_copy(update={"program": prog})
    return swaps


def _played_by(track: TrackSpec, program: int) -> TrackSpec:
    if track.is_drum:
        kit = next(k for k in SWAP_KITS if KIT_PROGRAMS[k] == program)
        return track.model_copy(update={"program": program, "kit": kit, "name": f"Drums ({kit})"})
    return track.model_copy(update={"program": program, "name": program_name(program)})
