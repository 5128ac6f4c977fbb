"""Measure the six dims from a MIDI file itself: tempo, density, velocity, register, mode,
programs (timbre table), harmony and rhythm. Nothing here reads the plan.

Raw features are mapped to the rubric by a fixed linear calibration per dim
(space_assets/measure_calibration.json, fitted by ``eval/calibrate_measure.py``);
without it the raw 0-100 feature blend is returned.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pretty_midi

from kotone.assets import ASSETS_DIR, read_json
from kotone.domain.params import DIMS, Params
from kotone.domain.theory import KK_MAJOR, KK_MINOR, is_seventh_chord
from kotone.music.timbre import KIT_PROGRAMS, gm_table

# Krumhansl-Kessler key profiles
MAJOR_PROFILE = np.array(KK_MAJOR)
MINOR_PROFILE = np.array(KK_MINOR)
KIT_BY_PROGRAM = {v: k for k, v in KIT_PROGRAMS.items() if k != "hand"}
HAND_DRUMS = set(range(60, 70)) | {70, 54}
ACCOMP_TOP = 72  # chords are read below C5, where the accompaniment lives


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
    top_pitch: float
    high_fraction: float
    lowmid_fraction: float
    legato: float
    chord_richness: float
    syncopation: float
    pc_entropy: float
    pitched_parts: int
    swing: float
    melodic_lines: int
    looseness: float
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
        # key profiles alone cannot tell a key from its relative minor on short spans;
        # the chords actually sounding over the bass can
        majorness = float(0.5 * (maj - mnr) + 0.5 * (_major_chord_share(pitched, spb, dur) - 0.5) * 0.5)
    upper = [n for inst, n in pitched if n.pitch >= 48]
    weights = np.array([n.end - n.start for n in upper]) if upper else np.array([1.0])
    mean_pitch = float(np.average([n.pitch for n in upper], weights=weights)) if upper else 60.0
    high = float(np.mean([n.pitch >= 76 for n in upper])) if upper else 0.0
    # the register of the top line: the highest pitch sounding, every half beat
    top_pitch = 60.0
    if pitched:
        arr = np.array([(n.start, n.end, n.pitch) for _, n in pitched])
        tops = []
        for t in np.arange(0.0, dur, spb / 2) + 0.01:
            live = arr[(arr[:, 0] <= t) & (arr[:, 1] > t), 2]
            if live.size:
                tops.append(live.max())
        top_pitch = float(np.mean(tops)) if tops else 60.0
    lowmid_w = sum(n.end - n.start for _, n in pitched if 43 <= n.pitch <= 64)
    total_w = sum(n.end - n.start for _, n in pitched) or 1.0
    # articulation: each note's length over the gap to the next onset in its part (1 = legato)
    ratios = []
    for inst in pm.instruments:
        if inst.is_drum or len(inst.notes) < 3:
            continue
        keys = _onset_keys(inst, 3)
        nxt = dict(itertools.pairwise(sorted(set(keys))))
        for n, key in zip(inst.notes, keys, strict=True):
            gap = nxt.get(key, 0.0) - n.start
            if 0.05 < gap < 4.0:
                ratios.append(min(1.2, (n.end - n.start) / gap))
    legato = float(np.mean(ratios)) if ratios else 0.5
    # harmony: share of half bars (whole bars in triple meter) whose sounding pitch classes
    # contain a seventh chord. A note is heard until the next onset in its part (a detached
    # or broken chord is still the chord), and a pitch class counts when it sounds for at
    # least half a beat of the window, so passing tones don't.
    held = _held_notes(pm, spb)
    ts = pm.time_signature_changes
    bar_beats = ts[0].numerator * 4 / ts[0].denominator if ts else 4.0
    win = spb * (bar_beats / 2 if bar_beats % 2 == 0 else bar_beats)
    sevenths = []
    low = np.array([h for h in held if h[2] < ACCOMP_TOP], dtype=float).reshape(-1, 3)
    low_pc = low[:, 2].astype(np.int64) % 12
    for b in np.arange(0, dur, win):
        inside = (low[:, 1] > b) & (low[:, 0] < b + win)
        # beats each pitch class sounds in the window, summed note by note in file order
        overlap = (np.minimum(low[inside, 1], b + win) - np.maximum(low[inside, 0], b)) / spb
        weight = np.bincount(low_pc[inside], weights=overlap, minlength=12)
        pcs = {int(pc) for pc in np.flatnonzero(weight >= 0.5)}
        if len(pcs) >= 3:
            sevenths.append(is_seventh_chord(pcs))
    chord_richness = float(np.mean(sevenths)) if sevenths else 0.0
    # rhythm: syncopation = onsets off the beat whose line plays nothing on the next beat
    # (the note carries across it), over the single-note lines (chord comping patterns are
    # the style's groove, not syncopation); swing = how late the off-beat eighths sit
    sync_flags = []
    lines = [inst for inst in pm.instruments if not inst.is_drum and len(inst.notes) >= 2 and _is_line(inst)]
    for inst in lines:
        on = sorted(set(_onset_keys(inst, 3, spb)))
        for a, nxt in itertools.pairwise(on):
            frac = a % 1.0
            sync_flags.append(bool(0.1 < frac < 0.9 and nxt > np.floor(a) + 1.08))
    sync = float(np.mean(sync_flags)) if sync_flags else 0.0
    onset_b = np.array([n.start for _, n in pitched]) / spb
    frac4 = onset_b % 1.0
    near_off = frac4[(frac4 > 0.45) & (frac4 < 0.75)]
    swing = float(np.clip(np.median(near_off) - 0.5, 0, 0.25) / 0.25) if len(near_off) > 8 else 0.0
    # timing: how far the players sit off the beat (the first onset of each chord or hit
    # near a beat), in beats; machines sit on it, old records wander
    devs = []
    for inst in pm.instruments:
        firsts = sorted(set(_onset_keys(inst, 4, spb)))
        for a, b in itertools.pairwise([-1.0, *firsts]):
            if b - a > 0.06 and abs(b - round(b)) < 0.12:
                devs.append(abs(b - round(b)))
    looseness = float(np.mean(devs)) if devs else 0.0
    pcs_w = hist / hist.sum() if hist.sum() > 0 else hist
    entropy = float(-sum(p * math.log2(p) for p in pcs_w if p > 0))
    parts = sum(1 for inst in pm.instruments if not inst.is_drum and inst.notes)
    return Features(
        tempo_bpm=tempo, duration_s=dur, notes_per_s=(len(pitched) + 0.5 * len(drums)) / dur,
        mean_velocity=vel, drum_hits_per_beat=len(drums) / max(1.0, dur / spb), majorness=majorness,
        mean_pitch=mean_pitch, top_pitch=top_pitch, high_fraction=high, lowmid_fraction=lowmid_w / total_w, legato=legato,
        chord_richness=chord_richness, syncopation=sync, pc_entropy=entropy, pitched_parts=parts,
        swing=swing, melodic_lines=len(lines), looseness=looseness, timbre=_timbre(pm),
    )


def _major_chord_share(pitched: list, spb: float, dur: float) -> float:
    """Duration share of major (vs minor) triads among the chords over the bass, per beat."""
    major = minor = 0
    if not pitched:
        return 0.5
    arr = np.array([(n.start, n.end, n.pitch) for _, n in pitched])
    for b in np.arange(0, dur, spb):
        here = arr[(arr[:, 0] <= b + 0.03) & (arr[:, 1] > b + 0.06), 2]
        if len(here) < 3:
            continue
        bass = int(here.min()) % 12
        pcs = {int(p) % 12 for p in here}
        for root in [bass, *sorted(pcs - {bass})]:  # prefer the chord rooted on the bass
            if (root + 7) % 12 in pcs or (root + 6) % 12 not in pcs:
                if (root + 4) % 12 in pcs and (root + 7) % 12 in pcs:
                    major += 1
                    break
                if (root + 3) % 12 in pcs and (root + 7) % 12 in pcs:
                    minor += 1
                    break
    return major / (major + minor) if major + minor else 0.5


def _is_line(inst: pretty_midi.Instrument) -> bool:
    """A single-note line (melody, counter-melody, bass): most onsets carry one note."""
    per_onset: dict[float, int] = {}
    for key in _onset_keys(inst, 2):
        per_onset[key] = per_onset.get(key, 0) + 1
    return sum(v == 1 for v in per_onset.values()) > 0.8 * len(per_onset)


def _onset_keys(inst: pretty_midi.Instrument, digits: int, unit: float = 1.0) -> list[float]:
    """Each note's start (in ``unit`` seconds) rounded to ``digits``, in note order: the same
    values as ``round(n.start / unit, digits)`` note by note (numpy's rounding either way),
    in one array operation."""
    starts = np.array([n.start for n in inst.notes], dtype=np.float64)
    return np.round(starts / unit if unit != 1.0 else starts, digits).tolist()


def _held_notes(pm: pretty_midi.PrettyMIDI, spb: float) -> list[tuple[float, float, int]]:
    """(start, heard end, pitch) of pitched notes: each lasts at least until the next onset in
    its part, at most two beats past its start when it was cut short."""
    out = []
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        keys = _onset_keys(inst, 3)
        nxt = dict(itertools.pairwise(sorted(set(keys))))
        for n, key in zip(inst.notes, keys, strict=True):
            heard = min(nxt.get(key, n.end), n.start + 2 * spb)
            out.append((n.start, max(n.end, heard), n.pitch))
    return out


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
        "energy": 0.3 * _n(f.tempo_bpm, 55, 175) + 0.2 * _n(f.notes_per_s, 1, 14)
        + 0.35 * _n(f.mean_velocity, 40, 110) + 0.15 * _n(f.drum_hits_per_beat, 0, 3),
        "warmth": 0.5 * t["warmth"] + 0.3 * _n(f.legato, 0.45, 1.05) + 0.1 * f.lowmid_fraction * 100
        + 0.1 * (100 - _n(f.mean_velocity, 45, 110)),
        "brightness": 0.2 * _n(f.majorness, -0.25, 0.25) + 0.4 * _n(f.top_pitch, 60, 86)
        + 0.15 * f.high_fraction * 100 + 0.25 * t["brightness"],
        "acousticness": t["acousticness"],
        "complexity": 0.35 * f.chord_richness * 100 + 0.2 * _n(f.syncopation, 0.05, 0.5)
        + 0.2 * _n(f.pc_entropy, 2.3, 3.3) + 0.25 * _n(f.pitched_parts, 2, 6),
        "nostalgia": 0.6 * t["nostalgia"] + 0.4 * f.swing * 100,
    }


# The rubric features each dimension is measured from (SPEC §2).
FEATURES_BY_DIM: dict[str, tuple[str, ...]] = {
    "energy": ("tempo_bpm", "notes_per_s", "mean_velocity", "drum_hits_per_beat"),
    "warmth": ("timbre_warmth", "legato", "lowmid_fraction", "softness"),
    "brightness": ("majorness", "top_pitch", "high_fraction", "timbre_brightness"),
    "acousticness": ("timbre_acousticness",),
    "complexity": ("chord_richness", "syncopation", "pc_entropy", "pitched_parts", "melodic_lines", "notes_per_s"),
    "nostalgia": ("timbre_nostalgia", "swing", "looseness"),
}


def feature_vector(f: Features) -> dict[str, float]:
    out = {k: float(v) for k, v in f.__dict__.items() if isinstance(v, (int, float))}
    out.update({f"timbre_{k}": v for k, v in f.timbre.items()})
    out["softness"] = 127.0 - f.mean_velocity
    return out


@lru_cache(maxsize=1)
def calibration() -> dict[str, tuple[dict[str, float], float]]:
    """Per dim: feature weights and offset fitted by eval/calibrate_measure.py (if present)."""
    if not (ASSETS_DIR / "measure_calibration.json").exists():
        return {}
    data = read_json("measure_calibration.json")
    return {d: (dict(v["weights"]), float(v["offset"])) for d, v in data["dims"].items()}


def measure(pm: pretty_midi.PrettyMIDI) -> tuple[Params, Features]:
    f = extract_features(pm)
    cal = calibration()
    raw = raw_dims(f) if len(cal) < len(DIMS) else {}
    vec = feature_vector(f)
    out = {}
    for d in DIMS:
        if d in cal:
            weights, offset = cal[d]
            value = offset + sum(w * vec[name] for name, w in weights.items())
        else:
            value = raw[d]
        out[d] = float(np.clip(value, 0, 100))
    return Params(**out), f


def measure_span(pm: pretty_midi.PrettyMIDI, start_s: float, end_s: float) -> Params:
    """Measure only the notes sounding in [start_s, end_s) (e.g. one section), same tempo."""
    tempo = float(pm.get_tempo_changes()[1][0]) if len(pm.get_tempo_changes()[1]) else 120.0
    part = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    for inst in pm.instruments:
        new = pretty_midi.Instrument(program=inst.program, is_drum=inst.is_drum, name=inst.name)
        for n in inst.notes:
            if start_s <= n.start < end_s:
                new.notes.append(pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.start - start_s,
                                                  end=min(n.end, end_s) - start_s))
        if new.notes:
            part.instruments.append(new)
    return measure(part)[0]
