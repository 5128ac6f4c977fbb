"""Measure the six dims from a MIDI file itself: tempo, density, velocity, register, mode,
programs (timbre table), harmony and rhythm. Nothing here reads the plan.

Raw features are mapped to the rubric by a fixed linear calibration per dim
(space_assets/measure_calibration.json, fitted by ``eval/calibrate_measure.py``);
without it the raw 0-100 feature blend is returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pretty_midi

from kotone.assets import ASSETS_DIR, read_json
from kotone.domain.params import DIMS, Params
from kotone.music.timbre import KIT_PROGRAMS, gm_table

# Krumhansl-Kessler key profiles
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
KIT_BY_PROGRAM = {v: k for k, v in KIT_PROGRAMS.items() if k != "hand"}
HAND_DRUMS = set(range(60, 70)) | {70, 54}


def _n(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0)) * 100.0


@dataclass
class Features:
    tempo_bpm: float
    duration_s: float
    notes_per_s: float
    mean_velocity: float
    drum_hits_per_beat: float
    majorness: float
    mean_pitch: float
    high_fraction: float
    lowmid_fraction: float
    legato: float
    chord_richness: float
    syncopation: float
    pc_entropy: float
    pitched_parts: int
    swing: float
    timbre: dict[str, float]


def extract_features(pm: pretty_midi.PrettyMIDI) -> Features:
    tempos = pm.get_tempo_changes()[1]
    tempo = float(tempos[0]) if len(tempos) else 120.0
    spb = 60.0 / tempo
    dur = max(1e-3, pm.get_end_time())
    pitched = [(inst, n) for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    drums = [n for inst in pm.instruments if inst.is_drum for n in inst.notes]
    all_notes = [n for _, n in pitched] + drums
    vel = float(np.mean([n.velocity for n in all_notes])) if all_notes else 0.0
    # mode and register
    hist = np.zeros(12)
    for _, n in pitched:
        hist[n.pitch % 12] += n.end - n.start
    majorness = 0.0
    if hist.sum() > 0:
        maj = max(np.corrcoef(np.roll(MAJOR_PROFILE, k), hist)[0, 1] for k in range(12))
        mnr = max(np.corrcoef(np.roll(MINOR_PROFILE, k), hist)[0, 1] for k in range(12))
        majorness = float(maj - mnr)
    upper = [n for inst, n in pitched if n.pitch >= 48]
    weights = np.array([n.end - n.start for n in upper]) if upper else np.array([1.0])
    mean_pitch = float(np.average([n.pitch for n in upper], weights=weights)) if upper else 60.0
    high = float(np.mean([n.pitch >= 76 for n in upper])) if upper else 0.0
    lowmid_w = sum(n.end - n.start for _, n in pitched if 43 <= n.pitch <= 64)
    total_w = sum(n.end - n.start for _, n in pitched) or 1.0
    # articulation: sounding time / inter-onset gap, per pitched instrument
    leg = []
    for inst in pm.instruments:
        if inst.is_drum or len(inst.notes) < 3:
            continue
        on = sorted({round(n.start, 3) for n in inst.notes})
        gaps = np.diff(on)
        gaps = gaps[gaps > 0.05]
        if len(gaps):
            leg.append(float(np.clip(np.median([n.end - n.start for n in inst.notes]) / np.median(gaps), 0, 1.5)))
    legato = float(np.mean(leg)) if leg else 0.5
    # harmony: distinct pitch classes sounding at each beat
    beats = np.arange(0, dur, spb)
    rich = []
    for b in beats:
        pcs = {n.pitch % 12 for _, n in pitched if n.start <= b + 0.02 and n.end > b + 0.05}
        if pcs:
            rich.append(len(pcs) >= 4)
    chord_richness = float(np.mean(rich)) if rich else 0.0
    # rhythm: onsets off the eighth grid (syncopation) and swing of off-beat eighths
    onsets = np.array([n.start for _, n in pitched]) / spb
    frac8 = (onsets * 2) % 1.0
    off8 = np.minimum(frac8, 1 - frac8)
    frac4 = onsets % 1.0
    sync = float(np.mean((np.abs(frac4 - 0.5) < 0.08) | ((off8 > 0.2) & (off8 < 0.45)))) if len(onsets) else 0.0
    near_off = frac4[(frac4 > 0.45) & (frac4 < 0.75)]
    swing = float(np.clip(np.median(near_off) - 0.5, 0, 0.25) / 0.25) if len(near_off) > 8 else 0.0
    pcs_w = hist / hist.sum() if hist.sum() > 0 else hist
    entropy = float(-sum(p * math.log2(p) for p in pcs_w if p > 0))
    parts = sum(1 for inst in pm.instruments if not inst.is_drum and inst.notes)
    return Features(
        tempo_bpm=tempo, duration_s=dur, notes_per_s=(len(pitched) + 0.5 * len(drums)) / dur,
        mean_velocity=vel, drum_hits_per_beat=len(drums) / max(1.0, dur / spb), majorness=majorness,
        mean_pitch=mean_pitch, high_fraction=high, lowmid_fraction=lowmid_w / total_w, legato=legato,
        chord_richness=chord_richness, syncopation=sync, pc_entropy=entropy, pitched_parts=parts,
        swing=swing, timbre=_timbre(pm),
    )


def _timbre(pm: pretty_midi.PrettyMIDI) -> dict[str, float]:
    programs, kits = gm_table()
    acc = {"warmth": 0.0, "acousticness": 0.0, "brightness": 0.0, "nostalgia": 0.0}
    total = 0.0
    for inst in pm.instruments:
        if not inst.notes:
            continue
        weight = sum(min(2.0, n.end - n.start) for n in inst.notes)
        if inst.is_drum:
            hand = np.mean([n.pitch in HAND_DRUMS for n in inst.notes]) > 0.5
            row = kits["hand" if hand else KIT_BY_PROGRAM.get(inst.program, "standard")]
            weight *= 0.5
        else:
            row = programs[inst.program]
        for k in acc:
            acc[k] += weight * float(row[k])
        total += weight
    return {k: v / total for k, v in acc.items()} if total else {k: 50.0 for k in acc}


def raw_dims(f: Features) -> dict[str, float]:
    """Each dim as a 0-100 blend of features, before calibration."""
    t = f.timbre
    return {
        "energy": 0.42 * _n(f.tempo_bpm, 55, 175) + 0.23 * _n(f.notes_per_s, 1, 14)
        + 0.2 * _n(f.mean_velocity, 40, 110) + 0.15 * _n(f.drum_hits_per_beat, 0, 3),
        "warmth": 0.55 * t["warmth"] + 0.15 * f.lowmid_fraction * 100 + 0.15 * _n(f.legato, 0.4, 1.1)
        + 0.15 * (100 - _n(f.mean_velocity, 45, 110)),
        "brightness": 0.45 * _n(f.majorness, -0.25, 0.25) + 0.3 * _n(f.mean_pitch, 56, 78)
        + 0.1 * f.high_fraction * 100 + 0.15 * t["brightness"],
        "acousticness": t["acousticness"],
        "complexity": 0.35 * f.chord_richness * 100 + 0.2 * _n(f.syncopation, 0.05, 0.5)
        + 0.2 * _n(f.pc_entropy, 2.3, 3.3) + 0.25 * _n(f.pitched_parts, 2, 6),
        "nostalgia": 0.75 * t["nostalgia"] + 0.25 * f.swing * 100,
    }


@lru_cache(maxsize=1)
def calibration() -> dict[str, tuple[float, float]]:
    if not (ASSETS_DIR / "measure_calibration.json").exists():
        return {}
    data = read_json("measure_calibration.json")
    return {d: (float(v["scale"]), float(v["offset"])) for d, v in data["dims"].items()}


def measure(pm: pretty_midi.PrettyMIDI) -> tuple[Params, Features]:
    f = extract_features(pm)
    raw = raw_dims(f)
    cal = calibration()
    out = {}
    for d in DIMS:
        a, b = cal.get(d, (1.0, 0.0))
        out[d] = float(np.clip(a * raw[d] + b, 0, 100))
    return Params(**out), f
