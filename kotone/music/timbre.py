"""The General MIDI timbre table (space_assets/gm_programs.json) and program choice."""

from __future__ import annotations

from functools import lru_cache

from kotone.assets import read_json
from kotone.domain.params import Params

TIMBRE_DIMS = ("warmth", "acousticness", "brightness", "nostalgia")
KIT_PROGRAMS = {"standard": 0, "room": 8, "electronic": 24, "808": 25, "jazz": 32, "brush": 40, "hand": 0}

# Candidate programs per supporting role; the planner picks the one whose timbre fits the intent.
ROLE_PALETTES: dict[str, tuple[int, ...]] = {
    "bass": (32, 33, 34, 35, 36, 38, 39, 42, 43, 58, 70, 87),
    "pad": (48, 49, 50, 52, 53, 19, 16, 21, 88, 89, 90, 91, 92, 94, 95, 4, 5, 11, 10, 98),
    "counter": (73, 71, 68, 72, 40, 41, 11, 8, 9, 22, 24, 46, 80, 81, 82, 87, 10, 6),
    "texture": (10, 8, 9, 14, 98, 96),
    "harmony": (0, 1, 4, 5, 6, 11, 24, 25, 46, 48, 49, 52, 19, 16, 21, 88, 89, 90, 91, 95, 81),
}


@lru_cache(maxsize=1)
def gm_table() -> tuple[dict[int, dict], dict[str, dict]]:
    data = read_json("gm_programs.json")
    programs = {int(p["program"]): p for p in data["programs"]}
    return programs, data["drum_kits"]


def program_name(program: int) -> str:
    return gm_table()[0][program]["name"]


def program_timbre(program: int) -> dict[str, float]:
    row = gm_table()[0][program]
    return {d: float(row[d]) for d in TIMBRE_DIMS}


def kit_timbre(kit: str) -> dict[str, float]:
    row = gm_table()[1][kit]
    return {d: float(row[d]) for d in TIMBRE_DIMS}


def timbre_distance(program: int, intent: Params) -> float:
    t = program_timbre(program)
    return sum((t[d] - getattr(intent, d)) ** 2 for d in TIMBRE_DIMS)


def pick_program(candidates: tuple[int, ...] | list[int], intent: Params, prefer_first: float = 0.0) -> int:
    """The candidate whose timbre is nearest the intent; ``prefer_first`` biases to index 0."""
    best, best_d = candidates[0], float("inf")
    for i, prog in enumerate(candidates):
        d = timbre_distance(prog, intent) * (1.0 - prefer_first if i == 0 else 1.0)
        if d < best_d:
            best, best_d = prog, d
    return best
