"""Load test: N concurrent visitors (gradio_client, loopback) each compose M songs.

    python -m eval.load [--users 50] [--songs 2] [--port 7883]      # starts its own server
    python -m eval.load --url http://127.0.0.1:7860/                # or drives a running one
    python -m eval.load --users 0 --flood 40        # one visitor's compose after 40 unread joins
    python -m eval.load --commissions               # each song for a curated commission (coached)

Each visitor has its own address (``X-Forwarded-For``, trusted from loopback by uvicorn), as
visitors of a public Space would. Prints songs/s (all songs over the wall time from the first
request to the last answer), p50/p95/max latency per song (the wait a visitor sees: queue +
compose), errors, and whether every song reopens by its share id. Also prints the machine's
cores and load average: the CPU is shared, so note them beside the figure. When it starts
the server itself it also prints the CPU seconds the server and its workers spent per song,
and the songs/s that would give with every core to ourselves (cores / CPU s per song): a
figure other people's jobs on a shared machine do not move much.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from collections import Counter
from typing import Any

import numpy as np
from gradio_client import Client


def valid_cards() -> dict[str, list[str]]:
    """Real card ids per slot (any of the catalog's), so every request composes."""
    from kotone.assets import load_catalog

    cat = load_catalog()
    return {slot: [c.id for c in cat.by_slot(slot)] for slot in ("style", "instrument", "mood", "gimmick")}


def shared_tls() -> Any:
    """One TLS context for every simulated visitor. gradio_client hands ``ssl_verify`` to httpx
    on each request, and httpx builds a fresh context (reading the whole CA bundle) for
    ``True`` on every call, even for plain http: over half this client's CPU, taken from the
    server on a shared 2-core machine. A ready context is used as it is (and still verifies
    https)."""
    import ssl

    return ssl.create_default_context()


def run_load(url: str, users: int, songs: int, seed: int = 0, commissions: bool = False) -> dict[str, Any]:
    """``commissions``: compose for a random curated commission (scored, with coaching, which
    composes the suggested swaps too), else for none."""
    cards = valid_cards()
    from kotone.assets import load_book

    commission_ids = sorted(load_book().commissions) if commissions else [""]
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    ids: list[tuple[int, str]] = []  # (visitor, song id)
    lock = threading.Lock()
    clients: list[Client] = []
    tls = shared_tls()
    for k in range(users):  # connect everyone first, so the burst starts together
        clients.append(Client(url, verbose=False, headers={"X-Forwarded-For": f"10.{k // 250}.{k % 250}.9"},
                              ssl_verify=tls))  # fmt: skip
    go = threading.Barrier(users + 1)

    def visitor(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        go.wait()
        for _ in range(songs):
            choice = [rng.choice(cards[s]) for s in ("style", "instrument", "mood", "gimmick")]
            t0 = time.perf_counter()
            try:
                song = clients[k].predict(rng.choice(commission_ids), *choice, rng.randrange(1 << 30),
                                          api_name="/compose")
            except Exception as exc:
                with lock:
                    errors[str(exc)[:100]] += 1
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)
                ids.append((k, song["song_id"]))

    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(users)]
    for t in threads:
        t.start()
    go.wait()
    t_start, c_start = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    wall_s = time.perf_counter() - t_start
    burst_client_cpu_s = time.process_time() - c_start
    reopen_failures = 0
    for k, song_id in ids:  # each visitor reopens their own songs (one visitor alone would hit the flood limit)
        try:
            if clients[k].predict(song_id, api_name="/song")["song_id"] != song_id:
                reopen_failures += 1
        except Exception as exc:
            reopen_failures += 1
            errors[f"reopen: {str(exc)[:80]}"] += 1
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {
        "users": users, "songs per user": songs, "for commissions": commissions, "songs": len(ids),
        "errors": sum(n for e, n in errors.items() if not e.startswith("reopen")),
        "wall s": round(wall_s, 1), "songs/s": round(len(ids) / wall_s, 2),
        "p50 wait s": round(float(np.percentile(lat, 50)), 2), "p95 wait s": round(float(np.percentile(lat, 95)), 2),
        "max wait s": round(float(lat.max()), 2), "reopen failures": reopen_failures,
        "error kinds": dict(errors.most_common(3)),
        "CPU s, client in burst": round(burst_client_cpu_s, 1),
    }


def flood_then_compose(url: str, unread: int) -> dict[str, Any]:
    """One address posts ``unread`` compose joins and never reads them; then another visitor
    composes. Returns that visitor's wait and what the flood got."""
    import uuid

    import httpx

    cards = {slot: ids[0] for slot, ids in valid_cards().items()}
    config = httpx.get(url + "config", timeout=30).json()
    fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "compose")
    statuses: Counter[int] = Counter()
    with httpx.Client(timeout=30, headers={"X-Forwarded-For": "10.250.250.250"}) as http:
        for i in range(unread):
            body = {"data": ["", *cards.values(), i], "fn_index": fn, "session_hash": uuid.uuid4().hex[:11]}
            statuses[http.post(url + "gradio_api/queue/join", json=body).status_code] += 1
    real = Client(url, verbose=False, headers={"X-Forwarded-For": "10.250.0.1"}, ssl_verify=shared_tls())
    t0 = time.perf_counter()
    real.predict("", *cards.values(), 12345, api_name="/compose")
    return {"unread joins": unread, "join answers": dict(statuses),
            "next visitor's wait s": round(time.perf_counter() - t0, 2)}


def tree_cpu_s(pid: int) -> tuple[float, float]:
    """User + system CPU seconds of a process, and of its children (workers, synth runs)."""
    import psutil

    try:
        root = psutil.Process(pid)
        kids = root.children(recursive=True)
        t = root.cpu_times()
    except psutil.Error:
        return 0.0, 0.0
    children = t.children_user + t.children_system  # ended children (e.g. a synth CLI run)
    for p in kids:
        try:
            c = p.cpu_times()
            children += c.user + c.system
        except psutil.Error:
            pass
    return t.user + t.system, children


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--songs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--url")
    ap.add_argument("--port", type=int, default=7883)
    ap.add_argument("--flood", type=int, default=0, help="first measure one visitor's wait after N unread joins")
    ap.add_argument("--commissions", action="store_true", help="compose for curated commissions (scored, coached)")
    args = ap.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    before = os.getloadavg()
    client_cpu0 = time.process_time()
    def drive(url: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if args.flood:
            out.update(flood_then_compose(url, args.flood))
            time.sleep(5)  # let the flood's own songs finish before the crowd comes
        if args.users:
            out.update(run_load(url, args.users, args.songs, args.seed, args.commissions))
        return out

    if args.url:
        result = drive(args.url.rstrip("/") + "/")
        workers = "?"
    else:
        from eval.serve import served_app

        with served_app(args.port, warm=True) as app:
            warm = Client(app.url, verbose=False, headers={"X-Forwarded-For": "10.251.0.1"})
            for seed in range(2):  # the server's own first calls import and cache what they need
                warm.predict(warm.predict("", *[ids[0] for ids in valid_cards().values()], seed,
                                          api_name="/compose")["song_id"], api_name="/song")
            main0, kids0 = tree_cpu_s(app.proc.pid)
            result = drive(app.url)
            main1, kids1 = tree_cpu_s(app.proc.pid)
            if result.get("songs"):
                n = result["songs"]
                per_song = (main1 - main0 + kids1 - kids0) / n
                result["CPU s/song, server"] = round((main1 - main0) / n, 3)
                result["CPU s/song, workers"] = round((kids1 - kids0) / n, 3)
                result["songs/s, cores ours"] = round((cores or 1) / per_song, 2)
            workers = os.environ.get("KOTONE_WORKERS", f"{cores} (one per core)")
    after = os.getloadavg()
    result["CPU s, this load client"] = round(time.process_time() - client_cpu0, 1)
    print(f"load test on loopback: {cores} cores, compose workers {workers}; load average before "
          f"{before[0]:.2f}, after {after[0]:.2f} (1 min)")
    for k, v in result.items():
        print(f"  {k:<24}{v}")
    return 0 if result.get("errors", 0) == 0 and result.get("reopen failures", 0) == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
