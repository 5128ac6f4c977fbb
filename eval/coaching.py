"""Does following the coaching help? Plays commissions through the public `compose` endpoint.

    python -m eval.coaching [--n 200] [--seed 0] [--url http://127.0.0.1:7871/] [--latency 20]

For each play: a random commission, four random cards and a random seed are composed through
the app's named `compose` endpoint (gradio_client); then the first coaching suggestion is
followed -- its card swapped in, the same seed -- and composed again. Prints the share of
plays where the score did not drop (bar: >= 90%) and the mean change (bar: >= +3 points),
plus how well `expected_gain` predicted the real change and the endpoint's latency.
Without --url the app is started on a free port of 7871-7879 with a throw-away data folder.
With --latency N it also composes N songs in-process with and without coaching (different
seeds, so neither arm reuses the other's compositions) and prints the added latency.
Writes eval/results/coaching.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from kotone.assets import load_catalog
from kotone.domain.cards import SLOTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "eval" / "results"


def free_port(lo: int = 7871, hi: int = 7879) -> int:
    for port in range(lo, hi + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError(f"no free port in {lo}-{hi}")


@contextmanager
def served_app(url: str | None):
    """The given URL, or the app started from this checkout on a free port."""
    if url:
        yield url
        return
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="kotone-eval-"))
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "KOTONE_DATA_DIR": str(data),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    log = (data / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"app did not start: {(data / 'server.log').read_text()[-1500:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def play(client, rng: random.Random, commissions: list[dict], per_slot: dict[str, list[str]]) -> dict:
    c = rng.choice(commissions)
    cards = {s: rng.choice(per_slot[s]) for s in SLOTS}
    seed = rng.randrange(1_000_000)
    t0 = time.perf_counter()
    first = client.predict(c["id"], *(cards[s] for s in SLOTS), seed, api_name="/compose")
    latency = time.perf_counter() - t0
    coaching = first["score"]["coaching"]
    tip = coaching[0] if coaching else {"suggest": None, "expected_gain": 0.0, "slot": None}
    row = {"commission": c["id"], "cards": cards, "seed": seed, "score": first["score"]["total"],
           "suggest": tip.get("suggest"), "slot": tip.get("slot"), "expected_gain": tip.get("expected_gain", 0.0),
           "latency_s": latency, "coach_ms": first["timings_ms"].get("coach", 0.0),
           "coach_trials": first["timings_ms"].get("coach_trials", 0.0), "after": first["score"]["total"]}
    if tip.get("suggest"):
        swapped = {**cards, tip["slot"]: tip["suggest"]}
        second = client.predict(c["id"], *(swapped[s] for s in SLOTS), seed, api_name="/compose")
        row["after"] = second["score"]["total"]
    row["change"] = round(row["after"] - row["score"], 1)
    return row


def added_latency(n: int, seed: int) -> dict:
    """Compose+render+save n songs in-process with and without coaching (different seeds)."""
    from kotone.assets import load_book
    from kotone.store.gallery import Gallery
    from kotone.studio import compose_and_save

    book, catalog = load_book(), load_catalog()
    rng = random.Random(seed + 1)
    comms = sorted(book.commissions.values(), key=lambda c: c.id)
    gallery = Gallery(Path(tempfile.mkdtemp(prefix="kotone-lat-")))
    arms: dict[str, list[float]] = {"without": [], "with": []}
    for i in range(n):
        for arm in ("without", "with"):
            choice = {s: rng.choice(catalog.by_slot(s)).id for s in SLOTS}
            t0 = time.perf_counter()
            compose_and_save(choice, 10_000 * (arm == "with") + i, rng.choice(comms), gallery,
                             coaching=arm == "with")
            arms[arm].append(time.perf_counter() - t0)
    out = {arm: {"p50_s": float(np.percentile(v, 50)), "p95_s": float(np.percentile(v, 95))}
           for arm, v in arms.items()}
    out["added_p50_s"] = out["with"]["p50_s"] - out["without"]["p50_s"]
    out["added_p95_s"] = out["with"]["p95_s"] - out["without"]["p95_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--url", default=None, help="a running app (default: start one from this checkout)")
    ap.add_argument("--latency", type=int, default=0, help="also measure the added latency in-process over N songs")
    args = ap.parse_args(argv)
    from gradio_client import Client

    catalog = load_catalog()
    per_slot = {s: [c.id for c in catalog.by_slot(s)] for s in SLOTS}
    rng = random.Random(args.seed)
    rows = []
    t0 = time.time()
    with served_app(args.url) as url:
        client = Client(url, verbose=False)
        commissions = client.predict(api_name="/commissions")
        for i in range(args.n):
            # each play is its own visitor (as on a public Space): one visitor composing 400
            # songs back to back would rightly be held by the per-visitor rate limit
            visitor = Client(url, verbose=False, headers={"X-Forwarded-For": f"10.77.{i // 250}.{i % 250 + 1}"})
            rows.append(play(visitor, rng, commissions, per_slot))
            if (i + 1) % 25 == 0:
                print(f"  {i + 1}/{args.n} plays, {time.time() - t0:.0f} s", flush=True)
    change = np.array([r["change"] for r in rows])
    followed = [r for r in rows if r["suggest"]]
    err = np.array([r["change"] - r["expected_gain"] for r in followed]) if followed else np.zeros(1)
    lat = np.array([r["latency_s"] for r in rows])
    coach_ms = np.array([r["coach_ms"] for r in rows])
    summary = {
        "n": len(rows), "seed": args.seed, "seconds": round(time.time() - t0, 1),
        "with_suggestion": len(followed),
        "not_dropped_rate": float(np.mean(change >= 0)),
        "mean_change": float(change.mean()),
        "mean_change_when_followed": float(np.mean([r["change"] for r in followed])) if followed else 0.0,
        "expected_gain_abs_error_mean": float(np.abs(err).mean()),
        "compose_latency_p50_s": float(np.percentile(lat, 50)), "compose_latency_p95_s": float(np.percentile(lat, 95)),
        "coach_ms_p50": float(np.percentile(coach_ms, 50)), "coach_ms_p95": float(np.percentile(coach_ms, 95)),
        "coach_trials_mean": float(np.mean([r["coach_trials"] for r in rows])),
    }
    if args.latency:
        summary["in_process"] = added_latency(args.latency, args.seed)
    print(f"coaching followed over {summary['n']} commissions through /compose (seed {args.seed}, "
          f"{summary['seconds']:.0f} s)")
    print(f"  plays with a suggestion        {summary['with_suggestion']}/{summary['n']}")
    print(f"  score did not drop             {100 * summary['not_dropped_rate']:.1f}%   (bar >= 90%)")
    print(f"  mean change                    {summary['mean_change']:+.2f} points   (bar >= +3)")
    print(f"  mean change when followed      {summary['mean_change_when_followed']:+.2f} points")
    print(f"  |real - expected_gain|         {summary['expected_gain_abs_error_mean']:.2f} points")
    print(f"  compose endpoint latency       p50 {summary['compose_latency_p50_s']:.2f} s · "
          f"p95 {summary['compose_latency_p95_s']:.2f} s (client side, coaching included)")
    print(f"  coaching wall time             p50 {summary['coach_ms_p50']:.0f} ms · p95 {summary['coach_ms_p95']:.0f} ms "
          f"({summary['coach_trials_mean']:.1f} real compositions per song; runs beside the audio render)")
    if args.latency:
        lp = summary["in_process"]
        print(f"  compose+render+save in-process p50 {lp['without']['p50_s']:.2f} s -> {lp['with']['p50_s']:.2f} s, "
              f"p95 {lp['without']['p95_s']:.2f} s -> {lp['with']['p95_s']:.2f} s "
              f"(added p50 {lp['added_p50_s']:+.2f} s, p95 {lp['added_p95_s']:+.2f} s)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "coaching.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
