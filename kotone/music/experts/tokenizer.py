"""Per-expert REMI-style vocabularies built on miditok, plus conditioning tokens.

Sequence grammar (one section or one training window)::

    BOS TimeSig_n/d Key_<pc>_<maj|min> Style_<family> Density_<0-3>
    ( Bar  ( Position_p  [Chord_<pc>_<quality>]  (Pitch_x Duration_b.t.r)+ )* )*  EOS

A ``Chord_`` token follows a ``Position_`` whenever the chord sounding there differs from
the last chord token (drums carry no chords). Drum events are ``PitchDrum_x`` with no
duration. Base tokens come from a miditok ``REMI`` vocabulary; the conditioning tokens
are added with ``add_to_vocab``. The vocabulary is saved as JSON beside the weights so the
app needs no miditok at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kotone.music.experts.canonical import CanonicalScore
from kotone.music.experts.theory import QUALITIES

STEPS_PER_BEAT = 4
STYLES = ("chorale", "folk", "fiddle", "any")
PITCH_RANGES = {"melody": (45, 96), "bass": (28, 64), "harmony": (40, 84)}
DRUM_RANGE = (35, 51)
KIT = (36, 38, 42, 46, 49, 51)  # kick, snare, closed hat, open hat, crash, ride
TIME_SIGS = {4: [2, 3, 4, 6], 8: [3, 6, 9, 12], 2: [2, 3]}
# Onsets per beat that separate the four density bins, per role.
DENSITY_EDGES = {"melody": (0.9, 1.3, 1.9), "bass": (0.7, 1.0, 1.5), "harmony": (0.7, 1.0, 1.5), "drums": (1.6, 2.2, 2.9)}


def miditok_config(role: str) -> object:
    from miditok import TokenizerConfig

    drums = role == "drums"
    return TokenizerConfig(
        pitch_range=PITCH_RANGES.get(role, (60, 61)),
        beat_res={(0, 4): STEPS_PER_BEAT, (4, 8): 2},
        special_tokens=["PAD", "BOS", "EOS"],
        use_velocities=False,
        use_time_signatures=True,
        time_signature_range=TIME_SIGS,
        use_pitchdrum_tokens=drums,
        drums_pitch_range=DRUM_RANGE,
    )


def conditioning_tokens(role: str) -> list[str]:
    toks = [f"Key_{pc}_{m}" for m in ("maj", "min") for pc in range(12)]
    toks += [f"Style_{s}" for s in STYLES] + [f"Density_{k}" for k in range(4)]
    if role != "drums":
        toks += [f"Chord_{pc}_{q}" for pc in range(12) for q in QUALITIES]
    return toks


def build_vocab(role: str) -> list[str]:
    """The token list of one expert: miditok REMI base vocabulary + conditioning tokens."""
    from miditok import REMI

    tok = REMI(miditok_config(role))
    for t in conditioning_tokens(role):
        tok.add_to_vocab(t)
    vocab = sorted(tok.vocab.items(), key=lambda kv: kv[1])
    if role == "drums":
        vocab = [kv for kv in vocab if not kv[0].startswith(("Pitch_", "Duration_"))]
    else:
        vocab = [kv for kv in vocab if not kv[0].startswith("PitchDrum_")]
    return [k for k, _ in vocab]


def duration_steps(token: str) -> int:
    """``Duration_b.t.r`` -> length in 16th steps."""
    b, t, r = (int(x) for x in token.split("_")[1].split("."))
    return b * STEPS_PER_BEAT + t * STEPS_PER_BEAT // r


@dataclass
class Vocab:
    """Token <-> id maps and the id groups that the constrained decoder masks."""

    role: str
    tokens: list[str]

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError(f"duplicate tokens in {self.role} vocabulary")
        self.pad, self.bos, self.eos, self.bar = (self.index[t] for t in ("PAD_None", "BOS_None", "EOS_None", "Bar_None"))
        prefix = "PitchDrum_" if self.role == "drums" else "Pitch_"
        self.pitch_ids = {int(t[len(prefix):]): i for t, i in self.index.items() if t.startswith(prefix)}
        self.position_ids = {int(t.split("_")[1]): i for t, i in self.index.items() if t.startswith("Position_")}
        self.duration_ids = {duration_steps(t): i for t, i in self.index.items() if t.startswith("Duration_")}
        self.id_pitch = {i: p for p, i in self.pitch_ids.items()}
        self.id_position = {i: p for p, i in self.position_ids.items()}
        self.id_duration = {i: d for d, i in self.duration_ids.items()}
        self._dur_sorted = np.array(sorted(self.duration_ids))

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(cls, role: str) -> Vocab:
        return cls(role, build_vocab(role))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"role": self.role, "tokens": self.tokens}))

    @classmethod
    def load(cls, path: Path) -> Vocab:
        d = json.loads(path.read_text())
        return cls(d["role"], d["tokens"])

    def nearest_duration(self, steps: int) -> int:
        """Id of the duration token closest to ``steps`` (ties -> shorter)."""
        j = int(np.argmin(np.abs(self._dur_sorted - steps)))
        return self.duration_ids[int(self._dur_sorted[j])]

    def time_sig_id(self, beats_per_bar: float) -> int:
        for name in (f"TimeSig_{int(beats_per_bar)}/4", f"TimeSig_{int(beats_per_bar * 2)}/8"):
            if name in self.index:
                return self.index[name]
        return self.index["TimeSig_4/4"]

    def key_id(self, tonic_pc: int, mode: str) -> int:
        return self.index[f"Key_{tonic_pc % 12}_{mode}"]

    def style_id(self, style: str) -> int:
        return self.index[f"Style_{style if style in STYLES else 'any'}"]

    def density_id(self, k: int) -> int:
        return self.index[f"Density_{min(3, max(0, k))}"]

    def chord_id(self, root_pc: int, quality: str) -> int:
        return self.index[f"Chord_{root_pc % 12}_{quality}"]

    def prefix(self, beats_per_bar: float, tonic_pc: int, mode: str, style: str, density_bin: int) -> list[int]:
        return [
            self.bos,
            self.time_sig_id(beats_per_bar),
            self.key_id(tonic_pc, mode),
            self.style_id(style),
            self.density_id(density_bin),
        ]


def density_bin(role: str, onsets_per_beat: float) -> int:
    return int(np.searchsorted(DENSITY_EDGES[role], onsets_per_beat, side="right"))


def encode_window(vocab: Vocab, score: CanonicalScore, bar0: int, bars: int, style: str | None = None) -> list[int] | None:
    """Token ids of ``bars`` bars of one role of ``score`` from bar ``bar0``; None if empty."""
    role = vocab.role
    track = score.track(role)
    if track is None:
        return None
    bpb = score.beats_per_bar
    lo, hi = bar0 * bpb, (bar0 + bars) * bpb
    notes = [n for n in track.notes if lo - 1e-6 <= n.start < hi - 1e-6]
    if len(notes) < bars:
        return None
    lo_p, hi_p = (0, 127) if role == "drums" else PITCH_RANGES[role]
    if any(not lo_p <= n.pitch <= hi_p for n in notes):
        return None
    if role == "drums" and any(n.pitch not in vocab.pitch_ids for n in notes):
        return None
    onsets = len({n.start for n in notes}) / (bars * bpb)
    if role == "drums":
        onsets = len(notes) / (bars * bpb)
    ids = vocab.prefix(bpb, score.key.tonic_pc, score.key.mode, style or score.style, density_bin(role, onsets))
    by_time: dict[float, list] = {}
    for n in notes:
        by_time.setdefault(n.start, []).append(n)
    last_chord: tuple[int, str] | None = None
    steps_per_bar = round(bpb * STEPS_PER_BEAT)
    for b in range(bars):
        ids.append(vocab.bar)
        bar_lo = lo + b * bpb
        for t in sorted(x for x in by_time if bar_lo - 1e-6 <= x < bar_lo + bpb - 1e-6):
            pos = round((t - bar_lo) * STEPS_PER_BEAT)
            if pos >= steps_per_bar or pos not in vocab.position_ids:
                return None
            ids.append(vocab.position_ids[pos])
            if role != "drums":
                ch = next((c for c in score.chords if c.start - 1e-6 <= t < c.end - 1e-6), None)
                if ch is not None and (ch.root_pc, ch.quality) != last_chord:
                    last_chord = (ch.root_pc, ch.quality)
                    ids.append(vocab.chord_id(*last_chord))
            for n in sorted(by_time[t], key=lambda x: x.pitch):
                ids.append(vocab.pitch_ids[n.pitch])
                if role != "drums":
                    end = min(n.end, hi)
                    ids.append(vocab.nearest_duration(max(1, round((end - t) * STEPS_PER_BEAT))))
    ids.append(vocab.eos)
    return ids
