"""One self-improvement cycle for the embed interpreter (seed 000's loop, made local).

    python -m training.cycle [--cycle 1] [--per-dim 6] [--per-case 8] [--promote]

1. evaluate the shipped head on the held-out mining pool: valid + test (never the frozen
   set: mining there would leak it into training);
2. mine the worst cases per dimension (largest |pred - gold| on that dim, with direction);
3. write targeted new examples for each case: with MISTRAL_API_KEY, the teacher writes and
   labels requests that push that dim the gold way (training/teacher_mistral.py); without a
   key, the grammar is sampled until its computed label for that dim lands near the case's
   gold value on the same side of 50, preferring phrases that share words with the case;
   everything passes the quality filter (against the frozen set and the training data);
4. retrain the head with the shipped hyperparameters on train + the new rows into
   artifacts/cycle_N/;
5. re-evaluate old and new on valid (natural and all), test and the frozen set (frozen is
   reported only, never used to decide), print the deltas, write eval/results/cycle_N.{md,json}
   and log to W&B (offline by default). ``--promote`` ships the new head only if it is better
   on the natural validation rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np

from kotone.domain.params import DIMS
from kotone.interpret.commission_gen import generate
from kotone.interpret.embed import HEAD_JSON, HEAD_NPZ
from kotone.interpret.rule import tokenize
from training.quality_filter import filter_rows, read_jsonl, write_jsonl
from training.train_embed import DATA, ROOT, EmbedCache, calibrate, featurize, predict, rule_matrix, targets, train

SHIPPED = ROOT / "space_assets" / "interpreter"
RESULTS = ROOT / "eval" / "results"


def load_head(directory: Path) -> tuple[dict, dict]:
    with np.load(directory / HEAD_NPZ) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads((directory / HEAD_JSON).read_text())


def head_predict(directory: Path, rows: list[dict], cache: EmbedCache) -> np.ndarray:
    arrays, cfg = load_head(directory)
    p = predict(arrays, featurize(rows, cache))
    p = calibrate(p, rule_matrix(rows), float(cfg.get("stretch", 1.0)), float(cfg.get("rule_blend", 0.0)))
    return np.clip(p, 0, 100)


def scores(P: np.ndarray, rows: list[dict]) -> dict:
    Y = targets(rows)
    err = np.abs(P - Y)
    return {"mae": float(err.mean()), **{d: float(err[:, k].mean()) for k, d in enumerate(DIMS)}}


def mine(P: np.ndarray, rows: list[dict], per_dim: int) -> list[dict]:
    Y = targets(rows)
    cases = []
    for k, d in enumerate(DIMS):
        order = np.argsort(-np.abs(P[:, k] - Y[:, k]))[:per_dim]
        for i in order:
            cases.append({"dim": d, "text": rows[i]["text"], "gold": float(Y[i, k]), "pred": float(P[i, k]),
                          "id": rows[i]["id"]})
    return cases


def targeted_rows(cases: list[dict], per_case: int, seed: int, max_tries: int = 4000) -> list[dict]:
    """Grammar examples whose label on the weak dim matches the case's gold side and level."""
    rng = random.Random(seed)
    out = []
    for ci, case in enumerate(cases):
        d, g = case["dim"], case["gold"]
        words = set(tokenize(case["text"]))
        found: list[tuple[float, object]] = []
        for _ in range(max_tries):
            gen = generate(rng)
            v = getattr(gen.params, d)
            if abs(v - g) > 10 or (g - 50) * (v - 50) < 0:
                continue
            overlap = len(words & set(tokenize(gen.text)))
            found.append((overlap + rng.random() * 0.5, gen))
            if len(found) >= per_case * 6:
                break
        found.sort(key=lambda t: -t[0])
        for j, (_, gen) in enumerate(found[:per_case]):
            out.append({"id": f"cycle_{seed}_{ci:03d}_{j}", "text": gen.text,
                        "params": {k: int(v) for k, v in gen.params.rounded(0).items()},
                        "justification": gen.justification + f" (targets weak {d})", "source": "grammar"})
    return out


def teacher_rows(cases: list[dict], per_case: int, seed: int) -> list[dict]:
    from kotone.interpret.api import MistralInterpreter
    from training.teacher_mistral import generate as teacher_generate

    teacher = MistralInterpreter.from_env()
    out = []
    for i, case in enumerate(cases):
        focus = {case["dim"]: "low" if case["gold"] < 50 else "high"}
        rows, _ = teacher_generate(teacher, per_case, seed + i, focus)
        out += [{**r, "source": "grammar"} for r in rows]  # weighed like grammar rows
    return out


def table(before: dict, after: dict) -> str:
    lines = ["| set | metric | before | after | delta |", "|---|---|---:|---:|---:|"]
    for s in before:
        for m in ["mae", *DIMS]:
            b, a = before[s][m], after[s][m]
            lines.append(f"| {s} | {m} | {b:.3f} | {a:.3f} | {a - b:+.3f} |")
    return "\n".join(lines)


def run(cycle: int, per_dim: int, per_case: int, promote: bool, wandb_mode: str) -> dict:
    t0 = time.time()
    valid = read_jsonl(DATA / "valid.jsonl")
    test = read_jsonl(DATA / "test.jsonl")
    frozen = read_jsonl(DATA / "frozen_eval.jsonl")
    train_rows = read_jsonl(DATA / "train.jsonl") + [
        r for p in sorted(DATA.glob("cycle_*.jsonl")) if p.name != f"cycle_{cycle}.jsonl" for r in read_jsonl(p)]
    natural = [r for r in valid if r["source"] == "hand_valid"]
    _, shipped_cfg = load_head(SHIPPED)
    layers = int(shipped_cfg.get("encoder_layers", 6))
    cache = EmbedCache(layers=layers)
    sets = {"valid_natural": natural, "valid_all": valid, "test": test, "frozen_eval (report only)": frozen}
    before = {name: scores(head_predict(SHIPPED, rows, cache), rows) for name, rows in sets.items()}
    pool = valid + test
    cases = mine(head_predict(SHIPPED, pool, cache), pool, per_dim)
    use_teacher = bool(os.environ.get("MISTRAL_API_KEY"))
    new = teacher_rows(cases, per_case, cycle * 1000) if use_teacher else targeted_rows(cases, per_case, cycle * 1000)
    new, rejected = filter_rows(new, against=frozen + train_rows)
    write_jsonl(DATA / f"cycle_{cycle}.jsonl", new)
    _, cfg = load_head(SHIPPED)
    hp = cfg["hyperparameters"]
    grid = {"hidden": [hp["hidden"]], "wd": [hp["wd"]], "hand_weight": [hp["hand_weight"]], "dropout": [hp["dropout"]]}
    out_dir = ROOT / "artifacts" / f"cycle_{cycle}"
    # cycle_N.jsonl is already on disk, and train() reads every cycle file with train.jsonl
    train(out_dir, "disabled", hp.get("epochs", 60), grid=grid, ensemble=hp.get("ensemble", 1), layers=layers)
    after = {name: scores(head_predict(out_dir, rows, cache), rows) for name, rows in sets.items()}
    cache.save()
    improved = after["valid_natural"]["mae"] < before["valid_natural"]["mae"]
    promoted = False
    if promote and improved:
        for f in (HEAD_NPZ, HEAD_JSON):
            shutil.copy2(out_dir / f, SHIPPED / f)
        promoted = True
    by_dim = {d: sum(c["dim"] == d for c in cases) for d in DIMS}
    report = {
        "cycle": cycle, "source_of_new_examples": "teacher_mistral" if use_teacher else "grammar templates",
        "mined_cases": len(cases), "mined_per_dim": by_dim, "worst_cases": cases[:: max(1, per_dim)],
        "new_examples": len(new), "rejected_by_filter": len(rejected), "before": before, "after": after,
        "improved_on_valid_natural": improved, "promoted": promoted, "seconds": round(time.time() - t0, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"cycle_{cycle}.json").write_text(json.dumps(report, indent=1) + "\n")
    md = [f"# Self-improvement cycle {cycle}", "",
          f"Command: `python -m training.cycle --cycle {cycle}" + (" --promote" if promote else "") + "`", "",
          f"Mined {len(cases)} worst cases ({per_dim} per dim) on valid+test; wrote {len(new)} new examples from "
          f"{report['source_of_new_examples']} (filter rejected {len(rejected)}); retrained with the shipped "
          f"hyperparameters. Promoted: {promoted} (decided on valid_natural only).", "",
          table(before, after), "", "Worst case per dim (before):", ""]
    for c in report["worst_cases"]:
        md.append(f"- {c['dim']}: gold {c['gold']:.0f}, pred {c['pred']:.0f} — \"{c['text']}\"")
    text = "\n".join(md) + "\n"
    (RESULTS / f"cycle_{cycle}.md").write_text(text)
    print(text)
    if wandb_mode != "disabled":
        try:
            import wandb

            r = wandb.init(project="atelier-kotone", job_type="self-improvement-cycle", mode=wandb_mode,
                           dir=str(ROOT / "artifacts"), config={"cycle": cycle, "per_dim": per_dim, "per_case": per_case})
            r.summary.update({f"{w}/{s}/{m}": v for w, res in (("before", before), ("after", after))
                              for s, ms in res.items() for m, v in ms.items()})
            r.summary.update({"new_examples": len(new), "promoted": promoted})
            r.finish()
        except ImportError:
            pass
    return report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycle", type=int, default=1)
    ap.add_argument("--per-dim", type=int, default=6)
    ap.add_argument("--per-case", type=int, default=8)
    ap.add_argument("--promote", action="store_true")
    ap.add_argument("--wandb-mode", default=os.environ.get("WANDB_MODE", "offline"))
    a = ap.parse_args()
    run(a.cycle, a.per_dim, a.per_case, a.promote, a.wandb_mode)


if __name__ == "__main__":
    main()
