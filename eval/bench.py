"""Benchmark the compose pipeline: p50/p95 per stage over N random card combinations.

    python eval/bench.py [--n 30] [--seed 0] [--no-audio]

Stages: plan, generate (parts + humanize + MIDI file), measure, render (MIDI file, audio,
the images the app serves) and within it synth (synthesis), post (effects, loudness, fade), encode, roll;
then total. Wall-clock milliseconds per stage, and per audio-second for the render stages;
the last line gives the process CPU time per song (the machine is shared: compare the
two). The SoundFont is parsed and every program's release tail measured before the first
song, as each compose worker does at start-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kotone.assets import load_catalog
from kotone.domain.cards import SLOTS
from kotone.pipeline import compose
from kotone.studio import render_files

try:
    from kotone.studio import APP_IMAGES  # what the app draws (the roll itself is drawn in the browser)
except ImportError:  # an older tree, for before/after comparisons
    APP_IMAGES = None

STAGES = ("plan", "generate", "measure", "render", "synth", "post", "encode", "roll", "total")
PER_AUDIO_S = ("render", "synth", "post", "encode")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def warm_up() -> None:
    """Load what a running app already holds: catalog, timbre table, experts, SoundFont; and
    run on one BLAS thread, as each compose worker does."""
    try:
        import scipy.linalg  # noqa: F401  (threadpoolctl limits only the BLAS libraries already loaded)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        pass
    cat = load_catalog()
    compose({s: cat.by_slot(s)[0].id for s in SLOTS}, 0)
    try:
        from kotone.render.soundfont import preload
    except ImportError:  # an older tree, for before/after comparisons
        return
    try:
        preload(tails_at=22050)  # as each compose worker does at start-up
    except TypeError:  # an older tree
        preload()


def time_one(choice: dict[str, str], seed: int, out: Path, audio: bool) -> dict[str, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    song = compose(choice, seed)
    t = song.timings_ms
    if audio:
        t1 = time.perf_counter()
        render_files(song, out) if APP_IMAGES is None else render_files(song, out, images=APP_IMAGES)
        t["render"] = (time.perf_counter() - t1) * 1000
        t["roll"] = t.get("render_roll", float("nan"))
        if "synth" in t:
            t["post"] = t["render_audio"] - t["synth"] - t["encode"]
    t["total"] = (time.perf_counter() - t0) * 1000
    t["cpu"] = (time.process_time() - c0) * 1000
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-audio", action="store_true")
    args = ap.parse_args(argv)
    cat = load_catalog()
    rng = np.random.default_rng(args.seed)
    warm_up()
    rows = []
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            choice = {s: str(rng.choice([c.id for c in cat.by_slot(s)])) for s in SLOTS}
            rows.append(time_one(choice, int(rng.integers(0, 2**31 - 1)), Path(tmp) / str(i), not args.no_audio))
    print(f"compose pipeline, {args.n} random combinations; load average {load0:.2f} -> {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'stage':<10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'mean ms':>9}   {'p50':>6}{'p95':>6} ms per audio-s")
    for k in STAGES:
        v = [r[k] for r in rows if k in r and np.isfinite(r[k])]
        if not v:
            continue
        line = f"{k:<10}{pct(v, 50):>9.1f}{pct(v, 95):>9.1f}{max(v):>9.1f}{statistics.mean(v):>9.1f}"
        if k in PER_AUDIO_S and all("audio_s" in r for r in rows):
            per = [r[k] / (r["audio_s"] / 1000) for r in rows if k in r]
            line += f"   {pct(per, 50):>6.2f}{pct(per, 95):>6.2f}"
        print(line)
    audio_s = [r["audio_s"] / 1000 for r in rows if "audio_s" in r]
    if audio_s:
        print(f"audio: {statistics.mean(audio_s):.1f} s per song on average ({min(audio_s):.1f}-{max(audio_s):.1f})")
    cpu = [r["cpu"] for r in rows]
    print(f"process CPU per song: p50 {pct(cpu, 50):.0f} ms, p95 {pct(cpu, 95):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
