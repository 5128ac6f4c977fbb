"""Heads on frozen MiniLM features, chosen by leave-one-writer-out CV (w1..w7; e1 never read).

    python -m training.cv_heads [--stage features|head|all] [--epochs 60]

Features come from the ``minilm_layers`` cache (``training.text_features``: the sentence
vector after each of MiniLM's six layers), so one cache answers "4 or 6 layers?" and "several
layers at once?". Stage ``features`` compares feature sets (layer 4, layer 6, layers 4+6,
2+4+6; with and without the rule lexicon's cue features) under one head; stage ``head``
compares the head's capacity and regularisation (linear or one hidden layer, weight decay,
dropout; ``HEAD_GRID``) on the chosen features, optionally as seed ensembles (``--seeds``);
stage ``aug`` adds the older grammar/hand rows to every fold's training side at a low weight;
stage ``ridge`` tries ridge maps (the shipped head's second member) per layer set and penalty. Every option's out-of-fold predictions are kept in
``artifacts/cv/`` (for calibration and blends) and its figures are printed as one JSON line
and appended to ``artifacts/cv/heads.jsonl``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from kotone.interpret.rule import cue_features, rule_params
from training.quality_filter import read_jsonl
from training.text_features import FeatureCache
from training.train_embed import fit_head, predict
from training.writer_cv import ROOT, calibration_report, cv_predict, dumps, passes_of, pool_rows, short, targets

CV_DIR = ROOT / "artifacts" / "cv"
DIM = 384
FEATURE_SETS = {"L4": (4,), "L6": (6,), "L4+L6": (4, 6), "L2+L4+L6": (2, 4, 6), "L1-L6": (1, 2, 3, 4, 5, 6)}


def layer_slice(x: np.ndarray, layers: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([x[:, (i - 1) * DIM : i * DIM] for i in layers], 1)


def rule_matrix(texts: list[str]) -> np.ndarray:
    return np.asarray([rule_params(t)[0].as_list() for t in texts], dtype=np.float32)


class Data:
    """The pool, its features, cues, rule answers and targets (computed once)."""

    def __init__(self):
        self.rows = pool_rows()
        texts = [r["text"] for r in self.rows]
        self.x = FeatureCache("minilm_layers").get(texts)
        self.cues = np.asarray([cue_features(t) for t in texts], np.float32)
        self.rule = rule_matrix(texts)
        self.y = targets(self.rows)
        self.passes = passes_of(self.rows)

    def features(self, layers: tuple[int, ...], cues: bool) -> np.ndarray:
        x = layer_slice(self.x, layers)
        return np.concatenate([x, self.cues], 1) if cues else x


def aug_set(layers: tuple[int, ...], weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The older grammar/hand rows (never evaluated on) as extra training rows at ``weight``."""
    rows = read_jsonl(ROOT / "training" / "data" / "train.jsonl")
    texts = [r["text"] for r in rows]
    x = np.concatenate([layer_slice(FeatureCache("minilm_layers").get(texts), layers),
                        np.asarray([cue_features(t) for t in texts], np.float32)], 1)
    return x, targets(rows), np.full(len(rows), weight, np.float32)


def evaluate(data: Data, name: str, x: np.ndarray, hidden: int, wd: float, dropout: float, epochs: int,
             seeds: int = 1, aug: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
             ridge_alpha: float | None = None) -> dict:
    """CV one head configuration; OOF saved under artifacts/cv/<name>.npz. ``aug``: extra
    training rows (features, targets, weights) added to every fold's training side;
    ``ridge_alpha``: a ridge map (``training.ship_embed.fit_ridge``) instead of the MLP."""
    from training.ship_embed import fit_ridge, ridge_predict

    w = np.ones(len(x), np.float32)

    def fit_predict(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        xt, yt, wt = x[tr], data.y[tr], w[tr]
        if ridge_alpha is not None:
            return ridge_predict(fit_ridge(xt, yt, ridge_alpha, data.cues.shape[1]), x[te])
        if aug is not None:
            xt, yt, wt = np.concatenate([xt, aug[0]]), np.concatenate([yt, aug[1]]), np.concatenate([wt, aug[2]])
        preds = [predict(fit_head(xt, yt, wt, hidden, wd, epochs, 3e-3, s, dropout), x[te]) for s in range(seeds)]
        return np.mean(preds, 0)

    t0 = time.time()
    oof = cv_predict(fit_predict, data.passes)
    cal = calibration_report(oof, data.rule, data.y, data.passes)
    CV_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(CV_DIR / f"{name}.npz", oof=oof)
    rec = {"name": name, "hidden": hidden, "wd": wd, "dropout": dropout, "epochs": epochs, "seeds": seeds,
           "raw": short(cal["raw"]), **{k: {**short(cal[k]), "blends": cal[k]["blends"]}
                                       for k in ("none", "linear", "isotonic")},
           "seconds": round(time.time() - t0, 1)}
    line = dumps(rec)
    print(line, flush=True)
    with (CV_DIR / "heads.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return rec


def stage_features(data: Data, epochs: int, seeds: int = 1, sets: list[str] | None = None) -> None:
    """Feature sets under one head (128 hidden, wd 0.1, dropout 0.3); without cues for L4/L6 too."""
    todo = [(k, True) for k in sets] if sets else [(k, True) for k in FEATURE_SETS] + [("L4", False), ("L6", False)]
    for fs, cues in todo:
        evaluate(data, f"feat_{fs}{'_cues' if cues else ''}" + (f"_s{seeds}" if seeds > 1 else ""),
                 data.features(FEATURE_SETS[fs], cues), 128, 1e-1, 0.3, epochs, seeds)


HEAD_GRID = [(128, 1e-1, 0.3), (256, 1e-1, 0.3), (128, 1.0, 0.3), (128, 1e-1, 0.5), (256, 1.0, 0.5),
             (128, 1e-2, 0.1), (0, 1e-2, 0.1), (0, 1.0, 0.1)]


def stage_head(data: Data, fs: str, epochs: int, seeds: int, grid: list[tuple[int, float, float]]) -> None:
    """Capacity and regularisation of the head on one feature set (the base setting first)."""
    x = data.features(FEATURE_SETS[fs], True)
    for hidden, wd, dp in grid:
        evaluate(data, f"head_{fs}_h{hidden}_wd{wd}_dp{dp}" + (f"_s{seeds}" if seeds > 1 else ""), x, hidden, wd,
                 dp, epochs, seeds)


def stage_aug(data: Data, fs: str, epochs: int, seeds: int, hidden: int, wd: float, dp: float) -> None:
    """The older grammar/hand rows as augmentation at a few weights (0 = the natural rows alone)."""
    x = data.features(FEATURE_SETS[fs], True)
    for weight in (0.1, 0.3):
        evaluate(data, f"aug{weight}_{fs}_h{hidden}_wd{wd}_dp{dp}_s{seeds}", x, hidden, wd, dp, epochs, seeds,
                 aug_set(FEATURE_SETS[fs], weight))


def stage_ridge(data: Data) -> None:
    """Ridge maps (L2 loss, no squashing) per layer set and penalty: a different bias from the MLP."""
    for fs in ("L4+L6", "L2+L4+L6", "L1-L6"):
        for alpha in (0.3, 1.0, 3.0):
            evaluate(data, f"ridge_{fs}_a{alpha}", data.features(FEATURE_SETS[fs], True), 0, 0.0, 0.0, 0, 1,
                     ridge_alpha=alpha)


def main(argv: list[str] | None = None) -> int:
    import torch

    ap = argparse.ArgumentParser(prog="python -m training.cv_heads")
    ap.add_argument("--stage", default="all", choices=("features", "head", "aug", "ridge", "all"))
    ap.add_argument("--features", default="L4", choices=sorted(FEATURE_SETS), help="feature set for --stage head")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--feature-sets", default="", help="for --stage features: comma-separated names (default all)")
    ap.add_argument("--heads", default="", help="for --stage head: hidden:wd:dropout,... (default HEAD_GRID)")
    ap.add_argument("--hidden", type=int, default=128, help="head for --stage aug")
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--seeds", type=int, default=1, help="heads per fold, averaged (as shipped: stacked)")
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "1")))
    data = Data()
    if a.stage in ("features", "all"):
        stage_features(data, a.epochs, a.seeds, [x for x in a.feature_sets.split(",") if x])
    if a.stage in ("head", "all"):
        grid = [(int(h), float(w), float(d)) for h, w, d in (c.split(":") for c in a.heads.split(",") if c)]
        stage_head(data, a.features, a.epochs, a.seeds, grid or HEAD_GRID)
    if a.stage in ("ridge", "all"):
        stage_ridge(data)
    if a.stage == "aug":
        stage_aug(data, a.features, a.epochs, a.seeds, a.hidden, a.wd, a.dropout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
