"""Benchmark rendering: synthesizers, SoundFonts, sample rates, channels, encoders, piano roll.

    python eval/bench_render.py [--songs 6] [--seed 0] [--out DIR]

Composes ``--songs`` random songs and, for each way of rendering them, prints the cost per
audio-second (CPU milliseconds of this process, and wall milliseconds; the machine is
shared, so CPU is the steadier figure; the fluidsynth CLI's CPU is its own process's) and,
for encoders, the size per audio-minute. The first row of each block is what the app uses.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from eval.controllability import random_choices
from kotone.pipeline import compose
from kotone.render import soundfont
from kotone.render.audio import apply_fx, encode_mp3, finish, synthesize
from kotone.render.pianoroll import render_piano_roll, render_thumbnail, tracks_from_midi

FLUID = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cost(fn: Callable[[], object], audio_s: float) -> tuple[float, float, object]:
    """(CPU ms per audio-s incl. child processes, wall ms per audio-s, result) of ``fn()``."""
    c0, k0, t0 = time.process_time(), children_cpu_s(), time.perf_counter()
    out = fn()
    cpu = time.process_time() - c0 + children_cpu_s() - k0
    return 1000 * cpu / audio_s, 1000 * (time.perf_counter() - t0) / audio_s, out


def row(label: str, runs: list[tuple[float, float]], extra: str = "") -> None:
    cpu, wall = [r[0] for r in runs], [r[1] for r in runs]
    print(f"{label:<52}{np.percentile(cpu, 50):7.2f}{np.percentile(cpu, 95):7.2f}"
          f"{np.percentile(wall, 50):8.2f}{np.percentile(wall, 95):7.2f}  {extra}")  # fmt: skip


def use_font(path: str) -> None:
    os.environ[soundfont.SOUNDFONT_ENV] = path
    soundfont.preload()


def synth_block(songs: list, font: str) -> None:
    print(f"\nsynthesis (TinySoundFont unless named){'':<14}cpu p50 p95  wall p50 p95  ms per audio-s")
    cases = [("FluidR3, parsed once, mono 22050 Hz", FLUID, "tinysoundfont", 22050, 1, False),
             ("FluidR3, parsed on every render, mono 22050 Hz", FLUID, "tinysoundfont", 22050, 1, True),
             ("FluidR3, stereo 22050 Hz", FLUID, "tinysoundfont", 22050, 2, False),
             ("FluidR3, mono 16000 Hz", FLUID, "tinysoundfont", 16000, 1, False),
             ("FluidR3, mono 32000 Hz", FLUID, "tinysoundfont", 32000, 1, False),
             ("FluidR3, mono 44100 Hz", FLUID, "tinysoundfont", 44100, 1, False),
             ("TimGM6mb, mono 22050 Hz", str(soundfont.FALLBACK_SOUNDFONT), "tinysoundfont", 22050, 1, False),
             ("libfluidsynth, FluidR3, pooled synths, mono 22050 Hz", FLUID, "libfluidsynth", 22050, 1, False),
             ("fluidsynth CLI, FluidR3 (parsed per render), 22050 Hz", FLUID, "fluidsynth", 22050, 1, False)]  # fmt: skip
    for label, path, backend, rate, ch, reparse in cases:
        if not Path(path).is_file() or (backend == "fluidsynth" and soundfont.fluidsynth_executable() is None):
            continue
        if backend == "libfluidsynth":  # the pool's first synth parses the SoundFont: not timed
            soundfont.SYNTH_BACKENDS[backend](songs[0].midi, rate, songs[0].midi.get_end_time() + 1.0, 60.0, ch)
        use_font(path)
        runs = []
        for song in songs:
            if reparse:
                soundfont._parsed_soundfont.cache_clear()
            def fn(s=song, r=rate, c=ch, b=backend) -> object:
                return synthesize(s.midi, sample_rate=r, channels=c, backends=[b])

            runs.append(cost(fn, song.midi.get_end_time() + 1.0)[:2])
        row(label, runs)
    use_font(font)


def encoder_block(mixes: list[np.ndarray], rate: int, channels: int) -> None:
    print(f"\nencoding, {channels} channel(s) at {rate} Hz{'':<22}cpu p50 p95  wall p50 p95  ms per audio-s")

    def sndfile(**kw: object) -> Callable[[np.ndarray], bytes]:
        def enc(x: np.ndarray) -> bytes:
            buf = io.BytesIO()
            sf.write(buf, x, rate, **kw)
            return buf.getvalue()
        return enc

    cases: list[tuple[str, Callable[[np.ndarray], bytes]]] = [
        ("MP3 lameenc 64 kb/s per channel, q7 (the app's)", lambda x: encode_mp3(x, rate)),
        ("MP3 lameenc 64 kb/s per channel, q5", lambda x: encode_mp3(x, rate, quality=5)),
        ("MP3 lameenc 64 kb/s per channel, q2", lambda x: encode_mp3(x, rate, quality=2)),
        ("MP3 lameenc 48 kb/s per channel, q7", lambda x: encode_mp3(x, rate, kbps_per_channel=48)),
        ("MP3 libsndfile (LAME, VBR 0.6)", sndfile(format="MP3", subtype="MPEG_LAYER_III", compression_level=0.6)),
        ("OGG Vorbis libsndfile (0.6)", sndfile(format="OGG", subtype="VORBIS", compression_level=0.6)),
        ("WAV 16-bit", sndfile(format="WAV", subtype="PCM_16")),
    ]
    if rate in (8000, 12000, 16000, 24000, 48000):
        cases.append(("Opus libsndfile (0.6)", sndfile(format="OGG", subtype="OPUS", compression_level=0.6)))
    for label, enc in cases:
        runs, sizes = [], []
        for x in mixes:
            data = x if channels == x.shape[1] else np.repeat(x, channels, axis=1)
            cpu, wall, out = cost(lambda d=data, e=enc: e(d), len(x) / rate)
            runs.append((cpu, wall))
            sizes.append(len(out) / (len(x) / rate / 60) / 1024)  # type: ignore[arg-type]
        row(label, runs, f"{statistics.mean(sizes):6.0f} KiB per audio-minute")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="keep the piano rolls here")
    args = parser.parse_args()
    font = str(soundfont.find_soundfont())
    songs = [compose(c, 7_000 + k) for k, c in enumerate(random_choices(args.songs, args.seed))]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {len(songs)} songs, "
          f"{statistics.mean(s.midi.get_end_time() for s in songs):.0f} s each; SoundFont {Path(font).name}")  # fmt: skip
    use_font(font)
    synth_block(songs, font)
    print(f"\npost-processing, mono 22050 Hz{'':<23}cpu p50 p95  wall p50 p95  ms per audio-s")
    raw = [synthesize(s.midi, channels=1)[0] for s in songs]
    row("loudness normalisation + limiter + fade", [cost(lambda x=x: finish(x, 22050), len(x) / 22050)[:2] for x in raw])
    for name in ("reverb", "echo", "rain", "vinyl_crackle", "bitcrush"):
        row(f"effect: {name}", [cost(lambda x=x, n=name: apply_fx(x, 22050, [n]), len(x) / 22050)[:2] for x in raw])
    mixes = [finish(x, 22050)[0] for x in raw]
    encoder_block(mixes, 22050, 1)
    encoder_block(mixes, 22050, 2)
    raw24 = [finish(synthesize(s.midi, channels=1, sample_rate=24000)[0], 24000)[0] for s in songs]
    encoder_block(raw24, 24000, 1)
    out = args.out or Path(tempfile.mkdtemp(prefix="kotone-bench-"))
    print(f"\npiano roll{'':<46}p50 ms  p95 ms")
    views = [(tracks_from_midi(s.midi), [(0.0, "intro")], s.midi.get_end_time()) for s in songs]
    for label, draw in (("piano roll 1200x420", render_piano_roll), ("thumbnail 600x210", render_thumbnail)):
        ms = []
        for i, (v, secs, end) in enumerate(views):
            t0 = time.perf_counter()
            draw(v, secs, end, out / f"{label[:5]}-{i}.png", title=f"song {i}")
            ms.append(1000 * (time.perf_counter() - t0))
        print(f"{label:<56}{np.percentile(ms, 50):6.1f}  {np.percentile(ms, 95):6.1f}")


if __name__ == "__main__":
    main()
