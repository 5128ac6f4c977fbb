"""The mix: one CC7 (channel volume) per track, set when the MIDI file is built.

A part's level depends on its instrument, register, note lengths, velocities and how many
notes it plays, so each track's level is *predicted* from its notes and a table measured
once per SoundFont and synthesizer (``space_assets/mix/<soundfont>[.fluidsynth].json``,
written by ``python -m kotone.render.mix_calibrate``): the energy of one note of each program, octave
and length. Two predictions per track: K-weighted loudness and presence (energy above
300 Hz, what decides whether a part is heard over the others). Then, as a mixing engineer
would:

1. every part gets its role's level relative to the lead (``ROLE_LEVEL_DB``, in loudness);
2. no accompaniment part may come within ``PRESENCE_MARGIN_DB`` of the lead above 300 Hz,
   so the tune is heard whatever instruments and registers the arrangement chose;
3. the loudest fader is set to CC7 127 and the others below it (``40 log10(cc / 127)`` dB,
   the General MIDI curve).

Velocities are left as performed: the measurement reads them (energy, softness).
Loudness across songs is normalised later, on the audio (:mod:`kotone.render.loudness`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pretty_midi

from kotone.assets import ASSETS_DIR, read_json
from kotone.domain.errors import DataError

log = logging.getLogger(__name__)

LEAD_ROLE = "melody"
ROLE_LEVEL_DB: dict[str, float] = {
    "melody": 0.0, "counter": -5.0, "bass": -4.0, "drums": -5.0,
    "harmony": -7.0, "pad": -9.0, "texture": -10.0,
}  # fmt: skip
"""Loudness of each part relative to the lead (K-weighted, dB)."""
DEFAULT_ROLE_DB = -8.0
PRESENCE_MARGIN_DB = 4.5
"""Accompaniment parts stay this far under the lead above 300 Hz (the bar is 3 dB; the rest
covers the prediction's error)."""
MAX_CUT_DB = 40.0
MAX_BOOST_DB = 6.0
MIX_DIR = "mix"
FALLBACK_TABLE = "FluidR3_GM"


@dataclass(frozen=True)
class LoudnessTable:
    """Energies (dB) of single notes in one SoundFont; see :mod:`kotone.render.mix_calibrate`."""

    soundfont: str
    velocities: np.ndarray  # (V,) the velocity layers measured
    drum_velocity: int
    pitches: np.ndarray  # (P,) MIDI pitches
    log2_durations: np.ndarray  # (D,)
    programs: dict[str, np.ndarray]  # "presence"/"loudness" -> (128, V, P, D)
    drum_keys: np.ndarray  # (K,)
    drum_log2_durations: np.ndarray  # (Dd,)
    drums: dict[int, dict[str, np.ndarray]]  # kit -> weighting -> (K, Dd)

    @classmethod
    def from_json(cls, raw: dict) -> LoudnessTable:
        try:
            progs = {w: np.array([raw["programs"][str(p)][w] for p in range(128)], dtype=float)
                     for w in ("presence", "loudness")}  # fmt: skip
            drums = {int(k): {w: np.array(v[w], dtype=float) for w in ("presence", "loudness")}
                     for k, v in raw["drums"].items()}  # fmt: skip
            table = cls(
                soundfont=str(raw["soundfont"]), velocities=np.array(raw["velocities"], dtype=float),
                drum_velocity=int(raw["drum_velocity"]),
                pitches=np.array(raw["pitches"], dtype=float),
                log2_durations=np.log2(np.array(raw["durations_s"], dtype=float)),
                programs=progs, drum_keys=np.array(raw["drum_keys"], dtype=float),
                drum_log2_durations=np.log2(np.array(raw["drum_durations_s"], dtype=float)), drums=drums,
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"malformed loudness table: {exc}") from exc
        shape = (128, len(table.velocities), len(table.pitches), len(table.log2_durations))
        if any(a.shape != shape for a in progs.values()) or 0 not in drums:
            raise DataError(f"loudness table {table.soundfont}: programs must be {shape} and kit 0 present")
        return table

    def note_energy_db(self, inst: pretty_midi.Instrument, weighting: str) -> np.ndarray:
        """Predicted energy (dB) of each note of ``inst``, played alone."""
        notes = inst.notes
        pitch = np.array([n.pitch for n in notes], dtype=float)
        dur = np.log2(np.maximum([n.end - n.start for n in notes], 1e-3))
        vel = np.maximum([n.velocity for n in notes], 1).astype(float)
        if inst.is_drum:
            kit = self.drums.get(inst.program, self.drums[0])[weighting]
            rows = kit[np.clip(np.searchsorted(self.drum_keys, pitch), 0, len(self.drum_keys) - 1)]
            return _interp_rows(rows, self.drum_log2_durations, dur) + 40 * np.log10(vel / self.drum_velocity)
        x = np.clip(pitch, self.pitches[0], self.pitches[-1])
        i = np.clip(np.searchsorted(self.pitches, x) - 1, 0, len(self.pitches) - 2)
        f = ((x - self.pitches[i]) / (self.pitches[i + 1] - self.pitches[i]))[:, None]
        # each velocity layer scaled by the GM curve (amplitude ~ velocity^2), then blended
        # between the layers in log-velocity
        layers = []
        for grid, v_ref in zip(self.programs[weighting][inst.program], self.velocities, strict=True):
            rows = (1 - f) * grid[i] + f * grid[i + 1]
            layers.append(_interp_rows(rows, self.log2_durations, dur) + 40 * np.log10(vel / v_ref))
        lv = np.log(self.velocities)
        t = np.clip((np.log(vel) - lv[0]) / (lv[-1] - lv[0]), 0.0, 1.0) if len(lv) > 1 else np.zeros(len(vel))
        return (1 - t) * layers[0] + t * layers[-1]

    def track_db(self, inst: pretty_midi.Instrument, weighting: str) -> float:
        """Predicted energy (dB) of the whole track: its notes' energies added."""
        if not inst.notes:
            return -np.inf
        e = self.note_energy_db(inst, weighting)
        return float(10 * np.log10(np.sum(10 ** (e / 10))))


def _interp_rows(rows: np.ndarray, xs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Row-wise linear interpolation of ``rows`` (n, D) sampled at ``xs`` (D,) at ``x`` (n,);
    beyond the ends the slope is that of the end segment, held between 0 and 3 dB per
    doubling (a decayed note adds nothing, a sustained one at most its steady power)."""
    j = np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2)
    k = np.arange(len(x))
    slope = (rows[k, j + 1] - rows[k, j]) / (xs[j + 1] - xs[j])
    slope = np.where((x < xs[0]) | (x > xs[-1]), np.clip(slope, 0.0, 3.0), slope)
    return rows[k, j] + slope * (x - xs[j])


def table_name(soundfont: str, backend: str) -> str:
    """The loudness table's name for a SoundFont (file stem) played by ``backend``: the
    TinySoundFont table, or the FluidSynth one for libfluidsynth and the fluidsynth CLI."""
    return soundfont if backend == "tinysoundfont" else f"{soundfont}.fluidsynth"


def renderer() -> str:
    """The synthesizer that will play the song here: the first of the default backend order
    that is installed (the mix is planned for it)."""
    import importlib.util

    from kotone.render.audio import backend_order

    for name in backend_order():
        if name == "tinysoundfont" and importlib.util.find_spec("tinysoundfont") is not None:
            return name
        if name == "libfluidsynth" and importlib.util.find_spec("fluidsynth") is not None:
            return name
    return "fluidsynth"


@lru_cache(maxsize=8)
def load_table(name: str) -> LoudnessTable:
    """The loudness table for the SoundFont named ``name`` (file stem), or the FluidR3 one
    with a warning when that SoundFont has none."""
    path = Path(ASSETS_DIR) / MIX_DIR / f"{name}.json"
    if not path.is_file():
        base = name.split(".")[0]
        fallback = base if (Path(ASSETS_DIR) / MIX_DIR / f"{base}.json").is_file() else FALLBACK_TABLE
        log.warning("no loudness table %s; mixing with %s", name, fallback)
        name = fallback
    return LoudnessTable.from_json(read_json(f"{MIX_DIR}/{name}.json"))


@dataclass(frozen=True)
class Fader:
    """One track's mix decision (levels in dB)."""

    role: str
    program: int
    is_drum: bool
    loudness_db: float  # predicted, before the fader
    presence_db: float  # predicted, before the fader
    gain_db: float
    cc7: int


def cc7_for_gain(gain_db: float) -> int:
    """CC7 value whose General MIDI attenuation (``40 log10(cc / 127)``) is ``gain_db``."""
    return int(np.clip(round(127 * 10 ** (gain_db / 40)), 1, 127))


def mix_gains_db(roles: Sequence[str], loudness_db: Sequence[float], presence_db: Sequence[float]) -> list[float]:
    """Fader gains (dB, the loudest 0) for tracks with these roles and predicted levels."""
    n = len(roles)
    lead = next((i for i, r in enumerate(roles) if r == LEAD_ROLE), None)
    if lead is None or not np.isfinite(loudness_db[lead]):
        return [0.0] * n
    gains = []
    for i, role in enumerate(roles):
        if i == lead or not np.isfinite(loudness_db[i]):
            gains.append(0.0)
            continue
        g = ROLE_LEVEL_DB.get(role, DEFAULT_ROLE_DB) - (loudness_db[i] - loudness_db[lead])
        g = min(g, presence_db[lead] - PRESENCE_MARGIN_DB - presence_db[i])
        gains.append(float(np.clip(g, -MAX_CUT_DB, MAX_BOOST_DB)))
    top = max(gains)
    return [g - top for g in gains]


def plan_mix(pm: pretty_midi.PrettyMIDI, roles: Sequence[str], table: LoudnessTable) -> list[Fader]:
    """The fader of each instrument of ``pm`` (``roles[i]`` is instrument i's role)."""
    if len(roles) != len(pm.instruments):
        raise ValueError(f"{len(pm.instruments)} instruments but {len(roles)} roles")
    loud = [table.track_db(inst, "loudness") for inst in pm.instruments]
    pres = [table.track_db(inst, "presence") for inst in pm.instruments]
    gains = mix_gains_db(roles, loud, pres)
    return [Fader(role=r, program=int(inst.program), is_drum=bool(inst.is_drum), loudness_db=round(lo, 1),
                  presence_db=round(pr, 1), gain_db=round(g, 1), cc7=cc7_for_gain(g))
            for r, inst, lo, pr, g in zip(roles, pm.instruments, loud, pres, gains, strict=True)]  # fmt: skip


def apply_mix(pm: pretty_midi.PrettyMIDI, roles: Sequence[str], soundfont: str | None = None,
              backend: str | None = None) -> list[Fader]:  # fmt: skip
    """Set each instrument's CC7 at time 0 from :func:`plan_mix` (replacing any CC7 there)
    for the SoundFont named ``soundfont`` played by ``backend`` (default: the SoundFont and
    synthesizer audio renders with here)."""
    backend = backend or renderer()
    if soundfont is None:
        from kotone.render.soundfont import find_soundfont

        soundfont = find_soundfont(backend).stem
    faders = plan_mix(pm, roles, load_table(table_name(soundfont, backend)))
    for inst, fader in zip(pm.instruments, faders, strict=True):
        inst.control_changes = [c for c in inst.control_changes if c.number != 7]
        inst.control_changes.insert(0, pretty_midi.ControlChange(7, fader.cc7, 0.0))
    return faders
