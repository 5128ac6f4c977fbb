"""Benchmark the gallery index at scale: page latency newest-first and deep, save, capacity check.

    python -m eval.bench_gallery [--songs 100000] [--reps 300] [--folders 2000]

Fills a fresh gallery's index with ``--songs`` rows (synthetic entries, written through the
index's own bulk insert), plus ``--folders`` real song folders saved through
``Gallery.save`` (fsync included); then times what a page load does. Start-up recovery and
the full rebuild need real folders, so they are timed on a second gallery holding only the
``--folders`` real ones (recovery would drop the synthetic rows, which have no folder).
Prints p50/p95 in ms.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kotone.assets import load_catalog
from kotone.store.gallery import Gallery, new_song_id
from kotone.store.index import SongEntry
from kotone.views import gallery_html


def timed(fn: Callable[[], object], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def synthetic(n: int, rng: random.Random, t0: float) -> list[SongEntry]:
    cards = load_catalog()
    ids = [c.id for c in cards]
    return [SongEntry(song_id=new_song_id(), created=t0 + i * 0.7 + rng.random() * 0.01, title=f"Song {i}",
                      commission=f"c{rng.randrange(200):03d}", score=round(rng.random() * 100, 1),
                      rank=rng.choice("SABCD"), cards={s: rng.choice(ids) for s in ("style", "instrument", "mood",
                                                                                       "gimmick")})
            for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--songs", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--folders", type=int, default=2000)
    args = ap.parse_args(argv)
    rng = random.Random(0)
    catalog = load_catalog()
    with tempfile.TemporaryDirectory(prefix="kotone-bench-gallery-") as tmp:
        g = Gallery(Path(tmp) / "data", max_songs=10 * args.songs, min_free_mb=0)
        t = time.perf_counter()
        rows = synthetic(args.songs, rng, time.time() - args.songs)
        g.index.add_many(rows)
        fill_s = time.perf_counter() - t
        src = Path(tmp) / "src.mid"

        def save_one() -> None:
            src.write_bytes(b"MThd" + bytes(4000))
            g.save({"title": "bench", "cards": {"style": "style_folk"}, "score": {"total": 50.0, "rank": "B"}},
                   {"song.mid": src})

        saves = timed(save_one, args.folders)
        total = g.count()
        cursors = [(r.created, r.song_id) for r in rng.sample(rows, min(len(rows), 1000))]
        results = {
            "page 1 (entries 50)": timed(lambda: g.entries(50), args.reps),
            "page 1 + gallery_html": timed(lambda: gallery_html(g.entries(50), catalog, lambda i: f"/m/{i}"),
                                           args.reps),
            "deep page (cursor)": timed(lambda: g.entries(50, rng.choice(cursors)), args.reps),
            "open + mark reopened": timed(lambda: g.index.mark_opened(rng.choice(rows).song_id), args.reps),
            "capacity check": timed(g.check_capacity, args.reps),
            "save (fsync + index)": saves,
        }
        g.index.close()
        real = Gallery(g.root / "real", min_free_mb=0)
        g.songs_dir.rename(real.songs_dir)  # only the real folders (the empty one made by Gallery goes)
        results["recover, real folders"] = timed(real.recover, 3)
        results["rebuild, real folders"] = timed(real.rebuild_index, 3)
    print(f"gallery index: {total} songs ({args.songs} synthetic rows, filled in {fill_s:.1f} s, "
          f"+ {args.folders} real folders saved through Gallery.save)")
    print(f"{'operation':<26}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, v in results.items():
        print(f"{name:<26}{len(v):>6}{np.percentile(v, 50):>10.2f}{np.percentile(v, 95):>10.2f}{max(v):>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
