"""Benchmark the compose pipeline: p50/p95 per stage over N random card combinations.

    python eval/bench.py [--n 30] [--seed 0] [--no-audio]

Stages: plan, generate (parts + humanize + MIDI file), measure, render (audio + piano roll),
total. Prints a table; numbers are wall-clock milliseconds on this machine.
"""

from __future__ import annotations

import argparse
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


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-audio", action="store_true")
    args = ap.parse_args(argv)
    cat = load_catalog()
    rng = np.random.default_rng(args.seed)
    stages: dict[str, list[float]] = {k: [] for k in ("plan", "generate", "measure", "render", "total")}
    compose({s: cat.by_slot(s)[0].id for s in SLOTS}, 0)  # warm caches (catalog, timbre table)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            choice = {s: str(rng.choice([c.id for c in cat.by_slot(s)])) for s in SLOTS}
            t0 = time.perf_counter()
            song = compose(choice, int(rng.integers(0, 2**31 - 1)))
            if not args.no_audio:
                t1 = time.perf_counter()
                render_files(song, Path(tmp) / str(i))
                song.timings_ms["render"] = (time.perf_counter() - t1) * 1000
            song.timings_ms["total"] = (time.perf_counter() - t0) * 1000
            for k in stages:
                if k in song.timings_ms:
                    stages[k].append(song.timings_ms[k])
    print(f"compose pipeline, {args.n} random combinations (ms)")
    print(f"{'stage':<10}{'p50':>10}{'p95':>10}{'max':>10}{'mean':>10}")
    for k, v in stages.items():
        if v:
            print(f"{k:<10}{pct(v, 50):>10.1f}{pct(v, 95):>10.1f}{max(v):>10.1f}{statistics.mean(v):>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
