"""Seed-001 metric table for every interpreter backend that can run, on both frozen sets.

    python -m eval.interpreter [--data A.jsonl,B.jsonl] [--backends rule,embed,lm]
                               [--wandb-mode offline] [--out eval/results]

One run of this command produces every row of every table: each backend is loaded once and
answers both frozen sets in one process -- the old hand-written set
(training/data/frozen_eval.jsonl, 160 rows) and the natural set written by a separate
writer pass and labelled blind twice (training/data/natural/frozen_e1.jsonl). It also draws
the calibration plot (predicted vs gold per dimension, every backend, natural set) to
eval/results/interpreter_calibration.png, which the About tab shows, and logs everything
to W&B (offline unless WANDB_MODE says otherwise).
Metrics (gold = the set's label, pred = the backend's answer):

- json_valid_rate: share of requests whose backend output was valid six-dim JSON before any
  fallback (the CLI's output line re-parsed through kotone.interpret.jsonio). After
  fallback it is always 1.0 (``json_valid_after_fallback``); ``fallbacks`` counts them.
- vector_mae (and per-dim MAE): mean |pred - gold| on 0-100.
- constraint_match_rate: each dim bucketed low (< 35) / mid (35-65) / high (> 65); a
  request matches when all six buckets agree between pred and gold.
- slot_exact_match: the top card per slot (kotone.domain.scoring.best_choice over the full
  catalog) for pred vs for gold; share of the four slots that agree, averaged.
- intent_score_mean: the game's own score (scoring.score_song(...).total, 0-100) of the card
  choice that is best for pred, judged against the gold target (blend_profile of the
  chosen cards as the measured profile).
- output_sanity_score (0-100): 100 x (0.4 x own-output valid rate + 0.3 x in-range rate +
  0.3 x spread ratio), spread ratio = mean over dims of min(1, std(pred)/std(gold)), so a
  constant or collapsed answer loses up to 30 points even when every line is valid JSON.
- p50/p95 latency: wall-clock ms per request in this process, after load (cold load
  reported separately).
- cost_per_100_requests_usd: local backends = CPU seconds x an assumed $0.05 per
  vCPU-hour (on-demand cloud CPU); api = measured tokens x list price (kotone.interpret.api).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kotone.domain.params import DIMS, Params

ROOT = Path(__file__).resolve().parents[1]
FROZEN = ROOT / "training" / "data" / "frozen_eval.jsonl"
RESULTS = ROOT / "eval" / "results"
CPU_USD_PER_HOUR = 0.05
LOW, HIGH = 35.0, 65.0


# ---------- metric functions (pure; tested on small synthetic inputs) ----------

def bucket(v: float) -> str:
    return "low" if v < LOW else "high" if v > HIGH else "mid"


def constraints(p: Params) -> tuple[str, ...]:
    return tuple(bucket(v) for v in p.as_list())


def constraint_match_rate(preds: Sequence[Params], golds: Sequence[Params]) -> float:
    return sum(constraints(p) == constraints(g) for p, g in zip(preds, golds, strict=True)) / len(golds)


def vector_mae(preds: Sequence[Params], golds: Sequence[Params]) -> float:
    return sum(abs(a - b) for p, g in zip(preds, golds, strict=True)
               for a, b in zip(p.as_list(), g.as_list(), strict=True)) / (6 * len(golds))


def per_dim_mae(preds: Sequence[Params], golds: Sequence[Params]) -> dict[str, float]:
    return {d: sum(abs(getattr(p, d) - getattr(g, d)) for p, g in zip(preds, golds, strict=True)) / len(golds)
            for d in DIMS}


def spread_ratio(preds: Sequence[Params], golds: Sequence[Params]) -> float:
    if len(preds) < 2:
        return 1.0
    ratios = []
    for d in DIMS:
        sp = statistics.pstdev(getattr(p, d) for p in preds)
        sg = statistics.pstdev(getattr(g, d) for g in golds)
        ratios.append(1.0 if sg == 0 else min(1.0, sp / sg))
    return sum(ratios) / len(ratios)


def sanity_score(valid_rate: float, in_range_rate: float, spread: float) -> float:
    return 100.0 * (0.4 * valid_rate + 0.3 * in_range_rate + 0.3 * spread)


def slot_metrics(preds: Sequence[Params], golds: Sequence[Params],
                 choose: Callable[[Params], Mapping[str, str]],
                 score: Callable[[Params, Mapping[str, str]], float]) -> tuple[float, float]:
    """(slot_exact_match, intent_score_mean) given a chooser (target -> slot->card id)
    and a scorer (gold target, chosen ids -> 0-100)."""
    agree = 0.0
    total = 0.0
    cache: dict[tuple, Mapping[str, str]] = {}

    def pick(p: Params) -> Mapping[str, str]:
        k = tuple(round(v, 3) for v in p.as_list())
        if k not in cache:
            cache[k] = choose(p)
        return cache[k]

    for p, g in zip(preds, golds, strict=True):
        cp, cg = pick(p), pick(g)
        agree += sum(cp.get(s) == cg.get(s) for s in cg) / max(1, len(cg))
        total += score(g, cp)
    return agree / len(golds), total / len(golds)


def percentile(xs: Sequence[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def game_scoring():
    """(choose, score) from the game's scoring module and catalog, or None if not there yet."""
    try:
        from kotone.assets import load_catalog
        from kotone.domain import scoring

        catalog = load_catalog()
    except Exception as exc:
        print(f"note: game scoring unavailable ({type(exc).__name__}: {exc}); slot/intent metrics skipped")
        return None

    def choose(target: Params) -> Mapping[str, str]:
        return scoring.best_choice(catalog, target)

    def score(gold: Params, choice: Mapping[str, str]) -> float:
        cards = catalog.resolve(choice)
        measured = scoring.blend_profile(cards)
        return float(scoring.score_song(gold, measured, cards).total)

    return choose, score


# ---------- running backends ----------

def load_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def runnable_backends(requested: list[str] | None) -> list[str]:
    import importlib
    import importlib.util

    from kotone.interpret import base

    # the fine-tuned LM backend lives in its own module; importing it registers "lm"
    for mod in ("kotone.interpret.lm",):
        if importlib.util.find_spec(mod) is not None:
            try:
                importlib.import_module(mod)
            except Exception as exc:
                print(f"note: {mod} did not import ({type(exc).__name__}: {exc})")

    names = requested or base.available()
    out = []
    for n in names:
        if n == "api" and not os.environ.get("MISTRAL_API_KEY"):
            print("note: skipping api (MISTRAL_API_KEY not set)")
            continue
        out.append(n)
    order = {"rule": 0, "embed": 1, "lm": 2, "api": 3}
    return sorted(out, key=lambda n: order.get(n, 9))


def load_backend(name: str):
    """(interpreter wrapped so invalid output falls back to rule, cold-load seconds) or None."""
    from kotone.interpret import base
    from kotone.interpret.jsonio import FallbackInterpreter
    from kotone.interpret.rule import RuleInterpreter

    t0 = time.perf_counter()
    try:
        interp = base.get_interpreter(name)
    except Exception as exc:
        print(f"note: backend {name!r} cannot run here ({type(exc).__name__}: {exc})")
        return None
    cold_s = time.perf_counter() - t0
    if not isinstance(interp, FallbackInterpreter) and name != "rule":
        interp = FallbackInterpreter(interp, RuleInterpreter())
    return interp, cold_s


def run_backend(name: str, rows: list[dict], loaded=None) -> dict | None:
    from kotone.interpret.jsonio import InvalidOutput, parse_params

    loaded = loaded or load_backend(name)
    if loaded is None:
        return None
    interp, cold_s = loaded
    fb0 = getattr(interp, "fallbacks", 0)
    preds, lat, cpu, valid, in_range = [], [], [], 0, 0
    for r in rows:
        w0, c0 = time.perf_counter(), time.process_time()
        res = interp.interpret(r["text"])
        lat.append((time.perf_counter() - w0) * 1000.0)
        cpu.append(time.process_time() - c0)
        # the CLI line, re-parsed: what a consumer of the contract would see
        line = json.dumps({"id": r["id"], "params": res.params.rounded(2), "backend": res.backend})
        try:
            parse_params(line)
            ok_json = True
        except InvalidOutput:
            ok_json = False
        valid += ok_json and res.valid and not res.fallback
        in_range += all(0 <= v <= 100 for v in res.params.as_list())
        preds.append(res.params)
    n = len(rows)
    fallbacks = getattr(interp, "fallbacks", 0) - fb0
    inner = getattr(interp, "inner", None)
    if hasattr(inner, "cost_usd"):
        cost = inner.cost_usd() / n * 100
    else:
        cost = sum(cpu) / n * 100 * CPU_USD_PER_HOUR / 3600.0
    return {"name": name, "preds": preds, "latency_ms": lat, "cold_load_s": cold_s, "valid_rate": valid / n,
            "in_range_rate": in_range / n, "fallbacks": fallbacks, "cost_per_100_usd": cost}


def table_rows(runs: list[dict], golds: list[Params], scoring_fns) -> list[dict]:
    out = []
    for run in runs:
        preds = run["preds"]
        row = {
            "mode": run["name"],
            "json_valid_rate": run["valid_rate"],
            "json_valid_after_fallback": 1.0,
            "fallbacks": run["fallbacks"],
            "vector_mae": vector_mae(preds, golds),
            "mae_per_dim": per_dim_mae(preds, golds),
            "constraint_match_rate": constraint_match_rate(preds, golds),
            "slot_exact_match": None,
            "intent_score_mean": None,
            "output_sanity_score": sanity_score(run["valid_rate"], run["in_range_rate"], spread_ratio(preds, golds)),
            "p50_latency_ms": percentile(run["latency_ms"], 50),
            "p95_latency_ms": percentile(run["latency_ms"], 95),
            "cold_load_s": run["cold_load_s"],
            "cost_per_100_requests_usd": run["cost_per_100_usd"],
        }
        if scoring_fns is not None:
            row["slot_exact_match"], row["intent_score_mean"] = slot_metrics(preds, golds, *scoring_fns)
        out.append(row)
    return out


def _f(v, nd=4):
    return "n/a" if v is None else f"{v:.{nd}f}"


def set_tables(rows: list[dict], meta: dict) -> list[str]:
    """The two tables (seed-001 metrics; per-dim MAE, fallbacks, cold load) of one set."""
    cols = ["mode", "json_valid_rate", "vector_mae", "constraint_match_rate", "slot_exact_match",
            "intent_score_mean", "output_sanity_score", "p50_latency_ms", "p95_latency_ms",
            "cost_per_100_requests_usd"]
    lines = ["| " + " | ".join(cols) + " |", "|---" + "|---:" * (len(cols) - 1) + "|"]
    for r in rows:
        lines.append("| " + " | ".join([r["mode"]] + [
            _f(r["json_valid_rate"]), _f(r["vector_mae"]), _f(r["constraint_match_rate"]),
            _f(r["slot_exact_match"]), _f(r["intent_score_mean"]), _f(r["output_sanity_score"]),
            _f(r["p50_latency_ms"]), _f(r["p95_latency_ms"]), _f(r["cost_per_100_requests_usd"], 6)]) + " |")
    lines += ["", f"Per-dim MAE, fallbacks and cold load ({meta['data']}):", "",
              "| mode | " + " | ".join(DIMS) + " | fallbacks | json valid after fallback | cold load s |",
              "|---" + "|---:" * (len(DIMS) + 3) + "|"]
    for r in rows:
        lines.append(f"| {r['mode']} | " + " | ".join(f"{r['mae_per_dim'][d]:.2f}" for d in DIMS)
                     + f" | {r['fallbacks']} | {r['json_valid_after_fallback']:.2f} | {r['cold_load_s']:.2f} |")
    return lines


FOOTNOTES = [
    "Seed-001 reference (its own 70-item set): rule_baseline vector_mae 19.08 / intent 59.94; "
    "prompt_baseline 20.37 / 57.23; fine_tuned Ministral 3B 26.13 / 45.13, p95 1203.8 ms.", "",
    "Footnotes:",
    "- constraint_match_rate: every dim bucketed low (< 35) / mid (35-65) / high (> 65); a request "
    "matches when all six buckets of the prediction equal those of the gold label.",
    "- slot_exact_match: top card per slot from `scoring.best_choice` for the predicted vs the gold "
    "vector; share of the 4 slots that agree, averaged over requests.",
    "- intent_score_mean: `scoring.score_song(gold, blend_profile(cards), cards).total` for the card "
    "choice that is best for the predicted vector (0-100).",
    "- output_sanity_score: 100 x (0.4 x own-output JSON valid rate + 0.3 x in-range rate + 0.3 x "
    "spread ratio), spread ratio = mean over dims of min(1, std(pred) / std(gold)).",
    "- json_valid_rate counts the backend's own output before fallback; invalid output falls back to "
    "`rule` (counted in fallbacks), so the CLI is 100% valid after fallback.",
    f"- latency: wall-clock per request in one process after loading; cost: local = CPU seconds x "
    f"${CPU_USD_PER_HOUR}/vCPU-hour (assumed), api = tokens x list price. Cold load is paid once per "
    "backend (shown on the first set).",
]


def markdown(rows: list[dict], meta: dict, sets: list[tuple[dict, list[dict]]] | None = None) -> str:
    """The report: one section per frozen set (``sets`` = [(set meta, rows)]; default: one)."""
    sets = sets or [(meta, rows)]
    title = f"# Interpreter evaluation ({meta['data']}, {meta['n']} items)" if len(sets) == 1 else \
        "# Interpreter evaluation (" + "; ".join(f"{m['data']}, {m['n']} items" for m, _ in sets) + ")"
    lines = [title, "", f"Command: `{meta['command']}`  ", f"Run at {meta['when']} on {meta['cpu']}."]
    for m, r in sets:
        if len(sets) > 1:
            lines += ["", f"## {m.get('label', m['data'])} — `{m['data']}`, {m['n']} items"]
            if m.get("about"):
                lines += ["", m["about"]]
        lines += ["", *set_tables(r, m)]
    lines += ["", *FOOTNOTES, f"- n/a: {meta.get('na_note', 'not measurable in this run')}"]
    if meta.get("calibration_png"):
        lines.append(f"- calibration plot (predicted vs gold per dim, natural set): `{meta['calibration_png']}`")
    return "\n".join(lines) + "\n"


SETS = [
    ("natural", ROOT / "training" / "data" / "natural" / "frozen_e1.jsonl",
     "Natural requests (new frozen set)",
     "Written by a writer pass that wrote no training row, labelled blind by two independent passes "
     "(gold = their mean); never trained on, never used to pick a model."),
    ("old", FROZEN, "Hand-written frozen set (issue 5, for continuity)",
     "Written by the same hands as much of the older training data; kept to show continuity."),
]


def calibration_plot(runs_by_backend: dict[str, dict], golds: list[Params], path: Path, title: str) -> Path:
    """Predicted vs gold per dim, one colour per backend, diagonal = perfect (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 7.6), sharex=True, sharey=True)
    colours = {"rule": "#8a8a8a", "embed": "#d9822b", "lm": "#3b6fb6", "api": "#6a3d9a"}
    for ax, d in zip(axes.flat, DIMS, strict=True):
        g = [getattr(x, d) for x in golds]
        ax.plot([0, 100], [0, 100], color="black", lw=0.8, ls="--")
        for name, run in runs_by_backend.items():
            p = [getattr(x, d) for x in run["preds"]]
            err = sum(abs(a - b) for a, b in zip(p, g, strict=True)) / max(1, len(g))
            ax.scatter(g, p, s=7, alpha=0.45, color=colours.get(name), label=f"{name} (MAE {err:.1f})")
        ax.set_title(d)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7, loc="upper left", markerscale=2)
    for ax in axes[1]:
        ax.set_xlabel("gold (mean of two blind labels)")
    for ax in axes[:, 0]:
        ax.set_ylabel("predicted")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.interpreter")
    ap.add_argument("--data", default="", help="comma-separated jsonl files (default: the natural and the old "
                                               "frozen set)")
    ap.add_argument("--backends", default="", help="comma-separated; default: every backend that can run")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--name", default="interpreter", help="file stem for the results")
    ap.add_argument("--wandb-mode", default=os.environ.get("WANDB_MODE", "offline"))
    a = ap.parse_args(argv)
    from kotone.interpret import backends  # noqa: F401 - registers the backends

    if a.data:
        sets = [(Path(p).stem, Path(p), Path(p).stem, "") for p in a.data.split(",") if p]
    else:
        sets = []
        for key, path, label, about in SETS:
            if path.exists():
                sets.append((key, path, label, about))
            else:
                print(f"note: {_rel(path)} not found; that set is skipped (python -m training.natural_corpus)")
    data = [(key, path, label, about, load_rows(path)) for key, path, label, about in sets]
    names = runnable_backends([n for n in a.backends.split(",") if n] or None)
    scoring_fns = game_scoring()
    runs: dict[str, dict[str, dict]] = {key: {} for key, *_ in data}
    for name in names:
        loaded = load_backend(name)
        if loaded is None:
            continue
        for i, (key, _path, _label, _about, rows) in enumerate(data):
            run = run_backend(name, rows, loaded)
            if i > 0:
                run["cold_load_s"] = 0.0  # paid once, reported with the first set
            runs[key][name] = run
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "python -m eval.interpreter" + (f" --data {a.data}" if a.data else ""),
            "cpu": f"{os.cpu_count()} CPU cores (shared)",
            "na_note": "game scoring/catalog not available in this run" if scoring_fns is None else "-"}
    sections, tables = [], {}
    plot_key = "natural" if any(d[0] == "natural" for d in data) else (data[0][0] if data else None)
    for key, path, label, about, rows in data:
        golds = [Params.clamped(r["params"]) for r in rows]
        table = table_rows(list(runs[key].values()), golds, scoring_fns)
        tables[key] = table
        sections.append(({"data": _rel(path), "n": len(rows), "label": label, "about": about}, table))
        if key == plot_key:
            png = calibration_plot(runs[key], golds, out / f"{a.name}_calibration.png",
                                   f"Interpreter calibration on {_rel(path)} ({len(rows)} requests)")
            meta["calibration_png"] = _rel(png)
    first = sections[0][0] if sections else {"data": "-", "n": 0}
    md = markdown(sections[0][1] if sections else [], {**meta, **first}, sections)
    (out / f"{a.name}.md").write_text(md)
    (out / f"{a.name}.json").write_text(json.dumps({"meta": meta, "sets": {k: {"meta": m, "rows": t} for (m, t), k
                                                                          in zip(sections, tables, strict=True)}},
                                                   indent=1) + "\n")
    print(md)
    log_wandb(tables, meta, a.wandb_mode, out / f"{a.name}_calibration.png")
    return 0


def log_wandb(tables: dict[str, list[dict]], meta: dict, mode: str, png: Path | None = None) -> None:
    if mode == "disabled" or not tables:
        return
    try:
        import wandb
    except ImportError:
        return
    run = wandb.init(project="atelier-kotone", job_type="eval-interpreter", mode=mode,
                     dir=str(ROOT / "artifacts"), config=meta)
    for key, table in tables.items():
        if not table:
            continue
        cols = ["set"] + [k for k in table[0] if k != "mae_per_dim"] + [f"mae_{d}" for d in DIMS]
        wt = wandb.Table(columns=cols)
        for r in table:
            wt.add_data(key, *[r[k] for k in table[0] if k != "mae_per_dim"], *[r["mae_per_dim"][d] for d in DIMS])
        run.log({f"interpreter_eval/{key}": wt})
        for r in table:
            run.summary.update({f"{key}/{r['mode']}/{k}": v for k, v in r.items() if isinstance(v, (int, float))})
            run.summary.update({f"{key}/{r['mode']}/mae_{d}": v for d, v in r["mae_per_dim"].items()})
    if png is not None and png.exists():
        run.log({"calibration": wandb.Image(str(png))})
    run.finish()


if __name__ == "__main__":
    raise SystemExit(main())
