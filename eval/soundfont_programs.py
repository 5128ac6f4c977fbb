"""Does TinySoundFont play a SoundFont's presets the way FluidSynth does?

    python -m eval.soundfont_programs [--font PATH] [--level-db 8] [--ratio 2]

Every General MIDI program the catalog can play (instrument cards, orchestras, percussion) is
rendered one note at a time (velocity 100, 0.6 s, mono, 22.05 kHz) at a quarter, half and
three quarters of its playable range, with TinySoundFont and with libfluidsynth (which
applies the SoundFont's modulators; TinySoundFont applies none). Printed: the notes whose
level differs by more than ``--level-db`` from the two synths' usual offset (the median
over all notes) or whose spectral centroid differs by more than ``--ratio`` times, i.e. a
preset that one synthesizer plays muffled, quiet or wrong. Also: presets missing from the
SoundFont and notes that are silent (under -70 dBFS RMS) on either synth.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pretty_midi
from scipy import signal

from kotone.assets import read_json
from kotone.render.soundfont import MUSESCORE_GENERAL, SOUNDFONT_ENV, SYNTH_BACKENDS

RATE = 22050
SYNTHS = ("tinysoundfont", "libfluidsynth")


def catalog_programs() -> list[int]:
    progs: set[int] = set()
    for card in read_json("cards.json")["cards"]:
        music = card.get("music", {})
        for programs in (music.get("programs") or {}).values():
            progs.update(programs)
        progs.update(music.get("percussion") or [])
    for orchestra in read_json("orchestration.json")["orchestras"].values():
        for programs in orchestra.values():
            progs.update(p for p in programs if isinstance(p, int))
    return sorted(progs)


def note_stats(backend: str, program: int, pitch: int) -> tuple[float, float]:
    """(RMS dBFS, spectral centroid Hz) of one note on ``backend``."""
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    inst.notes.append(pretty_midi.Note(100, pitch, 0.05, 0.65))
    pm.instruments.append(inst)
    x = SYNTH_BACKENDS[backend](pm, RATE, 1.6, 30.0, 1)[:, 0].astype(np.float64)
    f, p = signal.welch(x, RATE, nperseg=4096)
    return float(10 * np.log10(np.mean(x**2) + 1e-20)), float(np.sum(f * p) / max(np.sum(p), 1e-30))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--font", type=Path, default=MUSESCORE_GENERAL)
    ap.add_argument("--level-db", type=float, default=8.0)
    ap.add_argument("--ratio", type=float, default=2.0)
    args = ap.parse_args(argv)
    os.environ[SOUNDFONT_ENV] = str(args.font)
    ranges = {r["program"]: (r["low"], r["high"]) for r in read_json("gm_ranges.json")["programs"]}
    rows = []
    for prog in catalog_programs():
        lo, hi = ranges[prog]
        for pitch in (lo + (hi - lo) // 4, (lo + hi) // 2, hi - (hi - lo) // 4):
            (lt, ct), (lf, cf) = (note_stats(b, prog, pitch) for b in SYNTHS)
            rows.append((prog, pitch, lt, lf, ct, cf))
    offset = float(np.median([lt - lf for _, _, lt, lf, _, _ in rows]))
    print(f"{args.font.name}: {len(rows)} notes of {len(catalog_programs())} programs; "
          f"TinySoundFont - libfluidsynth level, median {offset:+.1f} dB")  # fmt: skip
    for prog, pitch, lt, lf, ct, cf in rows:
        silent = min(lt, lf) < -70
        odd = abs(lt - lf - offset) > args.level_db or not 1 / args.ratio < ct / max(cf, 1e-9) < args.ratio
        if silent or odd:
            print(f"  program {prog:3d} key {pitch:3d}: level {lt - lf - offset:+6.1f} dB vs usual, "
                  f"centroid TSF/FluidSynth {ct / max(cf, 1e-9):.2f}{'  SILENT' if silent else ''}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
