"""The song plan (seed 002's rich musical specification) as validated, JSON-able schemas.

Times inside a section are in quarter-note beats from the section start; ``start_beat``
of a section is from the song start. Motif intervals are in *scale steps* (not semitones),
so a motif stays in any scale (yo, in, hijaz ...) after every transformation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kotone.domain.params import Params
from kotone.domain.roles import RoleName

SectionType = Literal["intro", "verse", "chorus", "bridge", "outro"]
Transformation = Literal[
    "none",
    "transpose",
    "register_shift",
    "rhythmic_expand",
    "rhythmic_compress",
    "invert",
    "retrograde",
    "intensify",
    "simplify",
]
Register = Literal["low", "mid_low", "mid", "mid_high", "high"]


# Fields that older plans carry and this version no longer reads; dropped on load so the
# gallery's stored songs still open.
RETIRED_FIELDS: dict[str, frozenset[str]] = {
    "SongPlan": frozenset({"chord_extensions"}),
    "TrackSpec": frozenset({"color"}),
    "TrackBehavior": frozenset({"enter_bar", "pattern"}),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_retired(cls, data: object) -> object:
        retired = RETIRED_FIELDS.get(cls.__name__)
        if retired and isinstance(data, dict) and retired & data.keys():
            data = {k: v for k, v in data.items() if k not in retired}
        return data


class EmotionVec(_Model):
    energy: float = Field(0.5, ge=0, le=1)
    valence: float = Field(0.0, ge=-1, le=1)
    tension: float = Field(0.3, ge=0, le=1)
    intimacy: float = Field(0.5, ge=0, le=1)
    motion: float = Field(0.5, ge=0, le=1)

    def shifted(self, **delta: float) -> EmotionVec:
        vals = self.model_dump()
        for k, v in delta.items():
            lo = -1.0 if k == "valence" else 0.0
            vals[k] = max(lo, min(1.0, vals[k] + v))
        return EmotionVec(**vals)


class Motif(_Model):
    motif_id: str
    interval_pattern: list[int] = Field(min_length=2, max_length=32)  # scale steps from note 1
    rhythm_pattern: list[float] = Field(min_length=2, max_length=32)  # durations in beats
    register_band: Register = "mid"
    anchor_degree: int = Field(1, ge=1, le=7)
    emotional_role: str = "theme"
    allowed_transformations: list[Transformation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lengths_match(self) -> Motif:
        if len(self.interval_pattern) != len(self.rhythm_pattern):
            raise ValueError(
                f"motif {self.motif_id!r}: {len(self.interval_pattern)} intervals but "
                f"{len(self.rhythm_pattern)} durations"
            )
        if any(d <= 0 for d in self.rhythm_pattern):
            raise ValueError(f"motif {self.motif_id!r}: durations must be positive")
        if any(abs(s) > 9 for s in self.interval_pattern):
            raise ValueError(f"motif {self.motif_id!r}: leaps over 9 scale steps")
        return self

    @property
    def duration_beats(self) -> float:
        return float(sum(self.rhythm_pattern))


class MotifUse(_Model):
    motif_id: str
    beat: float = Field(ge=0)  # from the section start
    transformation: Transformation = "none"
    params: dict[str, float] = Field(default_factory=dict)


class ChordEvent(_Model):
    beat: float = Field(ge=0)  # from the section start
    beats: float = Field(gt=0)
    degree: int = Field(ge=1, le=7)
    root_pc: int = Field(ge=0, le=11)
    pcs: list[int]
    symbol: str


class SectionState(_Model):
    energy: float = Field(ge=0, le=1)
    last_chord: str | None = None
    melodic_register: Register | None = None
    drum_active: bool = False


class TrackBehavior(_Model):
    active: bool = True
    density: float = Field(0.5, ge=0, le=1)


class SectionSpec(_Model):
    section_id: str
    section_type: SectionType
    bars: int = Field(ge=1, le=32)
    start_beat: float = Field(ge=0)
    emotion: EmotionVec
    chords: list[ChordEvent] = Field(min_length=1)
    motif_usage: list[MotifUse] = Field(default_factory=list)
    entry_state: SectionState
    exit_state: SectionState
    track_behaviors: dict[str, TrackBehavior] = Field(default_factory=dict)
    tonic_shift: int = Field(0, ge=-6, le=6)  # semitones, for a key change gimmick
    scale: str | None = None  # this section's own scale when a refinement changed its mode
    # this section's own playing when a refinement changed it (None: the song's legato/timing)
    legato: float | None = Field(None, ge=0.1, le=1.2)
    timing_spread: float | None = Field(None, ge=0.0, le=0.05)
    melodic_register: Register = "mid"
    # The form: the section's letter ("A", "B", "C"; "I" intro, "O" outro) and, for a section
    # that brings back an earlier one, that section's id (its tune returns note for note,
    # transposed by any difference in tonic_shift).
    label: str = ""
    repeat_of: str | None = None


class TrackSpec(_Model):
    track_id: str
    name: str
    role: RoleName
    program: int = Field(ge=0, le=127)
    is_drum: bool = False
    kit: str | None = None
    low: int = Field(ge=0, le=127)  # the lowest and highest pitch the part may play
    high: int = Field(ge=0, le=127)
    generator: str = "rule"


class TraceFactor(_Model):
    factor: str
    value: str
    implication: str = ""
    weight: float = Field(0.5, ge=0, le=1)


class IntentTrace(_Model):
    """Why a decision was made (seed 002's musical intent trace)."""

    decision_type: str
    section_id: str | None = None
    track: str | None = None
    decision: str
    because: list[TraceFactor] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list)
    principle: str = ""


class SongPlan(_Model):
    version: str = "1"
    title: str
    seed: int
    cards: dict[str, str]
    intent: Params
    tempo_bpm: float = Field(ge=40, le=200)
    meter: Literal["4/4", "3/4", "6/8"]
    beats_per_bar: float
    tonic_pc: int = Field(ge=0, le=11)
    scale: str
    key_name: str
    groove: str
    swing: float = Field(0.0, ge=0, le=0.5)  # fraction of an eighth the off-beat is delayed
    style_family: str
    comp_style: str
    bass_style: str
    effects: list[str] = Field(default_factory=list)
    audio_fx: list[str] = Field(default_factory=list)
    # the mood's articulation of the lead: "staccato" detaches it, "legato" binds it
    articulation: str = "normal"
    # how long pitched notes sound, as a share of their slot (1 = legato, 0.3 = detached)
    legato: float = Field(0.77, ge=0.1, le=1.2)
    # standard deviation of note onsets around the grid, in beats (players' looseness)
    timing_spread: float = Field(0.012, ge=0.0, le=0.05)
    dynamics: tuple[int, int] = (50, 100)
    form: str = ""  # the style's form ("verse_chorus", "aabb", "aaba", "blues12")
    motifs: list[Motif] = Field(default_factory=list)
    sections: list[SectionSpec] = Field(min_length=1)
    tracks: list[TrackSpec] = Field(min_length=1)
    traces: list[IntentTrace] = Field(default_factory=list)

    @property
    def total_beats(self) -> float:
        last = self.sections[-1]
        return last.start_beat + last.bars * self.beats_per_bar

    @property
    def duration_s(self) -> float:
        return self.total_beats * 60.0 / self.tempo_bpm

    @property
    def end_tonic_pc(self) -> int:
        """The tonic the song ends on (after any key change)."""
        return (self.tonic_pc + self.sections[-1].tonic_shift) % 12

    def section(self, section_id: str) -> SectionSpec:
        for s in self.sections:
            if s.section_id == section_id:
                return s
        raise KeyError(section_id)

    def section_scale(self, section: SectionSpec) -> tuple[int, str]:
        """(tonic pitch class, scale name) in force in ``section``."""
        return (self.tonic_pc + section.tonic_shift) % 12, section.scale or self.scale

    def track(self, role: str) -> TrackSpec | None:
        return next((t for t in self.tracks if t.role == role), None)
