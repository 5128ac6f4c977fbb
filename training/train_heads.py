"""Heads on frozen sentence features, picked on the natural valid split (never the frozen sets).

    python -m training.train_heads --encoder minilm_l4              # compare only
    python -m training.train_heads --encoder smollm2_l12 --out space_assets/interpreter/lm_head

For one encoder of ``training.text_features`` (minilm, minilm_l4, mpnet, smollm2_l12), trains a
small grid of heads (linear or one hidden layer; weight decay; dropout; with or without the
rule lexicon's cue features; for SmolLM2 also which layers' pooled states) on the natural
train split -- optionally plus the older grammar/hand rows at a lower weight -- and scores
each on the natural valid split (one whole writer pass). The best configuration is refit
with five seeds stacked into one head, then a stretch from 50 and a blend with the rule
backend are picked on valid as well. ``--out`` writes the head in the backends' npz/json
format (``kotone.interpret.embed.Head``). Prints one JSON line per configuration.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np

from kotone.domain.params import DIMS
from kotone.interpret.embed import HEAD_JSON, HEAD_NPZ
from kotone.interpret.lm_head import POOLED_LAYERS
from kotone.interpret.rule import cue_features, rule_params
from training.quality_filter import read_jsonl
from training.text_features import FeatureCache
from training.train_embed import calibrate, fit_head, mae, predict, stack

ROOT = Path(__file__).resolve().parents[1]
NATURAL = ROOT / "training" / "data" / "natural"


def layer_sets(encoder: str) -> dict[str, tuple[int, ...] | None]:
    if not encoder.startswith("smollm2"):
        return {"all": None}
    return {"L8": (8,), "L12": (12,), "L8-12": (8, 12), "all": POOLED_LAYERS}


def select_layers(x: np.ndarray, layers: tuple[int, ...] | None) -> np.ndarray:
    if layers is None:
        return x
    width = x.shape[1] // len(POOLED_LAYERS)
    return np.concatenate([x[:, POOLED_LAYERS.index(i) * width : (POOLED_LAYERS.index(i) + 1) * width]
                           for i in layers], axis=1)


def subset(rows: list[dict], n: int) -> list[dict]:
    """The same n rows for every encoder: the first n / (number of passes) of each writer pass."""
    per_pass = max(1, n // len({r["pass"] for r in rows}))
    taken: dict[str, int] = {}
    out = []
    for r in rows:
        if taken.get(r["pass"], 0) < per_pass:
            taken[r["pass"]] = taken.get(r["pass"], 0) + 1
            out.append(r)
    return out


def targets(rows: list[dict]) -> np.ndarray:
    return np.asarray([[r["params"][d] for d in DIMS] for r in rows], dtype=np.float32)


def run(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "1")))
    t0 = time.time()
    nat = Path(args.natural)
    train, valid = read_jsonl(nat / "train.jsonl"), read_jsonl(nat / "valid.jsonl")
    if args.train_subset:
        train = subset(train, args.train_subset)
    aug = read_jsonl(ROOT / "training" / "data" / "train.jsonl") if args.aug_weight > 0 else []
    rows = train + aug
    w = np.asarray([1.0] * len(train) + [args.aug_weight] * len(aug), dtype=np.float32)
    cache = FeatureCache(args.encoder)
    x_all, xv_all = cache.get([r["text"] for r in rows]), cache.get([r["text"] for r in valid])
    cues = np.asarray([cue_features(r["text"]) for r in rows], np.float32)
    cues_v = np.asarray([cue_features(r["text"]) for r in valid], np.float32)
    y, yv = targets(rows), targets(valid)
    rv = np.asarray([rule_params(r["text"])[0].as_list() for r in valid], np.float32)
    grid = {"layers": list(layer_sets(args.encoder)), "cues": [True, False], "hidden": [0, 128],
            "wd": [1e-3, 1e-1], "dropout": [0.1, 0.3]}
    if args.encoder.startswith("smollm2"):  # four layer sets instead: a smaller grid for the rest (CPU)
        grid = {**grid, "hidden": [128], "dropout": [0.3]}
    if args.quick:
        grid = {"layers": ["all"], "cues": [True], "hidden": [128], "wd": [1e-1], "dropout": [0.3]}
    results, best = [], None
    for layers, use_cues, hidden, wd, dp in itertools.product(*grid.values()):
        sel = layer_sets(args.encoder)[layers]
        x = select_layers(x_all, sel)
        xv = select_layers(xv_all, sel)
        if use_cues:
            x, xv = np.concatenate([x, cues], 1), np.concatenate([xv, cues_v], 1)
        arrays = fit_head(x, y, w, hidden, wd, args.epochs, 3e-3, args.seed, dp)
        score = {"encoder": args.encoder, "layers": layers, "cues": use_cues, "hidden": hidden, "wd": wd,
                 "dropout": dp, "valid_mae": mae(predict(arrays, xv), yv)}
        results.append(score)
        print(json.dumps(score), flush=True)
        if best is None or score["valid_mae"] < best[0]["valid_mae"]:
            best = (score, x, xv)
    score, x, xv = best
    members = [fit_head(x, y, w, score["hidden"], score["wd"], args.epochs, 3e-3, args.seed + k, score["dropout"])
               for k in range(args.ensemble)]
    arrays = stack(members)
    pv = predict(arrays, xv)
    cal = min((mae(calibrate(pv, rv, st, a), yv), st, a) for st in (0.9, 1.0, 1.1, 1.2, 1.3)
              for a in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5))
    final = calibrate(pv, rv, cal[1], cal[2])
    summary = {"encoder": args.encoder, "chosen": score, "ensemble": args.ensemble,
               "valid_mae_ensemble": mae(pv, yv), "valid_mae": cal[0], "stretch": cal[1], "rule_blend": cal[2],
               "valid_mae_per_dim": {d: float(np.abs(final - yv)[:, k].mean()) for k, d in enumerate(DIMS)},
               "rule_valid_mae": mae(rv, yv), "answer_50_valid_mae": mae(np.full_like(yv, 50.0), yv),
               "train_natural": len(train), "train_aug": len(aug), "aug_weight": args.aug_weight,
               "valid_natural": len(valid), "seconds": round(time.time() - t0, 1)}
    print(json.dumps(summary), flush=True)
    if args.out:
        write_head(Path(args.out), arrays, summary, results, layer_sets(args.encoder)[score["layers"]])
    return summary


def write_head(out: Path, arrays: dict, summary: dict, grid: list[dict], layers: tuple[int, ...] | None) -> None:
    cfg = {"head": "mlp" if summary["chosen"]["hidden"] else "linear", "encoder": summary["encoder"],
           "features": "pooled hidden states" + (" + 13 rule cue features" if summary["chosen"]["cues"] else ""),
           "cue_features": summary["chosen"]["cues"], "output": "50 + 50 * tanh(head(x)), stretched, clamped, "
           "blended with rule", "stretch": summary["stretch"], "rule_blend": summary["rule_blend"],
           "metrics": {k: v for k, v in summary.items() if "mae" in k}, "data": {k: summary[k] for k in (
               "train_natural", "train_aug", "aug_weight", "valid_natural")}, "grid": grid,
           "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if layers is not None:
        cfg["layers"] = list(layers)
    if summary["encoder"].startswith("minilm"):  # what the embed backend needs to rebuild the features
        cfg["encoder_layers"] = 4 if summary["encoder"] == "minilm_l4" else 6
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / HEAD_NPZ, **arrays)
    (out / HEAD_JSON).write_text(json.dumps(cfg, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.train_heads")
    ap.add_argument("--encoder", default="minilm_l4")
    ap.add_argument("--natural", default=str(NATURAL))
    ap.add_argument("--aug-weight", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--ensemble", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--train-subset", type=int, default=0, help="train on N rows (equal per writer pass) only; "
                    "to compare encoders at equal cost")
    ap.add_argument("--out", default="")
    run(ap.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
