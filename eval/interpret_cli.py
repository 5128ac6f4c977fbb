"""The bar's own path: ``python -m kotone.interpret`` as a subprocess over a labelled set.

    python -m eval.interpret_cli [--data training/data/natural/frozen_e1.jsonl] [--backend NAME]

Feeds every row's ``{"id", "text"}`` to a fresh CLI process on stdin and reads its JSON
lines back, the way an outside checker would. Prints: lines valid (six dims in 0-100, the
right id, no error), vector MAE and per-dim MAE against the rows' gold labels, p50/p95 of
the CLI's own ``latency_ms``, and the cold load (process start to the first answer line,
which includes Python start-up and loading the model). Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from eval.interpreter import percentile
from kotone.domain.params import DIMS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "training" / "data" / "natural" / "frozen_e1.jsonl"


def run_cli(rows: list[dict], backend: str | None) -> tuple[list[dict], float, float]:
    """(output lines, seconds to the first line, total seconds)."""
    cmd = [sys.executable, "-m", "kotone.interpret"] + (["--backend", backend] if backend else [])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"id": rows[0]["id"], "text": rows[0]["text"]}) + "\n")
    proc.stdin.flush()
    first = proc.stdout.readline()
    cold = time.perf_counter() - t0
    rest = "".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows[1:])
    out, _ = proc.communicate(rest, timeout=3600)
    total = time.perf_counter() - t0
    return [json.loads(x) for x in [first, *out.splitlines()] if x.strip()], cold, total


def valid_line(line: dict, ident: str) -> bool:
    p = line.get("params")
    return (line.get("id") == ident and "error" not in line and isinstance(p, dict) and set(p) == set(DIMS)
            and all(isinstance(p[d], (int, float)) and 0 <= p[d] <= 100 for d in DIMS))


def summarise(rows: list[dict], lines: list[dict], cold: float) -> dict:
    ok = [valid_line(line, r["id"]) for r, line in zip(rows, lines, strict=False)]
    errs = {d: [abs(line["params"][d] - r["params"][d]) for r, line, v in zip(rows, lines, ok, strict=False) if v]
            for d in DIMS}
    n_ok = sum(ok)
    lat = [line["latency_ms"] for line, v in zip(lines, ok, strict=False) if v]
    return {"n": len(rows), "lines": len(lines), "valid_lines": n_ok,
            "vector_mae": sum(sum(v) for v in errs.values()) / (6 * max(1, n_ok)),
            "mae_per_dim": {d: sum(v) / max(1, len(v)) for d, v in errs.items()},
            "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95), "cold_load_s": cold,
            "backend": lines[0].get("backend") if lines else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.interpret_cli")
    ap.add_argument("--data", default=str(DEFAULT))
    ap.add_argument("--backend", default=None)
    a = ap.parse_args(argv)
    with open(a.data, encoding="utf-8") as fh:
        rows = [json.loads(x) for x in fh if x.strip()]
    lines, cold, total = run_cli(rows, a.backend)
    s = summarise(rows, lines, cold)
    print(f"python -m kotone.interpret{' --backend ' + a.backend if a.backend else ''} on {a.data} "
          f"({s['n']} rows, backend answered: {s['backend']})")
    print(f"valid lines {s['valid_lines']}/{s['n']}; vector MAE {s['vector_mae']:.2f}; per dim "
          + ", ".join(f"{d} {v:.2f}" for d, v in s["mae_per_dim"].items()))
    print(f"latency_ms p50 {s['p50_ms']:.2f} / p95 {s['p95_ms']:.2f}; cold load (start to first line) "
          f"{s['cold_load_s']:.2f} s; whole run {total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
