"""Fuzz the running app over every event: the named API endpoints and the private UI handlers,
all through Gradio's queue routes (``/gradio_api/queue/join`` + ``/queue/data``), plus raw
route probes (private files, uploads, oversized or broken bodies).

    python -m eval.fuzz [--calls 2000] [--seed 0] [--port 7882]      # starts its own server
    python -m eval.fuzz --url http://127.0.0.1:7860/ --data DIR --log FILE   # or drives one

Prints the table: calls, accepted, clear errors, unclear errors (blank or generic), saved by
a rejected call, p50/p95 rejection time, tracebacks and log lines per rejected call, and
whether the server stayed up. Each call runs alone, so a song folder that appears during a
rejected call was saved by it.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

GENERIC = ("verbose error reporting", "internal server error", "connection errored", "error raised")
NASTY_TEXT = [
    "", " ", "\t\n", "x", "ab", "a" * 501, "a" * 5000, "é" * 300, "\ud800", "ok\udfffok", "\x00", "a\x07b",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "../../etc/passwd", "/etc/passwd",
    "%s%s%n{0}{__class__}", "'; DROP TABLE songs; --", "NaN", "Infinity", "-1", "7", "null", "[]", "{}",
    "\u202eevil", "Z\u0351\u0352\u0353\u0354\u0355" * 40, "🎼" * 200, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\ufeff", "a\u200bb",
    "style_folk", "instrument_nylon", "style_nope", "c001", "c999", "custom-0000000000", "AAAAAAAAAAAAAAAA",
    "../AAAAAAAAAAAAA", "make it sadder" * 30, "make it \ud83d sadder",
]
NASTY_NUMBERS: list[Any] = [math.nan, math.inf, -math.inf, 1e308, -1, 2**64, 0.5, -0.0, True, False, None, 7, "7",
                            "", "x", "1e999", "0x10", [7], {"seed": 7}]
NASTY_JSON: list[Any] = [None, 0, "progress", [], {}, {"coins": "lots"}, {"coins": 10**30, "unlocked": ["*"]},
                         {"coins": math.nan}, {"unlocked": [None, 1, {"a": 1}]}, {"history": ["x"] * 3000},
                         {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {"l": {"m": 1}}}}}}}}}}}}},
                         {"\ud800": 1}, ["\ud800"], {"coins": 5, "unlocked": "style_folk"}, list(range(6000))]


@dataclass
class Outcome:
    endpoint: str
    kind: str  # accepted | clear | unclear
    message: str
    ms: float
    saved: int = 0


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    routes: list[tuple[str, int, bool, str]] = field(default_factory=list)  # what, status, ok, detail
    server_up: bool = True
    tracebacks: int = 0
    log_lines: int = 0

    def rejected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind != "accepted"]

    def summary(self) -> dict[str, Any]:
        rej = [o.ms for o in self.rejected()]
        return {
            "calls": len(self.outcomes),
            "endpoints": len({o.endpoint for o in self.outcomes}),
            "accepted": sum(o.kind == "accepted" for o in self.outcomes),
            "clear errors": sum(o.kind == "clear" for o in self.outcomes),
            "unclear errors": sum(o.kind == "unclear" for o in self.outcomes),
            "saved by a rejected call": sum(o.saved for o in self.rejected()),
            "p50 rejection ms": round(float(np.percentile(rej, 50)), 1) if rej else float("nan"),
            "p95 rejection ms": round(float(np.percentile(rej, 95)), 1) if rej else float("nan"),
            "route probes": len(self.routes),
            "route probes failed": sum(not ok for _, _, ok, _ in self.routes),
            "tracebacks in log": self.tracebacks,
            "log lines per rejected call": round(self.log_lines / max(1, len(rej)), 2),
            "server up throughout": self.server_up,
        }


def is_clear(message: Any) -> bool:
    if not isinstance(message, str):
        return False
    text = message.strip()
    return len(text) >= 8 and not any(g in text.lower() for g in GENERIC)


class QueueClient:
    """Raw calls through Gradio's queue routes, as the browser makes them."""

    def __init__(self, url: str, visitor: str, timeout_s: float = 60.0):
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout_s, headers={"X-Forwarded-For": visitor})
        self.session = uuid.uuid4().hex[:11]

    def close(self) -> None:
        self.http.close()

    def call(self, fn_index: Any, data: Any, trigger_id: Any = None, *, body: Any = None,
             raw: bytes | None = None) -> tuple[str, str]:
        """Join the queue and wait for the result: ('accepted', '') or ('error', message) or
        ('http', '<status> <detail>')."""
        status, message, _ = self.call_data(fn_index, data, trigger_id, body=body, raw=raw)
        return status, message

    def call_data(self, fn_index: Any, data: Any, trigger_id: Any = None, *, body: Any = None,
                  raw: bytes | None = None) -> tuple[str, str, list | None]:
        """As :meth:`call`, plus the output values of an accepted call."""
        payload = body if body is not None else {"data": data, "fn_index": fn_index, "session_hash": self.session,
                                                  "event_data": None, "trigger_id": trigger_id}
        content = raw if raw is not None else json.dumps(payload).encode()  # NaN/Infinity as JSON tokens
        r = self.http.post(f"{self.url}/gradio_api/queue/join", content=content,
                           headers={"content-type": "application/json"})
        if r.status_code != 200:
            return "http", f"{r.status_code} {detail_of(r)}", None
        event_id = r.json().get("event_id")
        with self.http.stream("GET", f"{self.url}/gradio_api/queue/data",
                              params={"session_hash": self.session}) as s:
            for line in s.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") not in (event_id, None) or msg.get("msg") != "process_completed":
                    continue
                out = msg.get("output") or {}
                if msg.get("success"):
                    shown = in_place_error(out.get("data"))
                    return ("error", shown, None) if shown is not None else ("accepted", "", out.get("data"))
                return "error", str(out.get("error") or out.get("title") or ""), None
        return "error", "", None


IN_PLACE_ERROR = re.compile(r'class="k-msg k-msg-error"[^>]*>(.*?)</div>', re.S)


def in_place_error(outputs: Any) -> str | None:
    """The text of an error the UI shows in place (a successful call that refused), if any."""
    for value in outputs or []:
        if isinstance(value, str) and (found := IN_PLACE_ERROR.search(value)):
            return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).replace("⚠️", "").strip()
    return None


def detail_of(r: httpx.Response) -> str:
    try:
        d = r.json()
    except ValueError:
        return r.text[:300]
    return json.dumps(d.get("detail", d) if isinstance(d, dict) else d, ensure_ascii=False)[:300]


def nasty_for(kind: str, rng: random.Random, valid: list[str]) -> Any:
    if kind in ("textbox", "radio", "dropdown"):
        pool = NASTY_TEXT + valid + NASTY_NUMBERS[:6] + NASTY_JSON[3:6]
        return rng.choice(pool)
    if kind == "number":
        return rng.choice(NASTY_NUMBERS)
    if kind == "browserstate":
        return rng.choice(NASTY_JSON + [{"coins": rng.randrange(-5, 10**6), "unlocked": rng.sample(valid, 3)}])
    return rng.choice([None, "x", 1, {}, []])  # gr.State: the server ignores what is sent


def cases(config: dict, rng: random.Random, valid: list[str]) -> Iterator[tuple[str, Any, Any, dict]]:
    """Endless (endpoint, fn_index, data, extra) tuples, cycling through every dependency."""
    comps = {c["id"]: c for c in config["components"]}
    deps = config["dependencies"]
    while True:
        for d in rng.sample(deps, len(deps)):
            kinds = [comps[i]["type"] for i in d["inputs"]]
            data = [nasty_for(k, rng, valid) for k in kinds]
            name = str(d.get("api_name") or d["id"])
            trigger = (d.get("targets") or [[None]])[0][0]
            shape = rng.random()
            if shape < 0.06 and kinds:
                data = data[: rng.randrange(len(kinds))]  # too few values
            elif shape < 0.10:
                data = [*data, "extra", 1]  # too many
            elif shape < 0.13:
                yield name, d["id"], None, {"body": {"data": rng.choice(["x", 5, {"a": 1}, None]), "fn_index": d["id"],
                                                     "session_hash": "s"}}
                continue
            yield name, d["id"], data, {"trigger": trigger}


def count_songs(data_dir: Path | None) -> int:
    songs = data_dir / "songs" if data_dir else None
    if songs is None or not songs.is_dir():
        return 0
    return sum(1 for p in songs.iterdir() if not p.name.startswith("."))


def alive(url: str) -> bool:
    try:
        return httpx.get(url, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def run_calls(url: str, data_dir: Path | None, n: int, seed: int, report: Report, per_session: int = 8) -> None:
    rng = random.Random(seed)
    config = httpx.get(f"{url.rstrip('/')}/config", timeout=30).json()
    cards = [line for line in ("style_folk", "instrument_nylon", "mood_tender", "gimmick_rain", "c001")]
    gen = cases(config, rng, cards)
    client: QueueClient | None = None
    for i in range(n):
        if i % per_session == 0:
            if client:
                client.close()
            client = QueueClient(url, f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
            if rng.random() < 0.3:
                client.call(0, [None], None)  # a warm session (ui_load fills the card choices)
        assert client is not None
        name, fn_index, data, extra = next(gen)
        before = count_songs(data_dir)
        t0 = time.perf_counter()
        try:
            status, message = (client.call(fn_index, None, body=extra["body"]) if "body" in extra
                               else client.call(fn_index, data, extra.get("trigger")))
        except httpx.HTTPError as exc:
            status, message = "error", f"{type(exc).__name__}"
        ms = (time.perf_counter() - t0) * 1000
        if status == "accepted":
            report.outcomes.append(Outcome(name, "accepted", "", ms))
            continue
        clear = is_clear(message) and not message.startswith("5")
        report.outcomes.append(Outcome(name, "clear" if clear else "unclear", message[:200], ms,
                                       max(0, count_songs(data_dir) - before)))
        if i % 200 == 199:
            report.server_up &= alive(url)
    if client:
        client.close()


def run_routes(url: str, data_dir: Path | None, report: Report) -> None:
    """Raw route probes: private files, traversal, media, uploads and broken bodies."""
    base = url.rstrip("/")
    song = next((p for p in (data_dir / "songs").iterdir() if not p.name.startswith(".")), None) if data_dir else None

    def probe(what: str, method: str, path: str, ok: Any, **kw: Any) -> None:
        try:
            with httpx.Client(timeout=60) as http:  # a fresh connection: a refused body may close it
                r = http.request(method, base + path, **kw)
        except httpx.HTTPError as exc:  # the server hung up instead of answering
            report.routes.append((what, 0, False, type(exc).__name__))
            return
        report.routes.append((what, r.status_code, bool(ok(r)), detail_of(r)[:80]))

    refused = lambda r: r.status_code in (400, 403, 404, 405, 413, 422)  # noqa: E731
    if data_dir:
        root = data_dir.resolve()
        for name in ("index.db", "index.db-wal", "index.jsonl", "server.log"):
            probe(f"file= data/{name}", "GET", f"/gradio_api/file={root / name}", refused)
        if song:
            probe("file= song.json", "GET", f"/gradio_api/file={song.resolve() / 'song.json'}", refused)
            probe("file= song.json (../)", "GET", f"/gradio_api/file={song.resolve()}/../{song.name}/song.json",
                  refused)
            probe("media song.json", "GET", f"/media/{song.name}/song.json", refused)
            probe("media thumb.png", "GET", f"/media/{song.name}/thumb.png",
                  lambda r: r.status_code == 200 and r.headers["content-type"] == "image/png")
        probe("file= .work folder", "GET", f"/gradio_api/file={root}/songs/.work-x/song.mid", refused)
    probe("file= /etc/passwd", "GET", "/gradio_api/file=/etc/passwd", refused)
    probe("media traversal", "GET", "/media/../index.db", refused)
    probe("media forged id", "GET", "/media/AAAAAAAAAAAAAAAA/song.ogg", refused)
    big = b"\0" * 60_000_000
    probe("upload 60 MB", "POST", "/gradio_api/upload", refused, files={"files": ("big.bin", big)})
    probe("upload 10 kB", "POST", "/gradio_api/upload", refused, files={"files": ("a.txt", b"a" * 10_000)})
    probe("join 5 MB body", "POST", "/gradio_api/queue/join", refused, content=b"[" + b"1," * 2_500_000 + b"1]",
          headers={"content-type": "application/json"})
    probe("join broken JSON", "POST", "/gradio_api/queue/join", refused, content=b"{not json",
          headers={"content-type": "application/json"})
    probe("join no fn", "POST", "/gradio_api/queue/join", refused, json={"data": [], "session_hash": "s"})
    probe("join fn 999", "POST", "/gradio_api/queue/join", lambda r: r.status_code != 500,
          json={"data": [], "fn_index": 999, "session_hash": "s"})
    probe("call unknown api", "POST", "/gradio_api/call/nope", refused, json={"data": []})
    for route in ("call/ui_compose", "call/v2/compose", "run/compose", "api/compose", "run/predict"):
        probe(f"{route} (bad data)", "POST", f"/gradio_api/{route}", lambda r: r.status_code < 500,
              json={"data": ["x"], "session_hash": "s"})


def count_log(log_path: Path | None, report: Report, start: int) -> None:
    if log_path and log_path.exists():
        text = log_path.read_text(encoding="utf-8", errors="replace")[start:]
        report.tracebacks = text.count("Traceback (most recent call last)")
        report.log_lines = sum(1 for line in text.splitlines() if line.strip())


def fuzz(url: str, data_dir: Path | None, log_path: Path | None, calls: int, seed: int) -> Report:
    report = Report()
    start = log_path.stat().st_size if log_path and log_path.exists() else 0
    report.server_up = alive(url)
    run_calls(url, data_dir, calls, seed, report)
    run_routes(url, data_dir, report)
    report.server_up &= alive(url)
    count_log(log_path, report, start)
    return report


def print_report(report: Report) -> None:
    print("fuzz over every event (queue routes) and raw routes")
    for k, v in report.summary().items():
        print(f"  {k:<30}{v}")
    by = Counter((o.endpoint, o.kind) for o in report.outcomes)
    print(f"  {'endpoint':<22}{'accepted':>9}{'clear':>7}{'unclear':>9}")
    for ep in sorted({o.endpoint for o in report.outcomes}):
        print(f"  {ep:<22}{by[(ep, 'accepted')]:>9}{by[(ep, 'clear')]:>7}{by[(ep, 'unclear')]:>9}")
    for o in [o for o in report.outcomes if o.kind == "unclear"][:10]:
        print(f"  UNCLEAR {o.endpoint}: {o.message!r}")
    for what, status, ok, detail in report.routes:
        print(f"  {'ok  ' if ok else 'FAIL'} {what:<26}{status:>5}  {detail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--url")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--log", type=Path)
    ap.add_argument("--port", type=int, default=7882)
    args = ap.parse_args(argv)
    if args.url:
        print_report(fuzz(args.url, args.data, args.log, args.calls, args.seed))
        return 0
    from eval.serve import served_app

    with served_app(args.port) as app:
        report = fuzz(app.url, app.data, app.log, args.calls, args.seed)
    print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
