"""The General MIDI timbre table (space_assets/gm_programs.json)."""

from __future__ import annotations

from functools import lru_cache

from kotone.assets import read_json

TIMBRE_DIMS = ("warmth", "acousticness", "brightness", "nostalgia")
KIT_PROGRAMS = {"standard": 0, "room": 8, "electronic": 24, "808": 25, "jazz": 32, "brush": 40, "hand": 0}


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
