"""Canonical symbolic format (seed 004) that every expert tokenizer reads.

Times are in quarter-note beats from the start of the work; the first bar starts at beat 0
(pickups are shifted so that bar lines fall on multiples of ``beats_per_bar``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kotone.music.experts.theory import estimate_chord, estimate_key
from kotone.music.types import Note

ROLES = ("drums", "bass", "harmony", "melody")


@dataclass(frozen=True)
class KeyLabel:
    tonic_pc: int
    mode: str  # "maj" | "min"
    confidence: float  # Krumhansl correlation, -1..1


@dataclass(frozen=True)
class ChordLabel:
    start: float
    dur: float
    root_pc: int
    quality: str  # a key of theory.QUALITIES
    confidence: float  # 0-1

    @property
    def end(self) -> float:
        return self.start + self.dur


@dataclass
class Track:
    role: str
    name: str
    notes: list[Note]
    is_drum: bool = False
    role_confidence: float = 1.0
    reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"track role must be one of {ROLES}, got {self.role!r}")


@dataclass
class CanonicalScore:
    """One work: tempo and meter maps, role-tagged tracks, chord and key annotations."""

    work_id: str
    source: str  # e.g. "music21:bach/bwv66.6"
    style: str  # style family of the corpus: chorale | folk | fiddle | renaissance
    tempo_map: list[tuple[float, float]]  # (beat, bpm)
    meter_map: list[tuple[float, int, int]]  # (beat, numerator, denominator)
    key: KeyLabel
    tracks: list[Track]
    chords: list[ChordLabel] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def beats_per_bar(self) -> float:
        _, num, den = self.meter_map[0]
        return num * 4.0 / den

    @property
    def duration_beats(self) -> float:
        return max((n.end for t in self.tracks for n in t.notes), default=0.0)

    def track(self, role: str) -> Track | None:
        return next((t for t in self.tracks if t.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for t in d["tracks"]:
            t["notes"] = [[n["start"], n["dur"], n["pitch"], n["velocity"]] for n in t["notes"]]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CanonicalScore:
        tracks = [
            Track(
                role=t["role"],
                name=t["name"],
                notes=[Note(float(s), float(du), int(p), int(v)) for s, du, p, v in t["notes"]],
                is_drum=t.get("is_drum", False),
                role_confidence=t.get("role_confidence", 1.0),
                reasons=list(t.get("reasons", [])),
            )
            for t in d["tracks"]
        ]
        return cls(
            work_id=d["work_id"],
            source=d["source"],
            style=d["style"],
            tempo_map=[tuple(x) for x in d["tempo_map"]],
            meter_map=[tuple(x) for x in d["meter_map"]],
            key=KeyLabel(**d["key"]),
            tracks=tracks,
            chords=[ChordLabel(**c) for c in d.get("chords", [])],
            metadata=dict(d.get("metadata", {})),
        )

    def transposed(self, semitones: int) -> CanonicalScore:
        """A copy with every pitched note, the key and the chords moved by ``semitones``."""

        def move(notes: list[Note], drum: bool) -> list[Note]:
            if drum:
                return list(notes)
            return [Note(n.start, n.dur, n.pitch + semitones, n.velocity) for n in notes]

        return CanonicalScore(
            work_id=self.work_id,
            source=self.source,
            style=self.style,
            tempo_map=list(self.tempo_map),
            meter_map=list(self.meter_map),
            key=KeyLabel((self.key.tonic_pc + semitones) % 12, self.key.mode, self.key.confidence),
            tracks=[
                Track(t.role, t.name, move(t.notes, t.is_drum), t.is_drum, t.role_confidence, t.reasons)
                for t in self.tracks
            ],
            chords=[
                ChordLabel(c.start, c.dur, (c.root_pc + semitones) % 12, c.quality, c.confidence)
                for c in self.chords
            ],
            metadata=dict(self.metadata),
        )


def pitch_class_weights(notes: list[Note], lo: float = 0.0, hi: float = float("inf")) -> np.ndarray:
    """Duration (beats) each pitch class sounds inside [lo, hi)."""
    w = np.zeros(12)
    for n in notes:
        overlap = min(n.end, hi) - max(n.start, lo)
        if overlap > 0:
            w[n.pitch % 12] += overlap
    return w


def annotate_key(tracks: list[Track]) -> KeyLabel:
    notes = [n for t in tracks if not t.is_drum for n in t.notes]
    tonic, mode, r = estimate_key(pitch_class_weights(notes))
    return KeyLabel(tonic, mode, round(r, 3))


def annotate_chords(tracks: list[Track], key: KeyLabel, beats_per_bar: float, end: float) -> list[ChordLabel]:
    """Chord labels by template matching over half bars (even meters) or whole bars.

    The bass track, when present, adds weight to a chord rooted on its lowest note.
    Consecutive equal windows are merged; confidence is the mean of the merged windows.
    """
    window = beats_per_bar / 2 if round(beats_per_bar) % 2 == 0 and beats_per_bar >= 4 else beats_per_bar
    pitched = [n for t in tracks if not t.is_drum for n in t.notes]
    bass = next((t for t in tracks if t.role == "bass"), None)
    labels: list[ChordLabel] = []
    prev: tuple[int, str] | None = None
    t = 0.0
    while t < end - 1e-6:
        w = pitch_class_weights(pitched, t, t + window)
        bass_pc = None
        if bass is not None:
            sounding = [n for n in bass.notes if n.start < t + window and n.end > t]
            if sounding:
                bass_pc = min(sounding, key=lambda n: n.pitch).pitch % 12
        root, q, conf = estimate_chord(w, key.tonic_pc, key.mode, bass_pc, prev)
        if labels and (root, q) == prev:
            last = labels[-1]
            merged_conf = (last.confidence * last.dur + conf * window) / (last.dur + window)
            labels[-1] = ChordLabel(last.start, last.dur + window, root, q, round(merged_conf, 3))
        else:
            labels.append(ChordLabel(t, window, root, q, conf))
        prev = (root, q)
        t += window
    return labels
