"""Heads on frozen MiniLM features, chosen by leave-one-writer-out CV (w1..w7; e1 never read).

    python -m training.cv_heads [--stage features|head|all] [--epochs 60]

Features come from the ``minilm_layers`` cache (``training.text_features``: the sentence
vector after each of MiniLM's six layers), so one cache answers "4 or 6 layers?" and "several
layers at once?". Stage ``features`` compares feature sets (layer 4, layer 6, layers 4+6,
2+4+6; with and without the rule lexicon's cue features) under one head; stage ``head``
compares the head's capacity and regularisation (linear or one hidden layer, weight decay,
dropout) on the chosen features. Every option's out-of-fold predictions are kept in
``artifacts/cv/`` (for calibration and blends) and its figures are printed as one JSON line
and appended to ``artifacts/cv/heads.jsonl``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np

from kotone.interpret.rule import cue_features, rule_params
from training.text_features import FeatureCache
from training.train_embed import fit_head, predict
from training.writer_cv import ROOT, calibration_report, cv_predict, dumps, passes_of, pool_rows, short, targets

CV_DIR = ROOT / "artifacts" / "cv"
DIM = 384
FEATURE_SETS = {"L4": (4,), "L6": (6,), "L4+L6": (4, 6), "L2+L4+L6": (2, 4, 6)}


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


def evaluate(data: Data, name: str, x: np.ndarray, hidden: int, wd: float, dropout: float, epochs: int,
             seeds: int = 1) -> dict:
    """CV one head configuration; OOF saved under artifacts/cv/<name>.npz."""
    w = np.ones(len(x), np.float32)

    def fit_predict(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        preds = [predict(fit_head(x[tr], data.y[tr], w[tr], hidden, wd, epochs, 3e-3, s, dropout), x[te])
                 for s in range(seeds)]
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


def stage_features(data: Data, epochs: int) -> None:
    for fs, cues in [(k, True) for k in FEATURE_SETS] + [("L4", False), ("L6", False)]:
        evaluate(data, f"feat_{fs}{'_cues' if cues else ''}", data.features(FEATURE_SETS[fs], cues), 128, 1e-1, 0.3,
                 epochs)


def stage_head(data: Data, fs: str, epochs: int) -> None:
    x = data.features(FEATURE_SETS[fs], True)
    for hidden, wd, dp in itertools.product((0, 128, 256), (1e-2, 1e-1, 1.0), (0.1, 0.3, 0.5)):
        if hidden == 0 and dp != 0.1:
            continue  # dropout on the input of a linear map: one setting is enough
        evaluate(data, f"head_{fs}_h{hidden}_wd{wd}_dp{dp}", x, hidden, wd, dp, epochs)


def main(argv: list[str] | None = None) -> int:
    import torch

    ap = argparse.ArgumentParser(prog="python -m training.cv_heads")
    ap.add_argument("--stage", default="all", choices=("features", "head", "all"))
    ap.add_argument("--features", default="L4", choices=sorted(FEATURE_SETS), help="feature set for --stage head")
    ap.add_argument("--epochs", type=int, default=60)
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "1")))
    data = Data()
    if a.stage in ("features", "all"):
        stage_features(data, a.epochs)
    if a.stage in ("head", "all"):
        stage_head(data, a.features, a.epochs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
