"""Benchmark the renderers on synthetic songs: p50/p95 wall time per audio backend and
for the piano roll.

    python eval/bench_render.py [--songs 10] [--seconds 45] [--out DIR]

For each backend it times synthesis alone (``synthesize``) and the full ``render_audio``
(synthesis, trim, normalize, fade, encode; both OGG and WAV). Times are in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pretty_midi

from kotone.render.audio import render_audio, synthesize
from kotone.render.pianoroll import TrackView, render_piano_roll, render_thumbnail, tracks_from_midi
from kotone.render.soundfont import SYNTH_BACKENDS

T = TypeVar("T")
PROGRESSION = ((0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14))  # I vi IV V, semitones


def synthetic_song(seed: int, seconds: float = 45.0) -> pretty_midi.PrettyMIDI:
    """A four-track song (melody, chords, bass, drums) lasting ``seconds``."""
    rng = np.random.default_rng(seed)
    tempo = float(rng.uniform(80, 140))
    beat = 60.0 / tempo
    key = 57 + int(rng.integers(0, 12))
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    melody = pretty_midi.Instrument(program=int(rng.choice([0, 24, 40, 73, 80])), name="melody")
    chords = pretty_midi.Instrument(program=int(rng.choice([0, 4, 48, 88])), name="chords")
    bass = pretty_midi.Instrument(program=int(rng.choice([32, 33, 38])), name="bass")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    n_beats = int((seconds - 0.5) / beat)
    for b in range(n_beats):
        t = b * beat
        chord = PROGRESSION[(b // 4) % 4]
        if b % 4 == 0:
            length = min(4, n_beats - b) * beat
            chords.notes += [pretty_midi.Note(int(rng.integers(55, 80)), key - 12 + p, t, t + length) for p in chord]
        bass.notes.append(pretty_midi.Note(int(rng.integers(70, 100)), key - 24 + chord[0], t, t + 0.9 * beat))
        for k in range(2):
            start = t + k * beat / 2
            pitch = key + int(rng.choice(chord)) + int(rng.choice([0, 2, 12]))
            melody.notes.append(pretty_midi.Note(int(rng.integers(60, 115)), pitch, start, start + 0.45 * beat))
            drums.notes.append(pretty_midi.Note(70, 42, start, start + 0.05))
        drums.notes.append(pretty_midi.Note(105, 36 if b % 2 == 0 else 38, t, t + 0.1))
    pm.instruments = [melody, chords, bass, drums]
    return pm


def timed(fn: Callable[[int, T], object], items: Sequence[T]) -> list[float]:
    """Wall time of ``fn(i, item)`` for each item, in milliseconds."""
    out = []
    for i, item in enumerate(items):
        t0 = time.perf_counter()
        fn(i, item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def dense_tracks(seed: int, seconds: float = 60.0, n_notes: int = 1500) -> list[TrackView]:
    """Three pitched tracks and drums with ``n_notes`` notes in all, for the piano roll."""
    rng = np.random.default_rng(seed)
    tracks = []
    for name, color, lo, hi in (("melody", "#f4a261", 67, 90), ("chords", "#8ecae6", 52, 74),
                                ("bass", "#b5e48c", 33, 52), ("drums", "#cdb4db", 35, 52)):  # fmt: skip
        starts = np.sort(rng.uniform(0, seconds - 1, n_notes // 4))
        ends = starts + rng.uniform(0.05, 1.0, len(starts))
        pitches, vels = rng.integers(lo, hi, len(starts)), rng.integers(30, 127, len(starts))
        notes = [(float(a), float(b), int(p), int(v)) for a, b, p, v in zip(starts, ends, pitches, vels, strict=True)]
        tracks.append(TrackView(name, color, name == "drums", notes))
    return tracks


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def _synth(backend: str, i: int, pm: pretty_midi.PrettyMIDI) -> None:
    synthesize(pm, backends=[backend])


def _render(out: Path, backend: str, fmt: str, fx: Sequence[str], i: int, pm: pretty_midi.PrettyMIDI) -> None:
    render_audio(pm, out, stem=f"{backend}-{fmt}-{i}", backends=[backend], fmt=fmt, fx=fx)


def _roll(out: Path, tag: str, sections: list[tuple[float, str]], seconds: float, draw: Callable[..., Path],
          i: int, tracks: list[TrackView]) -> None:  # fmt: skip
    draw(tracks, sections, seconds, out / f"{tag}-{i}.png", title=f"bench song {i}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--out", type=Path, default=None, help="keep the rendered files here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="kotone-bench-"))
    songs = [synthetic_song(seed, args.seconds) for seed in range(args.songs)]
    n_notes = [sum(len(i.notes) for i in pm.instruments) for pm in songs]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{len(songs)} songs of {args.seconds:.0f} s, {statistics.mean(n_notes):.0f} notes each")  # fmt: skip

    rows: list[tuple[str, list[float]]] = []
    for name in SYNTH_BACKENDS:
        synthesize(songs[0], backends=[name])  # warm-up: file cache, font load
        rows.append((f"{name}: synthesize", timed(partial(_synth, name), songs)))
        for fmt in ("ogg", "wav"):
            rows.append((f"{name}: render_audio {fmt}", timed(partial(_render, out, name, fmt, ()), songs)))
    fx = ("reverb", "echo")
    rows.append(("tinysoundfont + reverb,echo: render_audio ogg",
                 timed(partial(_render, out, "tinysoundfont", "ogg", fx), songs)))  # fmt: skip
    sections = [(0.0, "intro"), (8.0, "verse"), (20.0, "chorus"), (32.0, "outro")]
    views = [tracks_from_midi(pm) for pm in songs]
    render_piano_roll(views[0], sections, args.seconds, out / "warm.png")  # loads the fonts
    roll = partial(_roll, out, "roll", sections, args.seconds, render_piano_roll)
    thumb = partial(_roll, out, "thumb", sections, args.seconds, render_thumbnail)
    rows.append(("piano roll 1200x420", timed(roll, views)))
    rows.append(("thumbnail 600x210", timed(thumb, views)))
    dense = [dense_tracks(seed) for seed in range(args.songs)]
    rows.append(("piano roll 1200x420, 60 s, 1500 notes",
                 timed(partial(_roll, out, "dense", sections, 60.0, render_piano_roll), dense)))  # fmt: skip

    width = max(len(label) for label, _ in rows)
    print(f"{'':{width}}   p50 ms   p95 ms   max ms")
    for label, ms in rows:
        print(f"{label:{width}}  {pct(ms, 50):7.1f}  {pct(ms, 95):7.1f}  {max(ms):7.1f}")
    sizes = [p.stat().st_size for p in out.glob("tinysoundfont-ogg-*.ogg")]
    if sizes:
        print(f"OGG size (mono, 22050 Hz): {statistics.mean(sizes) / 1024:.0f} KiB per song; files in {out}")


if __name__ == "__main__":
    main()
