"""Kotone cards: the four slots, their musical meaning, and the validated catalog."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kotone.domain.errors import DataError, UnknownCardError
from kotone.domain.params import Params

SLOTS: tuple[str, ...] = ("style", "instrument", "mood", "gimmick")
Slot = Literal["style", "instrument", "mood", "gimmick"]

ScaleName = Literal[
    "major",
    "minor",
    "harmonic_minor",
    "dorian",
    "phrygian",
    "lydian",
    "mixolydian",
    "pentatonic_major",
    "pentatonic_minor",
    "blues_minor",
    "yo",
    "in",
    "ryukyu",
    "hijaz",
    "double_harmonic",
]
Groove = Literal[
    "straight",
    "swing",
    "shuffle",
    "halftime",
    "four_on_floor",
    "breakbeat",
    "bossa",
    "waltz",
    "jig",
    "march",
    "ballad",
    "matsuri",
    "maqsum",
    "none",
]
DrumKit = Literal["standard", "brush", "jazz", "room", "electronic", "808", "hand", "none"]
ProgressionFamily = Literal[
    "pop", "jazz", "folk", "modal", "blues", "cinematic", "ambient", "minimal", "baroque"
]
# "free": no fixed figure (the bass expert may play it); the rest are rule figures
BassStyle = Literal["free", "root", "root_fifth", "walking", "pedal", "arpeggio", "octave", "syncopated",
                    "oompah", "bossa", "jig"]
CompStyle = Literal["block", "arpeggio", "strum", "pad", "stabs", "alberti", "waltz", "offbeat", "bossa", "jig",
                    "charleston"]
FormName = Literal["verse_chorus", "aabb", "aaba", "blues12"]
# the chord before the final tonic, in order of preference (the first one the scale has wins)
CadenceChord = Literal["V", "IV", "bVII", "bII", "iv", "v", "bVI"]
Orchestra = Literal["lounge", "folk", "parlour", "nursery", "brass_band", "latin", "celtic", "japanese", "chip",
                    "blues", "desert", "jazz", "electronic", "ambient", "chamber", "orchestral"]
# Each style card names its defining idioms; kotone.music.idioms holds one measured check per name.
Idiom = Literal[
    "verse_chorus_form", "aabb_strains", "aaba_form", "twelve_bar_blues",
    "compound_meter", "dotted_quarter_comp", "waltz_comp", "oom_pah", "walking_bass", "bossa_groove",
    "four_on_the_floor", "swing_eighths", "straight_eighths", "pedal_bass", "octave_bass", "alternating_bass",
    "syncopated_bass", "arpeggiated_comp", "halftime_groove", "backbeat", "final_seventh",
    "authentic_cadence", "plagal_cadence", "modal_cadence", "phrygian_cadence", "culture_percussion",
    "pentatonic_melody", "no_drums",
]
Meter = Literal["4/4", "3/4", "6/8"]
Articulation = Literal["legato", "normal", "staccato"]
Effect = Literal[
    "swing",
    "key_change",
    "music_box_intro",
    "echo",
    "vinyl_crackle",
    "rain",
    "fade_out",
    "call_response",
    "bitcrush",
    "birdsong",
    "drone",
    "canon",
    "arpeggiator",
    "double_time",
]
Role = Literal["melody", "harmony", "bass", "counter", "pad"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScaleChoice(_Strict):
    """Which scale a style uses when the song leans bright, neutral or dark."""

    bright: ScaleName
    neutral: ScaleName
    dark: ScaleName


class StyleMusic(_Strict):
    tempo_range: tuple[int, int] = Field(description="beats per minute, low and high")
    meter: Meter = "4/4"
    groove: Groove
    drum_kit: DrumKit
    progression_family: ProgressionFamily
    scales: ScaleChoice
    bass_style: BassStyle
    comp_style: CompStyle
    form: FormName = "verse_chorus"
    cadence: list[CadenceChord] = Field(default_factory=lambda: ["V", "IV"], min_length=1)
    melody_grid: float = Field(0.25, description="shortest melody note value in beats (0.5 = eighths)")
    swings: bool = Field(False, description="whether the style's eighths may swing")
    final_seventh: bool = Field(False, description="whether the final tonic chord keeps a 7th/6th")
    dominant_sevenths: bool = False
    orchestra: Orchestra = "folk"
    percussion: list[int] = Field(default_factory=list, description="pitched GM percussion programs (taiko ...)")
    idioms: list[Idiom] = Field(default_factory=list)

    @model_validator(mode="after")
    def _idioms_match_music(self) -> StyleMusic:
        needs = {
            "compound_meter": self.meter == "6/8" and self.melody_grid == 0.5,
            "waltz_comp": self.meter == "3/4" and self.comp_style == "waltz",
            "walking_bass": self.bass_style == "walking",
            "oom_pah": self.bass_style == "oompah" and self.comp_style == "offbeat",
            "bossa_groove": self.bass_style == "bossa" and self.comp_style == "bossa",
            "swing_eighths": self.swings,
            "straight_eighths": not self.swings,
            "twelve_bar_blues": self.form == "blues12" and self.dominant_sevenths,
            "aabb_strains": self.form == "aabb",
            "aaba_form": self.form == "aaba",
            "verse_chorus_form": self.form == "verse_chorus",
            "final_seventh": self.final_seventh,
            "culture_percussion": bool(self.percussion),
            "pedal_bass": self.bass_style == "pedal",
            "octave_bass": self.bass_style == "octave",
            "dotted_quarter_comp": self.comp_style == "jig",
            "no_drums": self.drum_kit == "none",
        }
        wrong = [i for i in self.idioms if not needs.get(i, True)]
        if wrong:
            raise ValueError(f"style idioms {wrong!r} disagree with the style's own music fields")
        if self.melody_grid not in (0.25, 0.5):
            raise ValueError(f"melody_grid must be 0.25 or 0.5 beats, got {self.melody_grid!r}")
        return self

    @field_validator("tempo_range")
    @classmethod
    def _tempo_ok(cls, v: tuple[int, int]) -> tuple[int, int]:
        lo, hi = v
        if not (40 <= lo <= hi <= 200):
            raise ValueError(f"tempo_range must satisfy 40 <= lo <= hi <= 200, got {v!r}")
        return v


class InstrumentMusic(_Strict):
    """General MIDI programs (0-127) per role; the first of each list is preferred."""

    programs: dict[Role, list[int]]
    register_shift: int = Field(0, ge=-12, le=12, description="semitones added to the lead")
    keys: list[int] = Field(default_factory=list, description="tonic pitch classes the instrument plays "
                            "best in (empty: any)")

    @field_validator("programs")
    @classmethod
    def _programs_ok(cls, v: dict[str, list[int]]) -> dict[str, list[int]]:
        for role in ("melody", "harmony"):
            if not v.get(role):
                raise ValueError(f"instrument programs need a non-empty {role!r} list, got {v!r}")
        for role, progs in v.items():
            bad = [p for p in progs if not 0 <= p <= 127]
            if bad:
                raise ValueError(f"GM programs must be 0-127, got {bad!r} for {role!r}")
        return v

    @field_validator("keys")
    @classmethod
    def _keys_ok(cls, v: list[int]) -> list[int]:
        if any(not 0 <= k <= 11 for k in v):
            raise ValueError(f"keys are pitch classes 0-11, got {v!r}")
        return v


class MoodMusic(_Strict):
    valence: float = Field(ge=-1, le=1)
    tension: float = Field(ge=0, le=1)
    intimacy: float = Field(ge=0, le=1)
    motion: float = Field(ge=0, le=1)
    dynamics: tuple[int, int] = Field(description="MIDI velocity range, low and high")
    articulation: Articulation = "normal"

    @field_validator("dynamics")
    @classmethod
    def _dyn_ok(cls, v: tuple[int, int]) -> tuple[int, int]:
        lo, hi = v
        if not (1 <= lo <= hi <= 127):
            raise ValueError(f"dynamics must satisfy 1 <= lo <= hi <= 127, got {v!r}")
        return v


class GimmickMusic(_Strict):
    effect: Effect
    amount: float = Field(0.5, ge=0, le=1, description="strength of the effect, 0-1")


class Card(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{2,40}$")
    slot: Slot
    name: str = Field(min_length=1, max_length=40)
    flavor: str = Field(min_length=1, max_length=200)
    price: int = Field(ge=0, le=10_000)
    tier: int = Field(ge=1, le=4)
    profile: Params
    tags: list[str] = Field(min_length=1)
    synergies: list[str] = Field(default_factory=list)
    anti_synergies: list[str] = Field(default_factory=list)
    music: StyleMusic | InstrumentMusic | MoodMusic | GimmickMusic

    @model_validator(mode="before")
    @classmethod
    def _music_by_slot(cls, data: object) -> object:
        if isinstance(data, Mapping) and isinstance(data.get("music"), Mapping):
            kind = {
                "style": StyleMusic,
                "instrument": InstrumentMusic,
                "mood": MoodMusic,
                "gimmick": GimmickMusic,
            }.get(str(data.get("slot")))
            if kind is not None:
                data = {**data, "music": kind.model_validate(data["music"])}
        return data


class Catalog:
    """All cards, validated together: unique ids, known tags, resolvable synergies."""

    def __init__(self, cards: Iterable[Card], tags: Iterable[str]):
        self.tags: frozenset[str] = frozenset(tags)
        self._cards: dict[str, Card] = {}
        for card in cards:
            if card.id in self._cards:
                raise DataError(f"duplicate card id {card.id!r}")
            self._cards[card.id] = card
        for card in self._cards.values():
            unknown = [t for t in card.tags if t not in self.tags]
            if unknown:
                raise DataError(f"card {card.id!r} has unknown tags {unknown!r}")
            for ref in (*card.synergies, *card.anti_synergies):
                if ref not in self._cards:
                    raise DataError(f"card {card.id!r} refers to unknown card {ref!r}")

    @classmethod
    def from_dicts(cls, rows: Iterable[Mapping[str, object]], tags: Iterable[str]) -> Catalog:
        cards = []
        for i, row in enumerate(rows):
            try:
                cards.append(Card.model_validate(row))
            except ValueError as exc:
                ident = row.get("id", f"#{i}") if isinstance(row, Mapping) else f"#{i}"
                raise DataError(f"card {ident!r} is invalid: {exc}") from exc
        return cls(cards, tags)

    def __len__(self) -> int:
        return len(self._cards)

    def __iter__(self):
        return iter(self._cards.values())

    def __contains__(self, card_id: object) -> bool:
        return card_id in self._cards

    def get(self, card_id: str) -> Card:
        try:
            return self._cards[card_id]
        except KeyError:
            raise UnknownCardError(f"unknown card id {str(card_id)[:40]!r}") from None

    def by_slot(self, slot: str) -> list[Card]:
        if slot not in SLOTS:
            raise UnknownCardError(f"unknown slot {slot!r}; slots are {', '.join(SLOTS)}")
        return [c for c in self._cards.values() if c.slot == slot]

    def resolve(self, choice: Mapping[str, str]) -> dict[str, Card]:
        """Check a slot -> card id mapping: all four slots, each card in its own slot."""
        if not isinstance(choice, Mapping):
            raise UnknownCardError(f"expected a mapping of slot to card id, got {choice!r}")
        extra = set(choice) - set(SLOTS)
        if extra:
            raise UnknownCardError(f"unknown slots {sorted(extra)!r}; slots are {', '.join(SLOTS)}")
        out: dict[str, Card] = {}
        for slot in SLOTS:
            card_id = choice.get(slot)
            if not card_id:
                raise UnknownCardError(f"slot {slot!r} is empty; pick a {slot} card")
            card = self.get(str(card_id))
            if card.slot != slot:
                raise UnknownCardError(
                    f"card {card.id!r} is a {card.slot} card, not a {slot} card"
                )
            out[slot] = card
        return out

    def starter_ids(self) -> list[str]:
        return [c.id for c in self._cards.values() if c.tier == 1 and c.price == 0]
