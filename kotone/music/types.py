"""Value types shared by the planner, the part generators and the experts.

Time is in quarter-note beats from the start of the song unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Note:
    """One note. ``start`` and ``dur`` in beats; ``pitch`` and ``velocity`` MIDI 0-127."""

    start: float
    dur: float
    pitch: int
    velocity: int

    def __post_init__(self) -> None:
        if self.dur <= 0:
            raise ValueError(f"Note duration must be positive, got {self.dur!r}")
        if self.start < 0:
            raise ValueError(f"Note start must be >= 0, got {self.start!r}")
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"Note pitch must be 0-127, got {self.pitch!r}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"Note velocity must be 1-127, got {self.velocity!r}")

    @property
    def end(self) -> float:
        return self.start + self.dur


@dataclass(frozen=True, slots=True)
class ChordSpan:
    """A chord held from ``start`` for ``dur`` beats.

    ``root_pc`` is the root pitch class (0=C); ``pcs`` are all its pitch classes, root first;
    ``symbol`` is a readable name such as ``"Am7"``; ``degree`` the scale degree (1-based).
    """

    start: float
    dur: float
    root_pc: int
    pcs: tuple[int, ...]
    symbol: str
    degree: int

    @property
    def end(self) -> float:
        return self.start + self.dur


@dataclass(frozen=True)
class EmotionVector:
    """Seed-002 control signal. energy/tension/intimacy/motion 0-1, valence -1..1."""

    energy: float = 0.5
    valence: float = 0.0
    tension: float = 0.3
    intimacy: float = 0.5
    motion: float = 0.5


@dataclass
class SectionContext:
    """Everything a part generator may condition on for one section.

    ``parts`` holds the notes already generated for this section by earlier roles, in the
    order drums -> bass -> harmony -> melody.
    """

    section_id: str
    section_type: str  # intro | verse | chorus | bridge | outro
    start_beat: float
    bars: int
    beats_per_bar: float  # 4 for 4/4, 3 for 3/4, 3 for 6/8 (two dotted quarters)
    tonic_pc: int
    scale_pcs: tuple[int, ...]  # pitch classes of the scale, tonic first
    chords: list[ChordSpan]
    emotion: EmotionVector
    density: float  # 0-1, how busy this role should be in this section
    register: tuple[int, int]  # lowest and highest MIDI pitch allowed for the role
    style_family: str  # the style card's progression family, e.g. "folk"
    groove: str  # the style card's groove, e.g. "swing"
    parts: dict[str, list[Note]] = field(default_factory=dict)
    motif_notes: list[Note] = field(default_factory=list)  # locked notes the generator keeps as they are
    complexity: float = 0.5  # 0-1, the song's intended complexity (syncopation, ornament)
    harmony_pcs: tuple[int, ...] = ()  # the seven-tone scale the chords come from (default: scale_pcs)
    compound: bool = False  # 6/8: beats group in dotted quarters
    grid: float = 0.25  # shortest note value (beats) of the lead
    cells: tuple[tuple[float, ...], ...] = ()  # the tune's bar rhythms, for phrases filled around motifs
    fill_spans: list[tuple[float, float]] = field(default_factory=list)  # where a melody generator may add notes
    blue_notes: bool = False  # a blues: the tune's flat 3rd and 7th may rub against the dominant chords
    final: bool = False  # the song's last section (everything ends together on the tonic)
    effects: tuple[str, ...] = ()  # the gimmick's effects
    bass_style: str = ""  # the style's bass figure

    @property
    def end_beat(self) -> float:
        return self.start_beat + self.bars * self.beats_per_bar

    def melody_scale_over(self, chord: ChordSpan) -> tuple[int, ...]:
        """The lead's scale over ``chord``: a seven-tone scale makes room for a chromatic chord
        tone (``theory.chord_scale``); a pentatonic tune keeps its own five tones, and a blues
        keeps its blue notes."""
        from kotone.domain.theory import chord_scale

        if self.blue_notes or len(self.scale_pcs) < 7:
            return self.scale_pcs
        return chord_scale(self.scale_pcs, chord.pcs)

    def chord_at(self, beat: float) -> ChordSpan:
        for ch in self.chords:
            if ch.start <= beat < ch.end:
                return ch
        return self.chords[-1]


class PartGenerator(Protocol):
    """Generates one role's notes for one section. Must be deterministic given ``rng``.

    Every returned note must start inside the section, end by ``ctx.end_beat``, use only
    pitches in ``ctx.register`` and (for pitched roles) only pitch classes in
    ``ctx.scale_pcs``. Melody generators keep ``ctx.motif_notes`` unchanged.
    """

    role: str
    name: str

    def generate(self, ctx: SectionContext, rng: np.random.Generator) -> list[Note]: ...
