"""Compare General MIDI SoundFonts on the same songs: cost, spectrum, balance.

    python -m eval.soundfonts [--n 8] [--seed 3] [--fonts A.sf2 B.sf3 ...] [--png DIR]

Each song is composed once and rendered with every font (its mix planned again from that
font's loudness table) through TinySoundFont, mono, at 44.1 kHz so the whole band shows. Per font it prints
the parse time, the render CPU time per audio-second, the spectral centroid, the share of
energy above 5 kHz, the frequency under which 99% of the energy lies, the peak-to-loudness
ratio, and each part's stem level above 300 Hz relative to the lead. ``--png`` also draws
one spectrogram per font and song to look at.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from pathlib import Path

import numpy as np
from scipy import signal

from eval.controllability import random_choices
from kotone.pipeline import compose
from kotone.render import soundfont
from kotone.render.midi import midi_track_roles
from kotone.render.mix import apply_mix
from kotone.render.stems import loudness_lufs, render_stems, stem_presence_db

RATE = 44100
DEFAULT_FONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf3/MuseScore_General.sf3",
                 str(soundfont.FALLBACK_SOUNDFONT))  # fmt: skip


def spectrum_stats(x: np.ndarray) -> dict[str, float]:
    f, p = signal.welch(x, RATE, nperseg=4096)
    cum = np.cumsum(p) / np.sum(p)
    return {
        "centroid_hz": float(np.sum(f * p) / np.sum(p)),
        "above_5k_db": float(10 * np.log10(np.sum(p[f > 5000]) / np.sum(p))),
        "f99_hz": float(f[np.searchsorted(cum, 0.99)]),
        "plr_db": float(20 * np.log10(np.max(np.abs(x))) - loudness_lufs(x, RATE)),
    }


def draw(x: np.ndarray, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f, t, s = signal.spectrogram(x, RATE, nperseg=2048, noverlap=1024)
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.pcolormesh(t, f, 10 * np.log10(s + 1e-12), vmin=-120, vmax=-30, shading="auto")
    ax.set(ylim=(0, 16000), xlabel="s", ylabel="Hz", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--fonts", nargs="+", default=[f for f in DEFAULT_FONTS if Path(f).is_file()])
    ap.add_argument("--png", type=Path, default=None)
    args = ap.parse_args(argv)
    songs = [compose(c, args.seed * 100_000 + k) for k, c in enumerate(random_choices(args.n, args.seed))]
    for font in args.fonts:
        os.environ[soundfont.SOUNDFONT_ENV] = font
        t0 = time.perf_counter()
        soundfont.preload()
        load_s = time.perf_counter() - t0
        rows, cpu, audio_s = [], 0.0, 0.0
        for k, song in enumerate(songs):
            pm = copy.deepcopy(song.midi)
            roles = midi_track_roles(song.plan, pm)
            apply_mix(pm, roles, soundfont=Path(font).stem)
            c0 = time.process_time()
            x = soundfont.synth_tinysoundfont(pm, RATE, pm.get_end_time() + 1.0, 60.0, 1)[:, 0]
            cpu += time.process_time() - c0
            audio_s += len(x) / RATE
            pres = stem_presence_db(render_stems(pm, sample_rate=RATE), RATE)
            lead = pres[roles.index("melody")] if "melody" in roles else np.nan
            rows.append(spectrum_stats(x) | {"stems": {r: round(float(p - lead), 1) for r, p in zip(roles, pres, strict=True)}})
            if args.png:
                args.png.mkdir(parents=True, exist_ok=True)
                cards = ",".join(v.split("_", 1)[1] for v in song.plan.cards.values())
                draw(x, f"{Path(font).name}: {cards} seed {song.plan.seed}", args.png / f"song{k}-{Path(font).stem}.png")
        mean = {key: float(np.mean([r[key] for r in rows])) for key in ("centroid_hz", "above_5k_db", "f99_hz", "plr_db")}
        print(f"{Path(font).name}: parse {load_s:.2f} s; render {1000 * cpu / audio_s:.2f} ms CPU per audio-s; "
              f"centroid {mean['centroid_hz']:.0f} Hz; >5 kHz {mean['above_5k_db']:.1f} dB; "
              f"99% under {mean['f99_hz']:.0f} Hz; PLR {mean['plr_db']:.1f} dB")  # fmt: skip
        for k, r in enumerate(rows):
            print(f"   song {k}: stems vs lead (dB > 300 Hz) {r['stems']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
