"""Measure how loud every General MIDI program and drum key is in a SoundFont, once,
offline, and write the table the mix reads (``space_assets/mix/<soundfont>[.fluidsynth].json``).

    python -m kotone.render.mix_calibrate [--soundfont PATH] [--backend NAME] [--out FILE]

For each program, at every 6th key from C1 to C7, one note of each of ``DURATIONS_S`` at
each of ``VELOCITIES`` and full CC7 is rendered alone (mono, 22050 Hz, its release tail
included; with TinySoundFont, or with libfluidsynth for the ``.fluidsynth`` table used
where TinySoundFont is not installed: the two play some presets differently) and its
energy recorded in dB (``10 log10(sum(x^2) / rate)``, full scale squared times seconds)
under two weightings: ``presence`` (above 300 Hz, how well a part cuts through) and
``loudness`` (K-weighted, ITU-R BS.1770). Drum kits: every key of every GM kit, the same
way, at velocity 100. :mod:`kotone.render.mix` turns a track's notes into an expected
level with these tables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pretty_midi

from kotone.assets import ASSETS_DIR
from kotone.render.mix import table_name
from kotone.render.soundfont import SYNTH_BACKENDS, find_soundfont
from kotone.render.stems import presence_filter

SAMPLE_RATE = 22050
VELOCITY = 100
VELOCITIES = (60, 110)  # SoundFonts switch samples by velocity: two layers measured
PITCHES = tuple(range(24, 97, 6))
DURATIONS_S = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)
DRUM_DURATIONS_S = (0.1, 0.5, 2.0)
DRUM_KITS = (0, 8, 16, 24, 25, 32, 40, 48)
DRUM_KEYS = tuple(range(27, 88))
TAIL_S = 2.0
FLOOR_DB = -200.0
BACKEND = {"name": "tinysoundfont"}  # the synthesizer measured, set by main()


def k_weight(x: np.ndarray, rate: int) -> np.ndarray:
    """The K-weighting of ITU-R BS.1770 (pyloudnorm's filters): a shelf up 4 dB above
    ~1.5 kHz and a high-pass at ~38 Hz."""
    from pyloudnorm.iirfilter import IIRfilter

    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf")
    highpass = IIRfilter(0.0, 0.5, 38.0, rate, "high_pass")
    return highpass.apply_filter(shelf.apply_filter(x))


def energy_db(x: np.ndarray, rate: int) -> float:
    e = float(np.sum(np.square(x, dtype=np.float64))) / rate
    return round(max(FLOOR_DB, 10 * np.log10(e)) if e > 0 else FLOOR_DB, 1)


def one_note(program: int, pitch: int, duration_s: float, *, is_drum: bool = False,
             velocity: int = VELOCITY) -> np.ndarray:  # fmt: skip
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program, is_drum=is_drum)
    inst.notes.append(pretty_midi.Note(velocity, pitch, 0.0, duration_s))
    pm.instruments.append(inst)
    synth = SYNTH_BACKENDS[BACKEND["name"]]
    return synth(pm, SAMPLE_RATE, duration_s + TAIL_S, 60.0, 1)[:, 0].astype(np.float64)


def measure(program: int, pitch: int, durations: tuple[float, ...], *, is_drum: bool = False,
            velocity: int = VELOCITY) -> tuple[list, list]:  # fmt: skip
    """(presence dB per duration, loudness dB per duration) of one note."""
    presence, loudness = [], []
    for d in durations:
        x = one_note(program, pitch, d, is_drum=is_drum, velocity=velocity)
        presence.append(energy_db(presence_filter(x, SAMPLE_RATE), SAMPLE_RATE))
        loudness.append(energy_db(k_weight(x, SAMPLE_RATE), SAMPLE_RATE))
    return presence, loudness


def build_table(soundfont: Path) -> dict:
    programs = {}
    for prog in range(128):
        layers = [[measure(prog, p, DURATIONS_S, velocity=v) for p in PITCHES] for v in VELOCITIES]
        programs[str(prog)] = {w: [[r[k] for r in rows] for rows in layers] for k, w in enumerate(("presence", "loudness"))}
    drums = {}
    for kit in DRUM_KITS:
        rows = [measure(kit, k, DRUM_DURATIONS_S, is_drum=True) for k in DRUM_KEYS]
        drums[str(kit)] = {"presence": [r[0] for r in rows], "loudness": [r[1] for r in rows]}
    return {
        "soundfont": soundfont.name, "bytes": soundfont.stat().st_size, "backend": BACKEND["name"],
        "sample_rate": SAMPLE_RATE,
        "velocities": list(VELOCITIES), "drum_velocity": VELOCITY, "pitches": list(PITCHES),
        "durations_s": list(DURATIONS_S),
        "drum_keys": list(DRUM_KEYS), "drum_durations_s": list(DRUM_DURATIONS_S),
        "units": "dB of sum(x^2)/rate for one note alone, tail included; full scale = 0 dBFS",
        "programs": programs, "drums": drums,
    }  # fmt: skip


def dump(table: dict, path: Path) -> None:
    """JSON with one line per program / kit, so a diff shows what changed."""
    head = {k: v for k, v in table.items() if k not in ("programs", "drums")}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    for key in ("programs", "drums"):
        items = list(table[key].items())
        lines.append(f'  "{key}": {{')
        lines += [f"    {json.dumps(k)}: {json.dumps(v)}{',' if i < len(items) - 1 else ''}" for i, (k, v) in enumerate(items)]
        lines.append("  }," if key == "programs" else "  }")
    lines.append("}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soundfont", type=Path, default=None, help="default: the one the app renders with")
    ap.add_argument("--backend", choices=("tinysoundfont", "libfluidsynth"), default="tinysoundfont")
    ap.add_argument("--out", type=Path, default=None, help="default: space_assets/mix/<table name>.json")
    args = ap.parse_args(argv)
    BACKEND["name"] = args.backend
    if args.soundfont is not None:
        import os

        os.environ["KOTONE_SOUNDFONT"] = str(args.soundfont)
    sf2 = find_soundfont(args.backend)
    out = args.out or ASSETS_DIR / "mix" / f"{table_name(sf2.stem, args.backend)}.json"
    t0 = time.perf_counter()
    dump(build_table(sf2), out)
    print(f"{sf2.name}: wrote {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
