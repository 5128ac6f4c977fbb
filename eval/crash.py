"""Crash test: ``kill -9`` the server mid-burst, restart it, and check the gallery.

    python -m eval.crash [--rounds 3] [--clients 6] [--port 7884]

Each round: start the app on one data folder, let ``--clients`` visitors compose
continuously, SIGKILL the server's whole process group at a random moment, restart it
(start-up recovery runs) and count: acknowledged songs that no longer open, temp folders
left, complete song folders the gallery does not list. The kill comes 2-8 s after the
first song of the round is acknowledged. Prints one row per round and exits
non-zero when any count is not 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gradio_client import Client

from eval.serve import start, stop
from kotone.store.gallery import SONG_ID_RE, TEMP_PREFIXES
from kotone.store.index import INDEX_FILE, SongIndex

CARDS = ("style_folk", "instrument_nylon", "mood_tender", "gimmick_rain")


@dataclass
class Round:
    acknowledged: int
    folders_at_kill: int
    temp_at_kill: int  # half-written folders the crash left (recovery must remove them)
    lost: int
    temp_left: int
    unlisted: int
    kill_after_s: float

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.temp_left == 0 and self.unlisted == 0


def burst(url: str, clients: int, stop_flag: threading.Event, acked: list[str], seed: int) -> list[threading.Thread]:
    def visitor(k: int) -> None:
        try:
            client = Client(url, verbose=False, headers={"X-Forwarded-For": f"10.7.{seed % 250}.{k + 1}"})
        except Exception as exc:
            print(f"  visitor {k} could not connect: {type(exc).__name__}")
            return
        rng = random.Random(seed * 100 + k)
        while not stop_flag.is_set():
            try:
                song = client.predict("", *CARDS, rng.randrange(1 << 30), api_name="/compose")
            except Exception:
                return  # the server is gone
            acked.append(song["song_id"])

    threads = [threading.Thread(target=visitor, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    return threads


def complete_folders(data: Path) -> set[str]:
    out = set()
    for p in (data / "songs").iterdir():
        if SONG_ID_RE.fullmatch(p.name):
            try:
                json.loads((p / "song.json").read_text(encoding="utf-8"))
                out.add(p.name)
            except (OSError, ValueError):
                pass
    return out


def one_round(i: int, port: int, data: Path, log: Path, clients: int, rng: random.Random) -> Round:
    proc = start(port, data, log)
    url = f"http://127.0.0.1:{port}/"
    acked: list[str] = []
    flag = threading.Event()
    threads = burst(url, clients, flag, acked, seed=i)
    deadline = time.time() + 120
    while not acked and time.time() < deadline:  # the first songs warm the server up
        time.sleep(0.05)
    kill_after = rng.uniform(2.0, 8.0)
    time.sleep(kill_after)
    os.killpg(proc.pid, signal.SIGKILL)  # the server and any synth it started, mid-burst
    proc.wait(timeout=30)
    flag.set()
    for t in threads:
        t.join(timeout=30)
    folders_at_kill = len(complete_folders(data))
    temp_at_kill = sum(1 for p in (data / "songs").iterdir() if p.name.startswith(TEMP_PREFIXES))
    proc = start(port, data, log)  # start-up recovery runs here
    try:
        client = Client(url, verbose=False)
        lost = 0
        for song_id in acked:
            try:
                if client.predict(song_id, api_name="/song")["song_id"] != song_id:
                    lost += 1
            except Exception:
                lost += 1
        temp_left = sum(1 for p in (data / "songs").iterdir() if p.name.startswith(TEMP_PREFIXES))
        listed = SongIndex(data / INDEX_FILE).ids()
        unlisted = len(complete_folders(data) - listed)
    finally:
        stop(proc)
    return Round(len(acked), folders_at_kill, temp_at_kill, lost, temp_left, unlisted, kill_after)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--port", type=int, default=7884)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kotone-crash-") as tmp:
        data, log = Path(tmp) / "data", Path(tmp) / "server.log"
        data.mkdir()
        print(f"{'round':<7}{'kill +s':>10}{'acked':>8}{'folders':>9}{'temp@kill':>11}{'lost':>6}{'temp left':>11}"
              f"{'unlisted':>10}")
        for i in range(args.rounds):
            r = one_round(i, args.port, data, log, args.clients, rng)
            rows.append(r)
            print(f"{i + 1:<7}{r.kill_after_s:>10.1f}{r.acknowledged:>8}{r.folders_at_kill:>9}{r.temp_at_kill:>11}{r.lost:>6}"
                  f"{r.temp_left:>11}{r.unlisted:>10}")
        tracebacks = log.read_text(errors="replace").count("Traceback (most recent call last)")
    ok = all(r.ok for r in rows) and sum(r.acknowledged for r in rows) > 0
    print(f"total acknowledged {sum(r.acknowledged for r in rows)}, lost {sum(r.lost for r in rows)}, "
          f"temp folders left {sum(r.temp_left for r in rows)}, complete songs unlisted "
          f"{sum(r.unlisted for r in rows)}; tracebacks in server log {tracebacks}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
