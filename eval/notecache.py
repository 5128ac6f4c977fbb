"""Note copies against every voice: what playing each distinct note once costs and changes.

    python -m eval.notecache [--n 24] [--seed 5]

Composes ``--n`` random songs and renders each twice with TinySoundFont (mono, 22.05 kHz):
every voice through the synth (``NOTE_CACHE`` off) and with :mod:`kotone.render.notecache`.
Prints CPU per song for both, the notes rendered against the notes placed, and how far the
two renders differ as a listener would judge it: levels in 24 bands (60 Hz-10 kHz, 46 ms
frames, cells within 50 dB of the loudest), mean and 99th percentile of the absolute
difference, and the whole song's level difference.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from scipy import signal

from eval.controllability import random_choices
from kotone.pipeline import compose
from kotone.render import notecache, soundfont

RATE = 22050


def band_levels(x: np.ndarray) -> np.ndarray:
    """Levels (dB) in 24 log-spaced bands, 46 ms frames."""
    f, _, z = signal.stft(x, RATE, nperseg=1024, noverlap=512)
    power = np.abs(z) ** 2
    edges = np.geomspace(60, 10000, 25)
    return 10 * np.log10(np.array([power[(f >= lo) & (f < hi)].sum(axis=0) for lo, hi in itertools.pairwise(edges)])
                         + 1e-12)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    soundfont.preload(tails_at=RATE)
    songs = [compose(choice, args.seed * 1000 + k).midi for k, choice in enumerate(random_choices(args.n, args.seed))]
    counts = {"placed": 0, "rendered": 0}
    real = notecache.play_tracks

    def counting(instruments, out, sample_rate, player, tail):
        placed = real(instruments, out, sample_rate, player, tail)
        counts["placed"] += placed
        counts["rendered"] += player.rendered
        return placed

    notecache.play_tracks = counting  # type: ignore[assignment]
    renders: dict[bool, list[np.ndarray]] = {}
    cpu: dict[bool, float] = {}
    try:
        for cached in (False, True):
            soundfont.NOTE_CACHE = cached
            t0 = time.process_time()
            renders[cached] = [soundfont.synth_tinysoundfont(pm, RATE, pm.get_end_time() + 1.0, 60.0, 1)[:, 0]
                               for pm in songs]  # fmt: skip
            cpu[cached] = (time.process_time() - t0) / len(songs) * 1000
    finally:
        soundfont.NOTE_CACHE = True
        notecache.play_tracks = real  # type: ignore[assignment]
    means, p99s, levels = [], [], []
    for every, copies in zip(renders[False], renders[True], strict=True):
        a, b = band_levels(every.astype(np.float64)), band_levels(copies.astype(np.float64))
        diff = np.abs(a - b)[a > a.max() - 50]
        means.append(float(diff.mean()))
        p99s.append(float(np.percentile(diff, 99)))
        levels.append(float(10 * np.log10(np.mean(copies.astype(np.float64) ** 2) / np.mean(every.astype(np.float64) ** 2))))
    print(f"note copies vs every voice, {len(songs)} random songs (seed {args.seed}), TinySoundFont mono {RATE} Hz")
    print(f"  CPU per song          every voice {cpu[False]:.0f} ms, note copies {cpu[True]:.0f} ms "
          f"({cpu[False] / cpu[True]:.1f}x)")  # fmt: skip
    print(f"  notes rendered        {counts['rendered']} of {counts['placed']} placed "
          f"({counts['rendered'] / max(1, counts['placed']):.0%})")  # fmt: skip
    print(f"  band level |diff| dB  mean {np.mean(means):.2f} (worst song {max(means):.2f}), "
          f"p99 median {np.median(p99s):.2f} (worst song {max(p99s):.2f})")  # fmt: skip
    print(f"  song level diff dB    max {max(abs(x) for x in levels):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
